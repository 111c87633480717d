"""Boot every example against fake upstreams and send a request through each of its providers."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/ongoingai.yaml"))
_UPSTREAM = re.compile(r"^(\s*upstream:\s*)\S+", re.MULTILINE)
# An example with auth on shows a gateway key in its README's curl lines; the test sends it.
_GATEWAY_KEY = re.compile(r"-H '(X-OngoingAI-Gateway-Key): ([^']+)'")


def _point_upstreams_at(directory: Path, url: str) -> None:
    for path in directory.rglob("*.yaml"):
        path.write_text(_UPSTREAM.sub(lambda m: m.group(1) + url, path.read_text()))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_example_serves_every_provider_it_declares(
    example: Path, tmp_path: Path, upstream: FakeUpstream
):
    workdir = tmp_path / example.name
    shutil.copytree(example, workdir)
    _point_upstreams_at(workdir, upstream.url)
    env = {"ONGOINGAI_OPENAI_UPSTREAM": upstream.url, "ONGOINGAI_ANTHROPIC_UPSTREAM": upstream.url}
    with GatewayProcess(workdir, env=env) as gw:
        startup = gw.log()
        routes = re.findall(r'"[\w.-]+:(/[^"]*?)->([^"]+)"', startup)
        # every provider the example itself declares now points at the fake upstream
        prefixes = [prefix for prefix, target in routes if target == upstream.url]
        assert "/openai" in prefixes and "/anthropic" in prefixes
        headers = {"authorization": "Bearer k"}
        key = _GATEWAY_KEY.search((example / "README.md").read_text())
        if key is not None:
            headers[key.group(1)] = key.group(2)
        for prefix in prefixes:
            r = httpx.get(gw.url + prefix + "/v1/models", headers=headers)
            assert r.status_code == 200, (prefix, r.text)
            assert upstream.requests[-1].path == "/v1/models"
        # every example records its traffic
        deadline = time.monotonic() + 10
        while httpx.get(gw.url + "/api/health").json()["trace_count"] < len(prefixes):
            assert time.monotonic() < deadline, "requests were not traced"
            time.sleep(0.1)
