"""PII policy end to end: storage redaction, block, redact_upstream, shadow, fail closed.

A real gateway process, the fake upstream, and the real OpenAI and Anthropic SDKs; traces are
read back from the database (and, for SQLite, the database file's bytes are searched).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
import yaml

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess
from tests.integration.traces_db import Backend

EMAIL = "alice.liddell@example.com"
PHONE = "+1 (415) 555-0134"
KEY = "sk-proj-Q3v9XkT2mWb7LzR8pN4sA1cD6eF0gH5j"
PROMPT = f"Write to {EMAIL} or call {PHONE}; my key is {KEY}."
PROVIDER_KEY = "sk-test-provider-abcd1234"
CLAUDE = "claude-sonnet-4-20250514"


def _start(
    tmp_path: Path, upstream: FakeUpstream, config: dict[str, Any], env: dict[str, str]
) -> GatewayProcess:
    (tmp_path / "ongoingai.yaml").write_text(yaml.safe_dump(config))
    full = {
        "ONGOINGAI_OPENAI_UPSTREAM": upstream.url,
        "ONGOINGAI_ANTHROPIC_UPSTREAM": upstream.url,
        **env,
    }
    return GatewayProcess(tmp_path, env=full).start()


@pytest.fixture
def sqlite_backend(tmp_path: Path) -> Backend:
    return Backend("sqlite", path=str(tmp_path / "data" / "gw.db"))


def _oai(gw: GatewayProcess, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=gw.url + "/openai/v1", api_key=PROVIDER_KEY, max_retries=0, default_headers=headers
    )


def _chat(gw: GatewayProcess, text: str = PROMPT, **headers: str) -> Any:
    with _oai(gw, **headers) as client:
        return client.chat.completions.create(
            model="gpt-4o-mini", max_tokens=64, messages=[{"role": "user", "content": text}]
        )


def _database_bytes(backend: Backend) -> bytes:
    base = Path(backend.path)
    return b"".join(p.read_bytes() for p in base.parent.glob(base.name + "*"))


def test_the_default_policy_keeps_email_phone_and_key_out_of_the_database_file(
    tmp_path: Path, upstream: FakeUpstream, sqlite_backend: Backend
):
    gw = _start(tmp_path, upstream, {"tracing": {"capture_bodies": True}}, sqlite_backend.env)
    try:
        _chat(gw)
        (seen,) = upstream.wait_for_requests(1)
        assert EMAIL in seen.body.decode()  # redact_storage never changes what is sent
        (trace,) = sqlite_backend.wait_for(1)
    finally:
        gw.stop()
    stored = _database_bytes(sqlite_backend)
    for secret in (EMAIL, PHONE, KEY, PROVIDER_KEY):
        assert secret.encode() not in stored, secret
    body = json.loads(trace.request_body)
    content = body["messages"][0]["content"]
    assert "[EMAIL_REDACTED:" in content and "[PHONE_REDACTED:" in content
    assert "[PROVIDER_KEY_REDACTED:" in content
    assert body["max_tokens"] == 64
    meta = trace.metadata
    assert meta["redaction_mode"] == "redact_storage"
    assert meta["redaction_policy_id"] == "default/v1"
    assert meta["redaction_applied"] is True
    assert meta["redaction_counts"]["email"] == 1 and meta["redaction_counts"]["phone"] == 1
    assert meta["redaction_counts"]["provider_key"] == 1
    assert meta["redaction_storage_drop"] is False and meta["redaction_truncated"] is False


def _auth(keys: dict[str, str]) -> dict[str, Any]:
    return {
        "enabled": True,
        "keys": [
            {"id": kid, "token": f"tok-{kid}-0123456789", "role": "developer", "workspace_id": ws}
            for kid, ws in keys.items()
        ],
    }


def test_placeholders_are_stable_within_a_workspace_and_differ_across_workspaces(
    tmp_path: Path, upstream: FakeUpstream, backend: Backend
):
    config = {"tracing": {"capture_bodies": True}, "auth": _auth({"a": "ws-a", "b": "ws-b"})}
    gw = _start(tmp_path, upstream, config, backend.env)
    try:
        for kid in ("a", "a", "b"):
            _chat(gw, f"mail {EMAIL}", **{"X-OngoingAI-Gateway-Key": f"tok-{kid}-0123456789"})
        traces = backend.wait_for(3)
    finally:
        gw.stop()
    placeholders: dict[str, set[str]] = {}
    for trace in traces:
        content = json.loads(trace.request_body)["messages"][0]["content"]
        assert EMAIL not in content
        placeholders.setdefault(trace.workspace_id, set()).add(content)
    assert len(placeholders["ws-a"]) == 1
    assert len(placeholders["ws-b"]) == 1
    assert placeholders["ws-a"] != placeholders["ws-b"]


def test_block_refuses_pii_in_each_providers_dialect_and_lets_clean_requests_through(
    tmp_path: Path, upstream: FakeUpstream, sqlite_backend: Backend
):
    gw = _start(tmp_path, upstream, {"pii": {"mode": "block"}}, sqlite_backend.env)
    try:
        with pytest.raises(openai.PermissionDeniedError) as denied:
            _chat(gw)
        assert denied.value.code == "pii_blocked"
        assert "request blocked by pii policy" in str(denied.value)
        base = gw.url + "/anthropic"
        with anthropic.Anthropic(base_url=base, api_key=PROVIDER_KEY, max_retries=0) as claude:
            with pytest.raises(anthropic.PermissionDeniedError) as refused:
                claude.messages.create(
                    model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": PROMPT}]
                )
            assert isinstance(refused.value.body, dict)
            assert refused.value.body["error"]["code"] == "pii_blocked"
            assert upstream.requests == []
            # max_tokens (a number, and not a denylisted name) never trips the policy.
            ok = claude.messages.create(
                model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": "hello"}]
            )
            assert ok.content
        traces = sqlite_backend.wait_for(3)
    finally:
        gw.stop()
    blocked = [t for t in traces if t.response_status == 403]
    assert len(blocked) == 2
    assert all(t.metadata["error_code"] == "pii_blocked" for t in blocked)
    assert all(t.metadata["redaction_mode"] == "block" for t in traces)


def test_redact_upstream_sends_placeholders_and_leaves_numbers_alone(
    tmp_path: Path, upstream: FakeUpstream, sqlite_backend: Backend
):
    gw = _start(tmp_path, upstream, {"pii": {"mode": "redact_upstream"}}, sqlite_backend.env)
    try:
        _chat(gw)
        (seen,) = upstream.wait_for_requests(1)
        (trace,) = sqlite_backend.wait_for(1)
    finally:
        gw.stop()
    sent = seen.json
    content = sent["messages"][0]["content"]
    assert EMAIL not in content and PHONE not in content and KEY not in content
    assert "[EMAIL_REDACTED:" in content
    assert sent["max_tokens"] == 64 and sent["model"] == "gpt-4o-mini"
    assert trace.metadata["redaction_counts"]["email"] == 1
    assert trace.metadata["redaction_applied"] is True


def test_shadow_changes_nothing_and_records_what_block_would_do(
    tmp_path: Path, upstream: FakeUpstream, sqlite_backend: Backend
):
    config = {"pii": {"mode": "shadow"}, "tracing": {"capture_bodies": True}}
    gw = _start(tmp_path, upstream, config, sqlite_backend.env)
    try:
        _chat(gw)
        _chat(gw, "nothing personal here")
        seen = upstream.wait_for_requests(2)
        traces = sqlite_backend.wait_for(2)
    finally:
        gw.stop()
    assert EMAIL in seen[0].body.decode()
    by_decision = {t.metadata["redaction_shadow"]["decision"]: t for t in traces}
    would_block = by_decision["block"]
    assert would_block.response_status == 200
    assert would_block.metadata["redaction_mode"] == "shadow"
    assert would_block.metadata["redaction_shadow"]["counts"]["email"] == 1
    assert EMAIL not in would_block.request_body  # storage is still redacted
    assert by_decision["allow"].metadata["redaction_shadow"]["counts"] == {}


@pytest.mark.parametrize(
    ("content_type", "body", "extra"),
    [
        (
            "application/json",
            json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 200}]}),
            {"tracing": {"body_max_size": 64}},
        ),
        ("application/octet-stream", "binary", {}),
        ("text/plain", b"caf\xe9 \xff\xfe", {}),
    ],
    ids=["oversized", "uninspectable-type", "invalid-utf8"],
)
@pytest.mark.parametrize("mode", ["block", "redact_upstream"])
def test_enforcing_modes_fail_closed_when_the_body_cannot_be_evaluated(
    tmp_path: Path,
    upstream: FakeUpstream,
    sqlite_backend: Backend,
    mode: str,
    content_type: str,
    body: str | bytes,
    extra: dict[str, Any],
):
    gw = _start(tmp_path, upstream, {"pii": {"mode": mode}, **extra}, sqlite_backend.env)
    try:
        response = httpx.post(
            gw.url + "/openai/v1/chat/completions",
            content=body,
            headers={"Content-Type": content_type, "Authorization": f"Bearer {PROVIDER_KEY}"},
        )
    finally:
        gw.stop()
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "policy_evaluation_failed"
    assert error["message"] == "request denied by pii guardrail policy uncertainty"
    assert upstream.requests == []


def test_storage_redaction_never_blocks_traffic_and_drops_what_it_cannot_process(
    tmp_path: Path, upstream: FakeUpstream, sqlite_backend: Backend
):
    gw = _start(tmp_path, upstream, {"tracing": {"capture_bodies": True}}, sqlite_backend.env)
    try:
        response = httpx.post(
            gw.url + "/openai/v1/chat/completions",
            content=b"caf\xe9 \xff",
            headers={"Content-Type": "text/plain", "Authorization": f"Bearer {PROVIDER_KEY}"},
        )
        (trace,) = sqlite_backend.wait_for(1)
    finally:
        gw.stop()
    assert response.status_code == 400  # the upstream's own answer, passed through
    assert upstream.requests
    assert trace.request_body == "" and trace.response_body == ""
    assert trace.metadata["redaction_storage_drop"] is True
    assert trace.metadata["redaction_failure_semantics"] == "storage_drop_continue_proxy"


def test_an_oversized_body_is_stored_truncated_and_redacted_and_sent_whole(
    tmp_path: Path, upstream: FakeUpstream, sqlite_backend: Backend
):
    cap = 512
    config = {"tracing": {"capture_bodies": True, "body_max_size": cap}}
    gw = _start(tmp_path, upstream, config, sqlite_backend.env)
    head = f"Write to {EMAIL}. " + "lorem ipsum " * 30
    # A provider key straddles the cap: its first half must not be stored either.
    text = head + "x" * (cap - len(head) - 80) + f" {KEY} " + "tail words " * 200
    try:
        reply = _chat(gw, text=text)
        (seen,) = upstream.wait_for_requests(1)
        (trace,) = sqlite_backend.wait_for(1)
    finally:
        gw.stop()
    assert reply.choices[0].message.content  # traffic is untouched
    assert json.loads(seen.body)["messages"][0]["content"] == text  # sent whole
    start = seen.body.find(KEY.encode())
    assert start < cap < start + len(KEY)  # the cap does cut through the key
    assert len(trace.request_body.encode()) <= cap
    assert EMAIL not in trace.request_body and "[EMAIL_REDACTED:" in trace.request_body
    assert KEY[:8] not in trace.request_body  # the cut-off key's first half is dropped
    assert trace.metadata["redaction_truncated"] is True
    assert trace.metadata["redaction_storage_drop"] is False
    assert trace.metadata["redaction_counts"]["email"] == 1


@pytest.fixture
def chatty_upstream() -> Iterator[FakeUpstream]:
    """An upstream whose replies contain an email address (its name is in every reply)."""
    with FakeUpstream("carol.danvers@example.net") as fake:
        yield fake


def test_a_streamed_reply_reaches_the_client_whole_and_is_stored_redacted(
    tmp_path: Path, chatty_upstream: FakeUpstream, sqlite_backend: Backend
):
    config = {"tracing": {"capture_bodies": True}}
    gw = _start(tmp_path, chatty_upstream, config, sqlite_backend.env)
    try:
        with _oai(gw) as client:
            stream = client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                extra_headers={"x-fake-chunks": "8", "x-fake-chunk-delay-ms": "200"},
            )
            arrivals: list[float] = []
            parts: list[str] = []
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    arrivals.append(time.monotonic())
                    parts.append(chunk.choices[0].delta.content)
            received = "".join(parts)
        (trace,) = sqlite_backend.wait_for(1)
    finally:
        gw.stop()
    assert "carol.danvers@example.net" in received
    # Relayed event by event, not held back for redaction: the upstream spaces its 8 events
    # 200 ms apart, so the last content arrives at least 7 x 200 ms after the first.
    assert len(arrivals) == 8 and arrivals[-1] - arrivals[0] >= 1.3
    assert trace.response_body.startswith("data: ")
    assert "carol.danvers@example.net" not in trace.response_body
    assert "[EMAIL_REDACTED:" in trace.response_body
    assert trace.metadata["redaction_counts"]["email"] >= 1
    assert "phone" not in trace.metadata["redaction_counts"]  # event timestamps are numbers


def test_the_most_specific_scope_wins(
    tmp_path: Path, upstream: FakeUpstream, sqlite_backend: Backend
):
    config = {
        "auth": _auth({"a": "ws-a", "b": "ws-b"}),
        "pii": {
            "mode": "redact_storage",
            "scopes": [
                {"match": {"workspace_id": "ws-b"}, "mode": "off", "policy_id": "ws-b/off"},
                {
                    "match": {"workspace_id": "ws-b", "provider": "openai"},
                    "mode": "block",
                    "policy_id": "ws-b/strict",
                },
            ],
        },
    }
    gw = _start(tmp_path, upstream, config, sqlite_backend.env)
    try:
        _chat(gw, **{"X-OngoingAI-Gateway-Key": "tok-a-0123456789"})
        with pytest.raises(openai.PermissionDeniedError):
            _chat(gw, **{"X-OngoingAI-Gateway-Key": "tok-b-0123456789"})
        traces = sqlite_backend.wait_for(2)
    finally:
        gw.stop()
    by_ws = {t.workspace_id: t.metadata for t in traces}
    assert (by_ws["ws-a"]["redaction_mode"], by_ws["ws-a"]["redaction_policy_id"]) == (
        "redact_storage",
        "default/v1",
    )
    assert (by_ws["ws-b"]["redaction_mode"], by_ws["ws-b"]["redaction_policy_id"]) == (
        "block",
        "ws-b/strict",
    )


def test_every_trace_carries_the_decision_record_even_with_pii_off(
    tmp_path: Path, upstream: FakeUpstream, sqlite_backend: Backend
):
    gw = _start(tmp_path, upstream, {}, sqlite_backend.env)
    try:
        _chat(gw)
        (trace,) = sqlite_backend.wait_for(1)
    finally:
        gw.stop()
    meta = trace.metadata
    assert meta["redaction_mode"] == "off"
    assert meta["redaction_counts"] == {"header": 1}  # the provider key header, always
    assert meta["redaction_applied"] is True
    assert meta["redaction_truncated"] is False and meta["redaction_storage_drop"] is False
