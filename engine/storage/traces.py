"""TraceWriter (asynchronous, bounded, batched, drop-not-block) and TraceReader.

The writer is how the `record` stage stores traces without ever slowing or failing a request
(SPEC §6): `enqueue` only appends to a bounded in-memory queue; one background task writes
batches; every record that is lost, at the door or in the database, is counted for
`/api/diagnostics/trace-pipeline`. The reader is the small read side the proxy tests need.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select

from .diagnostics import WriterCounters
from .failures import FailureClass, classify_write_error
from .rows import record_from_row, row_for_write
from .tables import traces
from .writes import run_write

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from ongoingai.engine.telemetry.writer_hooks import WriteBatch, WriterTelemetry
    from ongoingai.engine.trace import TraceRecord

__all__ = ["TraceReader", "TraceWriter"]

_log = logging.getLogger(__name__)


class TraceWriter:
    """Asynchronous trace persistence that never blocks or fails its callers.

    Records are written in batches, one multi-row INSERT per batch in one transaction, when
    `batch_size` records are queued or `flush_interval_ms` after the first of a batch arrived.
    A failed batch is retried `retries` times with doubling backoff (not for constraint errors,
    which retrying cannot fix: those batches are retried record by record instead); what still
    fails is dropped and counted.

    Like the rest of the gateway it lives on one event loop: call `enqueue` from that loop.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        capacity: int = 1024,
        batch_size: int = 128,
        flush_interval_ms: int = 200,
        driver: str = "sqlite",
        retries: int = 2,
        retry_backoff_s: float = 0.1,
    ) -> None:
        self._engine = engine
        self._capacity = capacity if capacity > 0 else 256
        self._batch_size = batch_size if batch_size > 0 else 64
        self._interval_s = (flush_interval_ms if flush_interval_ms > 0 else 200) / 1000
        self._retries = max(0, retries)
        self._backoff_s = retry_backoff_s
        self._queue: deque[TraceRecord] = deque()
        self._wake = asyncio.Event()
        self._wake_at = 1
        self._inflight = 0
        self._closed = False
        self._close_result: bool | None = None
        self._task: asyncio.Task[None] | None = None
        self._counters = WriterCounters(capacity=self._capacity, store_driver=driver)
        #: Set by the app when telemetry is on: a span and metrics per batch.
        self.telemetry: WriterTelemetry | None = None
        self._batch_probe: WriteBatch | None = None

    def start(self) -> None:
        """Start the background writer on the running event loop (once; later calls no-op)."""
        if self._task is None and not self._closed:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="ongoingai-trace-writer"
            )

    def enqueue(self, record: TraceRecord) -> bool:
        """Queue a record for writing; False (and counted) when the queue is full or closed.

        Synchronous and O(1): it never waits for the database and never raises.
        """
        if self._closed or len(self._queue) >= self._capacity:
            self._counters.on_enqueue_drop()
            return False
        self._queue.append(record)
        self._counters.on_accepted(len(self._queue))
        if len(self._queue) >= self._wake_at:
            self._wake.set()
        return True

    def diagnostics(self) -> dict[str, Any]:
        """The contract's trace-pipeline `diagnostics` object (§3.3, §7.2)."""
        return self._counters.snapshot(len(self._queue))

    async def close(self, timeout_s: float = 5.0) -> bool:
        """Stop accepting, flush everything queued, and stop the writer within `timeout_s`.

        Returns:
            True when every queued record was written; False when the bound was hit or writes
            failed, the lost records being counted as write drops. Idempotent.
        """
        if self._close_result is not None:
            return self._close_result
        self._closed = True
        self._wake.set()
        dropped_before = self._counters.write_dropped
        if self._task is not None:
            await self._finish(self._task, timeout_s)
        self._counters.on_write_drop(len(self._queue), "shutdown")
        self._queue.clear()
        self._close_result = self._counters.write_dropped == dropped_before
        return self._close_result

    async def _finish(self, task: asyncio.Task[None], timeout_s: float) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(task), max(0.0, timeout_s))
        except TimeoutError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            _log.warning("trace writer did not flush within %.1fs; dropping the rest", timeout_s)
            self._counters.on_write_drop(self._inflight, "shutdown")
            self._inflight = 0

    async def _run(self) -> None:
        while self._queue or not self._closed:
            if not self._queue:
                await self._wait_for(1, None)
                continue
            batch = await self._collect()
            self._inflight = len(batch)
            telemetry = self.telemetry
            if telemetry is not None:
                self._batch_probe = telemetry.begin(len(batch))
            dropped_before = self._counters.write_dropped
            try:
                await self._write(batch)
            except Exception:  # noqa: BLE001 - logged with traceback; the loop must survive
                _log.exception("trace writer failed on a batch; dropping it")
                self._counters.on_write_failure("unknown")
                self._counters.on_write_drop(len(batch), "write_batch")
                if self._batch_probe is not None:
                    self._batch_probe.failed("write_batch", "unknown")
            self._inflight = 0
            probe, self._batch_probe = self._batch_probe, None
            if probe is not None:
                probe.end(len(batch) - (self._counters.write_dropped - dropped_before))

    async def _collect(self) -> list[TraceRecord]:
        """Take up to a batch, waiting at most the flush interval for it to fill."""
        deadline = asyncio.get_running_loop().time() + self._interval_s
        batch: list[TraceRecord] = []
        while True:
            while self._queue and len(batch) < self._batch_size:
                batch.append(self._queue.popleft())
            if len(batch) >= self._batch_size or self._closed:
                return batch
            if not await self._wait_for(self._batch_size - len(batch), deadline):
                return batch

    async def _wait_for(self, count: int, deadline: float | None) -> bool:
        """Sleep until `count` records are queued (or close); False when the deadline passed."""
        self._wake_at = count
        self._wake.clear()
        try:
            async with asyncio.timeout_at(deadline):
                await self._wake.wait()
        except TimeoutError:
            return False
        finally:
            self._wake_at = 1
        return True

    async def _write(self, batch: list[TraceRecord]) -> None:
        now = dt.datetime.now(dt.UTC)
        rows = [row_for_write(record, now) for record in batch]
        error = await self._insert_with_retry(rows)
        if error is None:
            return
        if error == "constraint" and len(rows) > 1:
            await self._write_one_by_one(rows)
            return
        self._drop(len(rows), "write_trace" if len(rows) == 1 else "write_batch", error)

    async def _write_one_by_one(self, rows: list[dict[str, Any]]) -> None:
        """A constraint failure is about some record: keep the others."""
        for row in rows:
            error = await self._insert_with_retry([row])
            if error is not None:
                self._drop(1, "write_batch_fallback", error)
            self._inflight -= 1  # so a close that times out here counts only the rest

    async def _insert_with_retry(self, rows: list[dict[str, Any]]) -> FailureClass | None:
        """Insert in one transaction; None on success, else the last failure's class."""
        delay = self._backoff_s
        for attempt in range(self._retries + 1):
            error = await self._attempt(rows)
            if error is None:
                return None
            if error == "constraint" or attempt == self._retries:
                return error
            await asyncio.sleep(delay)
            delay *= 2
        return "unknown"  # unreachable: the last attempt returns above

    async def _attempt(self, rows: list[dict[str, Any]]) -> FailureClass | None:
        try:
            await run_write(self._engine, partial(_insert_rows, rows=rows))
        except Exception as exc:  # noqa: BLE001 - every failure is classified and counted
            error = classify_write_error(exc)
            self._counters.on_write_failure(error)
            # Never the message: SQLAlchemy's quotes the statement's parameters (trace bodies).
            kind = type(getattr(exc, "orig", None) or exc).__name__
            _log.warning(
                "trace write failed",
                extra={"batch_size": len(rows), "error_class": error, "error_kind": kind},
            )
            return error
        return None

    def _drop(self, count: int, operation: str, error: FailureClass) -> None:
        _log.error(
            "trace persistence failed; dropped trace records",
            extra={"operation": operation, "failed_count": count, "error_class": error},
        )
        self._counters.on_write_drop(count, operation)
        if self._batch_probe is not None:
            self._batch_probe.failed(operation, error)


_INSERT = insert(traces)


async def _insert_rows(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """One executemany of a statement compiled once.

    SQLAlchemy's "insertmanyvalues" turns it into multi-row INSERTs under each database's
    bind-parameter limit; building `insert().values(rows)` per batch instead recompiled the
    statement every time and cost ~30% of the gateway's CPU under load (bench/README.md).
    """
    await conn.execute(_INSERT, rows)


class TraceReader:
    """Reads traces back as TraceRecords (TTFT back-filled, tenants defaulted, exact cost)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, trace_id: str) -> TraceRecord | None:
        """The trace with this id, or None."""
        query = select(traces).where(traces.c.id == trace_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else record_from_row(row)

    async def list_recent(self, limit: int = 50) -> list[TraceRecord]:
        """The newest traces first (`created_at DESC, id DESC`, the API's order)."""
        query = (
            select(traces)
            .order_by(traces.c.created_at.desc(), traces.c.id.desc())
            .limit(max(0, limit))
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [record_from_row(row) for row in rows]

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query (readiness)."""
        async with self._engine.connect() as conn:
            await conn.execute(select(1))

    async def count(self) -> int:
        """How many traces are stored (all tenants)."""
        async with self._engine.connect() as conn:
            total = await conn.scalar(select(func.count()).select_from(traces))
        return int(total or 0)
