"""Every proxied request is traced with the tokens the upstream reported and the right cost.

Driven with the real OpenAI and Anthropic SDKs through a real gateway process, on SQLite and
on the local PostgreSQL; traces are read back with the project's TraceReader.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess
from tests.integration.traces_db import Backend

M = Decimal(1_000_000)
# Published list prices per 1M tokens (SPEC §7.5), as the packaged tables must have them.
GPT_4O_MINI = {"input": Decimal("0.15"), "output": Decimal("0.60"), "cache_read": Decimal("0.075")}
SONNET_4 = {
    "input": Decimal(3),
    "output": Decimal(15),
    "cache_read": Decimal("0.30"),
    "cache_write": Decimal("3.75"),
}
EMBEDDING_3_SMALL = Decimal("0.02")
KEY = "sk-test-abcd1234"


@pytest.fixture
def gateway(tmp_path: Path, upstream: FakeUpstream, backend: Backend) -> Iterator[GatewayProcess]:
    env = {
        "ONGOINGAI_OPENAI_UPSTREAM": upstream.url,
        "ONGOINGAI_ANTHROPIC_UPSTREAM": upstream.url,
        **backend.env,
    }
    with GatewayProcess(tmp_path, env=env) as gw:
        yield gw


@pytest.fixture
def oai(gateway: GatewayProcess) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.url + "/openai/v1", api_key=KEY, max_retries=0) as client:
        yield client


@pytest.fixture
def claude(gateway: GatewayProcess) -> Iterator[anthropic.Anthropic]:
    base = gateway.url + "/anthropic"
    with anthropic.Anthropic(base_url=base, api_key=KEY, max_retries=0) as client:
        yield client


def _only(backend: Backend):
    (trace,) = backend.wait_for(1)
    return trace


def test_openai_chat_trace_carries_tokens_cost_and_attribution(
    oai: openai.OpenAI, gateway: GatewayProcess, backend: Backend
):
    reply = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hello there"}],
        extra_headers={"X-Request-ID": "req-42", "X-OngoingAI-Trace-Group-ID": "grp-1"},
    )
    trace = _only(backend)
    assert reply.usage is not None
    assert (trace.input_tokens, trace.output_tokens, trace.total_tokens) == (
        reply.usage.prompt_tokens,
        reply.usage.completion_tokens,
        reply.usage.total_tokens,
    )
    expected = (
        reply.usage.prompt_tokens * GPT_4O_MINI["input"]
        + reply.usage.completion_tokens * GPT_4O_MINI["output"]
    ) / M
    assert trace.estimated_cost_usd == expected
    assert (trace.provider, trace.model, trace.request_method) == ("openai", "gpt-4o-mini", "POST")
    assert trace.request_path == "/openai/v1/chat/completions"
    assert trace.response_status == 200
    assert trace.api_key_hash == hashlib.sha256(KEY.encode()).hexdigest()
    assert trace.trace_group_id == "grp-1"
    assert trace.time_to_first_token_ms == 0  # not a stream
    meta = trace.metadata
    assert meta["api_key_last4"] == "1234"
    assert meta["correlation_id"] == "req-42"
    assert meta["pricing"] == "openai@1"
    assert meta["streaming"] is False
    revision = httpx.get(gateway.url + "/api/diagnostics/config").json()["revision"]
    assert meta["policy_revision"] == revision
    stored = json.dumps(trace.request_headers)
    assert KEY not in stored and "[REDACTED]" in stored  # the provider key is never stored


def test_openai_stream_without_usage_is_metered_and_the_client_sees_no_usage_chunk(
    gateway: GatewayProcess, upstream: FakeUpstream, backend: Backend
):
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": "hi x"}],
    }
    with httpx.stream(
        "POST",
        gateway.url + "/openai/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {KEY}"},
    ) as r:
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    # The usage-only chunk the client did not ask for is gone; the others are relayed as the
    # upstream sent them (with its `"usage": null`, SPEC §7.7).
    assert all(c["choices"] and c.get("usage") is None for c in chunks)
    assert (
        "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == "Hello from one"
    )
    sent = upstream.requests[-1].json
    assert sent["stream_options"] == {"include_usage": True}  # the gateway asked for usage
    trace = _only(backend)
    assert (trace.input_tokens, trace.output_tokens) == (2, 3)
    assert trace.metadata["usage_injected"] is True
    assert trace.metadata["streaming"] is True
    assert trace.time_to_first_token_us > 0
    assert trace.time_to_first_token_ms == (trace.time_to_first_token_us + 999) // 1000


def test_a_stream_that_asked_for_usage_is_relayed_untouched(
    oai: openai.OpenAI, upstream: FakeUpstream, backend: Backend
):
    stream = oai.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "one two three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    usage = chunks[-1].usage
    assert usage is not None
    trace = _only(backend)
    assert (trace.input_tokens, trace.output_tokens) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    assert "usage_injected" not in trace.metadata
    assert upstream.requests[-1].json["stream_options"] == {"include_usage": True}


def test_client_body_and_headers_reach_upstream_unchanged(
    gateway: GatewayProcess, upstream: FakeUpstream, backend: Backend
):
    raw = b'{"model":"gpt-4o-mini", "messages":[{"role":"user","content":"caf\\u00e9"}], "n": 1.0}'
    r = httpx.post(
        gateway.url + "/openai/v1/chat/completions",
        content=raw,
        headers={
            "authorization": f"Bearer {KEY}",
            "content-type": "application/json",
            "openai-organization": "org-7",
            "x-ongoingai-thread-id": "thr-1",
        },
    )
    assert r.status_code == 200
    seen = upstream.requests[-1]
    assert seen.body == raw
    assert seen.headers["openai-organization"] == "org-7"
    assert seen.headers["x-ongoingai-thread-id"] == "thr-1"  # lineage headers pass through
    assert _only(backend).metadata["lineage_thread_id"] == "thr-1"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_responses_api_counts_cached_and_reasoning_tokens(
    oai: openai.OpenAI, backend: Backend, stream: bool
):
    headers = {"x-fake-cached-tokens": "4", "x-fake-reasoning-tokens": "6"}
    if stream:
        events = list(
            oai.responses.create(
                model="gpt-4o-mini", input="tell me", stream=True, extra_headers=headers
            )
        )
        usage = events[-1].response.usage  # type: ignore[union-attr]
    else:
        usage = oai.responses.create(
            model="gpt-4o-mini", input="tell me", extra_headers=headers
        ).usage
    assert usage is not None
    trace = _only(backend)
    assert trace.input_tokens == usage.input_tokens
    assert trace.cache_read_input_tokens == usage.input_tokens_details.cached_tokens == 4
    assert trace.output_tokens == usage.output_tokens
    assert trace.reasoning_tokens == usage.output_tokens_details.reasoning_tokens == 6
    expected = (
        (usage.input_tokens - 4) * GPT_4O_MINI["input"]
        + 4 * GPT_4O_MINI["cache_read"]
        + usage.output_tokens * GPT_4O_MINI["output"]
    ) / M
    assert trace.estimated_cost_usd == expected
    assert trace.metadata["streaming"] is stream


def test_embeddings_are_priced_at_the_input_rate(oai: openai.OpenAI, backend: Backend):
    result = oai.embeddings.create(model="text-embedding-3-small", input=["a b c", "d e"])
    trace = _only(backend)
    assert trace.input_tokens == result.usage.prompt_tokens
    assert trace.output_tokens == 0
    assert trace.estimated_cost_usd == result.usage.prompt_tokens * EMBEDDING_3_SMALL / M


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_anthropic_messages_count_cache_reads_and_writes(
    claude: anthropic.Anthropic, backend: Backend, stream: bool
):
    headers = {"x-fake-cached-tokens": "200", "x-fake-cache-write-tokens": "50"}
    args = {
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "four words right here"}],
        "extra_headers": headers,
    }
    if stream:
        with claude.messages.stream(**args) as s:  # type: ignore[arg-type]
            usage = s.get_final_message().usage
    else:
        usage = claude.messages.create(**args).usage  # type: ignore[arg-type]
    trace = _only(backend)
    fresh, read, write = (
        usage.input_tokens,
        usage.cache_read_input_tokens,
        usage.cache_creation_input_tokens,
    )
    assert (read, write) == (200, 50)
    assert trace.input_tokens == fresh + read + write  # every prompt token, once (SPEC §7.5)
    assert (trace.cache_read_input_tokens, trace.cache_write_input_tokens) == (read, write)
    assert trace.output_tokens == usage.output_tokens
    expected = (
        fresh * SONNET_4["input"]
        + read * SONNET_4["cache_read"]
        + write * SONNET_4["cache_write"]
        + usage.output_tokens * SONNET_4["output"]
    ) / M
    assert trace.estimated_cost_usd == expected
    assert trace.metadata["pricing"] == "anthropic@1"
    assert trace.model == "claude-sonnet-4-20250514"


def test_count_tokens_and_model_lists_are_traced_at_zero_cost(
    claude: anthropic.Anthropic, oai: openai.OpenAI, backend: Backend
):
    claude.messages.count_tokens(
        model="claude-sonnet-4-20250514", messages=[{"role": "user", "content": "a b c"}]
    )
    oai.models.list()
    traces = backend.wait_for(2)
    assert len(traces) == 2
    for trace in traces:
        assert (trace.input_tokens, trace.output_tokens, trace.total_tokens) == (0, 0, 0)
        assert trace.estimated_cost_usd == 0
        assert trace.response_status == 200


def test_an_unknown_model_costs_zero_and_is_marked_unpriced(oai: openai.OpenAI, backend: Backend):
    oai.chat.completions.create(
        model="my-finetune-xyz", messages=[{"role": "user", "content": "hi"}]
    )
    trace = _only(backend)
    assert trace.input_tokens > 0
    assert trace.estimated_cost_usd == 0
    assert trace.metadata["pricing"] == "unpriced"


def test_a_long_prompt_split_across_reads_is_still_metered(
    gateway: GatewayProcess, upstream: FakeUpstream, backend: Backend
):
    words = 60_000  # ~300 KB of JSON: arrives in several socket reads
    body = {
        "model": "gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": " ".join(["lorem"] * words)}],
    }
    with httpx.stream(
        "POST",
        gateway.url + "/openai/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {KEY}"},
    ) as r:
        assert r.status_code == 200
        r.read()
    assert upstream.requests[-1].json["stream_options"] == {"include_usage": True}
    trace = _only(backend)
    assert trace.input_tokens == words
    assert trace.model == "gpt-4o-mini"
    assert trace.metadata["usage_injected"] is True
