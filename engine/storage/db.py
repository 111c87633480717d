"""One AsyncEngine per configured store: SQLite (aiosqlite, WAL) or PostgreSQL (asyncpg).

Everything that must hold on every connection (SQLite pragmas, who emits BEGIN) is wired here
with pool events, so callers just use the engine.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .dsn import postgres_target, redact_dsn
from .writes import BEGIN_MODE_OPTION, WRITE_GATE_OPTION, WriteGate

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = ["DRIVERS", "create_engine_for"]

_log = logging.getLogger(__name__)

#: The `storage.driver` values, as the original spells them.
DRIVERS = ("sqlite", "postgres")
_MEMORY = ":memory:"


def create_engine_for(
    driver: str, path: str, dsn: str, *, busy_timeout_ms: int = 5000
) -> AsyncEngine:
    """Build the engine for `storage.driver` (`sqlite` uses `path`, `postgres` uses `dsn`).

    Args:
        driver: `sqlite` or `postgres` (surrounding blanks ignored, as in the original).
        path: the SQLite file; its parent directory is created.
        dsn: a plain `postgres://` / `postgresql://` URL, `sslmode` included.
        busy_timeout_ms: SQLite's own wait for a locked file before reporting busy.

    Raises:
        ValueError: unsupported driver, or an unusable DSN (message without the password).
    """
    name = driver.strip()
    if name == "sqlite":
        return _sqlite_engine(path, busy_timeout_ms)
    if name == "postgres":
        return _postgres_engine(dsn)
    raise ValueError(f'storage.driver must be one of sqlite, postgres (got "{driver}")')


def _sqlite_engine(path: str, busy_timeout_ms: int) -> AsyncEngine:
    if path != _MEMORY:
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        URL.create("sqlite+aiosqlite", database=path),  # no URL parsing of odd file names
        execution_options={WRITE_GATE_OPTION: WriteGate()},
    )
    pragmas = (
        # busy_timeout first: switching to WAL itself waits for other processes' locks.
        f"PRAGMA busy_timeout={int(busy_timeout_ms)}",
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
    )

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN (see on_begin) instead of sqlite3's legacy implicit one,
        # which skips DDL and SELECT and so breaks transactional migrations.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in pragmas:
                cursor.execute(pragma)
        finally:
            cursor.close()

    def on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(BEGIN_MODE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN DEFERRED")

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "begin", on_begin)
    return engine


def _postgres_engine(dsn: str) -> AsyncEngine:
    target = postgres_target(dsn)
    _log.debug("postgres storage at %s", redact_dsn(dsn))
    # pre-ping: after a database restart, stale pooled connections are replaced, not failed on.
    return create_async_engine(target.url, connect_args=target.connect_args, pool_pre_ping=True)
