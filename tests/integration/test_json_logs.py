"""Everything a serving gateway writes to stdout and stderr is one JSON object per line.

Checked on a real process, with one worker and with uvicorn's supervisor over two: uvicorn's
own startup and shutdown lines, the contract's `request complete` line per request (with the
correlation id the client got), errors from the upstream and from the gateway itself.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _records(gw: GatewayProcess) -> list[dict[str, object]]:
    records = []
    for number, line in enumerate(gw.log().splitlines(), 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            pytest.fail(f"line {number} is not JSON: {line!r}")
        assert isinstance(record, dict), line
        assert {"time", "level", "msg"} <= record.keys(), line
        records.append(record)
    return records


@pytest.mark.parametrize("workers", [1, 2])
def test_every_line_is_json_and_requests_carry_correlation_ids(
    tmp_path: Path, upstream: FakeUpstream, workers: int
) -> None:
    (tmp_path / "ongoingai.yaml").write_text(
        f"server: {{workers: {workers}}}\n"
        f"storage: {{path: {tmp_path / 'gw.db'}}}\n"
        f'providers: {{openai: {{upstream: "{upstream.url}"}}}}\n',
        encoding="utf-8",
    )
    gw = GatewayProcess(tmp_path).start()
    try:
        with httpx.Client(base_url=gw.url, timeout=10) as client:
            ok = client.post(
                "/openai/v1/chat/completions", json=CHAT, headers={"X-Request-ID": "req-ok-1"}
            )
            failed = client.post(
                "/openai/v1/chat/completions", json=CHAT, headers={"x-fake-status": "500"}
            )
            missing = client.get("/nowhere")
            bad_query = client.get("/api/traces", params={"limit": "many"})
    finally:
        assert gw.stop() == 0
    assert ok.status_code == 200
    assert failed.status_code == 500
    assert missing.status_code == 404
    assert bad_query.status_code == 400

    records = _records(gw)
    messages = [str(r["msg"]) for r in records]
    assert any(m.startswith("Started server process") for m in messages)
    assert any(m.startswith("Uvicorn running on") for m in messages)
    assert "startup banner" in messages
    assert "gateway stopped" in messages
    if workers > 1:
        assert any(m.startswith("Started parent process") for m in messages)

    done = {str(r["correlation_id"]): r for r in records if r["msg"] == "request complete"}
    want = {
        "req-ok-1": (ok, "POST", "/openai/v1/chat/completions", 200),
        failed.headers["x-ongoingai-correlation-id"]: (failed, "POST", None, 500),
        missing.headers["x-ongoingai-correlation-id"]: (missing, "GET", "/nowhere", 404),
        bad_query.headers["x-ongoingai-correlation-id"]: (bad_query, "GET", "/api/traces", 400),
    }
    for corr, (_reply, method, path, status) in want.items():
        line = done[corr]
        assert (line["method"], line["status"]) == (method, status)
        assert path is None or line["path"] == path
        assert isinstance(line["latency_ms"], float | int)
    # One line per request: uvicorn's access log is off.
    assert sum(1 for r in records if "/nowhere" in json.dumps(r)) == 1
