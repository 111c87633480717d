"""Shared fixtures: the fake provider upstreams and a real gateway process."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from tests.fakes.upstream import FakeUpstream
from tests.postgres_admin import ADMIN_DSN, admin_sql, run_in_thread


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    """A fake OpenAI/Anthropic upstream named "one"."""
    with FakeUpstream("one") as fake:
        yield fake


@pytest.fixture
def upstream_two() -> Iterator[FakeUpstream]:
    """A second fake upstream named "two" (to see which one served)."""
    with FakeUpstream("two") as fake:
        yield fake


# --- the real local PostgreSQL: one database per test run, one schema per test -------------
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


def _throwaway_database() -> Iterator[str]:
    """Create `ongoingai_test_<random>`, yield its DSN, drop it afterwards."""
    name = f"ongoingai_test_{secrets.token_hex(6)}"
    run_in_thread(lambda: admin_sql(f'CREATE DATABASE "{name}"'))
    try:
        yield _database_dsn(name)
    finally:
        run_in_thread(lambda: admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_test_database(postgres_server: str) -> Iterator[str]:
    """This run's own database, dropped when the session ends."""
    yield from _throwaway_database()


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
    yield from _throwaway_database()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path):  # type: ignore[no-untyped-def]
    """Each storage backend in turn for an end-to-end gateway: SQLite file, PostgreSQL schema."""
    from tests.integration.traces_db import Backend

    if request.param == "sqlite":
        return Backend("sqlite", path=str(tmp_path / "data" / "traces.db"))
    return Backend("postgres", dsn=request.getfixturevalue("postgres_schema_dsn"))
