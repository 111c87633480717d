"""The Prometheus scrape endpoint of a real gateway with two workers: fleet-wide totals.

Every request goes on a new connection, so the kernel spreads them over both workers; every
scrape too, so scrapes are answered by either worker. Whichever answers, the counts must equal
what was sent.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess
from tests.integration.traces_db import Backend

KEY = "sk-test-abcd1234"
SENT = 12
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello there"}]}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _config(tmp_path: Path, upstream: FakeUpstream, extra: str = "") -> None:
    (tmp_path / "ongoingai.yaml").write_text(
        f"""
server:
  workers: 2
storage:
  path: {tmp_path / "gw.db"}
providers:
  openai: {{upstream: "{upstream.url}"}}
  anthropic: {{upstream: "{upstream.url}"}}
observability:
  otel:
    enabled: true
    traces_enabled: false
    metrics_enabled: false
    prometheus_enabled: true
{extra}
""",
        encoding="utf-8",
    )


@pytest.fixture
def gateway(tmp_path: Path, upstream: FakeUpstream) -> Iterator[GatewayProcess]:
    _config(tmp_path, upstream)
    with GatewayProcess(tmp_path) as gw:
        yield gw


def _fresh(method: str, url: str, **kwargs: object) -> httpx.Response:
    """One request on its own connection (so consecutive ones may reach different workers)."""
    with httpx.Client(timeout=10) as client:
        return client.request(method, url, **kwargs)  # type: ignore[arg-type]


def _send_chats(gw: GatewayProcess, count: int, headers: dict[str, str] | None = None) -> None:
    for _ in range(count):
        reply = _fresh(
            "POST",
            gw.url + "/openai/v1/chat/completions",
            json=CHAT,
            headers={"Authorization": f"Bearer {KEY}", **(headers or {})},
        )
        assert reply.status_code == 200, reply.text


def _scrape(gw: GatewayProcess, path: str = "/metrics", method: str = "GET") -> Samples:
    reply = _fresh(method, gw.url + path)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(reply.text)
        for s in family.samples
    }


def _labels(status: str | None = "200", **extra: str) -> frozenset[tuple[str, str]]:
    labels = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "org_id": "default",
        "workspace_id": "default",
        "route": "/openai/*",
        **extra,
    }
    if status is not None:
        labels["status_code"] = status
    return frozenset(labels.items())


def _settled(
    gw: GatewayProcess, name: str, labels: frozenset[tuple[str, str]], want: float
) -> Samples:
    """Scrape until `name` reaches `want` (metrics are recorded after the response ends)."""
    deadline = time.monotonic() + 10
    while True:
        got = _scrape(gw)
        if got.get((name, labels)) == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def _worker_pids(gw: GatewayProcess) -> set[str]:
    return {
        line.split("[")[1].split("]")[0]
        for line in gw.log().splitlines()
        if "Started server process" in line
    }


def test_every_scrape_shows_the_whole_servers_totals(gateway: GatewayProcess) -> None:
    _send_chats(gateway, SENT)
    first = _settled(gateway, "ongoingai_proxy_request_total", _labels(), SENT)
    assert len(_worker_pids(gateway)) == 2
    for _ in range(6):  # new connections: answered by either worker
        got = _scrape(gateway)
        for name in ("ongoingai_proxy_request_total", "ongoingai_provider_request_total"):
            assert got[(name, _labels())] == SENT
        hist = "ongoingai_proxy_request_duration_seconds"
        assert got[(hist + "_count", _labels(None))] == SENT
        assert got[(hist + "_bucket", _labels(None, le="+Inf"))] == SENT
        assert got[(hist + "_bucket", _labels(None, le="10.0"))] == SENT
        assert got[("ongoingai_provider_request_duration_seconds_count", _labels(None))] == SENT
        assert got == first or got.keys() == first.keys()
    genai = frozenset(
        {
            "gen_ai_operation_name": "chat",
            "gen_ai_provider_name": "openai",
            "gen_ai_request_model": "gpt-4o-mini",
            "gen_ai_token_type": "input",
        }.items()
    )
    assert first[("gen_ai_client_token_usage_count", genai)] == SENT


def test_both_workers_served_traffic_and_traced_it(gateway: GatewayProcess, tmp_path: Path) -> None:
    _send_chats(gateway, SENT)
    _settled(gateway, "ongoingai_proxy_request_total", _labels(), SENT)
    served = {
        line
        for line in gateway.log().splitlines()
        if '"request complete"' in line and "/openai/" in line
    }
    assert len(served) == SENT
    backend = Backend("sqlite", str(tmp_path / "gw.db"))
    assert len(backend.wait_for(SENT)) == SENT


def test_the_scrape_is_not_traced_and_answers_any_method(
    gateway: GatewayProcess, tmp_path: Path
) -> None:
    _send_chats(gateway, 1)
    _settled(gateway, "ongoingai_proxy_request_total", _labels(), 1)
    for method in ("GET", "POST", "DELETE"):
        _scrape(gateway, method=method)
    backend = Backend("sqlite", str(tmp_path / "gw.db"))
    backend.wait_for(1)
    time.sleep(0.5)  # a scrape trace would have been flushed by now
    assert [t.request_path for t in backend.read()] == ["/openai/v1/chat/completions"]
    assert _fresh("GET", gateway.url + "/metricsx").status_code == 404


def test_a_custom_path_with_auth_on_needs_no_key(tmp_path: Path, upstream: FakeUpstream) -> None:
    _config(
        tmp_path,
        upstream,
        """    prometheus_path: /internal/prom
auth:
  enabled: true
  keys:
    - {id: k1, token: gw-secret, role: developer}
""",
    )
    with GatewayProcess(tmp_path) as gw:
        _send_chats(gw, 3, {"X-OngoingAI-Gateway-Key": "gw-secret"})
        labels = _labels(org_id="default", workspace_id="default")
        got = {}
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            got = _scrape(gw, "/internal/prom")
            if got.get(("ongoingai_proxy_request_total", labels)) == 3:
                break
            time.sleep(0.1)
        assert got[("ongoingai_proxy_request_total", labels)] == 3
        assert _fresh("GET", gw.url + "/metrics").status_code == 404
