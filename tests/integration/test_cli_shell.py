"""`ongoingai shell-init` and `ongoingai wrap` as a shell profile or a CI script runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway_proc import ONGOINGAI

DEFAULT_EXPORTS = (
    "export OPENAI_BASE_URL=http://localhost:8080/openai/v1\n"
    "export ANTHROPIC_BASE_URL=http://localhost:8080/anthropic\n"
)
PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without the gateway's own overrides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONGOINGAI_", "OTEL_"))}
    env.pop("OPENAI_BASE_URL", None)
    env.pop("ANTHROPIC_BASE_URL", None)
    return {**env, **extra}


def run(
    workdir: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [ONGOINGAI, *args],
        cwd=workdir,
        env=env or clean_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out


def write_config(workdir: Path, text: str) -> Path:
    path = workdir / "ongoingai.yaml"
    path.write_text(text)
    return path


# --- shell-init ---------------------------------------------------------------------------


def test_shell_init_without_config_points_at_localhost_8080(tmp_path: Path):
    out = run(tmp_path, "shell-init")
    assert out.returncode == 0, out.stderr
    assert out.stdout == DEFAULT_EXPORTS
    assert out.stderr == ""


def test_shell_init_uses_configured_host_port_and_prefixes(tmp_path: Path):
    # The contract's case; `anthropic-api` (no leading slash) would not validate, and
    # shell-init does not validate: it normalizes the prefix instead.
    write_config(
        tmp_path,
        "server: {host: 127.0.0.1, port: 9090}\n"
        "providers:\n"
        "  openai: {prefix: /gateway/openai}\n"
        "  anthropic: {prefix: anthropic-api}\n",
    )
    out = run(tmp_path, "shell-init")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        "export OPENAI_BASE_URL=http://127.0.0.1:9090/gateway/openai/v1\n"
        "export ANTHROPIC_BASE_URL=http://127.0.0.1:9090/anthropic-api\n"
    )


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ('""', "http://localhost:8080"),
        ("0.0.0.0", "http://localhost:8080"),
        ('"::"', "http://localhost:8080"),
        ('"[::]"', "http://localhost:8080"),
        ('"::1"', "http://[::1]:8080"),
        ('"[fe80::1]"', "http://[fe80::1]:8080"),
        ("gateway.internal", "http://gateway.internal:8080"),
    ],
    ids=["empty", "ipv4-any", "ipv6-any", "ipv6-any-bracketed", "ipv6", "ipv6-bracketed", "name"],
)
def test_shell_init_turns_the_bind_host_into_a_connectable_url(
    tmp_path: Path, host: str, base: str
):
    write_config(tmp_path, f"server: {{host: {host}}}\n")
    out = run(tmp_path, "shell-init")
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        f"export OPENAI_BASE_URL={base}/openai/v1\nexport ANTHROPIC_BASE_URL={base}/anthropic\n"
    )


def test_shell_init_does_not_repeat_v1_and_strips_trailing_slashes(tmp_path: Path):
    write_config(
        tmp_path,
        "providers:\n  openai: {prefix: /oa/v1/}\n  anthropic: {prefix: /claude/v1/}\n",
    )
    out = run(tmp_path, "shell-init")
    assert out.stdout == (
        "export OPENAI_BASE_URL=http://localhost:8080/oa/v1\n"
        "export ANTHROPIC_BASE_URL=http://localhost:8080/claude/v1\n"
    )


def test_shell_init_follows_provider_data_files_and_env_overrides(tmp_path: Path):
    """Prefixes are data: a user provider file relocates openai; ONGOINGAI_PORT applies."""
    (tmp_path / "policies" / "providers").mkdir(parents=True)
    (tmp_path / "policies" / "providers" / "openai.yaml").write_text(
        "kind: provider\nversion: 1\nname: openai\nprefix: /llm/openai\n"
        "upstream: https://api.openai.com\ndialect: openai\n"
    )
    write_config(tmp_path, "policies: policies\n")
    out = run(tmp_path, "shell-init", env=clean_env(ONGOINGAI_PORT="7070"))
    assert out.returncode == 0, out.stderr
    assert out.stdout == (
        "export OPENAI_BASE_URL=http://localhost:7070/llm/openai/v1\n"
        "export ANTHROPIC_BASE_URL=http://localhost:7070/anthropic\n"
    )


def test_shell_init_ignores_rule_violations_in_the_config(tmp_path: Path):
    write_config(tmp_path, "server: {port: 9191}\nstorage: {driver: postgres}\nbogus: 1\n")
    out = run(tmp_path, "shell-init")
    assert out.returncode == 0, out.stderr
    assert "http://localhost:9191/openai/v1" in out.stdout


def test_shell_init_output_evaluates_in_a_shell(tmp_path: Path):
    script = f'eval "$({ONGOINGAI} shell-init)"; echo "$OPENAI_BASE_URL|$ANTHROPIC_BASE_URL"'
    out = subprocess.run(
        ["sh", "-c", script], cwd=tmp_path, env=clean_env(), capture_output=True, text=True
    )
    assert out.stdout == "http://localhost:8080/openai/v1|http://localhost:8080/anthropic\n"


def test_shell_init_rejects_positional_arguments(tmp_path: Path):
    out = run(tmp_path, "shell-init", "bash")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr == "shell-init does not accept positional arguments\n"


def test_shell_init_fails_when_the_config_cannot_be_parsed(tmp_path: Path):
    write_config(tmp_path, "server: [\n")
    out = run(tmp_path, "shell-init")
    assert out.returncode == 1
    assert out.stdout == ""
    assert out.stderr.startswith("failed to load config: ongoingai.yaml:")
    assert "parse yaml" in out.stderr


# --- wrap ---------------------------------------------------------------------------------


def test_wrap_propagates_the_child_exit_code(tmp_path: Path):
    assert run(tmp_path, "wrap", "--", "sh", "-c", "exit 7").returncode == 7
    assert run(tmp_path, "wrap", "--", "sh", "-c", "exit 0").returncode == 0
    assert run(tmp_path, "wrap", "--", "sh", "-c", "exit 255").returncode == 255


def test_wrap_reports_a_child_killed_by_a_signal_as_128_plus_the_signal(tmp_path: Path):
    assert run(tmp_path, "wrap", "--", "sh", "-c", "kill -TERM $$").returncode == 128 + 15


def test_wrap_sets_both_base_urls_and_keeps_the_rest_of_the_environment(tmp_path: Path):
    write_config(tmp_path, "server: {host: 127.0.0.1, port: 9090}\n")
    env = clean_env(WRAP_TEST_KEEP="kept", OPENAI_BASE_URL="https://stale.example/v1")
    out = run(tmp_path, "wrap", "--", sys.executable, "-c", PRINT_ENV, env=env)
    assert out.returncode == 0, out.stderr
    child = json.loads(out.stdout)
    assert child["OPENAI_BASE_URL"] == "http://127.0.0.1:9090/openai/v1"
    assert child["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9090/anthropic"
    assert child["WRAP_TEST_KEEP"] == "kept"
    assert child["PATH"] == env["PATH"]


def test_wrap_passes_stdin_stdout_and_stderr_through(tmp_path: Path):
    code = (
        "import sys; data = sys.stdin.read(); "
        "sys.stdout.write(data.upper()); sys.stderr.write('to stderr\\n')"
    )
    out = run(tmp_path, "wrap", "--", sys.executable, "-c", code, stdin="hello\nworld\n")
    assert out.returncode == 0
    assert out.stdout == "HELLO\nWORLD\n"
    assert out.stderr == "to stderr\n"


def test_wrap_passes_the_command_arguments_untouched(tmp_path: Path):
    code = "import json, sys; print(json.dumps(sys.argv[1:]))"
    args = ["--config", "other.yaml", "--", "-x", "two words", "--format=json"]
    out = run(tmp_path, "wrap", "--", sys.executable, "-c", code, *args)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == args


def test_wrap_reads_its_own_config_flag_before_the_separator(tmp_path: Path):
    other = tmp_path / "other.yaml"
    other.write_text("server: {port: 9393}\n")
    out = run(tmp_path, "wrap", "--config", str(other), "--", sys.executable, "-c", PRINT_ENV)
    assert json.loads(out.stdout)["OPENAI_BASE_URL"] == "http://localhost:9393/openai/v1"


@pytest.mark.parametrize("argv", [["wrap"], ["wrap", "--"]], ids=["nothing", "separator-only"])
def test_wrap_without_a_command_prints_usage_and_exits_2(tmp_path: Path, argv: list[str]):
    out = run(tmp_path, *argv)
    assert out.returncode == 2
    assert out.stderr == (
        "usage: ongoingai wrap [--config path/to/ongoingai.yaml] -- <command> [args...]\n"
    )


def test_wrap_reports_a_command_that_cannot_start(tmp_path: Path):
    out = run(tmp_path, "wrap", "--", "ongoingai-no-such-command")
    assert out.returncode == 1
    assert out.stderr == (
        'failed to start command: exec: "ongoingai-no-such-command": '
        "executable file not found in $PATH\n"
    )
    script = tmp_path / "not-executable.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    out = run(tmp_path, "wrap", "--", str(script))
    assert out.returncode == 1
    assert out.stderr.startswith(f"failed to start command: {script}: ")


def test_wrap_fails_before_running_anything_when_the_config_cannot_be_parsed(tmp_path: Path):
    write_config(tmp_path, "a: 1\n---\nb: 2\n")
    marker = tmp_path / "ran"
    out = run(tmp_path, "wrap", "--", "touch", str(marker))
    assert out.returncode == 1
    assert "failed to load config: " in out.stderr
    assert "multiple yaml documents are not supported" in out.stderr
    assert not marker.exists()
