"""The admin-API benchmark: every trace and analytics endpoint over 1,000,000 stored traces.

For each backend (SQLite, PostgreSQL) it seeds a database with `seed.py` (or reuses the one a
previous run left, `--reuse`), starts the real gateway on it (`ongoingai serve`, storage from
`ONGOINGAI_STORAGE_*`), warms every request up once, then times each one `--reps` times in
sequence with httpx (p50 / p95 / max of the whole HTTP exchange, as a dashboard sees it):

- `/api/traces`: the first page (limit 50 and 200), a deep page reached by following
  `next_cursor` 20 times, a page in the middle of the period (a cursor built for day 15), and
  pages filtered by each filter the list supports; one trace; a lineage replay; a fork;
- every analytics endpoint over the whole seeded period: usage and cost (summary, series per
  hour/day/week, grouped by provider/model), models, keys, latency and errors (ungrouped and per
  provider/model/route/key), summary. An analytics endpoint that answers 404 is not built yet:
  it is reported as n/a, so the script runs before and after those endpoints land.

Budget (the issue's): on SQLite a trace endpoint answers in under 50 ms and an analytics
endpoint over 30 days in under 1 s; p50 is judged, and a p95 over the line is noted. The
report also gives the row count, the database and index sizes and every index on `traces`, as
listed by the database itself, since those indexes are what the figures depend on.

Prints the report, writes `bench/results/api-latest.md`, and with `--update-readme` replaces
the section between the `bench:api-results` markers of `bench/README.md` (run.py's section has
its own markers; neither script touches the other's).

Usage: `.venv/bin/python bench/api_bench.py [--rows N] [--backends sqlite,postgres] [--reps N]
[--reuse] [--update-readme]` (`make bench-api` runs the defaults: 1,000,000 rows, both backends).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import math
import os
import platform
import signal
import sqlite3
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import seed
from run import Proc, cpu_model, free_port, git_commit

from ongoingai.engine.storage.coltypes import format_utc, parse_utc
from ongoingai.engine.storage.cursor import Cursor
from ongoingai.engine.timefmt import format_rfc3339

if TYPE_CHECKING:
    from collections.abc import Sequence

BENCH_DIR: Final = Path(__file__).resolve().parent
REPO_DIR: Final = BENCH_DIR.parent
RESULTS_MD: Final = BENCH_DIR / "results" / "api-latest.md"
README_MD: Final = BENCH_DIR / "README.md"
README_START: Final = "<!-- bench:api-results:start -->"  # run.py owns bench:results:*
README_END: Final = "<!-- bench:api-results:end -->"
DEFAULT_DSN: Final = "postgresql://postgres@127.0.0.1:5432/ongoingai_bench"
DEFAULT_DATA_DIR: Final = Path(tempfile.gettempdir()) / "ongoingai-api-bench"
PAGE_BUDGET_MS: Final = 50.0
ANALYTICS_BUDGET_MS: Final = 1000.0
DEEP_PAGES: Final = 20
SEED_DAYS: Final = 30.0
SEED: Final = 42
READY_TIMEOUT_S: Final = 120.0
REQUEST_TIMEOUT_S: Final = 300.0
BACKEND_LABELS: Final = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


# ---------------------------------------------------------------------------------------------
# the database under test


@dataclass(slots=True)
class DbInfo:
    """What the database holds, as it reports it: rows, period, sizes, indexes."""

    rows: int = 0
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    sizes: dict[str, int] = field(default_factory=dict)  # label -> bytes
    indexes: list[tuple[str, str, int]] = field(default_factory=list)  # name, definition, bytes
    migrations: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Fixtures:
    """Values the requests use, read from the seeded data (so every filter finds rows)."""

    start: dt.datetime
    end: dt.datetime
    day: str  # a date in the middle of the period
    mid_trace_id: str
    mid_cursor: str  # a list position in the middle of the period
    lineage_id: str  # the latest checkpoint of a lineage group with several checkpoints
    group_id: str
    thread_id: str
    run_id: str
    rare_key: str
    rare_model: str


class Database:
    """Read-only queries against the benchmark database, for facts and fixtures."""

    def __init__(self, backend: str, path: Path, dsn: str) -> None:
        self.backend, self.path, self.dsn = backend, path, dsn

    def fetch(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of one query; placeholders are `?` on SQLite and `$n` on PostgreSQL."""
        if self.backend == "sqlite":
            with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as conn:
                return conn.execute(sql, args).fetchall()
        return asyncio.run(self._pg_fetch(sql, args))

    async def _pg_fetch(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(self.dsn)
        try:
            return [tuple(row) for row in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    def _time(self, value: Any) -> dt.datetime:
        return parse_utc(value) if isinstance(value, str) else value.astimezone(dt.UTC)

    def index_names(self) -> set[str]:
        """Names of the indexes on `traces`."""
        if self.backend == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traces'"
        else:
            sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'traces'"
        return {name for (name,) in self.fetch(sql)}

    def migrations(self) -> list[str]:
        """The migrations recorded as applied, in order."""
        return [name for (name,) in self.fetch("SELECT name FROM schema_migrations ORDER BY name")]

    def count(self) -> int:
        """Rows in `traces`; -1 when the table (or the database) does not exist."""
        try:
            return int(self.fetch("SELECT COUNT(*) FROM traces")[0][0])
        except (sqlite3.Error, asyncpg.PostgresError, OSError):
            return -1

    def info(self) -> DbInfo:
        """Row count, period, sizes and indexes."""
        info = DbInfo(rows=self.count(), migrations=self.migrations())
        low, high = self.fetch("SELECT MIN(timestamp), MAX(timestamp) FROM traces")[0]
        info.start, info.end = self._time(low), self._time(high)
        if self.backend == "sqlite":
            self._sqlite_sizes(info)
        else:
            self._pg_sizes(info)
        return info

    def _sqlite_sizes(self, info: DbInfo) -> None:
        for suffix in ("", "-wal"):
            file = Path(f"{self.path}{suffix}")
            if file.exists():
                info.sizes[f"file {file.name}"] = file.stat().st_size
        per_object = dict(self.fetch("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
        info.sizes["table traces (rows)"] = int(per_object.get("traces", 0))
        rows = self.fetch(
            "SELECT name, COALESCE(sql, '(primary key)') FROM sqlite_master "
            "WHERE type = 'index' AND tbl_name = 'traces' ORDER BY name"
        )
        info.indexes = [
            (name, " ".join(sql.split()), int(per_object.get(name, 0))) for name, sql in rows
        ]
        info.sizes["indexes on traces"] = sum(size for _, _, size in info.indexes)

    def _pg_sizes(self, info: DbInfo) -> None:
        table, indexes, total = self.fetch(
            "SELECT pg_relation_size('traces'), pg_indexes_size('traces'), "
            "pg_total_relation_size('traces')"
        )[0]
        info.sizes |= {
            "table traces (heap)": int(table),
            "indexes on traces": int(indexes),
            "traces total (heap + TOAST + indexes)": int(total),
        }
        rows = self.fetch(
            "SELECT indexname, indexdef, pg_relation_size(format('%I', indexname)::regclass) "
            "FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'traces' "
            "ORDER BY indexname"
        )
        info.indexes = [(name, definition, int(size)) for name, definition, size in rows]

    def fixtures(self, info: DbInfo) -> Fixtures:
        """Pick the ids, keys and times the requests use."""
        if info.start is None or info.end is None:
            raise RuntimeError("the benchmark database holds no traces")
        mid = info.start + (info.end - info.start) / 2
        mid_bound: Any = format_utc(mid) if self.backend == "sqlite" else mid
        mark = "?" if self.backend == "sqlite" else "$1"
        mid_id, mid_created = self.fetch(
            f"SELECT id, created_at FROM traces WHERE created_at <= {mark} "
            "ORDER BY created_at DESC, id DESC LIMIT 1",
            mid_bound,
        )[0]
        lineage = max(
            (
                (json.loads(meta) if isinstance(meta, str) else meta, trace_id)
                for trace_id, meta in self.fetch(
                    "SELECT id, metadata FROM traces WHERE trace_group_id IS NOT NULL "
                    "ORDER BY created_at DESC, id DESC LIMIT 50"
                )
            ),
            key=lambda item: int(item[0].get("lineage_checkpoint_seq", 0)),
        )
        meta, lineage_id = lineage
        rare_key = self.fetch(
            "SELECT api_key_hash FROM traces GROUP BY api_key_hash ORDER BY COUNT(*), api_key_hash "
            "LIMIT 1"
        )[0][0]
        rare_model = self.fetch(
            "SELECT model FROM traces GROUP BY model ORDER BY COUNT(*), model LIMIT 1"
        )[0][0]
        return Fixtures(
            start=info.start,
            end=info.end,
            day=mid.date().isoformat(),
            mid_trace_id=mid_id,
            mid_cursor=Cursor(self._time(mid_created), mid_id).encode(),
            lineage_id=lineage_id,
            group_id=meta["lineage_group_id"],
            thread_id=meta["lineage_thread_id"],
            run_id=meta["lineage_run_id"],
            rare_key=rare_key,
            rare_model=rare_model,
        )


def prepare(backend: str, opts: Options) -> tuple[Database, dict[str, float] | None]:
    """The benchmark database, seeded now or reused; the seeding times when it was seeded."""
    path = opts.data_dir / f"traces-{opts.rows}.db"
    db = Database(backend, path, opts.dsn)
    if opts.reuse:
        count = db.count()
        missing = expected_indexes() - db.index_names() if count > 0 else set()
        if count == opts.rows and not missing:
            sys.stderr.write(f"{backend}: reusing {count:,} traces\n")
            return db, None
        why = (
            f"indexes the current migrations create are missing: {sorted(missing)}"
            if missing
            else f"{count:,} rows, want {opts.rows:,}"
        )
        sys.stderr.write(f"{backend}: cannot reuse ({why}); seeding\n")
    if backend == "sqlite":
        opts.data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        asyncio.run(recreate_pg_database(opts.dsn))
    end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    seed_opts = seed.SeedOptions(rows=opts.rows, days=SEED_DAYS, seed=SEED, end=end)
    sys.stderr.write(f"{backend}: seeding {opts.rows:,} traces\n")
    timings = seed.seed(backend, str(path), opts.dsn, seed_opts, opts.workers)
    sys.stderr.write(f"{backend}: seeded in {timings['total_s']:.1f} s\n")
    return db, timings


def expected_indexes() -> set[str]:
    """The index names the current migrations create (on a scratch SQLite database).

    Migrations are recorded by name, so a database seeded before a migration file changed keeps
    the old index set; `--reuse` must not measure such a database as if it were current. Both
    backends' migrations name their indexes alike.
    """
    with tempfile.TemporaryDirectory(prefix="ongoingai-api-bench-schema-") as tmp:
        path = Path(tmp) / "schema.db"
        asyncio.run(seed.migrate("sqlite", str(path), ""))
        return Database("sqlite", path, "").index_names() - {"sqlite_autoindex_traces_1"}


async def recreate_pg_database(dsn: str) -> None:
    """Drop and create the DSN's database (ours alone), through the `postgres` database."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    if not name or name in ("postgres", "template0", "template1"):
        raise SystemExit(f"refusing to recreate database {name!r}: name a benchmark database")
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
    try:
        quoted = '"' + name.replace('"', '""') + '"'
        await admin.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {quoted}")
    finally:
        await admin.close()


# ---------------------------------------------------------------------------------------------
# the requests


@dataclass(frozen=True, slots=True)
class Case:
    """One request to time."""

    group: str  # "traces" or "analytics"
    name: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    body: dict[str, Any] | None = None

    @property
    def budget_ms(self) -> float:
        """The issue's budget for this kind of request (on SQLite)."""
        return ANALYTICS_BUDGET_MS if self.group == "analytics" else PAGE_BUDGET_MS

    @property
    def optional(self) -> bool:
        """Whether a 404 means "not built yet" (n/a) rather than a failure."""
        return self.group == "analytics"


def trace_cases(fx: Fixtures, deep_cursor: str | None) -> list[Case]:
    """The trace list (plain, deep, filtered), one trace, replay and fork."""
    day = {"from": fx.day, "to": fx.day}
    cases = [
        Case("traces", "list, first page, limit 50", "/api/traces"),
        Case("traces", "list, first page, limit 200", "/api/traces", {"limit": "200"}),
    ]
    if deep_cursor:
        cases.append(
            Case(
                "traces",
                f"list, page {DEEP_PAGES + 1} (followed next_cursor)",
                "/api/traces",
                {"cursor": deep_cursor},
            )
        )
    cases += [
        Case(
            "traces", "list, page at mid-period (cursor)", "/api/traces", {"cursor": fx.mid_cursor}
        ),
        Case("traces", "list, provider=openai", "/api/traces", {"provider": "openai"}),
        Case(
            "traces",
            f"list, model={fx.rare_model} (rarest)",
            "/api/traces",
            {"model": fx.rare_model},
        ),
        Case(
            "traces",
            "list, api_key_hash (rarest key)",
            "/api/traces",
            {"api_key_hash": fx.rare_key},
        ),
        Case("traces", "list, status=500", "/api/traces", {"status": "500"}),
        Case("traces", "list, min_tokens=20000", "/api/traces", {"min_tokens": "20000"}),
        Case("traces", "list, max_tokens=100", "/api/traces", {"max_tokens": "100"}),
        Case("traces", f"list, from/to one day ({fx.day})", "/api/traces", day),
        Case(
            "traces",
            "list, provider=anthropic + status=429 + one day",
            "/api/traces",
            {"provider": "anthropic", "status": "429", **day},
        ),
        Case("traces", "list, trace_group_id", "/api/traces", {"trace_group_id": fx.group_id}),
        Case(
            "traces",
            "list, thread_id + run_id",
            "/api/traces",
            {"thread_id": fx.thread_id, "run_id": fx.run_id},
        ),
        Case("traces", "trace detail", f"/api/traces/{fx.mid_trace_id}"),
        Case("traces", "replay (lineage trace)", f"/api/traces/{fx.lineage_id}/replay"),
        Case(
            "traces",
            "fork (lineage trace)",
            f"/api/traces/{fx.lineage_id}/fork",
            method="POST",
            body={},
        ),
    ]
    return cases


def analytics_cases(fx: Fixtures) -> list[Case]:
    """Every analytics endpoint and variant, over the whole seeded period."""
    period = {"from": format_rfc3339(fx.start), "to": format_rfc3339(fx.end)}
    cases = []
    for kind in ("usage", "cost"):
        path = f"/api/analytics/{kind}"
        cases.append(Case("analytics", f"{kind}, summary", path, period))
        cases += [
            Case("analytics", f"{kind}, series bucket={b}", path, {**period, "bucket": b})
            for b in ("hour", "day", "week")
        ]
        cases += [
            Case(
                "analytics",
                f"{kind}, series group_by={g} (bucket day)",
                path,
                {**period, "group_by": g},
            )
            for g in ("provider", "model")
        ]
    cases += [
        Case("analytics", "models", "/api/analytics/models", period),
        Case("analytics", "keys", "/api/analytics/keys", period),
    ]
    for kind in ("latency", "errors"):
        path = f"/api/analytics/{kind}"
        cases.append(Case("analytics", f"{kind}, ungrouped", path, period))
        cases += [
            Case("analytics", f"{kind}, group_by={g}", path, {**period, "group_by": g})
            for g in ("provider", "model", "route", "key")
        ]
    cases.append(Case("analytics", "summary", "/api/analytics/summary", period))
    return cases


@dataclass(slots=True)
class Timing:
    """The samples of one case on one backend, or why there are none."""

    case: Case
    samples_ms: list[float] = field(default_factory=list)
    note: str = ""  # "n/a (404)", "error 500: ..."
    answer: str = ""  # what came back, e.g. "50 items"

    def pct(self, q: float) -> float:
        """Percentile q (0..1) by linear interpolation; NaN without samples."""
        if not self.samples_ms:
            return math.nan
        ordered = sorted(self.samples_ms)
        rank = q * (len(ordered) - 1)
        low = math.floor(rank)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def describe(doc: Any) -> str:
    """A short note of what an answer held, to show that each filter found rows."""
    if isinstance(doc, dict):
        if isinstance(doc.get("items"), list):
            more = ", more" if doc.get("next_cursor") else ""
            return f"{len(doc['items'])} items{more}"
        if isinstance(doc.get("checkpoints"), list):
            return f"{len(doc['checkpoints'])} checkpoints"
        if "fork_id" in doc:
            return "fork"
        if "id" in doc:
            return "1 trace"
        return f"{len(doc)} fields"
    return type(doc).__name__


def measure(client: httpx.Client, case: Case, opts: Options) -> Timing:
    """Warm up once, then time `opts.reps` sequential requests (fewer past the time cap)."""
    timing = Timing(case)
    deadline = time.monotonic() + opts.case_seconds
    for rep in range(opts.reps + 1):  # the first one warms up and is not counted
        started = time.perf_counter()
        response = client.request(case.method, case.path, params=case.params, json=case.body)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            if response.status_code == 404 and case.optional:
                timing.note = "n/a (404: not built yet)"
            else:
                timing.note = f"error {response.status_code}: {response.text[:120].strip()}"
            timing.samples_ms.clear()
            return timing
        if rep == 0:
            timing.answer = describe(response.json())
            continue
        timing.samples_ms.append(elapsed_ms)
        if rep >= opts.min_reps and time.monotonic() > deadline:
            break
    return timing


def follow_cursor(client: httpx.Client, pages: int) -> str | None:
    """The cursor of page `pages + 1`, reached the way a client pages (None if fewer pages)."""
    cursor: str | None = None
    for _ in range(pages):
        params = {"cursor": cursor} if cursor else {}
        response = client.get("/api/traces", params=params)
        response.raise_for_status()
        cursor = response.json().get("next_cursor")
        if not cursor:
            return None
    return cursor


# ---------------------------------------------------------------------------------------------
# one backend: database, gateway, measurements


@dataclass(slots=True)
class BackendResult:
    """Everything measured on one backend."""

    backend: str
    info: DbInfo
    seed_timings: dict[str, float] | None
    timings: list[Timing]
    gateway_rss_mb: float = math.nan


def gateway_env(backend: str, db: Database, port: int) -> dict[str, str]:
    """The caller's environment without ONGOINGAI_/OTEL_ settings, plus storage and bind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONGOINGAI_", "OTEL_"))}
    env |= {
        "ONGOINGAI_HOST": "127.0.0.1",
        "ONGOINGAI_PORT": str(port),
        "ONGOINGAI_STORAGE_DRIVER": backend,
    }
    if backend == "sqlite":
        env["ONGOINGAI_STORAGE_PATH"] = str(db.path)
    else:
        env["ONGOINGAI_STORAGE_DSN"] = db.dsn
    return env


def wait_ready(proc: Proc, url: str) -> None:
    """Poll `/api/ready` until 200, or fail with the gateway's log."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"gateway exited ({proc.popen.returncode}):\n{proc.log_tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/api/ready", timeout=2.0).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"gateway not ready after {READY_TIMEOUT_S:.0f}s:\n{proc.log_tail()}")


def run_backend(backend: str, opts: Options, tmp: Path) -> BackendResult:
    """Seed or reuse, start the gateway on the database, time every case, stop it."""
    db, seed_timings = prepare(backend, opts)
    workdir = tmp / backend
    workdir.mkdir()
    config = workdir / "ongoingai.yaml"
    config.write_text("# admin-API benchmark: defaults; env sets storage, host and port\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(Path(sys.executable).parent / "ongoingai"), "serve", "--config", str(config)]
    proc = Proc(
        f"gateway-{backend}",
        cmd,
        workdir / "gateway.log",
        env=gateway_env(backend, db, port),
        cwd=workdir,
    )
    try:
        wait_ready(proc, url)
        # Read after the gateway started: it applies migrations first, which may add indexes.
        info = db.info()
        fx = db.fixtures(info)
        with httpx.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
            deep = follow_cursor(client, DEEP_PAGES)
            cases = trace_cases(fx, deep) + analytics_cases(fx)
            timings = []
            for case in cases:
                timing = measure(client, case, opts)
                _progress(backend, timing)
                timings.append(timing)
        rss = proc.peak_rss_mb()
    finally:
        proc.stop()
    return BackendResult(backend, info, seed_timings, timings, rss)


def _progress(backend: str, timing: Timing) -> None:
    figures = timing.note or (
        f"p50 {timing.pct(0.5):8.1f} ms  p95 {timing.pct(0.95):8.1f} ms  "
        f"n={len(timing.samples_ms)}  {timing.answer}"
    )
    sys.stderr.write(f"  {backend:8} {timing.case.name:55.55} {figures}\n")


# ---------------------------------------------------------------------------------------------
# reporting


def _ms(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _cell(timing: Timing | None, flag: bool) -> str:
    """`p50 / p95 / max`, flagged when p50 (or only p95) is over the case's budget."""
    if timing is None:
        return "—"
    if timing.note:
        return timing.note
    p50, p95, top = timing.pct(0.5), timing.pct(0.95), max(timing.samples_ms)
    text = f"{_ms(p50)} / {_ms(p95)} / {_ms(top)}"
    budget = timing.case.budget_ms
    if p50 > budget:
        text += " **OVER**" if flag else " (above the SQLite budget)"
    elif p95 > budget and flag:
        text += " (p95 over)"
    return text


def results_table(results: list[BackendResult]) -> str:
    """One row per request, one column per backend: p50 / p95 / max ms."""
    by_case: dict[str, dict[str, Timing]] = {}
    order: list[Case] = []
    for result in results:
        for timing in result.timings:
            if timing.case.name not in by_case:
                by_case[timing.case.name] = {}
                order.append(timing.case)
            by_case[timing.case.name][result.backend] = timing
    labels = [BACKEND_LABELS[r.backend] for r in results]
    head = (
        "| request | budget ms | "
        + " | ".join(f"{label} ms p50 / p95 / max" for label in labels)
        + " | answer |\n|---|---|"
        + "---|" * len(labels)
        + "---|\n"
    )
    rows = []
    for case in order:
        cells = [_cell(by_case[case.name].get(r.backend), r.backend == "sqlite") for r in results]
        answer = next((t.answer for t in by_case[case.name].values() if t.answer), "")
        query = "&".join(
            f"{k}={v if len(v) < 24 else v[:12] + '…'}" for k, v in case.params.items()
        )
        target = f"`{case.method} {_short_path(case.path)}{'?' + query if query else ''}`"
        rows.append(
            f"| {case.name}<br>{target} | {case.budget_ms:g} | "
            + " | ".join(cells)
            + f" | {answer} |"
        )
    return head + "\n".join(rows) + "\n"


def _short_path(path: str) -> str:
    parts = path.split("/")
    return "/".join(p[:8] + "…" if len(p) > 24 else p for p in parts)


def verdict(results: list[BackendResult]) -> str:
    """The budget checks on SQLite, then what PostgreSQL does against the same lines."""
    lines = []
    for result in results:
        label = BACKEND_LABELS[result.backend]
        measured = [t for t in result.timings if t.samples_ms]
        over = [t for t in measured if t.pct(0.5) > t.case.budget_ms]
        p95_over = [t for t in measured if t not in over and t.pct(0.95) > t.case.budget_ms]
        missing = [t for t in result.timings if t.note.startswith("n/a")]
        errors = [t for t in result.timings if t.note.startswith("error")]
        within = f"{len(measured) - len(over)} of {len(measured)}"
        if result.backend == "sqlite":
            lines.append(f"- {label}: {within} measured requests within budget (p50)")
        else:
            lines.append(f"- {label} (no budget of its own; same lines): {within} under them (p50)")
        lines += [
            f"  - over: {t.case.name}: p50 {_ms(t.pct(0.5))} ms (budget {t.case.budget_ms:g} ms)"
            for t in over
        ]
        lines += [f"  - p95 over: {t.case.name}: p95 {_ms(t.pct(0.95))} ms" for t in p95_over]
        if missing:
            lines.append(
                f"  - not measured, endpoint answers 404 (not built yet): {len(missing)} requests"
            )
        lines += [f"  - failed: {t.case.name}: {t.note}" for t in errors]
    return "\n".join(lines) + "\n"


def _mb(size: int) -> str:
    return f"{size / 1_048_576:,.0f} MiB" if size >= 1_048_576 else f"{size / 1024:,.0f} KiB"


def database_section(results: list[BackendResult]) -> str:
    """Rows, period, sizes, seeding time and the index list of each backend."""
    out = []
    for result in results:
        info = result.info
        label = BACKEND_LABELS[result.backend]
        period = (
            f"{info.start:%Y-%m-%d %H:%M} to {info.end:%Y-%m-%d %H:%M} UTC"
            if info.start and info.end
            else "empty"
        )
        rss = _ms(result.gateway_rss_mb)
        out.append(f"**{label}**: {info.rows:,} traces, {period}; gateway peak RSS {rss} MB")
        if result.seed_timings:
            phases = ", ".join(
                f"{k.removesuffix('_s')} {v:.0f} s"
                for k, v in result.seed_timings.items()
                if k != "total_s"
            )
            out.append(f"- seeded in this run: {result.seed_timings['total_s']:.0f} s ({phases})")
        else:
            out.append("- database reused from an earlier run (`--reuse`)")
        out.append("- migrations applied: " + ", ".join(f"`{m}`" for m in info.migrations))
        out.append("- sizes: " + ", ".join(f"{k} {_mb(v)}" for k, v in info.sizes.items()))
        out.append(f"- {len(info.indexes)} indexes on `traces`:\n")
        out.append("  | index | definition | size |\n  |---|---|---|")
        out += [
            f"  | {name} | `{definition}` | {_mb(size)} |"
            for name, definition, size in info.indexes
        ]
        out.append("")
    return "\n".join(out) + "\n"


def machine_info(
    opts: Options, load_before: tuple[float, ...], load_after: tuple[float, ...]
) -> str:
    """CPU, Python, commit, load average around the run, options."""
    model = cpu_model()
    commit = git_commit()
    loads = f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return "\n".join(
        [
            f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M UTC}",
            f"- CPU: {model}, {os.cpu_count()} logical CPUs; 1-minute load average {loads} "
            "(other work on the machine inflates the figures)",
            f"- Python: {python}; SQLite {sqlite3.sqlite_version}",
            f"- gateway commit: {commit} (plus any uncommitted changes in the work tree)",
            f"- run: {opts.reps} timed requests per case after one warm-up (at least "
            f"{opts.min_reps}, fewer once a case has taken {opts.case_seconds:g} s), in sequence "
            "on one keep-alive connection; a time is the whole HTTP exchange seen by the client",
        ]
    )


def report(
    results: list[BackendResult], opts: Options, loads: tuple[tuple[float, ...], tuple[float, ...]]
) -> str:
    """The whole markdown report."""
    rows = results[0].info.rows if results else 0
    return (
        f"Admin API over {rows:,} traces ({SEED_DAYS:g} days), budget on SQLite: trace endpoints "
        f"< {PAGE_BUDGET_MS:g} ms, analytics over the period < {ANALYTICS_BUDGET_MS / 1000:g} s "
        "(judged on p50; **OVER** marks a miss).\n\n"
        + results_table(results)
        + "\n"
        + verdict(results)
        + "\n"
        + database_section(results)
        + machine_info(opts, *loads)
        + "\n"
    )


def update_readme(body: str) -> None:
    """Replace the text between this script's markers in bench/README.md (append if absent)."""
    block = f"{README_START}\n{body.rstrip()}\n{README_END}"
    text = README_MD.read_text()
    if README_START in text and README_END in text:
        before = text[: text.index(README_START)]
        after = text[text.index(README_END) + len(README_END) :]
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    README_MD.write_text(text)


# ---------------------------------------------------------------------------------------------
# entry point


@dataclass(frozen=True, slots=True)
class Options:
    """What to run."""

    rows: int
    backends: tuple[str, ...]
    reps: int
    min_reps: int
    case_seconds: float
    reuse: bool
    update_readme: bool
    data_dir: Path
    dsn: str
    workers: int


def parse_args(argv: Sequence[str] | None) -> Options:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="traces to seed")
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument("--reps", type=int, default=20, help="timed requests per case")
    parser.add_argument("--min-reps", type=int, default=3, help="timed requests per case at least")
    parser.add_argument(
        "--case-seconds",
        type=float,
        default=15.0,
        help="stop repeating a case after this long (once --min-reps are done)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep a database with the right row count instead of seeding",
    )
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="replace the api-results section of bench/README.md",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="where the SQLite database lives"
    )
    parser.add_argument(
        "--dsn",
        default=DEFAULT_DSN,
        help="the PostgreSQL benchmark database (dropped and created unless --reuse)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, min(4, (os.cpu_count() or 2) - 1)),
        help="seed.py generator processes",
    )
    args = parser.parse_args(argv)
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    unknown = [b for b in backends if b not in BACKEND_LABELS]
    if unknown or not backends:
        parser.error(f"--backends: unknown {unknown}; choose from sqlite, postgres")
    if args.rows < 1 or args.reps < 1:
        parser.error("--rows and --reps must be positive")
    return Options(
        rows=args.rows,
        backends=backends,
        reps=args.reps,
        min_reps=max(1, min(args.min_reps, args.reps)),
        case_seconds=args.case_seconds,
        reuse=args.reuse,
        update_readme=args.update_readme,
        data_dir=args.data_dir,
        dsn=args.dsn,
        workers=args.workers,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 on success."""
    opts = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)  # unwind, so the gateway is stopped
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="ongoingai-api-bench-") as tmp:
            results = [run_backend(backend, opts, Path(tmp)) for backend in opts.backends]
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; the gateway was stopped\n")
        return 130
    body = report(results, opts, (load_before, os.getloadavg()))
    print(body)
    RESULTS_MD.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_MD.write_text("# Admin-API benchmark results (latest run)\n\n" + body)
    sys.stderr.write(f"wrote {RESULTS_MD.relative_to(REPO_DIR)}\n")
    if opts.update_readme:
        update_readme(body)
        sys.stderr.write(f"updated {README_MD.relative_to(REPO_DIR)}\n")
    return 0


def _raise_exit(_sig: int, _frame: object) -> None:
    raise SystemExit(143)


if __name__ == "__main__":
    sys.exit(main())
