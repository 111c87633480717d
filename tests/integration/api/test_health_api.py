"""Root, liveness and readiness: readiness follows storage, liveness never does."""

from __future__ import annotations

import time

from sqlalchemy.engine import make_url

from tests.api_server import ApiServer
from tests.integration.storage.records import trace
from tests.integration.traces_db import Backend
from tests.tcp_relay import TcpRelay


def _ready_status(api: ApiServer, want: int, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = api.get("/api/ready")
        if response.status_code == want or time.monotonic() > deadline:
            assert response.status_code == want, response.text
            return response.json()
        time.sleep(0.1)


def test_health_counts_traces_and_reports_the_sqlite_file_size(tmp_path, backend):
    with ApiServer(tmp_path, backend) as api:
        api.seed([trace(), trace(), trace()])
        body = api.get("/api/health").json()
        assert body["status"] == "ok"
        assert body["trace_count"] == 3
        assert body["storage_driver"] == backend.driver
        assert isinstance(body["uptime_sec"], int)
        if backend.driver == "sqlite":
            assert body["db_size_bytes"] > 0
        else:
            assert "db_size_bytes" not in body
        ready = api.get("/api/ready").json()
        assert ready["status"] == "ready" and ready["config_error"] is False


def test_readiness_follows_storage_while_health_stays_ok(tmp_path, postgres_schema_dsn):
    url = make_url(postgres_schema_dsn)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432).start()
    try:
        dsn = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        with ApiServer(tmp_path, Backend("postgres", dsn=dsn)) as api:
            _ready_status(api, 200)
            relay.cut()
            body = _ready_status(api, 503)
            assert body["status"] == "not_ready"
            assert any(reason.startswith("storage ") for reason in body["reasons"]), body
            health = api.get("/api/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            relay.resume()
            assert _ready_status(api, 200, timeout=20)["status"] == "ready"
    finally:
        relay.close()


def test_without_storage_the_gateway_is_not_ready(tmp_path, backend):
    with ApiServer(tmp_path, backend, storage=False) as api:
        body = _ready_status(api, 503)
        assert body["reasons"] == ["storage is not open"]
