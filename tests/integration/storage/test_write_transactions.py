"""run_write: SQLite writers are serialized in-process and busy errors are retried (§4.1)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from ongoingai.engine.storage import run_write
from ongoingai.engine.storage.writes import WRITE_GATE_OPTION, BusyRetry, WriteGate

pytestmark = pytest.mark.anyio

FAST = BusyRetry(first_delay_s=0.0001, max_delay_s=0.001)


def _busy() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))


def _fast(engine):
    return engine.execution_options(**{WRITE_GATE_OPTION: WriteGate(retry=FAST)})


def test_busy_backoff_starts_at_5ms_doubles_and_caps_at_250ms():
    assert BusyRetry().delays() == [
        0.005,
        0.01,
        0.02,
        0.04,
        0.08,
        0.16,
        0.25,
        0.25,
        0.25,
        0.25,
        0.25,
    ]


async def test_a_busy_write_is_retried_until_it_succeeds(sqlite_store):
    engine = sqlite_store.engine()
    attempts = 0

    async def work(conn):
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise _busy()
        return "done"

    try:
        result = await run_write(engine, work)
    finally:
        await engine.dispose()

    assert (result, attempts) == ("done", 3)


async def test_a_write_that_stays_busy_fails_after_twelve_attempts(sqlite_store):
    engine = sqlite_store.engine()
    attempts = 0

    async def work(conn):
        nonlocal attempts
        attempts += 1
        raise _busy()

    try:
        with pytest.raises(OperationalError, match="database is locked"):
            await run_write(_fast(engine), work)
    finally:
        await engine.dispose()

    assert attempts == 12


async def test_other_errors_are_not_retried(sqlite_store):
    engine = sqlite_store.engine()
    attempts = 0

    async def work(conn):
        nonlocal attempts
        attempts += 1
        await conn.exec_driver_sql("INSERT INTO missing_table VALUES (1)")

    try:
        with pytest.raises(OperationalError, match="no such table"):
            await run_write(engine, work)
    finally:
        await engine.dispose()

    assert attempts == 1


async def test_a_cancelled_write_stops_after_one_attempt(sqlite_store):
    engine = sqlite_store.engine()
    attempts = 0
    entered = asyncio.Event()

    async def work(conn):
        nonlocal attempts
        attempts += 1
        entered.set()
        await asyncio.sleep(60)

    try:
        task = asyncio.create_task(run_write(engine, work))
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await engine.dispose()

    assert attempts == 1


async def test_sqlite_writers_of_one_process_never_overlap(sqlite_store):
    engine = sqlite_store.engine()
    inside = 0
    most = 0

    async def work(conn):
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.01)
        inside -= 1

    try:
        await asyncio.gather(*(run_write(engine, work) for _ in range(5)))
    finally:
        await engine.dispose()

    assert most == 1
