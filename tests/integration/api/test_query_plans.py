"""The trace list's filters are answered from indexes on SQLite (EXPLAIN QUERY PLAN), so a
page stays fast on a million traces (bench/README.md has the figures)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import and_, select

from ongoingai.engine.storage import apply_migrations, create_engine_for
from ongoingai.engine.storage.filters import TraceFilter, conditions
from ongoingai.engine.storage.tables import traces
from tests.postgres_admin import run_in_thread

T0 = dt.datetime(2026, 11, 18, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)


def _plan(path: Path, f: TraceFilter) -> str:
    query = (
        select(traces.c.id)
        .where(and_(True, *conditions(f)))
        .order_by(traces.c.created_at.desc(), traces.c.id.desc())
        .limit(51)
    )

    async def explain() -> str:
        engine = create_engine_for("sqlite", str(path), "")
        try:
            await apply_migrations(engine)
            sql = str(query.compile(engine.sync_engine, compile_kwargs={"literal_binds": True}))
            async with engine.connect() as conn:
                rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)).all()
            return " | ".join(str(row[-1]) for row in rows)
        finally:
            await engine.dispose()

    return run_in_thread(explain)


@pytest.mark.parametrize(
    ("f", "index"),
    [
        (TraceFilter(), "idx_traces_created_at_id"),
        (TraceFilter(provider="openai"), "idx_traces_provider_created_at_id"),
        (TraceFilter(model="gpt-4o"), "idx_traces_model_created_at_id"),
        (TraceFilter(api_key_hash="a" * 64), "idx_traces_api_key_hash_created_at_id"),
        (TraceFilter(status=500), "idx_traces_response_status_created_at_id"),
        (TraceFilter(trace_group_id="g"), "idx_traces_trace_group_created_at_id"),
        (TraceFilter(thread_id="th"), "idx_traces_lineage_thread_created_at_id"),
        (TraceFilter(run_id="run"), "idx_traces_lineage_run_created_at_id"),
        (
            TraceFilter(provider="openai", start=T0, end=T1, time_column="created_at"),
            "idx_traces_provider_created_at_id (provider=? AND created_at>? AND created_at<?)",
        ),
        (
            TraceFilter(start=T0, time_column="created_at"),
            "idx_traces_created_at_id (created_at>?)",
        ),
    ],
)
def test_list_filters_search_an_index_in_list_order(tmp_path, f, index):
    plan = _plan(tmp_path / "plans.db", f)
    assert index in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort: the index gives the list order
