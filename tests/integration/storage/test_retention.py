"""Retention purges only traces older than the window, in bounded batches, in the background."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import event, insert

from ongoingai.engine.storage import RetentionTask, TraceReader, purge_older_than
from ongoingai.engine.storage.rows import normalize_for_write, row_from_record
from ongoingai.engine.storage.tables import traces

from .records import trace

pytestmark = pytest.mark.anyio

NOW = dt.datetime.now(dt.UTC)


async def _seed(engine, *, old: int, recent: int) -> None:
    ages = [dt.timedelta(days=40 + i) for i in range(old)]
    ages += [dt.timedelta(days=29, hours=23) - dt.timedelta(minutes=i) for i in range(recent)]
    rows = [
        row_from_record(normalize_for_write(trace(id=f"t{i:03d}", timestamp=NOW - age), NOW))
        for i, age in enumerate(ages)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(traces).values(rows))


def _count_deletes(engine) -> list[str]:
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("DELETE"):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return seen


async def test_purge_deletes_only_old_traces_in_bounded_batches(engine):
    await _seed(engine, old=7, recent=3)
    deletes = _count_deletes(engine)

    purged = await purge_older_than(engine, days=30, batch_size=3)

    reader = TraceReader(engine)
    assert purged == 7
    assert len(deletes) == 3  # 3 + 3 + 1
    assert await reader.count() == 3
    assert all(r.timestamp > NOW - dt.timedelta(days=30) for r in await reader.list_recent())


async def test_purge_with_retention_disabled_deletes_nothing(engine):
    await _seed(engine, old=2, recent=0)

    assert await purge_older_than(engine, days=0) == 0
    assert await purge_older_than(engine, days=-5) == 0
    assert await TraceReader(engine).count() == 2


async def test_retention_task_purges_in_the_background_until_stopped(engine):
    await _seed(engine, old=5, recent=2)
    task = RetentionTask(engine, days=30, interval_s=0.05, batch_size=2)

    task.start()
    try:
        for _ in range(200):
            if await TraceReader(engine).count() == 2:
                break
            await asyncio.sleep(0.01)
    finally:
        await task.stop()

    assert await TraceReader(engine).count() == 2
    await task.stop()  # stopping twice is harmless


async def test_a_disabled_retention_task_never_runs(engine):
    await _seed(engine, old=2, recent=0)
    task = RetentionTask(engine, days=0, interval_s=0.01)

    task.start()
    await asyncio.sleep(0.05)
    await task.stop()

    assert task.enabled is False
    assert await TraceReader(engine).count() == 2
