"""Embedded migrations: names, idempotence, concurrency (tasks and processes), schema shape."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys

import pytest
from sqlalchemy import inspect, text

from ongoingai.engine.storage import (
    INDEX_NAMES,
    apply_migrations,
    create_engine_for,
    load_migrations,
    traces_index_names,
)
from ongoingai.engine.storage.tables import traces

pytestmark = pytest.mark.anyio

CONTRACT_INDEXES = {
    "idx_traces_timestamp",
    "idx_traces_provider",
    "idx_traces_model",
    "idx_traces_api_key_hash",
    "idx_traces_org_workspace_created_at_id",
    "idx_traces_org_workspace_timestamp",
    "idx_traces_created_at_id",
    "idx_traces_provider_created_at_id",
    "idx_traces_model_created_at_id",
    "idx_traces_api_key_hash_created_at_id",
    "idx_traces_response_status_created_at_id",
    "idx_traces_provider_timestamp",
    "idx_traces_model_timestamp",
    "idx_traces_api_key_hash_timestamp",
    "idx_traces_response_status_timestamp",
    "idx_traces_gateway_key_id",
    "idx_traces_org_workspace_gateway_key_timestamp",
}

DIALECT = {"sqlite": "sqlite", "postgres": "postgresql"}

MIGRATE_IN_A_PROCESS = """
import asyncio, json, sys
from ongoingai.engine.storage import apply_migrations, create_engine_for

async def main():
    engine = create_engine_for(sys.argv[1], sys.argv[2], sys.argv[3])
    print("ready", flush=True)
    sys.stdin.readline()  # start together: imports take far longer than migrating
    try:
        print(json.dumps(await apply_migrations(engine)))
    finally:
        await engine.dispose()

asyncio.run(main())
"""


async def _recorded(engine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT name FROM schema_migrations ORDER BY name"))
        return [row.name for row in rows]


async def test_migrations_record_the_original_names_in_lexicographic_order(store):
    engine = store.engine()
    try:
        applied = await apply_migrations(engine)
        recorded = await _recorded(engine)
    finally:
        await engine.dispose()

    folder = "sqlite" if store.driver == "sqlite" else "postgres"
    assert applied == recorded == sorted(recorded)
    assert applied[0] == f"{folder}/001_create_traces.sql"
    assert all(name.startswith(f"{folder}/") and name.endswith(".sql") for name in applied)
    assert applied == [m.name for m in load_migrations(DIALECT[store.driver])]


async def test_applying_migrations_twice_changes_nothing(engine):
    before = await _recorded(engine)

    again = await apply_migrations(engine)

    assert again == []
    assert await _recorded(engine) == before


async def test_migrated_schema_has_every_contract_index(engine):
    names = await traces_index_names(engine)

    assert names >= CONTRACT_INDEXES
    assert set(INDEX_NAMES) == CONTRACT_INDEXES


async def test_table_definition_mirrors_the_migrated_columns(engine):
    async with engine.connect() as conn:
        columns = await conn.run_sync(
            lambda sync: {c["name"]: c for c in inspect(sync).get_columns("traces")}
        )

    assert set(columns) == {c.name for c in traces.columns}
    for name in ("cache_read_input_tokens", "cache_write_input_tokens", "reasoning_tokens"):
        assert columns[name]["nullable"] is False
    assert columns["cost_nanousd"]["nullable"] is False


async def test_concurrent_tasks_apply_each_migration_exactly_once(store):
    engines = [store.engine() for _ in range(4)]
    try:
        results = await asyncio.gather(*(apply_migrations(e) for e in engines))
        shared = await asyncio.gather(*(apply_migrations(engines[0]) for _ in range(3)))
        recorded = await _recorded(engines[0])
    finally:
        for e in engines:
            await e.dispose()

    applied = [name for result in results for name in result]
    assert sorted(applied) == recorded
    assert len(applied) == len(set(applied))
    assert shared == [[], [], []]


async def test_concurrent_processes_apply_each_migration_exactly_once(store):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_IN_A_PROCESS, store.driver, store.path, store.dsn],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    readiness = [p.stdout.readline().strip() for p in procs]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=60) for p in procs]

    assert readiness == ["ready"] * 3, [err for _, err in outputs]
    assert [p.returncode for p in procs] == [0] * 3, [err for _, err in outputs]
    applied = [name for out, _ in outputs for name in json.loads(out)]
    engine = store.engine()
    try:
        recorded = await _recorded(engine)
    finally:
        await engine.dispose()
    assert sorted(applied) == recorded
    assert len(applied) == len(set(applied)) == len(load_migrations(DIALECT[store.driver]))


async def test_legacy_sqlite_traces_table_is_upgraded_before_migrations(tmp_path):
    path = tmp_path / "legacy.db"
    with sqlite3.connect(path) as raw:
        raw.execute(
            "CREATE TABLE traces (id TEXT PRIMARY KEY, timestamp DATETIME NOT NULL, "
            "provider TEXT NOT NULL, model TEXT NOT NULL, request_method TEXT NOT NULL, "
            "request_path TEXT NOT NULL, request_headers TEXT, request_body TEXT, "
            "response_status INTEGER, response_headers TEXT, response_body TEXT, "
            "input_tokens INTEGER, output_tokens INTEGER, total_tokens INTEGER, "
            "latency_ms INTEGER, time_to_first_token_ms INTEGER, api_key_hash TEXT, "
            "estimated_cost_usd REAL, metadata TEXT, trace_group_id TEXT, "
            "created_at DATETIME DEFAULT CURRENT_TIMESTAMP)"
        )
        raw.execute(
            "INSERT INTO traces (id, timestamp, provider, model, request_method, request_path, "
            "estimated_cost_usd, metadata) VALUES ('old', '2024-05-01 10:00:00', 'openai', "
            "'gpt-4o', 'POST', '/openai/v1/chat/completions', 0.0125, "
            '\'{"gateway_key_id":"team-a"}\')'
        )
    raw.close()
    engine = create_engine_for("sqlite", str(path), "")
    try:
        await apply_migrations(engine)
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT org_id, workspace_id, time_to_first_token_us, gateway_key_id, "
                        "cost_nanousd FROM traces"
                    )
                )
            ).one()
        names = await traces_index_names(engine)
    finally:
        await engine.dispose()

    assert tuple(row) == ("default", "default", None, "team-a", 12_500_000)
    assert names >= CONTRACT_INDEXES


def test_migrations_for_an_unsupported_dialect_are_refused():
    with pytest.raises(ValueError, match="unsupported storage dialect 'mysql'"):
        load_migrations("mysql")
