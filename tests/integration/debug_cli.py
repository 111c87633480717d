"""`ongoingai debug` as an operator runs it, and the lineage data its tests read."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

from ongoingai.engine.trace import TraceRecord
from tests.api_server import seed
from tests.gateway_proc import ONGOINGAI
from tests.integration.storage.records import trace
from tests.integration.traces_db import Backend

T0 = dt.datetime(2026, 2, 18, 12, 0, tzinfo=dt.UTC)


class DebugCli:
    """Runs the installed `ongoingai debug` in `workdir` with the backend's storage env."""

    def __init__(self, workdir: Path, backend: Backend) -> None:
        self.workdir = workdir
        self.backend = backend

    def __call__(self, *args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("ONGOINGAI_")}
        environ.update(self.backend.env)
        out = subprocess.run(
            [ONGOINGAI, "debug", *args],
            cwd=self.workdir,
            env=environ,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in out.stderr, out.stderr
        return out

    def json(self, *args: str) -> dict[str, Any]:
        out = self(*args, "--format", "json")
        assert out.returncode == 0, out.stderr
        assert out.stderr == ""
        return json.loads(out.stdout)

    def text(self, *args: str) -> str:
        out = self(*args)
        assert out.returncode == 0, out.stderr
        assert out.stderr == ""
        return out.stdout


def lineage_meta(
    checkpoint: str,
    *,
    group: str = "group-1",
    thread: str = "thread-1",
    run: str = "run-1",
    parent: str = "",
    seq: int = 0,
    **extra: Any,
) -> dict[str, Any]:
    """Metadata as the record stage writes it for a request with lineage headers."""
    meta: dict[str, Any] = {
        "streaming": False,
        "stream_chunks": 0,
        "lineage_checkpoint_id": checkpoint,
        "lineage_immutable": True,
    }
    for key, value in (
        ("lineage_group_id", group),
        ("lineage_thread_id", thread),
        ("lineage_run_id", run),
        ("lineage_parent_checkpoint_id", parent),
    ):
        if value:
            meta[key] = value
    if seq:
        meta["lineage_checkpoint_seq"] = seq
    return meta | extra


def step(n: int, **overrides: Any) -> TraceRecord:
    """`trace-step-n` of the three-step chain: group-1/thread-1/run-1, seq n, n seconds in."""
    parent = f"trace-step-{n - 1}" if n > 1 else ""
    fields: dict[str, Any] = {
        "id": f"trace-step-{n}",
        "trace_group_id": "group-1",
        "timestamp": T0 + dt.timedelta(seconds=n),
        "input_tokens": 10 * n,
        "output_tokens": 5 * n,
        "latency_ms": 100 * n,
        "estimated_cost_usd": Decimal("0.0001") * n,
        "metadata": lineage_meta(f"trace-step-{n}", parent=parent, seq=n),
    }
    return trace(**(fields | overrides))


def others() -> list[TraceRecord]:
    """Traces around the chain, all older than it, that only some filters select."""
    return [
        # Same group and thread, another run.
        trace(
            id="alt-run",
            trace_group_id="group-1",
            timestamp=T0 - dt.timedelta(minutes=1),
            metadata=lineage_meta("alt-run", run="run-2"),
        ),
        # Same group, another thread and run, another tenant (debug is not tenant-scoped).
        trace(
            id="other-thread",
            trace_group_id="group-1",
            org_id="org-b",
            workspace_id="ws-b",
            timestamp=T0 - dt.timedelta(minutes=2),
            metadata=lineage_meta("other-thread", thread="thread-2", run="run-3"),
        ),
        # No lineage at all.
        trace(id="lonely", timestamp=T0 - dt.timedelta(minutes=3)),
    ]


def seed_chain(backend: Backend, *, extra: bool = True) -> None:
    """The three-step chain (stored in reverse) plus, unless told otherwise, `others()`."""
    seed(backend, [step(3), step(1), step(2), *(others() if extra else [])])
