"""The wheel as a user installs it: one `ongoingai` import root, data files, a working CLI."""

from __future__ import annotations

import email
import os
import site
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from packaging.requirements import Requirement

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess

ROOT = Path(__file__).resolve().parents[2]
BASELINE = {
    "pip",
    "setuptools",
    "_distutils_hack",
    "distutils-precedence.pth",
    "pkg_resources",
    "__pycache__",
}
pytestmark = pytest.mark.slow


def _purelib(venv: Path) -> Path:
    """The virtualenv's site-packages."""
    return next((venv / "lib").glob("python3*/site-packages"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`pip install` of the built wheel (not editable) into a brand-new virtualenv.

    Third-party dependencies come from the test environment through a .pth file, so the test
    needs no network; the project itself is installed from its wheel only.
    """
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = work.glob("ongoingai_gateway-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    purelib = _purelib(venv)
    # Plain path entries: .pth files inside them (the editable install's finder) stay inert.
    (purelib / "zz_test_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps"]
    subprocess.run([*pip, "--no-index", str(wheel)], check=True, timeout=300)
    yield venv


def test_wheel_has_one_distinct_import_root_and_ships_data(installed: Path):
    purelib = _purelib(installed)
    ours = {p.name for p in purelib.iterdir()} - BASELINE
    top_level = {n for n in ours if not n.endswith((".dist-info", ".pth"))}
    assert top_level == {"ongoingai"}
    assert not (purelib / "engine").exists() and not (purelib / "stages").exists()
    package = purelib / "ongoingai"
    assert (package / "schemas" / "config.schema.json").is_file()
    assert (package / "policies" / "providers" / "openai.yaml").is_file()
    (dist_info,) = purelib.glob("ongoingai_gateway-*.dist-info")
    assert "ongoingai = ongoingai.engine.cli:main" in (dist_info / "entry_points.txt").read_text()


def test_installed_gateway_serves_with_no_config_on_port_8080(installed: Path, tmp_path: Path):
    with FakeUpstream("installed") as fake:
        env = {"ONGOINGAI_OPENAI_UPSTREAM": fake.url, "PYTHONPATH": ""}
        gw = GatewayProcess(
            tmp_path,
            env=env,
            config=None,
            port=8080,
            executable=str(installed / "bin" / "ongoingai"),
        )
        gw.env.pop("ONGOINGAI_HOST", None)  # the contract default host, 0.0.0.0
        with gw:
            r = httpx.get(
                "http://127.0.0.1:8080/openai/v1/models", headers={"authorization": "Bearer k"}
            )
            assert r.status_code == 200
            assert r.headers["x-fake-upstream"] == "installed"
            root = httpx.get("http://127.0.0.1:8080/").json()
            assert root["status"] == "ok"


def test_installed_cli_imports_the_wheel_not_the_checkout(installed: Path):
    code = "import ongoingai.engine, ongoingai.stages; print(ongoingai.engine.__file__)"
    out = subprocess.run(
        [str(installed / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert out.stdout.strip().startswith(str(installed))
    version = subprocess.run(
        [str(installed / "bin" / "ongoingai"), "version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("0.1.0 (")


def test_telemetry_is_part_of_the_plain_install(installed: Path, tmp_path: Path):
    (dist_info,) = _purelib(installed).glob("ongoingai_gateway-*.dist-info")
    metadata = email.message_from_string((dist_info / "METADATA").read_text())
    requires = [Requirement(line) for line in metadata.get_all("Requires-Dist") or []]
    core = {r.name for r in requires if r.marker is None or "extra" not in str(r.marker)}
    assert core >= {
        "opentelemetry-api",
        "opentelemetry-sdk",
        "opentelemetry-exporter-otlp-proto-http",
        "prometheus-client",
    }

    (tmp_path / "ongoingai.yaml").write_text(
        "observability:\n  otel:\n    enabled: true\n    traces_enabled: false\n"
        "    metrics_enabled: false\n    prometheus_enabled: true\n"
    )
    with FakeUpstream("installed-otel") as fake:
        env = {"ONGOINGAI_OPENAI_UPSTREAM": fake.url, "PYTHONPATH": ""}
        executable = str(installed / "bin" / "ongoingai")
        with GatewayProcess(tmp_path, env=env, executable=executable) as gw:
            r = httpx.get(gw.url + "/openai/v1/models", headers={"authorization": "Bearer k"})
            assert r.status_code == 200
            scrape = httpx.get(gw.url + "/metrics")
            assert scrape.status_code == 200
            assert "ongoingai_proxy_request_total" in scrape.text
