"""Trace storage: SQLAlchemy async Core over SQLite (aiosqlite) or PostgreSQL (asyncpg).

`create_engine_for` builds the engine from `storage.*`, `apply_migrations` brings the schema up
to date, `TraceWriter` stores traces off the request path, `TraceReader` reads them back, and
`RetentionTask` purges old ones. The Core tables are in `.tables` (not re-exported here: the
name `traces` is this package's `traces` module).
"""

from __future__ import annotations

from .db import DRIVERS, create_engine_for
from .dsn import PostgresTarget, postgres_target, redact_dsn
from .failures import FAILURE_CLASSES, FailureClass, classify_write_error
from .migrations import apply_migrations, load_migrations, traces_index_names
from .retention import RetentionTask, purge_older_than
from .tables import INDEX_NAMES
from .traces import TraceReader, TraceWriter
from .writes import run_write

__all__ = [
    "DRIVERS",
    "FAILURE_CLASSES",
    "INDEX_NAMES",
    "FailureClass",
    "PostgresTarget",
    "RetentionTask",
    "TraceReader",
    "TraceWriter",
    "apply_migrations",
    "classify_write_error",
    "create_engine_for",
    "load_migrations",
    "postgres_target",
    "purge_older_than",
    "redact_dsn",
    "run_write",
    "traces_index_names",
]
