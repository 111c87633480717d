"""Embedded schema migrations, safe to run from several processes at once.

Each `sql/<dialect>/NNN_name.sql` file is one migration, applied in lexicographic order in its
own transaction and recorded in `schema_migrations` under `<dialect>/<file>` (the original's
names, so a database it created is adopted without re-running anything). A migration is
*claimed* by inserting its name first: when the insert adds no row another process already
applied it, and the transaction is skipped. Concurrent runners are serialized per transaction:
on PostgreSQL by `pg_advisory_xact_lock(8067396491)`, on SQLite by `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from importlib import resources
from types import MappingProxyType
from typing import TYPE_CHECKING

from sqlalchemy import text

from .writes import run_write

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["ADVISORY_LOCK_ID", "Migration", "apply_migrations", "load_migrations"]

#: The original's advisory lock key, so both gateways never migrate one database at once.
ADVISORY_LOCK_ID = 8067396491

_DIALECT_DIRS = MappingProxyType({"sqlite": "sqlite", "postgresql": "postgres"})
# Statements end with ';' at the end of a line (the files hold no procedural code).
_STATEMENT_END = re.compile(r";[ \t]*(?:\n|$)")

_CREATE_TABLE = MappingProxyType(
    {
        "sqlite": "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(name TEXT PRIMARY KEY, applied_at DATETIME DEFAULT CURRENT_TIMESTAMP)",
        "postgresql": "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
    }
)
_CLAIM = text("INSERT INTO schema_migrations (name) VALUES (:name) ON CONFLICT (name) DO NOTHING")
_LOCK = text(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_ID})")

# Traces tables from before migrations existed lack these (contract §4.1 "legacy upgrade").
_LEGACY_COLUMNS = (
    ("time_to_first_token_us", "INTEGER"),
    ("org_id", "TEXT NOT NULL DEFAULT 'default'"),
    ("workspace_id", "TEXT NOT NULL DEFAULT 'default'"),
)
_LEGACY_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_traces_org_workspace_created_at_id "
    "ON traces (org_id, workspace_id, created_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS idx_traces_org_workspace_timestamp "
    "ON traces (org_id, workspace_id, timestamp)",
)


@dataclass(frozen=True, slots=True)
class Migration:
    """One embedded migration: its recorded name and its statements."""

    name: str
    statements: tuple[str, ...]


def load_migrations(dialect: str) -> tuple[Migration, ...]:
    """The migrations for a SQLAlchemy dialect name, in the order they apply.

    Raises:
        ValueError: no migrations exist for that dialect.
    """
    folder = _DIALECT_DIRS.get(dialect)
    if folder is None:
        raise ValueError(f"unsupported storage dialect {dialect!r}: no migrations")
    root = resources.files(__package__).joinpath("sql", folder)
    files = sorted((f for f in root.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return tuple(
        Migration(f"{folder}/{f.name}", _statements(f.read_text(encoding="utf-8"))) for f in files
    )


async def apply_migrations(engine: AsyncEngine) -> list[str]:
    """Bring the schema up to date; return the names this call applied (others were done).

    Idempotent and safe to call concurrently from tasks and processes sharing one database.
    """
    dialect = engine.dialect.name
    migrations = load_migrations(dialect)

    async def prepare(conn: AsyncConnection) -> None:
        await _serialize(conn)
        await conn.exec_driver_sql(_CREATE_TABLE[dialect])
        if dialect == "sqlite":
            await _upgrade_legacy_sqlite(conn)

    await run_write(engine, prepare)
    applied: list[str] = []
    for migration in migrations:
        if await run_write(engine, partial(_claim_and_apply, migration=migration)):
            applied.append(migration.name)
    return applied


async def _claim_and_apply(conn: AsyncConnection, migration: Migration) -> bool:
    await _serialize(conn)
    claimed = await conn.execute(_CLAIM, {"name": migration.name})
    if claimed.rowcount != 1:
        return False
    for statement in migration.statements:
        await conn.exec_driver_sql(statement)
    return True


async def _serialize(conn: AsyncConnection) -> None:
    """PostgreSQL: wait for other migrators until commit (SQLite did it with BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(_LOCK)


async def _upgrade_legacy_sqlite(conn: AsyncConnection) -> None:
    """Add the columns a pre-migration traces table lacks, so 001's indexes can be created."""
    rows = (await conn.exec_driver_sql("PRAGMA table_info(traces)")).mappings().all()
    existing = {str(row["name"]) for row in rows}
    if not existing:
        return
    for column, ddl in _LEGACY_COLUMNS:
        if column not in existing:
            await conn.exec_driver_sql(f"ALTER TABLE traces ADD COLUMN {column} {ddl}")
    for statement in _LEGACY_INDEXES:
        await conn.exec_driver_sql(statement)


def _statements(sql: str) -> tuple[str, ...]:
    """Split a migration file into statements, dropping comment-only lines."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    chunks = _STATEMENT_END.split("\n".join(lines))
    return tuple(chunk.strip() for chunk in chunks if chunk.strip())


async def traces_index_names(engine: AsyncEngine) -> set[str]:
    """Every index on `traces`, read from the catalog.

    SQLAlchemy's reflection skips (and warns about) expression indexes such as the lineage and
    hourly analytics ones, so the migrated schema is checked against the catalog itself.
    """
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traces'"
        if engine.dialect.name == "sqlite"
        else "SELECT indexname FROM pg_indexes WHERE tablename = 'traces'"
        " AND schemaname = current_schema()"
    )
    async with engine.connect() as conn:
        return set((await conn.exec_driver_sql(query)).scalars())
