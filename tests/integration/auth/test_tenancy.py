"""Tenant isolation on both backends: traces, analytics and keys are scoped to the caller."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess
from tests.integration.auth.gateways import PROVIDER_KEY, auth_config, start_gateway, token
from tests.integration.traces_db import Backend

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello tenant"}]}
GATEWAY_HEADER = "X-OngoingAI-Gateway-Key"


@pytest.fixture
def gateway(tmp_path: Path, upstream: FakeUpstream, backend: Backend) -> Iterator[GatewayProcess]:
    gw = start_gateway(tmp_path, upstream.url, backend.env, auth_config())
    try:
        yield gw
    finally:
        gw.stop()


def _as(gateway: GatewayProcess, key_id: str) -> httpx.Client:
    return httpx.Client(
        base_url=gateway.url,
        headers={GATEWAY_HEADER: token(key_id), "Authorization": f"Bearer {PROVIDER_KEY}"},
        timeout=10,
    )


def _traffic(gateway: GatewayProcess, backend: Backend) -> dict[str, list[str]]:
    """Two requests as org-a's developer, one as org-b's owner; trace ids per org."""
    for key_id, n in (("dev-a", 2), ("owner-b", 1)):
        with _as(gateway, key_id) as client:
            for _ in range(n):
                assert client.post("/openai/v1/chat/completions", json=CHAT).status_code == 200
    traces = backend.wait_for(3)
    assert len(traces) == 3
    by_org: dict[str, list[str]] = {}
    for trace in traces:
        by_org.setdefault(trace.org_id, []).append(trace.id)
    return by_org


def test_traces_carry_the_callers_tenant_and_key(gateway: GatewayProcess, backend: Backend):
    _traffic(gateway, backend)
    traces = {t.gateway_key_id: t for t in backend.read()}
    a, b = traces["dev-a"], traces["owner-b"]
    assert (a.org_id, a.workspace_id) == ("org-a", "ws-a")
    assert (b.org_id, b.workspace_id) == ("org-b", "ws-b")
    assert a.metadata["role"] == "developer" and a.metadata["team"] == "ws-a"
    assert a.metadata["gateway_key_id"] == "dev-a"


def test_trace_reads_are_scoped_and_other_tenants_traces_are_not_found(
    gateway: GatewayProcess, backend: Backend
):
    by_org = _traffic(gateway, backend)
    with _as(gateway, "owner-a") as a, _as(gateway, "owner-b") as b:
        listed_a = [item["id"] for item in a.get("/api/traces").json()["items"]]
        listed_b = [item["id"] for item in b.get("/api/traces").json()["items"]]
        assert sorted(listed_a) == sorted(by_org["org-a"])
        assert listed_b == by_org["org-b"]
        foreign = by_org["org-b"][0]
        assert a.get(f"/api/traces/{foreign}").status_code == 404
        assert a.get(f"/api/traces/{foreign}/replay").status_code == 404
        assert a.post(f"/api/traces/{foreign}/fork", json={}).status_code == 404
        assert b.get(f"/api/traces/{foreign}").status_code == 200


def test_analytics_count_only_the_callers_tenant(gateway: GatewayProcess, backend: Backend):
    _traffic(gateway, backend)
    with _as(gateway, "owner-a") as a, _as(gateway, "owner-b") as b:
        assert a.get("/api/analytics/summary").json()["total_requests"] == 2
        assert b.get("/api/analytics/summary").json()["total_requests"] == 1
        models_a = a.get("/api/analytics/models").json()["items"]
        assert [m["request_count"] for m in models_a] == [2]
        latency_b = b.get("/api/analytics/latency").json()["items"]
        assert latency_b[0]["request_count"] == 1


def test_gateway_keys_are_listed_and_created_within_the_callers_tenant(gateway: GatewayProcess):
    with _as(gateway, "owner-a") as a, _as(gateway, "owner-b") as b:
        listed_a = {item["id"] for item in a.get("/api/gateway-keys").json()["items"]}
        listed_b = {item["id"] for item in b.get("/api/gateway-keys").json()["items"]}
        assert "owner-b" not in listed_a and "dev-a" in listed_a
        assert listed_b == {"owner-b"}
        created = a.post(
            "/api/gateway-keys", json={"id": "made-by-a", "org_id": "org-b", "role": "developer"}
        )
        assert created.status_code == 201, created.text
        assert (created.json()["org_id"], created.json()["workspace_id"]) == ("org-a", "ws-a")
        assert b.delete("/api/gateway-keys/made-by-a").status_code == 404
        assert b.post("/api/gateway-keys/made-by-a/rotate", json={}).status_code == 404
        assert "made-by-a" not in {i["id"] for i in b.get("/api/gateway-keys").json()["items"]}


def test_a_developer_cannot_manage_keys(gateway: GatewayProcess):
    with _as(gateway, "dev-a") as dev:
        response = dev.get("/api/gateway-keys")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
