"""The `ongoingai` command line as a CI job or an operator runs it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.gateway_proc import ONGOINGAI

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/ongoingai.yaml"))
BROKEN = ROOT / "tests" / "data" / "broken"


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ONGOINGAI, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_version_prints_version_commit_and_date():
    for argv in (["version"], ["--version"], ["-v"]):
        out = run(*argv)
        assert out.returncode == 0
        assert re.fullmatch(r"\S+ \(\S+, \S+\)\n", out.stdout), out.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(example: Path):
    out = run("validate", "--config", "ongoingai.yaml", cwd=example)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "config is valid: ongoingai.yaml\n"


def test_examples_include_minimal_and_multi_provider():
    assert {"minimal", "multi-provider"} <= {p.name for p in EXAMPLES}
    for example in EXAMPLES:
        assert (example / "README.md").is_file()


EXPECTED_BROKEN = [
    ("ongoingai.yaml", 2, 3, "/server/port", "expected integer"),
    ("ongoingai.yaml", 3, 3, "/server/bogus_key", "field bogus_key not found"),
    ("ongoingai.yaml", 5, 3, "/storage/driver", "storage.driver must be one of sqlite, postgres"),
    ("ongoingai.yaml", 9, 5, "/pipeline/1/type", 'unknown stage type "meterr"'),
    ("ongoingai.yaml", 12, 7, "/pipeline/2/with/read_timeout_ms", "minimum of 1"),
    ("ongoingai.yaml", 14, 5, "/pipeline/4", 'duplicate stage id "route"'),
    ("ongoingai.yaml", 14, 5, "/pipeline/4", "cannot come after the terminal stage"),
    ("policies/pricing/dup.yaml", 9, 5, "/models/0/rates", 'duplicate key "rates"'),
    ("policies/providers/bad.yaml", 4, 1, "/prefix", '"no-slash" is not valid'),
    ("policies/providers/bad.yaml", 5, 1, "/upstream", '"ftp://example.com" is not valid'),
    ("policies/providers/bad.yaml", 6, 1, "/dialect", 'must be one of "openai", "anthropic"'),
    ("policies/syntax.yaml", 4, 1, "/", "parse yaml"),
]


def test_validate_reports_every_problem_with_file_line_and_pointer():
    out = run("validate", cwd=BROKEN)
    assert out.returncode == 1
    lines = out.stderr.splitlines()
    assert lines[0] == f"config is invalid: {len(EXPECTED_BROKEN)} problems"
    for file, line, column, pointer, message in EXPECTED_BROKEN:
        prefix = f"{file}:{line}:{column}: {pointer}: "
        assert any(ln.startswith(prefix) and message in ln for ln in lines[1:]), (prefix, lines)
    assert "Traceback" not in out.stderr


def test_validate_json_format_lists_files_and_errors():
    out = run("validate", "--format", " JSON ", cwd=BROKEN)
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["schema_version"] == "validate.v1"
    assert doc["valid"] is False
    assert "ongoingai.yaml" in doc["files"]
    first = doc["errors"][0]
    assert set(first) == {"file", "line", "column", "pointer", "message"}
    assert len(doc["errors"]) == len(EXPECTED_BROKEN)


def test_config_validate_is_an_alias(tmp_path: Path):
    (tmp_path / "ongoingai.yaml").write_text("")  # an empty file is valid
    out = run("config", "validate", cwd=tmp_path)
    assert (out.returncode, out.stdout) == (0, "config is valid: ongoingai.yaml\n")
    (tmp_path / "ongoingai.yaml").write_text("storage: {driver: postgres}\n")
    out = run("config", "validate", cwd=tmp_path)
    assert out.returncode == 1
    assert "storage.dsn is required when storage.driver=postgres" in out.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "--format", "yaml"],
        ["bogus"],
        ["config"],
        ["validate", "extra"],
        ["serve", "--nope"],
    ],
    ids=["bad-format", "unknown-command", "config-without-subcommand", "positional", "bad-flag"],
)
def test_usage_errors_exit_2(argv: list[str], tmp_path: Path):
    out = run(*argv, cwd=tmp_path)
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr


def test_multiple_yaml_documents_and_syntax_errors_are_located(tmp_path: Path):
    (tmp_path / "ongoingai.yaml").write_text("server: {}\n---\nstorage: {}\n")
    out = run("validate", cwd=tmp_path)
    assert out.returncode == 1
    assert "ongoingai.yaml:2:1: /: multiple yaml documents are not supported" in out.stderr
    (tmp_path / "ongoingai.yaml").write_text("server:\n  port: [1,\n")
    out = run("validate", cwd=tmp_path)
    assert out.returncode == 1 and "parse yaml" in out.stderr


def test_policy_dir_is_resolved_relative_to_the_config_file(tmp_path: Path):
    shutil.copytree(ROOT / "examples" / "multi-provider", tmp_path / "mp")
    out = run("validate", "--config", str(tmp_path / "mp" / "ongoingai.yaml"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr


def test_serve_exits_1_with_the_storage_error_when_storage_cannot_open(tmp_path: Path):
    from tests.gateway_proc import free_port

    dsn = f"postgres://postgres@127.0.0.1:{free_port()}/nothing?sslmode=disable&connect_timeout=2"
    (tmp_path / "ongoingai.yaml").write_text(f"storage:\n  driver: postgres\n  dsn: {dsn}\n")
    out = subprocess.run(
        [ONGOINGAI, "serve", "extra-positional-is-ignored"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "ONGOINGAI_PORT": str(free_port())},
    )
    assert out.returncode == 1
    assert "failed to initialize postgres storage" in out.stderr
    assert "Traceback" not in out.stderr
