"""Storage fixtures: SQLite files in tmp_path and fresh databases on the real local PostgreSQL.

PostgreSQL is not optional here: CI starts it, and when it cannot be reached the PostgreSQL
tests fail (they never skip). `ONGOINGAI_TEST_PG_DSN` names the server's admin database
(default: postgres@127.0.0.1:5432/postgres, trust auth). Each run creates its own database and
drops it at the end; each test gets a fresh schema in it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from ongoingai.engine.storage import apply_migrations, create_engine_for

from .postgres_admin import ADMIN_DSN, admin_sql, run_in_thread


@dataclass(frozen=True)
class Store:
    """What `create_engine_for` needs for one backend under test."""

    driver: str
    path: str = ""
    dsn: str = ""

    def engine(self, **kwargs: Any) -> AsyncEngine:
        return create_engine_for(self.driver, self.path, self.dsn, **kwargs)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin DSN, after checking the server answers (fails, never skips, when it does not)."""
    try:
        run_in_thread(lambda: admin_sql("SELECT 1"))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is required for the storage tests ({ADMIN_DSN}): {exc!r}")
    return ADMIN_DSN


def _database_dsn(name: str, **query: str) -> str:
    """The admin DSN pointed at another database (and with extra query parameters)."""
    url = make_url(ADMIN_DSN).set(database=name).update_query_dict(query)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_test_database(postgres_server: str) -> Iterator[str]:
    """This run's own database `ongoingai_test_<random>`, dropped when the session ends."""
    name = f"ongoingai_test_{secrets.token_hex(6)}"
    run_in_thread(lambda: admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield _database_dsn(name)
    finally:
        run_in_thread(lambda: admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def postgres_schema_dsn(postgres_test_database: str) -> Iterator[str]:
    """A DSN on this run's database whose `search_path` is a new, empty schema (one per test).

    Creating a schema is two orders of magnitude cheaper than creating a database, and the
    DSN's libpq `options` is exactly how a user would pick a schema.
    """
    schema = f"t_{secrets.token_hex(6)}"

    async def create() -> None:
        conn = await asyncpg.connect(postgres_test_database, timeout=5)
        try:
            await conn.execute(f'CREATE SCHEMA "{schema}"')
        finally:
            await conn.close()

    run_in_thread(create)
    database = make_url(postgres_test_database).database or ""
    yield _database_dsn(database, options=f"-c search_path={schema}")


@pytest.fixture
def fresh_postgres_dsn(postgres_server: str) -> Iterator[str]:
    """A whole database of its own, for the one test that drops it mid-way."""
    name = f"ongoingai_test_{secrets.token_hex(6)}"
    run_in_thread(lambda: admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield _database_dsn(name)
    finally:
        run_in_thread(lambda: admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Store:
    return Store("sqlite", path=str(tmp_path / "data" / "ongoingai.db"))


@pytest.fixture
def postgres_store(postgres_schema_dsn: str) -> Store:
    return Store("postgres", dsn=postgres_schema_dsn)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Store:
    """Each backend in turn: a fresh SQLite file, then a fresh PostgreSQL database."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture
async def engine(store: Store) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on the backend under test, disposed afterwards."""
    eng = store.engine()
    try:
        await apply_migrations(eng)
        yield eng
    finally:
        await eng.dispose()
