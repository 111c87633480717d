"""TraceWriter: batching, drop-not-block, bounded close, and storage outages that never raise."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from ongoingai.engine.storage import TraceReader, TraceWriter, apply_migrations, create_engine_for
from tests.integration.storage.records import DIAGNOSTICS_FIELDS
from tests.postgres_admin import admin_sql, run_in_thread

from .records import trace

pytestmark = pytest.mark.anyio


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _until(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def _count_inserts(engine) -> list[str]:
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO TRACES"):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_a_full_queue_drops_and_counts_instead_of_blocking(engine):
    writer = TraceWriter(engine, capacity=4, driver="sqlite")

    accepted = [writer.enqueue(trace()) for _ in range(10)]
    started = time.perf_counter()
    for _ in range(10_000):
        writer.enqueue(trace())
    per_call = (time.perf_counter() - started) / 10_000
    diag = writer.diagnostics()

    assert accepted == [True] * 4 + [False] * 6
    assert per_call < 0.001
    assert diag["queue_capacity"] == 4
    assert diag["queue_depth"] == diag["queue_depth_high_watermark"] == 4
    assert diag["queue_utilization_pct"] == diag["queue_high_watermark_utilization_pct"] == 100
    assert diag["queue_pressure_state"] == diag["queue_high_watermark_pressure_state"]
    assert diag["queue_pressure_state"] == "saturated"
    assert diag["enqueue_accepted_total"] == 4
    assert diag["enqueue_dropped_total"] == diag["total_dropped_total"] == 10_006
    assert diag["write_dropped_total"] == 0
    assert diag["last_enqueue_drop_at"].endswith("Z")
    assert "last_write_drop_at" not in diag and "write_failures_by_class" not in diag
    writer.start()
    assert await writer.close() is True
    assert await TraceReader(engine).count() == 4


async def test_diagnostics_report_pressure_and_keep_the_high_watermark(engine):
    writer = TraceWriter(engine, capacity=10, driver="postgres")

    for _ in range(5):
        writer.enqueue(trace())
    at_five = writer.diagnostics()
    for _ in range(3):
        writer.enqueue(trace())
    at_eight = writer.diagnostics()
    writer.start()
    assert await writer.close()
    after = writer.diagnostics()

    assert (at_five["queue_utilization_pct"], at_five["queue_pressure_state"]) == (50, "elevated")
    assert (at_eight["queue_utilization_pct"], at_eight["queue_pressure_state"]) == (80, "high")
    assert after["queue_depth"] == 0 and after["queue_pressure_state"] == "ok"
    assert after["queue_depth_high_watermark"] == 8
    assert after["queue_high_watermark_pressure_state"] == "high"
    assert after["store_driver"] == "postgres"
    assert list(after) == DIAGNOSTICS_FIELDS


async def test_full_batches_are_written_at_once_with_one_insert_each(engine):
    inserts = _count_inserts(engine)
    writer = TraceWriter(engine, batch_size=50, flush_interval_ms=60_000)
    writer.start()

    for _ in range(120):
        writer.enqueue(trace())
    reader = TraceReader(engine)
    deadline = time.monotonic() + 5
    while await reader.count() < 100:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)  # the 20 left wait for the (60 s) flush interval or close
    written_before_close = await reader.count()
    assert await writer.close()

    assert written_before_close == 100
    assert await reader.count() == 120
    assert len(inserts) == 3


async def test_a_partial_batch_is_written_after_the_flush_interval(engine):
    writer = TraceWriter(engine, batch_size=1000, flush_interval_ms=50)
    writer.start()
    reader = TraceReader(engine)
    try:
        for _ in range(3):
            writer.enqueue(trace())
        deadline = time.monotonic() + 5
        while await reader.count() < 3:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
    finally:
        assert await writer.close()


async def test_close_flushes_everything_queued_within_the_bound(engine):
    writer = TraceWriter(engine, capacity=1000, batch_size=128, flush_interval_ms=60_000)
    writer.start()
    for _ in range(500):
        writer.enqueue(trace())

    started = time.monotonic()
    flushed = await writer.close(timeout_s=5.0)
    elapsed = time.monotonic() - started

    assert flushed is True
    assert elapsed < 5.0
    assert await TraceReader(engine).count() == 500
    assert writer.diagnostics()["total_dropped_total"] == 0


async def test_enqueue_after_close_is_refused_and_counted(engine):
    writer = TraceWriter(engine)
    writer.start()
    assert await writer.close()

    assert writer.enqueue(trace()) is False
    assert writer.diagnostics()["enqueue_dropped_total"] == 1
    assert await writer.close() is True  # idempotent


async def test_closing_a_writer_that_never_started_counts_what_it_held(engine):
    idle = TraceWriter(engine)
    holding = TraceWriter(engine)
    holding.enqueue(trace())

    assert await idle.close(timeout_s=0.1) is True
    assert await holding.close(timeout_s=0.1) is False
    diag = holding.diagnostics()
    assert diag["write_dropped_total"] == 1
    assert diag["last_write_drop_operation"] == "shutdown"


async def test_a_duplicate_id_drops_only_that_record(engine):
    first = trace()
    writer = TraceWriter(engine)
    for record in (first, trace(id=first.id), trace()):
        writer.enqueue(record)
    writer.start()

    assert await writer.close() is False
    diag = writer.diagnostics()

    assert await TraceReader(engine).count() == 2
    assert diag["write_dropped_total"] == 1
    assert diag["last_write_drop_operation"] == "write_batch_fallback"
    assert set(diag["write_failures_by_class"]) == {"constraint"}


@pytest.mark.postgres
async def test_postgres_outage_never_blocks_enqueue_and_counts_connection_failures(
    postgres_server,
):
    dsn = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test?sslmode=disable"
    engine = create_engine_for("postgres", "", dsn)
    writer = TraceWriter(
        engine,
        capacity=50,
        batch_size=10,
        flush_interval_ms=10,
        driver="postgres",
        retries=1,
        retry_backoff_s=0.01,
    )
    writer.start()
    try:
        slowest = 0.0
        for _ in range(200):
            started = time.perf_counter()
            writer.enqueue(trace())
            slowest = max(slowest, time.perf_counter() - started)
            await asyncio.sleep(0)
        await _until(lambda: writer.diagnostics().get("write_failures_by_class"))
        closed = await writer.close(timeout_s=5)
    finally:
        await engine.dispose()
    diag = writer.diagnostics()

    assert slowest < 0.05
    assert closed is False
    assert set(diag["write_failures_by_class"]) == {"connection"}
    assert diag["enqueue_accepted_total"] + diag["enqueue_dropped_total"] == 200
    assert diag["total_dropped_total"] == 200
    assert diag["last_write_drop_at"].endswith("Z")


@pytest.mark.postgres
async def test_close_gives_up_at_its_bound_when_storage_is_down(postgres_server):
    dsn = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test"
    engine = create_engine_for("postgres", "", dsn)
    writer = TraceWriter(engine, driver="postgres", retries=10, retry_backoff_s=1.0)
    writer.start()
    for _ in range(10):
        writer.enqueue(trace())
    try:
        started = time.monotonic()
        closed = await writer.close(timeout_s=0.3)
        elapsed = time.monotonic() - started
    finally:
        await engine.dispose()
    diag = writer.diagnostics()

    assert closed is False
    assert elapsed < 1.5
    assert diag["write_dropped_total"] == 10
    assert diag["last_write_drop_operation"] == "shutdown"


async def test_sqlite_without_schema_drops_and_counts_unknown_failures(sqlite_store):
    engine = sqlite_store.engine()  # never migrated: no traces table
    writer = TraceWriter(engine, retries=1, retry_backoff_s=0.01)
    writer.start()
    try:
        assert writer.enqueue(trace())
        closed = await writer.close()
    finally:
        await engine.dispose()
    diag = writer.diagnostics()

    assert closed is False
    assert diag["write_failures_by_class"] == {"unknown": 2}
    assert diag["write_dropped_total"] == 1
    assert diag["last_write_drop_operation"] == "write_trace"


async def test_a_locked_sqlite_file_counts_as_contention(sqlite_store):
    engine = sqlite_store.engine(busy_timeout_ms=1)
    await apply_migrations(engine)
    holder = sqlite3.connect(sqlite_store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    writer = TraceWriter(engine, retries=0)
    writer.start()
    try:
        writer.enqueue(trace())
        closed = await writer.close(timeout_s=10)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await engine.dispose()
    diag = writer.diagnostics()

    assert closed is False
    assert diag["write_failures_by_class"] == {"contention": 1}
    assert diag["write_dropped_total"] == 1


@pytest.mark.postgres
async def test_a_database_dropped_under_the_writer_is_counted_not_raised(fresh_postgres_dsn):
    engine = create_engine_for("postgres", "", fresh_postgres_dsn)
    await apply_migrations(engine)
    writer = TraceWriter(engine, flush_interval_ms=10, driver="postgres", retry_backoff_s=0.01)
    writer.start()
    try:
        for _ in range(5):
            writer.enqueue(trace())
        await _until(lambda: writer.diagnostics()["queue_depth"] == 0)
        await asyncio.sleep(0.1)
        name = make_url(fresh_postgres_dsn).database
        run_in_thread(lambda: admin_sql(f'DROP DATABASE "{name}" WITH (FORCE)'))
        for _ in range(5):
            assert writer.enqueue(trace())
        closed = await writer.close(timeout_s=5)
    finally:
        await engine.dispose()
    diag = writer.diagnostics()

    assert closed is False
    assert diag["enqueue_accepted_total"] == 10
    assert diag["write_dropped_total"] == 5
    assert diag["write_failures_by_class"]
