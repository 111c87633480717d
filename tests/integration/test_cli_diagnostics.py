"""`ongoingai diagnostics` against a real running gateway (and against things that are not)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import ONGOINGAI, GatewayProcess, free_port
from tests.integration.storage.records import DIAGNOSTICS_FIELDS

GATEWAY_KEY = "diagnostics-test-key-0001"
PATH = "/api/diagnostics/trace-pipeline"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONGOINGAI_", "OTEL_"))}
    return {**env, **extra}


def run(workdir: Path, *args: str):
    out = subprocess.run(
        [ONGOINGAI, "diagnostics", *args],
        cwd=workdir,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out


def write_config(workdir: Path, text: str) -> None:
    (workdir / "ongoingai.yaml").write_text(text)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("diag-gateway")
    write_config(workdir, "storage: {path: ./data/traces.db}\n")
    with GatewayProcess(workdir) as gw:
        yield gw


@pytest.fixture(scope="module")
def auth_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("diag-auth-gateway")
    write_config(
        workdir,
        "storage: {path: ./data/traces.db}\n"
        "auth:\n"
        "  enabled: true\n"
        "  header: X-Team-Key\n"
        f"  keys: [{{id: ops, role: viewer, token: {GATEWAY_KEY}}}]\n",
    )
    with GatewayProcess(workdir) as gw:
        yield gw


# --- against a running gateway ------------------------------------------------------------


def test_diagnostics_prints_the_trace_pipeline_as_text(tmp_path: Path, gateway: GatewayProcess):
    out = run(tmp_path, "--base-url", gateway.url + "/")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "OngoingAI Diagnostics"

    def value(label: str) -> str:
        found = [ln for ln in lines if re.match(rf"\s*{re.escape(label)}:\s", ln)]
        assert len(found) == 1, (label, lines)
        return found[0].split(":", 1)[1].strip()

    assert value("Schema version") == "trace-pipeline-diagnostics.v1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", value("Generated at"))
    assert value("Source") == gateway.url + PATH
    assert value("Queue pressure") == "OK"
    assert value("High watermark pressure") == "OK"
    assert value("Capacity") == "1024"
    assert value("Depth") == "0"
    assert value("Utilization (pct)") == "0"
    assert value("Enqueue dropped total") == "0"
    assert value("Total dropped") == "0"
    assert value("Last enqueue drop at") == "(none)"
    assert value("Last write drop operation") == "(none)"
    assert value("Driver") == "sqlite"
    for title in ("Queue", "Drops", "Store"):
        assert title in lines
    assert "Write Failures by Class" not in lines  # only present when there were failures
    assert all(len(line) <= 80 for line in lines)


def test_diagnostics_json_reencodes_the_gateway_document(tmp_path: Path, gateway: GatewayProcess):
    out = run(tmp_path, "trace-pipeline", "--base-url", gateway.url, "--format", "JSON")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert list(doc) == ["schema_version", "generated_at", "diagnostics"]
    assert doc["schema_version"] == "trace-pipeline-diagnostics.v1"
    diagnostics = doc["diagnostics"]
    # Field by field (contract §3.3).
    assert list(diagnostics) == DIAGNOSTICS_FIELDS
    assert diagnostics["queue_capacity"] == 1024
    assert diagnostics["queue_depth"] == 0
    assert diagnostics["queue_utilization_pct"] == 0
    assert diagnostics["queue_pressure_state"] == "ok"
    assert diagnostics["queue_high_watermark_pressure_state"] == "ok"
    assert diagnostics["store_driver"] == "sqlite"
    for key in ("enqueue_dropped_total", "write_dropped_total", "total_dropped_total"):
        assert diagnostics[key] == 0
    assert isinstance(diagnostics["enqueue_accepted_total"], int)
    assert dt.datetime.fromisoformat(doc["generated_at"]).tzinfo is not None
    # The gateway's own document, re-encoded: same fields, same values.
    served = httpx.get(gateway.url + "/api/diagnostics/trace-pipeline").json()
    assert served["diagnostics"] == diagnostics
    assert out.stdout.startswith('{\n  "schema_version"')  # 2-space indent, as the contract


def test_diagnostics_finds_the_gateway_from_the_config(tmp_path: Path, gateway: GatewayProcess):
    write_config(tmp_path, f"server: {{host: 127.0.0.1, port: {gateway.port}}}\n")
    out = run(tmp_path, "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["schema_version"] == "trace-pipeline-diagnostics.v1"


def test_diagnostics_with_auth_needs_the_gateway_key(tmp_path: Path, auth_gateway: GatewayProcess):
    out = run(tmp_path, "--base-url", auth_gateway.url)
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr == (
        "failed to read diagnostics: status 401: missing or invalid gateway key\n"
    )
    out = run(
        tmp_path,
        "--base-url",
        auth_gateway.url,
        "--auth-header",
        "X-Team-Key",
        "--gateway-key",
        GATEWAY_KEY,
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["diagnostics"]["queue_capacity"] == 1024


def test_diagnostics_takes_the_key_header_from_the_config(
    tmp_path: Path, auth_gateway: GatewayProcess
):
    write_config(
        tmp_path,
        f"server: {{host: 127.0.0.1, port: {auth_gateway.port}}}\n"
        "auth: {enabled: true, header: X-Team-Key, keys: [{id: k, role: viewer, token: "
        f"{GATEWAY_KEY}}}]}}\n",
    )
    out = run(tmp_path, "--gateway-key", GATEWAY_KEY)
    assert out.returncode == 0, out.stderr
    assert "OngoingAI Diagnostics" in out.stdout
    # The default header is not the one this gateway reads.
    out = run(
        tmp_path,
        "--base-url",
        auth_gateway.url,
        "--auth-header",
        "X-OngoingAI-Gateway-Key",
        "--gateway-key",
        GATEWAY_KEY,
    )
    assert out.returncode == 1
    assert "status 401" in out.stderr


# --- against what is not a gateway --------------------------------------------------------


def test_diagnostics_reports_a_url_that_is_not_a_gateway(tmp_path: Path, upstream: FakeUpstream):
    out = run(tmp_path, "--base-url", upstream.url)
    assert out.returncode == 1
    assert out.stderr.startswith("failed to read diagnostics: status 404: ")
    assert out.stderr.count("\n") == 1


def test_diagnostics_reports_an_unreachable_gateway(tmp_path: Path):
    url = f"http://127.0.0.1:{free_port()}"
    out = run(tmp_path, "--base-url", url, "--timeout", "2s")
    assert out.returncode == 1
    assert out.stderr.startswith(f"failed to read diagnostics: GET {url}{PATH}: ")
    assert out.stderr.count("\n") == 1


def test_diagnostics_rejects_a_base_url_that_is_not_http(tmp_path: Path):
    out = run(tmp_path, "--base-url", "ftp://example.com")
    assert out.returncode == 1
    assert out.stderr.startswith("failed to resolve diagnostics endpoint: base url must be")


def test_diagnostics_without_base_url_needs_a_valid_config(tmp_path: Path):
    write_config(tmp_path, "server: {port: 0}\n")
    out = run(tmp_path)
    assert out.returncode == 1
    assert out.stderr.startswith(
        "failed to resolve diagnostics endpoint: config validation failed: ongoingai.yaml:"
    )
    write_config(tmp_path, "server: [\n")
    out = run(tmp_path)
    assert out.returncode == 1
    assert out.stderr.startswith("failed to resolve diagnostics endpoint: load config: ")
    # With a base URL the config is only a source of defaults: it may be broken.
    url = f"http://127.0.0.1:{free_port()}"
    out = run(tmp_path, "--base-url", url, "--timeout", "1s")
    assert out.stderr.startswith("failed to read diagnostics: GET ")


# --- usage errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["queue"], 'unsupported diagnostics target "queue": expected "trace-pipeline"\n'),
        (["trace-pipeline", "queue"], "diagnostics accepts at most one target (trace-pipeline)\n"),
        (["--format", "yaml"], 'invalid diagnostics format "yaml": expected text or json\n'),
        (["--timeout", "0"], 'invalid diagnostics timeout "0s": must be greater than 0\n'),
        (["--timeout=-1.5s"], 'invalid diagnostics timeout "-1.5s": must be greater than 0\n'),
    ],
    ids=["target", "two-targets", "format", "zero-timeout", "negative-timeout"],
)
def test_diagnostics_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str):
    out = run(tmp_path, *args)
    assert (out.returncode, out.stderr) == (2, message)


@pytest.mark.parametrize("value", ["5", "abc", "1x", ""])
def test_diagnostics_timeout_must_be_a_go_duration(tmp_path: Path, value: str):
    out = run(tmp_path, "--timeout", value)
    assert out.returncode == 2
    assert f'invalid duration "{value}" (use Go syntax such as 5s, 500ms or 1m)' in out.stderr


def test_diagnostics_accepts_go_durations(tmp_path: Path, gateway: GatewayProcess):
    for value in ("500ms", "1m", "1m30s", "2.5s"):
        out = run(tmp_path, "--base-url", gateway.url, "--timeout", value)
        assert out.returncode == 0, (value, out.stderr)
