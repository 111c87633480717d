"""Failure semantics of the proxy hot path: upstream, client and storage failures."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess, free_port
from tests.integration.traces_db import Backend
from tests.tcp_relay import TcpRelay

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
AUTH = {"authorization": "Bearer sk-test-0000"}


@pytest.fixture
def sqlite(tmp_path: Path) -> Backend:
    return Backend("sqlite", path=str(tmp_path / "data" / "traces.db"))


@pytest.fixture
def gateway(tmp_path: Path, upstream: FakeUpstream, sqlite: Backend) -> Iterator[GatewayProcess]:
    env = {"ONGOINGAI_OPENAI_UPSTREAM": upstream.url, "ONGOINGAI_ANTHROPIC_UPSTREAM": upstream.url}
    with GatewayProcess(tmp_path, env={**env, **sqlite.env}) as gw:
        yield gw


@pytest.mark.parametrize("status", [500, 429])
def test_upstream_errors_pass_through_byte_for_byte(
    gateway: GatewayProcess, upstream: FakeUpstream, sqlite: Backend, status: int
):
    headers = {**AUTH, "x-fake-status": str(status)}
    direct = httpx.post(upstream.url + "/v1/chat/completions", json=CHAT, headers=headers)
    proxied = httpx.post(gateway.url + "/openai/v1/chat/completions", json=CHAT, headers=headers)
    assert proxied.status_code == direct.status_code == status
    assert proxied.content == direct.content
    (trace,) = sqlite.wait_for(1)
    assert trace.response_status == status


def test_unreachable_upstream_is_502_and_traced(tmp_path: Path, sqlite: Backend):
    dead = f"http://127.0.0.1:{free_port()}"
    with GatewayProcess(tmp_path, env={"ONGOINGAI_OPENAI_UPSTREAM": dead, **sqlite.env}) as gw:
        r = httpx.post(gw.url + "/openai/v1/chat/completions", json=CHAT, headers=AUTH)
        assert r.status_code == 502
        assert r.json()["error"]["code"] == "upstream_unreachable"
        (trace,) = sqlite.wait_for(1)
    assert trace.response_status == 502
    assert trace.metadata["error_code"] == "upstream_unreachable"
    assert trace.model == "gpt-4o-mini"


def test_slow_upstream_is_504_and_traced(tmp_path: Path, upstream: FakeUpstream, sqlite: Backend):
    (tmp_path / "ongoingai.yaml").write_text(
        "pipeline:\n  - route\n  - type: forward\n    with: {read_timeout_ms: 300}\n"
        "  - meter\n  - capture\n  - record\n"
    )
    env = {"ONGOINGAI_ANTHROPIC_UPSTREAM": upstream.url, **sqlite.env}
    with GatewayProcess(tmp_path, env=env) as gw:
        r = httpx.post(
            gw.url + "/anthropic/v1/messages",
            json={"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": []},
            headers={"x-api-key": "sk-ant-x", "x-fake-response-delay-ms": "3000"},
            timeout=10,
        )
        assert r.status_code == 504
        body = r.json()
        assert body["type"] == "error" and body["error"]["code"] == "upstream_timeout"
        (trace,) = sqlite.wait_for(1)
    assert trace.response_status == 504
    assert trace.provider == "anthropic"


def test_client_disconnect_mid_stream_is_traced_and_stops_the_relay(
    gateway: GatewayProcess, sqlite: Backend
):
    headers = {**AUTH, "x-fake-chunks": "40", "x-fake-chunk-delay-ms": "100"}
    body = {**CHAT, "stream": True}
    with httpx.stream(
        "POST", gateway.url + "/openai/v1/chat/completions", json=body, headers=headers
    ) as r:
        lines = r.iter_lines()
        assert next(lines).startswith("data: ")
    # the client is gone after ~0.1 s of a ~4 s stream
    (trace,) = sqlite.wait_for(1)
    assert trace.metadata["client_disconnected"] is True
    assert trace.metadata["streaming"] is True
    assert trace.latency_ms < 3000  # the relay stopped; it did not run the stream to its end


def test_upstream_dying_mid_stream_breaks_the_client_stream_and_is_traced(
    gateway: GatewayProcess, sqlite: Backend
):
    headers = {**AUTH, "x-fake-chunks": "10", "x-fake-die-after": "3"}
    events: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),  # the client sees the break, as from upstream
        httpx.stream(
            "POST",
            gateway.url + "/openai/v1/chat/completions",
            json={**CHAT, "stream": True},
            headers=headers,
        ) as r,
    ):
        events.extend(line for line in r.iter_lines() if line.startswith("data: "))
    assert 1 <= len(events) <= 3 and "data: [DONE]" not in events
    (trace,) = sqlite.wait_for(1)
    assert trace.metadata["upstream_error"]
    assert trace.response_status == 200


def test_first_byte_is_relayed_before_the_upstream_produces_the_next(gateway: GatewayProcess):
    headers = {**AUTH, "x-fake-chunks": "2", "x-fake-chunk-delay-ms": "1500"}
    arrivals: list[float] = []
    with httpx.stream(
        "POST",
        gateway.url + "/openai/v1/chat/completions",
        json={**CHAT, "stream": True},
        headers=headers,
        timeout=30,
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.monotonic())
    # Each event left the upstream 1.5 s after the previous one; had the gateway buffered or
    # coalesced, they would arrive together.
    assert len(arrivals) >= 3
    assert arrivals[1] - arrivals[0] > 1.0


def test_storage_going_down_never_affects_proxying_and_drops_are_counted(
    tmp_path: Path, upstream: FakeUpstream, postgres_schema_dsn: str
):
    url = make_url(postgres_schema_dsn)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432).start()
    try:
        dsn = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        env = {
            "ONGOINGAI_OPENAI_UPSTREAM": upstream.url,
            "ONGOINGAI_STORAGE_DRIVER": "postgres",
            "ONGOINGAI_STORAGE_DSN": dsn,
        }
        with GatewayProcess(tmp_path, env=env) as gw:
            assert httpx.post(
                gw.url + "/openai/v1/chat/completions", json=CHAT, headers=AUTH
            ).is_success
            relay.cut()  # the database is unreachable from now on
            for _ in range(20):
                r = httpx.post(gw.url + "/openai/v1/chat/completions", json=CHAT, headers=AUTH)
                assert r.status_code == 200
            deadline = time.monotonic() + 20
            diag: dict = {}
            while time.monotonic() < deadline:
                diag = httpx.get(gw.url + "/api/diagnostics/trace-pipeline").json()["diagnostics"]
                if diag["total_dropped_total"] >= 1:
                    break
                time.sleep(0.2)
            assert diag["total_dropped_total"] >= 1, diag
            assert diag["write_failures_by_class"], diag
            assert httpx.get(gw.url + "/api/health").json()["status"] == "ok"
            assert gw.proc is not None and gw.proc.poll() is None  # no crash
    finally:
        relay.close()


def test_sigterm_persists_every_queued_trace(
    tmp_path: Path, upstream: FakeUpstream, sqlite: Backend
):
    # A long flush interval and large batches keep every trace queued until shutdown.
    (tmp_path / "ongoingai.yaml").write_text(
        "tracing:\n  flush_interval_ms: 600000\n  batch_size: 1000\n"
    )
    gw = GatewayProcess(tmp_path, env={"ONGOINGAI_OPENAI_UPSTREAM": upstream.url, **sqlite.env})
    gw.start()
    try:
        for _ in range(25):
            httpx.post(gw.url + "/openai/v1/chat/completions", json=CHAT, headers=AUTH)
        assert sqlite.read() == []  # still queued
        assert gw.proc is not None
        gw.proc.send_signal(signal.SIGTERM)
        assert gw.proc.wait(15) == 0
    finally:
        gw.stop()
    assert len(sqlite.read()) == 25


def test_256_concurrent_slow_streams_all_complete(gateway: GatewayProcess):
    async def one(client: httpx.AsyncClient) -> bool:
        headers = {**AUTH, "x-fake-chunks": "5", "x-fake-chunk-delay-ms": "100"}
        async with client.stream(
            "POST", "/openai/v1/chat/completions", json={**CHAT, "stream": True}, headers=headers
        ) as r:
            body = await r.aread()
        return r.status_code == 200 and body.rstrip().endswith(b"data: [DONE]")

    async def main() -> list[bool]:
        limits = httpx.Limits(max_connections=300)
        async with httpx.AsyncClient(base_url=gateway.url, limits=limits, timeout=60) as client:
            return await asyncio.gather(*(one(client) for _ in range(256)))

    results = asyncio.run(main())
    assert all(results), f"{results.count(False)} of 256 streams failed"
