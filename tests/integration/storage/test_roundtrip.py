"""Write -> read on both backends: every field, exact money, normalization, TTFT back-fill."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import text

from ongoingai.engine.storage import TraceReader, TraceWriter
from ongoingai.engine.trace import TraceRecord

from .records import trace

pytestmark = pytest.mark.anyio


async def _store(engine, *records: TraceRecord) -> TraceReader:
    writer = TraceWriter(engine, driver=engine.dialect.name)
    writer.start()
    for record in records:
        assert writer.enqueue(record)
    assert await writer.close(timeout_s=5)
    return TraceReader(engine)


def _full_trace() -> TraceRecord:
    return TraceRecord(
        id="0123456789abcdef0123456789abcdef",
        timestamp=dt.datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=dt.UTC),
        provider="anthropic",
        model="claude-sonnet-4-20250514",
        request_method="POST",
        request_path="/anthropic/v1/messages",
        response_status=201,
        org_id="org-a",
        workspace_id="ws-b",
        trace_group_id="group-1",
        gateway_key_id="team-a-dev-1",
        request_headers={"Content-Type": ["application/json"], "X-Multi": ["a", "b"]},
        request_body='{"model":"claude-sonnet-4-20250514","messages":[]}',
        response_headers={"Content-Type": ["text/event-stream"]},
        response_body="event: message_start\ndata: {}\n\n",
        input_tokens=1200,
        output_tokens=345,
        total_tokens=1545,
        cache_read_input_tokens=1000,
        cache_write_input_tokens=100,
        reasoning_tokens=40,
        latency_ms=1234,
        time_to_first_token_ms=43,
        time_to_first_token_us=42123,
        api_key_hash="a" * 64,
        estimated_cost_usd=Decimal("0.000123456"),
        metadata={
            "streaming": True,
            "stream_chunks": 7,
            "lineage_checkpoint_id": "0123456789abcdef0123456789abcdef",
            "pricing": "anthropic@2025-05-14",
            "redaction_counts": {"email": 2},
            "gateway_key_id": "team-a-dev-1",
        },
    )


async def test_every_field_survives_a_write_and_read(engine):
    record = _full_trace()

    reader = await _store(engine, record)
    back = await reader.get(record.id)

    assert back == record
    assert back.estimated_cost_usd == Decimal("0.000123456")
    assert back.timestamp.tzinfo is not None


async def test_cost_is_stored_exactly_as_integer_nano_dollars(engine):
    record = trace(estimated_cost_usd=Decimal("12.345678912"))

    await _store(engine, record)
    async with engine.connect() as conn:
        stored = await conn.scalar(
            text("SELECT cost_nanousd FROM traces WHERE id = :id"), {"id": record.id}
        )

    assert stored == 12_345_678_912
    assert (await TraceReader(engine).get(record.id)).estimated_cost_usd == Decimal("12.345678912")


async def test_empty_fields_are_filled_as_the_original_fills_them(engine):
    record = trace(
        provider="",
        model="  ",
        org_id="",
        workspace_id="",
        request_method="",
        request_path="",
        input_tokens=9,
        output_tokens=6,
        total_tokens=0,
        metadata={"gateway_key_id": "key-from-metadata"},
    )

    back = await (await _store(engine, record)).get(record.id)

    assert (back.provider, back.model) == ("unknown", "unknown")
    assert (back.org_id, back.workspace_id) == ("default", "default")
    assert (back.request_method, back.request_path) == ("UNKNOWN", "/")
    assert back.total_tokens == 15
    assert back.gateway_key_id == "key-from-metadata"


async def test_an_explicit_total_is_kept(engine):
    record = trace(input_tokens=2000, output_tokens=1000, total_tokens=3100)

    back = await (await _store(engine, record)).get(record.id)

    assert back.total_tokens == 3100


@pytest.mark.parametrize(
    ("ms", "us", "expected"),
    [(0, 42123, (43, 42123)), (42, 0, (42, 42000)), (0, 1, (1, 1)), (0, 0, (0, 0))],
    ids=["us-only-rounds-up", "ms-only", "one-microsecond", "non-streaming"],
)
async def test_ttft_is_back_filled_in_the_missing_unit(engine, ms, us, expected):
    record = trace(time_to_first_token_ms=ms, time_to_first_token_us=us)

    back = await (await _store(engine, record)).get(record.id)

    assert (back.time_to_first_token_ms, back.time_to_first_token_us) == expected


async def test_reads_back_fill_ttft_and_tenants_of_rows_other_clients_wrote(engine):
    record = trace(time_to_first_token_us=1999)
    await _store(engine, record)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE traces SET time_to_first_token_ms = 0, time_to_first_token_us = 1999, "
                "org_id = '', workspace_id = '' WHERE id = :id"
            ),
            {"id": record.id},
        )

    back = await TraceReader(engine).get(record.id)

    assert (back.time_to_first_token_ms, back.time_to_first_token_us) == (2, 1999)
    assert (back.org_id, back.workspace_id) == ("default", "default")


async def test_metadata_values_beyond_json_are_stored_readably(engine):
    when = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    record = trace(metadata={"price": Decimal("0.15"), "at": when, "tags": ("a", "b")})

    back = await (await _store(engine, record)).get(record.id)

    assert back.metadata == {"price": "0.15", "at": when.isoformat(), "tags": ["a", "b"]}


async def test_empty_trace_group_and_metadata_are_stored_as_null(engine):
    record = trace(trace_group_id="", metadata={})

    back = await (await _store(engine, record)).get(record.id)
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT trace_group_id, metadata FROM traces WHERE id = :id"),
                {"id": record.id},
            )
        ).one()

    assert tuple(row) == (None, None)
    assert (back.trace_group_id, back.metadata) == ("", {})


async def test_list_recent_returns_newest_first_and_count_sees_all(engine):
    base = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    records = [trace(id=f"t{i}", timestamp=base + dt.timedelta(seconds=i)) for i in range(5)]

    reader = await _store(engine, *records)

    assert [r.id for r in await reader.list_recent(limit=3)] == ["t4", "t3", "t2"]
    assert await reader.count() == 5
    assert await reader.get("missing") is None


async def test_a_naive_timestamp_is_taken_as_utc(engine):
    record = trace(timestamp=dt.datetime(2025, 6, 1, 12, 0, 0, 5))

    back = await (await _store(engine, record)).get(record.id)

    assert back.timestamp == dt.datetime(2025, 6, 1, 12, 0, 0, 5, tzinfo=dt.UTC)
    assert back == dataclasses.replace(record, timestamp=back.timestamp)


async def test_sqlite_connections_use_wal_normal_sync_and_busy_timeout(sqlite_store):
    engine = sqlite_store.engine()
    try:
        async with engine.connect() as conn:
            values = [
                (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout")
            ]
    finally:
        await engine.dispose()

    assert values == ["wal", 1, 5000]


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"provider": " ", "model": "", "org_id": "", "workspace_id": " ", "request_method": ""},
        {"request_path": "", "total_tokens": 0, "input_tokens": 5, "output_tokens": 7},
        {"time_to_first_token_ms": 0, "time_to_first_token_us": 42123},
        {"time_to_first_token_ms": 42, "time_to_first_token_us": 0},
        {"gateway_key_id": "", "metadata": {"gateway_key_id": "key-9"}},
        {"timestamp": dt.datetime(1, 1, 1, tzinfo=dt.UTC)},
    ],
    ids=[
        "normal",
        "blank-names",
        "path-and-total",
        "ttft-us",
        "ttft-ms",
        "key-from-meta",
        "zero-ts",
    ],
)
def test_the_writer_row_equals_the_normalized_record_row(overrides: dict):
    from ongoingai.engine.storage.rows import normalize_for_write, row_for_write, row_from_record

    now = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
    record = dataclasses.replace(_sample_for_rows(), **overrides)
    assert row_for_write(record, now) == row_from_record(normalize_for_write(record, now))


def _sample_for_rows():
    from ongoingai.engine.trace import TraceRecord

    return TraceRecord(
        id="r1",
        timestamp=dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC),
        provider="openai",
        model="gpt-4o-mini",
        request_method="POST",
        request_path="/openai/v1/chat/completions",
        response_status=200,
        input_tokens=3,
        output_tokens=4,
        total_tokens=7,
        metadata={"streaming": False},
    )
