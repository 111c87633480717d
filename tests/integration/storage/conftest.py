"""Storage fixtures: SQLite files in tmp_path and fresh databases on the real local PostgreSQL.

PostgreSQL is not optional here: CI starts it, and when it cannot be reached the PostgreSQL
tests fail (they never skip). `ONGOINGAI_TEST_PG_DSN` names the server's admin database
(default: postgres@127.0.0.1:5432/postgres, trust auth). Each run creates its own database and
drops it at the end; each test gets a fresh schema in it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ongoingai.engine.storage import apply_migrations, create_engine_for


@dataclass(frozen=True)
class Store:
    """What `create_engine_for` needs for one backend under test."""

    driver: str
    path: str = ""
    dsn: str = ""

    def engine(self, **kwargs: Any) -> AsyncEngine:
        return create_engine_for(self.driver, self.path, self.dsn, **kwargs)


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
