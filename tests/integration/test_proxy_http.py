"""End to end: the real `ongoingai serve`, the real SDKs, a fake provider upstream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess, free_port


@pytest.fixture
def gateway(tmp_path: Path, upstream: FakeUpstream) -> Iterator[GatewayProcess]:
    env = {
        "ONGOINGAI_OPENAI_UPSTREAM": upstream.url,
        "ONGOINGAI_ANTHROPIC_UPSTREAM": upstream.url,
    }
    with GatewayProcess(tmp_path, env=env) as gw:
        yield gw


def test_openai_sdk_chat_completion_passes_through(gateway: GatewayProcess, upstream: FakeUpstream):
    client = openai.OpenAI(base_url=gateway.url + "/openai/v1", api_key="sk-test-1234")
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}]
    )
    assert reply.choices[0].message.content == "Hello from one"
    assert reply.usage is not None and reply.usage.prompt_tokens == 2
    seen = upstream.requests[-1]
    assert seen.path == "/v1/chat/completions"
    assert seen.headers["authorization"] == "Bearer sk-test-1234"
    assert seen.json["model"] == "gpt-4o-mini"


def test_openai_sdk_stream_arrives_chunk_by_chunk(gateway: GatewayProcess):
    client = openai.OpenAI(base_url=gateway.url + "/openai/v1", api_key="sk-test")
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        extra_headers={"x-fake-chunks": "3"},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "Hello from one"


def test_anthropic_sdk_messages_and_stream_pass_through(
    gateway: GatewayProcess, upstream: FakeUpstream
):
    client = anthropic.Anthropic(base_url=gateway.url + "/anthropic", api_key="sk-ant-test")
    message = client.messages.create(
        model="claude-sonnet-4-20250514",
        max_tokens=64,
        messages=[{"role": "user", "content": "hello"}],
    )
    assert message.content[0].text == "Hello from one"  # type: ignore[union-attr]
    seen = upstream.requests[-1]
    assert seen.path == "/v1/messages"
    credential = seen.headers.get("x-api-key") or seen.headers.get("authorization", "")
    assert credential.endswith("sk-ant-test")
    assert "anthropic-version" in seen.headers
    with client.messages.stream(
        model="claude-sonnet-4-20250514", max_tokens=64, messages=[{"role": "user", "content": "x"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens > 0


def test_prefix_is_stripped_and_query_kept(gateway: GatewayProcess, upstream: FakeUpstream):
    r = httpx.get(
        gateway.url + "/openai/v1/models?limit=2&after=x", headers={"authorization": "Bearer k"}
    )
    assert r.status_code == 200
    seen = upstream.requests[-1]
    assert (seen.path, seen.query_string) == ("/v1/models", "limit=2&after=x")
    r = httpx.post(
        gateway.url + "/anthropic/v1/messages/count_tokens",
        headers={
            "x-api-key": "sk-ant-raw",
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "b1",
        },
        json={"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "a b c"}]},
    )
    assert r.status_code == 200 and r.json()["input_tokens"] > 0
    seen = upstream.requests[-1]
    assert seen.path == "/v1/messages/count_tokens"
    assert seen.headers["x-api-key"] == "sk-ant-raw"
    assert seen.headers["anthropic-beta"] == "b1"


def test_gateway_key_and_hop_by_hop_headers_never_reach_upstream(
    gateway: GatewayProcess, upstream: FakeUpstream
):
    httpx.get(
        gateway.url + "/openai/v1/models",
        headers={
            "authorization": "Bearer k",
            "X-OngoingAI-Gateway-Key": "gw-secret",
            "Proxy-Authorization": "Basic abc",
            "x-request-id": "abc-123",
        },
    )
    seen = upstream.requests[-1]
    assert "x-ongoingai-gateway-key" not in seen.headers
    assert "proxy-authorization" not in seen.headers
    assert seen.headers["x-ongoingai-correlation-id"] == "abc-123"
    assert seen.headers["host"] == upstream.url.removeprefix("http://")


def test_correlation_id_is_echoed_or_minted(gateway: GatewayProcess):
    adopted = httpx.get(gateway.url + "/openai/v1/models", headers={"X-Request-ID": "abc-123"})
    assert adopted.headers["x-ongoingai-correlation-id"] == "abc-123"
    minted = httpx.get(gateway.url + "/api/health", headers={"X-Request-ID": "bad value"})
    assert minted.headers["x-ongoingai-correlation-id"].startswith("corr-")


def test_upstream_errors_pass_through_with_their_status(gateway: GatewayProcess):
    client = openai.OpenAI(base_url=gateway.url + "/openai/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "hi"}],
            extra_headers={"x-fake-status": "429"},
        )
    assert caught.value.status_code == 429


def test_unknown_path_is_a_json_404(gateway: GatewayProcess):
    r = httpx.get(gateway.url + "/nope")
    assert r.status_code == 404
    assert r.json() == {"error": "not found", "code": "not_found"}
    assert httpx.get(gateway.url + "/openaiish/v1/models").status_code == 404


def test_unreachable_upstream_is_502_in_each_provider_dialect(tmp_path: Path):
    dead = f"http://127.0.0.1:{free_port()}"
    env = {"ONGOINGAI_OPENAI_UPSTREAM": dead, "ONGOINGAI_ANTHROPIC_UPSTREAM": dead}
    with GatewayProcess(tmp_path, env=env) as gw:
        client = openai.OpenAI(base_url=gw.url + "/openai/v1", api_key="sk", max_retries=0)
        with pytest.raises(openai.APIStatusError) as caught:
            client.models.list()
        assert caught.value.status_code == 502
        assert caught.value.code == "upstream_unreachable"
        r = httpx.post(gw.url + "/anthropic/v1/messages", json={})
        assert r.status_code == 502
        body = r.json()
        assert body["type"] == "error"
        assert body["error"]["code"] == "upstream_unreachable"


def test_api_routes_answer_head_like_get(gateway: GatewayProcess):
    for path in ("/", "/api/health", "/api/ready", "/api/diagnostics/config"):
        assert httpx.head(gateway.url + path).status_code == 200, path
    root = httpx.get(gateway.url + "/").json()
    assert root["name"] == "ongoingai gateway" and root["status"] == "ok"


def test_sigterm_shuts_down_cleanly_with_exit_zero(tmp_path: Path, upstream: FakeUpstream):
    gw = GatewayProcess(tmp_path, env={"ONGOINGAI_OPENAI_UPSTREAM": upstream.url}).start()
    assert gw.stop() == 0


def test_large_uploads_stream_through_unchanged(gateway: GatewayProcess, upstream: FakeUpstream):
    """Files and audio uploads are streamed to the upstream, not held by the gateway."""
    part = bytes(range(256)) * 4096  # 1 MiB

    def body():  # a chunked request body of 8 MiB
        for _ in range(8):
            yield part

    r = httpx.post(
        gateway.url + "/openai/v1/files",
        content=body(),
        headers={"authorization": "Bearer k", "content-type": "application/octet-stream"},
        timeout=60,
    )
    assert r.status_code == 404  # the fake has no files API; the relay is what is tested
    seen = upstream.requests[-1]
    assert seen.path == "/v1/files"
    assert seen.body == part * 8
