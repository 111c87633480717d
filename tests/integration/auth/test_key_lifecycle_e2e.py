"""Keys created through the API authenticate at once; revoked or rotated keys stop working
on every replica sharing the database within the stated delay (README: Gateway keys)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess
from tests.integration.auth.gateways import PROVIDER_KEY, auth_config, start_gateway, token
from tests.integration.traces_db import Backend
from tests.tcp_relay import TcpRelay

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
GATEWAY_HEADER = "X-OngoingAI-Gateway-Key"
#: The bound README states: `auth.key_refresh_ms` (1 s by default) plus one query.
STATED_DELAY_S = 2.0


def _proxy(gateway: GatewayProcess, tok: str) -> int:
    response = httpx.post(
        gateway.url + "/openai/v1/chat/completions",
        json=CHAT,
        headers={GATEWAY_HEADER: tok, "Authorization": f"Bearer {PROVIDER_KEY}"},
        timeout=10,
    )
    return response.status_code


def _manage(gateway: GatewayProcess) -> httpx.Client:
    return httpx.Client(
        base_url=gateway.url, headers={GATEWAY_HEADER: token("owner-a")}, timeout=10
    )


def _until(gateway: GatewayProcess, tok: str, status: int) -> float:
    """Seconds until a proxy request with `tok` answers `status` (gives up after 3x the bound)."""
    started = time.monotonic()
    while time.monotonic() - started < 3 * STATED_DELAY_S:
        if _proxy(gateway, tok) == status:
            return time.monotonic() - started
        time.sleep(0.05)
    return float("inf")


def test_created_rotated_and_revoked_keys_take_effect(
    tmp_path: Path, upstream: FakeUpstream, backend: Backend
):
    gw = start_gateway(tmp_path, upstream.url, backend.env, auth_config())
    try:
        with _manage(gw) as admin:
            created = admin.post("/api/gateway-keys", json={"role": "developer"}).json()
            first = created["token"]
            assert _until(gw, first, 200) <= STATED_DELAY_S
            rotated = admin.post(f"/api/gateway-keys/{created['id']}/rotate", json={}).json()
            assert _until(gw, first, 401) <= STATED_DELAY_S
            assert _proxy(gw, rotated["token"]) == 200
            assert admin.delete(f"/api/gateway-keys/{created['id']}").status_code == 204
            assert _until(gw, rotated["token"], 401) <= STATED_DELAY_S
    finally:
        gw.stop()


@pytest.fixture
def two_replicas(
    tmp_path: Path, upstream: FakeUpstream, postgres_schema_dsn: str
) -> Iterator[tuple[GatewayProcess, GatewayProcess]]:
    env = {"ONGOINGAI_STORAGE_DRIVER": "postgres", "ONGOINGAI_STORAGE_DSN": postgres_schema_dsn}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start_gateway(tmp_path / "a", upstream.url, env, auth_config())
    try:
        second = start_gateway(tmp_path / "b", upstream.url, env, auth_config())
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


@pytest.mark.postgres
def test_a_key_revoked_on_one_replica_is_refused_by_the_other_within_the_stated_delay(
    two_replicas: tuple[GatewayProcess, GatewayProcess],
):
    a, b = two_replicas
    with _manage(a) as admin:
        created = admin.post("/api/gateway-keys", json={"role": "developer"}).json()
        assert _until(b, created["token"], 200) <= STATED_DELAY_S
        rotated = admin.post(f"/api/gateway-keys/{created['id']}/rotate", json={}).json()
        assert _until(b, created["token"], 401) <= STATED_DELAY_S
        assert _until(b, rotated["token"], 200) <= STATED_DELAY_S
        assert admin.delete(f"/api/gateway-keys/{created['id']}").status_code == 204
    assert _until(b, rotated["token"], 401) <= STATED_DELAY_S
    assert _proxy(a, rotated["token"]) == 401


@pytest.mark.postgres
def test_stored_keys_fail_closed_once_stale_while_yaml_keys_keep_working(
    tmp_path: Path, upstream: FakeUpstream, postgres_schema_dsn: str
):
    url = make_url(postgres_schema_dsn)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432).start()
    dsn = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    env = {"ONGOINGAI_STORAGE_DRIVER": "postgres", "ONGOINGAI_STORAGE_DSN": dsn}
    config = auth_config()
    config["auth"] |= {"key_refresh_ms": 200, "key_max_staleness_ms": 1000}  # type: ignore[operator]
    gw = start_gateway(tmp_path, upstream.url, env, config)
    try:
        with _manage(gw) as admin:
            stored = admin.post("/api/gateway-keys", json={"role": "developer"}).json()["token"]
        assert _until(gw, stored, 200) <= STATED_DELAY_S
        relay.cut()
        assert _until(gw, stored, 503) < float("inf")
        response = httpx.post(
            gw.url + "/openai/v1/chat/completions",
            json=CHAT,
            headers={GATEWAY_HEADER: stored, "Authorization": f"Bearer {PROVIDER_KEY}"},
        )
        assert response.json()["error"]["code"] == "verification_unavailable"
        assert response.json()["error"]["message"] == "gateway key verification unavailable"
        assert _proxy(gw, token("dev-a")) == 200  # YAML keys do not need the database
        relay.resume()
        assert _until(gw, stored, 200) < float("inf")
    finally:
        gw.stop()
        relay.close()
