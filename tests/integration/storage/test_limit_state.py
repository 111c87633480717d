"""Limit state in real databases: today's stored usage, and request windows shared by processes.

Each "process" is its own engine (its own connection pool), as two gateway replicas would be.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from decimal import Decimal

import pytest

from ongoingai.engine.limits import (
    DailyLedger,
    LimitStoreUnavailable,
    PostgresWindow,
    Quota,
    Refusal,
    StoredUsage,
    TodayUsage,
    UsageScope,
    WindowCheck,
)
from ongoingai.engine.storage import TraceWriter, apply_migrations, create_engine_for
from tests.integration.storage.records import trace

pytestmark = pytest.mark.anyio

KEY = UsageScope("org-a", "ws-a", "key-a")
WORKSPACE = UsageScope("org-a", "ws-a")
KEY_WINDOW = WindowCheck(
    "key-a", 5, "KEY_RATE_LIMIT_EXCEEDED", "request rate limit exceeded for key"
)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _store(engine, *records) -> None:
    writer = TraceWriter(engine, capacity=64, batch_size=64, flush_interval_ms=10)
    writer.start()
    for record in records:
        assert writer.enqueue(record)
    assert await writer.close(5.0)


def _today(**fields):
    return trace(org_id="org-a", workspace_id="ws-a", **fields)


async def test_stored_usage_counts_today_for_the_key_and_for_its_workspace(engine):
    now = dt.datetime.now(dt.UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    await _store(
        engine,
        _today(gateway_key_id="key-a", total_tokens=100, estimated_cost_usd=Decimal("0.25")),
        _today(gateway_key_id="key-a", total_tokens=300, estimated_cost_usd=Decimal("0.000001")),
        _today(gateway_key_id="key-b", total_tokens=7, estimated_cost_usd=Decimal("1.5")),
        # yesterday, another workspace, another org: not counted
        _today(
            gateway_key_id="key-a",
            total_tokens=1000,
            timestamp=midnight - dt.timedelta(seconds=1),
        ),
        trace(org_id="org-a", workspace_id="ws-b", gateway_key_id="key-a", total_tokens=1000),
        trace(org_id="org-b", workspace_id="ws-a", gateway_key_id="key-a", total_tokens=1000),
    )
    usage = StoredUsage(engine)

    assert await usage(KEY, midnight) == TodayUsage(
        tokens=Decimal(400),
        largest_tokens=Decimal(300),
        cost=Decimal("0.250001"),
        largest_cost=Decimal("0.25"),
    )
    assert await usage(WORKSPACE, midnight) == TodayUsage(
        tokens=Decimal(407),
        largest_tokens=Decimal(300),
        cost=Decimal("1.750001"),
        largest_cost=Decimal("1.5"),
    )


async def test_a_fresh_ledger_starts_from_the_usage_already_stored_today(engine):
    await _store(engine, _today(gateway_key_id="key-a", total_tokens=100))
    ledger = DailyLedger(StoredUsage(engine))  # a process started after the usage happened
    quota = Quota(KEY, "tokens", Decimal(100), "KEY_DAILY_TOKENS_EXCEEDED", "daily token limit")

    refusal = await ledger.admit([quota], wait_s=0)

    assert isinstance(refusal, Refusal) and refusal.code == "KEY_DAILY_TOKENS_EXCEEDED"


async def test_stored_usage_that_cannot_be_read_is_reported_as_unavailable():
    dsn = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test?sslmode=disable"
    engine = create_engine_for("postgres", "", dsn)
    try:
        with pytest.raises(LimitStoreUnavailable):
            await StoredUsage(engine)(KEY, dt.datetime.now(dt.UTC))
    finally:
        await engine.dispose()


# --- the shared PostgreSQL window ---------------------------------------------------------------


@pytest.fixture
async def replicas(postgres_store):
    """Two engines on one migrated PostgreSQL database: two replicas' worth of connections."""
    engines = [postgres_store.engine(), postgres_store.engine()]
    await apply_migrations(engines[0])
    try:
        yield [PostgresWindow(e) for e in engines]
    finally:
        for e in engines:
            await e.dispose()


async def test_concurrent_admissions_from_two_processes_share_one_window(replicas):
    attempts = [replicas[i % 2].admit([KEY_WINDOW]) for i in range(20)]

    results = await asyncio.gather(*attempts)

    assert results.count(None) == 5
    refusals = [r for r in results if r is not None]
    assert {r.code for r in refusals} == {"KEY_RATE_LIMIT_EXCEEDED"}
    assert all(1 <= r.retry_after_seconds <= 60 for r in refusals)


async def test_a_request_the_shared_workspace_window_refuses_is_not_counted_for_its_key(replicas):
    one, two = replicas
    workspace = WindowCheck("ws-a", 1, "WORKSPACE_RATE_LIMIT_EXCEEDED", "for workspace")
    other_key = WindowCheck("key-b", 5, KEY_WINDOW.code, KEY_WINDOW.message)
    assert await one.admit([other_key, workspace]) is None

    refused = [await two.admit([KEY_WINDOW, workspace]) for _ in range(3)]

    assert {r.code for r in refused if r is not None} == {"WORKSPACE_RATE_LIMIT_EXCEEDED"}
    # key-a was never admitted, so its own window still has all five slots
    assert [await one.admit([KEY_WINDOW]) for _ in range(6)].count(None) == 5


async def test_an_unreachable_window_database_is_reported_as_unavailable():
    dsn = f"postgresql://postgres@127.0.0.1:{_closed_port()}/test?sslmode=disable"
    engine = create_engine_for("postgres", "", dsn)
    try:
        with pytest.raises(LimitStoreUnavailable):
            await PostgresWindow(engine).admit([KEY_WINDOW])
    finally:
        await engine.dispose()
