"""The real gateway app under uvicorn on a free port, in a thread of the test process.

API tests need a real HTTP server and client but not a process per test: this starts the same
`create_app` that `ongoingai serve` runs, storage included, in about 50 ms. Traces are seeded
straight into the backend's database, as another gateway writing to it would.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from sqlalchemy import insert

from ongoingai.engine.app import GatewayApp, create_app
from ongoingai.engine.registry import builtin_registry
from ongoingai.engine.runtime import Runtime
from ongoingai.engine.schemas import SchemaSet
from ongoingai.engine.services import Services
from ongoingai.engine.snapshot_build import BuildInputs, build_snapshot
from ongoingai.engine.storage import apply_migrations, create_engine_for
from ongoingai.engine.storage.rows import row_for_write
from ongoingai.engine.storage.tables import traces
from ongoingai.engine.trace import TraceRecord
from tests.gateway_proc import free_port
from tests.integration.traces_db import Backend
from tests.postgres_admin import run_in_thread


class ApiServer:
    """`with ApiServer(tmp_path, backend) as api: api.get("/api/traces")`."""

    def __init__(
        self,
        workdir: Path,
        backend: Backend,
        *,
        config: str = "",
        env: Mapping[str, str] | None = None,
        storage: bool = True,
    ) -> None:
        self.backend = backend
        self.config_path = workdir / "ongoingai.yaml"
        self.config_path.write_text(config)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {**backend.env, **(env or {})}
        self._storage = storage
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app: GatewayApp | None = None
        self.client = httpx.Client(base_url=self.url, timeout=10)

    def __enter__(self) -> ApiServer:
        inputs = BuildInputs(SchemaSet(), builtin_registry(), Services(), dict(self._env))
        runtime = Runtime(self.config_path, inputs, build_snapshot(self.config_path, inputs))
        self.app = create_app(runtime, watch=False, storage=self._storage)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.post(path, **kwargs)

    def walk_traces(self, limit: int, **filters: Any) -> list[str]:
        """Every trace id of `/api/traces`, following `next_cursor` page by page."""
        ids: list[str] = []
        cursor = None
        while True:
            params = {**filters, "limit": limit, **({"cursor": cursor} if cursor else {})}
            response = self.get("/api/traces", params=params)
            assert response.status_code == 200, response.text
            body = response.json()
            ids += [item["id"] for item in body["items"]]
            if (cursor := body.get("next_cursor")) is None:
                return ids

    def seed(self, records: Iterable[TraceRecord]) -> None:
        """Insert traces into the backend directly (normalized exactly as the writer does)."""
        seed(self.backend, records)


def seed(backend: Backend, records: Iterable[TraceRecord]) -> None:
    """Write traces as the gateway's writer would, synchronously (migrating first)."""
    now = dt.datetime.now(dt.UTC)
    rows = [row_for_write(record, now) for record in records]

    async def write() -> None:
        engine = create_engine_for(backend.driver, backend.path, backend.dsn)
        try:
            await apply_migrations(engine)
            if rows:
                async with engine.begin() as conn:
                    await conn.execute(insert(traces), rows)
        finally:
            await engine.dispose()

    run_in_thread(write)


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


__all__ = ["ApiServer", "seed", "wait_until"]


#: Every analytics endpoint with every `group_by` and `bucket` it takes (cross-backend tests).
ANALYTICS_PATHS: tuple[str, ...] = (
    "/api/analytics/summary",
    "/api/analytics/models",
    "/api/analytics/keys",
    *(
        f"/api/analytics/{kind}?group_by={group}&bucket={bucket}"
        for kind in ("usage", "cost")
        for group in ("", "provider", "model")
        for bucket in ("", "hour", "day", "week")
    ),
    *(
        f"/api/analytics/{kind}?group_by={group}"
        for kind in ("latency", "errors")
        for group in ("", "provider", "model", "route", "key")
    ),
)


@contextlib.contextmanager
def sqlite_and_postgres(
    workdir: Callable[[str], Path], database: str, schema: str, records: list[TraceRecord]
) -> Iterator[tuple[ApiServer, ApiServer]]:
    """Two API servers holding the same traces: one on SQLite, one on a fresh PostgreSQL schema.

    `workdir(name)` makes a fresh directory (pytest's `tmp_path_factory.mktemp`).
    """

    async def create() -> None:
        conn = await asyncpg.connect(database)
        try:
            await conn.execute(
                f'DROP SCHEMA IF EXISTS "{schema}" CASCADE; CREATE SCHEMA "{schema}"'
            )
        finally:
            await conn.close()

    run_in_thread(create)
    sep = "&" if "?" in database else "?"
    pg = Backend("postgres", dsn=f"{database}{sep}options=-c%20search_path%3D{schema}")
    lite = Backend("sqlite", path=str(workdir(schema) / "traces.db"))
    with ApiServer(workdir("lite"), lite) as a, ApiServer(workdir("pg"), pg) as b:
        a.seed(records)
        b.seed(records)
        yield a, b
