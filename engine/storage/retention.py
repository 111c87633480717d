"""Retention: delete traces older than `storage.retention_days`, in bounded batches.

Batches keep each write transaction short, so a first purge of a large backlog never holds the
SQLite write lock (or PostgreSQL row locks) long enough to stall trace writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from functools import partial
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from .tables import traces
from .writes import run_write

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["RetentionTask", "purge_older_than"]

_log = logging.getLogger(__name__)


async def purge_older_than(engine: AsyncEngine, days: int, batch_size: int = 1000) -> int:
    """Delete traces whose `timestamp` is more than `days` days old; return how many.

    `days <= 0` means retention is disabled: nothing is deleted.
    """
    if days <= 0:
        return 0
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    size = max(1, batch_size)
    total = 0
    while True:
        deleted = await run_write(engine, partial(_delete_batch, cutoff=cutoff, size=size))
        total += deleted
        if deleted < size:
            return total
        await asyncio.sleep(0)  # let trace writes take the lock between batches


async def _delete_batch(conn: AsyncConnection, cutoff: dt.datetime, size: int) -> int:
    victims = select(traces.c.id).where(traces.c.timestamp < cutoff).limit(size)
    result = await conn.execute(delete(traces).where(traces.c.id.in_(victims.scalar_subquery())))
    return int(result.rowcount)


class RetentionTask:
    """Runs `purge_older_than` now and then every `interval_s` seconds, in the background."""

    def __init__(
        self, engine: AsyncEngine, days: int, interval_s: float = 3600, batch_size: int = 1000
    ) -> None:
        self._engine = engine
        self._days = days
        self._interval_s = interval_s
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        """Whether retention is on (`days > 0`)."""
        return self._days > 0

    def start(self) -> None:
        """Start purging on the running loop; does nothing when disabled or already started."""
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="ongoingai-retention"
            )

    async def stop(self) -> None:
        """Stop the background purge (an in-flight batch is rolled back)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                deleted = await purge_older_than(self._engine, self._days, self._batch_size)
            except Exception:  # noqa: BLE001 - logged with traceback; the loop must survive
                _log.exception("trace retention purge failed; retrying next interval")
            else:
                if deleted:
                    _log.info("purged old traces", extra={"deleted": deleted, "days": self._days})
            await asyncio.sleep(self._interval_s)
