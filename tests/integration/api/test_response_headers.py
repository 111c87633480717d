"""Every answer of the HTTP API — success, validation error, 404, 405, preflight, HEAD, 503 —
carries the correlation id and the CORS headers (contract §3.1, SPEC §1), on both backends."""

from __future__ import annotations

import pytest

from tests.api_server import ApiServer
from tests.integration.storage.records import trace

RANGE = "from=2020-01-01T00:00:00Z&to=2030-01-01T00:00:00Z"

# (method, path, expected status): one of each kind of answer the API gives.
ANSWERS = [
    ("GET", "/", 200),
    ("GET", "/api/health", 200),
    ("GET", "/api/ready", 200),
    ("GET", "/api/diagnostics/config", 200),
    ("GET", "/api/diagnostics/trace-pipeline", 200),
    ("GET", "/api/traces", 200),
    ("GET", "/api/traces/t1", 200),
    ("GET", "/api/traces/t1/replay", 200),
    ("GET", f"/api/analytics/usage?{RANGE}", 200),
    ("GET", f"/api/analytics/cost?{RANGE}&bucket=day", 200),
    ("GET", f"/api/analytics/models?{RANGE}", 200),
    ("GET", f"/api/analytics/keys?{RANGE}", 200),
    ("GET", f"/api/analytics/latency?{RANGE}&group_by=model", 200),
    ("GET", f"/api/analytics/errors?{RANGE}", 200),
    ("GET", f"/api/analytics/summary?{RANGE}", 200),
    ("HEAD", "/api/analytics/summary", 200),
    ("GET", "/api/traces?limit=201", 400),
    ("GET", "/api/analytics/usage?bucket=fortnight", 400),
    ("GET", "/api/traces/missing", 404),
    ("GET", "/api/nothing-here", 404),
    ("DELETE", "/api/traces", 405),
    ("OPTIONS", "/api/analytics/usage", 204),
    ("OPTIONS", "/api/health", 204),
]


@pytest.fixture
def api(tmp_path, backend):
    with ApiServer(tmp_path, backend) as server:
        server.seed([trace(id="t1")])
        yield server


def test_every_answer_carries_correlation_id_and_cors(api):
    for method, path, status in ANSWERS:
        where = f"{method} {path}"
        minted = api.client.request(method, path)
        assert minted.status_code == status, (where, minted.text)
        assert minted.headers["x-ongoingai-correlation-id"].startswith("corr-"), where
        assert minted.headers["access-control-allow-origin"] == "*", where
        if status >= 400:
            body = minted.json()
            assert set(body) == {"error", "code"} and body["error"] and body["code"], where

        echoed = api.client.request(method, path, headers={"X-Request-ID": "req-42"})
        assert echoed.headers["x-ongoingai-correlation-id"] == "req-42", where


def test_without_storage_the_503_carries_them_too(tmp_path, backend):
    with ApiServer(tmp_path, backend, storage=False) as api:
        for path in ("/api/traces", f"/api/analytics/summary?{RANGE}", "/api/ready"):
            answer = api.client.get(path, headers={"X-Request-ID": "req-503"})
            assert answer.status_code == 503, (path, answer.text)
            assert answer.headers["x-ongoingai-correlation-id"] == "req-503"
            assert answer.headers["access-control-allow-origin"] == "*"
