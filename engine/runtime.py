"""The live state of a serving gateway: the current snapshot and how it got there.

The snapshot reference is replaced in one assignment (atomic for readers); a failed reload
leaves it untouched and records the problems for `/api/diagnostics/config` and the log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ongoingai.engine.snapshot_build import BuildInputs, SnapshotInvalid, build_snapshot

if TYPE_CHECKING:
    from pathlib import Path

    from ongoingai.engine.problems import Problem
    from ongoingai.engine.snapshot import PolicySnapshot

__all__ = ["ReloadFailure", "Runtime"]

log = logging.getLogger("ongoingai.reload")

#: Settings read once at start; a change is reported, never half-applied.
_RESTART_KEYS = (
    "server.host",
    "server.port",
    "server.workers",
    "storage.driver",
    "storage.path",
    "storage.dsn",
    "storage.retention_days",
    "tracing.queue_capacity",
    "tracing.batch_size",
    "tracing.flush_interval_ms",
)


@dataclass(frozen=True, slots=True)
class ReloadFailure:
    """The last reload that did not produce a snapshot."""

    at: dt.datetime
    problems: tuple[Problem, ...]


class Runtime:
    """Holds the serving snapshot; rebuilds it on demand."""

    def __init__(self, config_path: Path, inputs: BuildInputs, initial: PolicySnapshot) -> None:
        self.config_path = config_path
        self.inputs = inputs
        self.snapshot = initial
        self.boot = initial
        self.last_error: ReloadFailure | None = None
        self.restart_required: tuple[str, ...] = ()
        self.started = False
        self._lock = asyncio.Lock()

    @property
    def services(self) -> object:
        """Services shared by every snapshot's stages."""
        return self.inputs.services

    async def reload(self) -> bool:
        """Build a new snapshot in a worker thread and swap it in; False if it was invalid."""
        async with self._lock:
            try:
                fresh = await asyncio.to_thread(build_snapshot, self.config_path, self.inputs)
            except SnapshotInvalid as exc:
                self.last_error = ReloadFailure(dt.datetime.now(dt.UTC), tuple(exc.problems))
                for problem in exc.problems:
                    log.error("config reload rejected: %s", problem.render())
                return False
            self.last_error = None
            if fresh.revision == self.snapshot.revision:
                return True
            self.restart_required = _restart_required(self.boot, fresh)
            for key in self.restart_required:
                log.warning("setting %s changed: restart required to apply it", key)
            self.snapshot = fresh
            log.info("config reloaded", extra={"revision": fresh.revision})
            return True


def _restart_required(boot: PolicySnapshot, fresh: PolicySnapshot) -> tuple[str, ...]:
    changed = []
    for dotted in _RESTART_KEYS:
        section, key = dotted.split(".")
        if getattr(getattr(boot.config, section), key) != getattr(
            getattr(fresh.config, section), key
        ):
            changed.append(dotted)
    return tuple(changed)
