"""The policy examples do what their READMEs say: team-rbac's role matrix, pii-block's scopes
and cost-limits' quotas, each on a real gateway started from the example's own files."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.examples.test_examples import ROOT, _point_upstreams_at
from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess

GATEWAY_HEADER = "X-OngoingAI-Gateway-Key"
PROVIDER_KEY = "sk-example-provider-key-0001"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def start_example(tmp_path: Path, upstream: FakeUpstream) -> Iterator[Any]:
    """`start_example("team-rbac")`: a gateway on a copy of the example, upstreams faked."""
    started: list[GatewayProcess] = []

    def start(name: str) -> GatewayProcess:
        workdir = tmp_path / name
        shutil.copytree(ROOT / "examples" / name, workdir)
        _point_upstreams_at(workdir, upstream.url)
        env = {
            "ONGOINGAI_OPENAI_UPSTREAM": upstream.url,
            "ONGOINGAI_ANTHROPIC_UPSTREAM": upstream.url,
        }
        gw = GatewayProcess(workdir, env=env).start()
        started.append(gw)
        return gw

    yield start
    for gw in started:
        gw.stop()


def _chat(gw: GatewayProcess, token: str, text: str = "hi") -> httpx.Response:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
    headers = {GATEWAY_HEADER: token, "Authorization": f"Bearer {PROVIDER_KEY}"}
    return httpx.post(gw.url + "/openai/v1/chat/completions", json=body, headers=headers)


def _sdk(gw: GatewayProcess, base_path: str, token: str) -> dict[str, Any]:
    """Client arguments of either SDK: the gateway's base URL and the gateway key header."""
    return {
        "base_url": gw.url + base_path,
        "api_key": PROVIDER_KEY,
        "default_headers": {GATEWAY_HEADER: token},
        "max_retries": 0,
    }


def _api(gw: GatewayProcess, token: str, path: str) -> httpx.Response:
    return httpx.get(gw.url + path, headers={GATEWAY_HEADER: token})


def _traces(gw: GatewayProcess, token: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        items: list[dict[str, Any]] = _api(gw, token, "/api/traces").json()["items"]
        if len(items) >= count or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


# --- team-rbac ------------------------------------------------------------------------------
PLATFORM = "platform-team-token-change-me"
APP = "app-team-token-change-me"
FINANCE = "finance-token-change-me"
CI = "ci-token-change-me"


def test_team_rbac_grants_each_role_what_its_readme_row_says(start_example: Any):
    gw = start_example("team-rbac")
    proxy = {token: _chat(gw, token).status_code for token in (PLATFORM, APP, FINANCE, CI)}
    assert proxy == {PLATFORM: 200, APP: 200, FINANCE: 403, CI: 200}
    assert _chat(gw, FINANCE).json()["error"]["code"] == "permission_denied"

    cost = "/api/analytics/cost"
    reads = {token: _api(gw, token, cost).status_code for token in (PLATFORM, APP, FINANCE, CI)}
    assert reads == {PLATFORM: 200, APP: 200, FINANCE: 200, CI: 403}
    assert _api(gw, CI, "/api/traces").json()["code"] == "permission_denied"

    keys = {token: _api(gw, token, "/api/gateway-keys").status_code for token in (PLATFORM, APP)}
    assert keys == {PLATFORM: 200, APP: 403}
    diagnostics = "/api/diagnostics/trace-pipeline"
    assert _api(gw, PLATFORM, diagnostics).status_code == 200
    assert _api(gw, FINANCE, diagnostics).status_code == 403

    # Reads are scoped to the caller's workspace: finance sees app's traffic (app-team's and
    # ci-runner's requests, and its own two refused ones), not the platform workspace's.
    seen = _traces(gw, FINANCE, 4)
    assert sorted(item["response_status"] for item in seen) == [200, 200, 403, 403]
    assert [item["response_status"] for item in _traces(gw, PLATFORM, 1)] == [200]


# --- pii-block ------------------------------------------------------------------------------
SUPPORT = "support-token-change-me"
RESEARCH = "research-token-change-me"
PII = "mail me at jane@example.com"


def test_pii_block_refuses_support_shadows_research_and_redacts_the_rest(
    start_example: Any, upstream: FakeUpstream
):
    gw = start_example("pii-block")
    refused = _chat(gw, SUPPORT, PII)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "pii_blocked"
    assert upstream.requests == []  # nothing was sent
    assert _chat(gw, SUPPORT, "no personal data here").status_code == 200

    assert _chat(gw, RESEARCH, PII).status_code == 200  # shadow: sent unchanged
    assert PII in upstream.requests[-1].body.decode()

    # Support's Anthropic traffic is outside the block scope: the global redact_upstream.
    with anthropic.Anthropic(**_sdk(gw, "/anthropic", SUPPORT)) as claude:
        claude.messages.create(
            model="claude-sonnet-4-20250514",
            max_tokens=16,
            messages=[{"role": "user", "content": PII}],
        )
    sent = upstream.requests[-1].body.decode()
    assert "jane@example.com" not in sent and "[EMAIL_REDACTED:" in sent

    research = _traces(gw, RESEARCH, 1)
    detail = _api(gw, RESEARCH, f"/api/traces/{research[0]['id']}").json()
    shadow = detail["metadata"]["redaction_shadow"]
    assert shadow["decision"] == "block" and shadow["counts"] == {"email": 1}
    assert "jane@example.com" not in detail["request_body"]  # stored redacted all the same


# --- cost-limits ----------------------------------------------------------------------------
def test_cost_limits_cap_each_key_and_the_workspace_per_minute(start_example: Any):
    gw = start_example("cost-limits")
    research, batch = "research-token-change-me", "batch-token-change-me"
    with openai.OpenAI(**_sdk(gw, "/openai/v1", research)) as client:
        for _ in range(60):
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        with pytest.raises(openai.RateLimitError) as per_key:
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
    error = per_key.value.response.json()["error"]
    assert error["code"] == "KEY_RATE_LIMIT_EXCEEDED"
    assert error["message"] == "request rate limit exceeded for key"
    assert 1 <= int(per_key.value.response.headers["retry-after"]) <= 60

    admitted = [_chat(gw, batch).status_code for _ in range(41)]
    assert admitted == [200] * 40 + [429]  # the workspace's 100 a minute, both keys together
    refused = _chat(gw, batch).json()["error"]
    assert refused["code"] == "WORKSPACE_RATE_LIMIT_EXCEEDED"
