"""Hot reload against a running `ongoingai serve`: swap, refuse, recover, stream through it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _config(upstream: str, extra: str = "") -> str:
    return f"providers:\n  openai:\n    upstream: {upstream}\n{extra}"


def _served_by(gw: GatewayProcess, headers: dict[str, str] | None = None) -> str:
    r = httpx.post(gw.url + "/openai/v1/chat/completions", json=CHAT, headers=headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.headers["x-fake-upstream"]


def _until(check: Callable[[], bool], within: float) -> float:
    """Poll `check` until true; return the seconds it took (fails after `within`)."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"condition not met within {within} s")


@pytest.fixture
def gateway(tmp_path: Path, upstream: FakeUpstream) -> Iterator[GatewayProcess]:
    (tmp_path / "ongoingai.yaml").write_text(_config(upstream.url))
    with GatewayProcess(tmp_path) as gw:
        yield gw


def _diagnostics(gw: GatewayProcess) -> dict:
    return httpx.get(gw.url + "/api/diagnostics/config").json()


def test_editing_the_upstream_takes_effect_within_two_seconds(
    gateway: GatewayProcess, upstream_two: FakeUpstream, tmp_path: Path
):
    assert _served_by(gateway) == "one"
    before = _diagnostics(gateway)["revision"]
    (tmp_path / "ongoingai.yaml").write_text(_config(upstream_two.url))
    _until(lambda: _served_by(gateway) == "two", within=2.0)
    after = _diagnostics(gateway)
    assert after["revision"] != before
    assert after["last_error"] is None


def test_broken_edit_keeps_serving_and_is_reported_then_fixing_recovers(
    gateway: GatewayProcess, upstream_two: FakeUpstream, tmp_path: Path
):
    config = tmp_path / "ongoingai.yaml"
    good_revision = _diagnostics(gateway)["revision"]
    config.write_text(_config(upstream_two.url, "server:\n  bogus_key: 1\n"))
    _until(lambda: _diagnostics(gateway)["last_error"] is not None, within=2.0)
    diag = _diagnostics(gateway)
    assert diag["revision"] == good_revision
    (error,) = diag["last_error"]["errors"]
    assert error["file"].endswith("ongoingai.yaml")
    assert (error["line"], error["column"], error["pointer"]) == (5, 3, "/server/bogus_key")
    assert "bogus_key" in error["message"]
    assert _served_by(gateway) == "one"  # the last good configuration still serves
    ready = httpx.get(gateway.url + "/api/ready").json()
    assert ready == {"status": "ready", "config_revision": good_revision, "config_error": True}

    config.write_text(_config(upstream_two.url))
    _until(lambda: _diagnostics(gateway)["last_error"] is None, within=2.0)
    assert _served_by(gateway) == "two"
    assert httpx.get(gateway.url + "/api/ready").json()["config_error"] is False


def test_stream_started_before_a_reload_completes_unharmed(
    gateway: GatewayProcess, upstream: FakeUpstream, upstream_two: FakeUpstream, tmp_path: Path
):
    chunks = 20
    body = {**CHAT, "stream": True}
    headers = {"x-fake-chunks": str(chunks), "x-fake-chunk-delay-ms": "100"}
    received: list[str] = []
    with httpx.stream(
        "POST", gateway.url + "/openai/v1/chat/completions", json=body, headers=headers, timeout=30
    ) as r:
        assert r.headers["x-fake-upstream"] == "one"
        lines = r.iter_lines()
        received.extend(line for line in (next(lines), next(lines)) if line)
        swap = threading.Thread(
            target=lambda: (tmp_path / "ongoingai.yaml").write_text(_config(upstream_two.url))
        )
        swap.start()
        _until(lambda: _served_by(gateway) == "two", within=2.0)  # reload happened mid-stream
        received.extend(line for line in lines if line)
        swap.join()
    events = [line for line in received if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    text = "".join(
        choice["delta"].get("content") or ""
        for event in events[:-1]
        for choice in json.loads(event.removeprefix("data: "))["choices"]
    )
    assert text == "Hello from one" + " more" * (chunks - 3)  # every delta, from upstream "one"


def test_changing_storage_is_reported_as_restart_required_not_applied(
    gateway: GatewayProcess, upstream: FakeUpstream, tmp_path: Path
):
    # (the bind address is pinned by ONGOINGAI_HOST/PORT here, and env wins over the file)
    extra = "storage:\n  path: ./elsewhere.db\n"
    (tmp_path / "ongoingai.yaml").write_text(_config(upstream.url, extra))
    _until(lambda: _diagnostics(gateway)["restart_required"] == ["storage.path"], within=2.0)
    assert _served_by(gateway) == "one"
    health = httpx.get(gateway.url + "/api/health").json()
    assert health["storage_driver"] == "sqlite"


def test_a_new_provider_file_in_the_policy_directory_serves_without_restart(
    tmp_path: Path, upstream: FakeUpstream
):
    (tmp_path / "policies").mkdir()
    (tmp_path / "ongoingai.yaml").write_text("policies: ./policies\n")
    with GatewayProcess(tmp_path) as gw:
        assert httpx.get(gw.url + "/acme/v1/models").status_code == 404
        (tmp_path / "policies" / "groq.yaml").write_text(
            "kind: provider\nversion: 1\nname: acme\nprefix: /acme\n"
            f"upstream: {upstream.url}\ndialect: openai\n"
        )
        _until(lambda: httpx.get(gw.url + "/acme/v1/models").status_code == 200, within=2.0)
        assert upstream.requests[-1].path == "/v1/models"
