"""README's walkthrough, run as written: start, shell-init, the SDK snippet, Ctrl-C, report,
debug last. The Python and the CLI lines are read from README.md itself, so the page cannot
drift from what the gateway does; only the upstreams are the fake."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import ONGOINGAI, GatewayProcess
from tests.integration.test_cli_shell import clean_env

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### Walkthrough: traffic in, report and debug out"


def _walkthrough() -> tuple[str, list[list[str]]]:
    """The section's Python snippet and its `ongoingai` command lines (argv, comments cut)."""
    text = README.read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ")]
    (python,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            command = line.split("#", 1)[0].split("|", 1)[0].strip()
            if command.startswith(".venv/bin/ongoingai "):
                commands.append(shlex.split(command)[1:])
    return python, commands


def _cli(workdir: Path, env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [ONGOINGAI, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, (args, out.stderr)
    assert "Traceback" not in out.stderr
    return out


def test_the_readme_walkthrough_works_as_written(tmp_path: Path, upstream: FakeUpstream):
    python, commands = _walkthrough()
    assert [c[0] for c in commands] == ["report", "report", "debug", "debug"]

    # `make serve`: zero config, SQLite in ./data (the upstreams point at the fake).
    env = clean_env(
        ONGOINGAI_OPENAI_UPSTREAM=upstream.url, ONGOINGAI_ANTHROPIC_UPSTREAM=upstream.url
    )
    gw = GatewayProcess(tmp_path, env=env, config=None).start()
    try:
        # Terminal 2: eval "$(ongoingai shell-init)", then the snippet with the usual keys.
        client_env = {
            **clean_env(ONGOINGAI_PORT=str(gw.port)),
            "OPENAI_API_KEY": "sk-walkthrough-openai",
            "ANTHROPIC_API_KEY": "sk-ant-walkthrough",
        }
        script = f'eval "$({shlex.quote(ONGOINGAI)} shell-init)" && exec "$@"'
        sent = subprocess.run(
            ["bash", "-c", script, "bash", sys.executable, "-c", python],
            cwd=tmp_path,
            env=client_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        assert len(upstream.requests) == 3  # every SDK call went through the gateway
    finally:
        assert gw.proc is not None
        gw.proc.send_signal(signal.SIGINT)  # Ctrl-C: queued traces are flushed first
        assert gw.proc.wait(15) == 0

    cli_env = clean_env()
    report = _cli(tmp_path, cli_env, commands[0]).stdout
    assert "openai" in report and "anthropic" in report and "gpt-4o-mini" in report

    as_json = commands[1]
    assert as_json[as_json.index("--from") + 1] <= dt.date.today().isoformat()
    summary = json.loads(_cli(tmp_path, cli_env, as_json).stdout)["summary"]
    assert summary["total_requests"] == 3

    chain = _cli(tmp_path, cli_env, commands[2]).stdout
    assert "Step 1:" in chain and "Step 2:" in chain
    assert "seq=2 immutable=true" in chain

    diff = _cli(tmp_path, cli_env, commands[3])
    assert "Diffs" in diff.stdout
    assert (tmp_path / "debug-bundle").exists()
