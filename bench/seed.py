"""Fill a trace store with deterministic synthetic traces, fast, for the admin-API benchmark.

`python bench/seed.py --driver sqlite --path X.db [--rows 1000000] [--days 30] [--seed 42]`
`python bench/seed.py --driver postgres --dsn postgresql://... [...]`

The schema comes from the project's own migrations (`apply_migrations`); the rows are what the
gateway's `record` stage would have written for that traffic (contract §4.1-§4.5): five
providers with realistic models and paths, ~50 provider credentials (sha256 hex), 20 gateway
keys in 3 orgs x 3 workspaces, mostly 200s with ~3% 4xx and ~1% 5xx, lognormal latency, ~40%
streams with TTFT, token kinds as subsets (cache kinds inside input, reasoning inside output),
exact integer nano-USD cost beside the float dollars, header and metadata JSON the size and
shape the gateway stores, ~5% of traces in lineage groups of 3-10 checkpoints, no bodies.
`timestamp` = `created_at`, ascending with the insertion order, as the gateway appends them.

Why not through the gateway's TraceWriter: at ~1,000 traces a second it would take 20 minutes
per million. Instead rows go in through the drivers' bulk paths (stdlib `sqlite3` executemany
in large transactions; asyncpg `copy_records_to_table`), in the exact stored text formats
(`format_utc`, `dumps` from `engine/storage/coltypes.py`), and the secondary indexes are
dropped for the load and recreated from their own saved definitions afterwards (one sort per
index instead of 19 B-tree inserts per row; an interrupted seed therefore leaves a table
without them, and a seed refuses a non-empty table). The result is checked by reading rows
back with the project's `TraceReader` and by finding every index `tables.py` declares.
PostgreSQL then gets `VACUUM ANALYZE`, the state autovacuum would reach on its own; SQLite is
left without `ANALYZE`, as the gateway leaves it.

Deterministic: the same `--seed`, `--rows`, `--days` and `--end` give the same rows (`--end`
defaults to the current time rounded down to the minute).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import hashlib
import itertools
import math
import os
import random
import sqlite3
import sys
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import asyncpg

from ongoingai.engine.storage.coltypes import dumps, format_utc
from ongoingai.engine.storage.db import create_engine_for
from ongoingai.engine.storage.migrations import apply_migrations, traces_index_names
from ongoingai.engine.storage.tables import INDEX_NAMES
from ongoingai.engine.storage.traces import TraceReader

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


__all__ = ["COLUMNS", "SeedOptions", "generate", "generate_block", "main", "seed"]

#: Column order of every generated row (the `traces` table's, migrations 001-003).
COLUMNS: Final = (
    "id",
    "trace_group_id",
    "org_id",
    "workspace_id",
    "timestamp",
    "provider",
    "model",
    "request_method",
    "request_path",
    "request_headers",
    "request_body",
    "response_status",
    "response_headers",
    "response_body",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "latency_ms",
    "time_to_first_token_ms",
    "time_to_first_token_us",
    "api_key_hash",
    "estimated_cost_usd",
    "metadata",
    "created_at",
    "gateway_key_id",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "reasoning_tokens",
    "cost_nanousd",
)
BLOCK_ROWS: Final = 25_000  # rows per generated block = per executemany / COPY call
COMMIT_ROWS: Final = 200_000  # SQLite rows per transaction
PROGRESS_ROWS: Final = 100_000


# ---------------------------------------------------------------------------------------------
# the synthetic world: providers, models, keys, tenants


@dataclass(frozen=True, slots=True)
class Model:
    """A model and its list price in integer nano-USD per token ($1 per 1M tokens = 1000)."""

    name: str
    weight: float
    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0
    reasoning: bool = False


@dataclass(frozen=True, slots=True)
class Provider:
    """A provider as the gateway routes it: paths under its prefix, models, client headers."""

    name: str
    weight: float
    paths: tuple[tuple[str, float], ...]
    models: tuple[Model, ...]
    pricing: str  # the metadata `pricing` label of its table
    credential_header: str  # where the client sends the key (stored redacted)
    user_agent: str
    extra_request_headers: tuple[tuple[str, str], ...] = ()
    caches: bool = False  # reports cache-read tokens
    cache_writes: bool = False  # reports cache-write tokens (Anthropic)


PROVIDERS: Final = (
    Provider(
        "openai",
        0.45,
        (("/openai/v1/chat/completions", 0.7), ("/openai/v1/responses", 0.3)),
        (
            Model("gpt-4o-mini", 0.45, 150, 600, 75),
            Model("gpt-4o", 0.25, 2500, 10000, 1250),
            Model("gpt-4.1", 0.15, 2000, 8000, 500),
            Model("gpt-5-mini", 0.15, 250, 2000, 25, reasoning=True),
        ),
        "openai@1",
        "Authorization",
        "OpenAI/Python 1.54.3",
        (("X-Stainless-Lang", "python"), ("X-Stainless-Runtime-Version", "3.12.7")),
        caches=True,
    ),
    Provider(
        "anthropic",
        0.30,
        (("/anthropic/v1/messages", 1.0),),
        (
            Model("claude-sonnet-4-5", 0.55, 3000, 15000, 300, 3750),
            Model("claude-haiku-4-5", 0.35, 1000, 5000, 100, 1250),
            Model("claude-opus-4-1", 0.10, 15000, 75000, 1500, 18750, reasoning=True),
        ),
        "anthropic@1",
        "X-Api-Key",
        "Anthropic/Python 0.39.0",
        (("Anthropic-Version", "2023-06-01"),),
        caches=True,
        cache_writes=True,
    ),
    Provider(
        "groq",
        0.10,
        (("/groq/v1/chat/completions", 1.0),),
        (Model("llama-3.3-70b-versatile", 1.0, 590, 790),),
        "custom@1",
        "Authorization",
        "groq-python/0.13.0",
    ),
    Provider(
        "mistral",
        0.07,
        (("/mistral/v1/chat/completions", 1.0),),
        (Model("mistral-large-latest", 1.0, 2000, 6000),),
        "custom@1",
        "Authorization",
        "mistral-client-python/1.2.3",
    ),
    Provider(
        "openrouter",
        0.08,
        (("/openrouter/v1/chat/completions", 1.0),),
        (Model("deepseek/deepseek-r1", 1.0, 550, 2190, reasoning=True),),
        "custom@1",
        "Authorization",
        "OpenAI/Python 1.54.3",
        caches=True,
    ),
)
ORGS: Final = ("org-acme", "org-globex", "org-initech")
WORKSPACES: Final = ("ws-prod", "ws-staging", "ws-research")
API_KEYS: Final = 50
GATEWAY_KEYS: Final = 20
ERRORS_4XX: Final = (400, 401, 404, 413, 429, 429, 429)
ERRORS_5XX: Final = (500, 502, 503, 529)
P_4XX: Final = 0.03
P_5XX: Final = 0.01
P_STREAM: Final = 0.40
P_LINEAGE_START: Final = 0.0085  # with the join odds below, ~5% of traces are in a lineage group
P_LINEAGE_JOIN: Final = 0.5
REDACTED: Final = "[REDACTED]"


@dataclass(frozen=True, slots=True)
class SeedOptions:
    """What to generate."""

    rows: int
    days: float
    seed: int
    end: dt.datetime


@dataclass(slots=True)
class _Lineage:
    """The lineage group being generated: later traces join it until it has `size` steps."""

    group_id: str
    thread_id: str
    run_id: str
    size: int
    provider: Provider
    model: Model
    key: tuple[str, str]  # (api key hash, last4)
    gateway_key: tuple[str, str, str]  # (gateway key id, org, workspace)
    seq: int = 0
    parent: str = ""


class _World:
    """The fixed cast, drawn from the seed: credentials per provider, gateway keys, revisions."""

    def __init__(self, rng: random.Random) -> None:
        weights = [p.weight for p in PROVIDERS]
        self.provider_cum = list(itertools.accumulate(weights))
        self.model_cum = {
            p.name: list(itertools.accumulate(m.weight for m in p.models)) for p in PROVIDERS
        }
        self.path_cum = {
            p.name: list(itertools.accumulate(w for _, w in p.paths)) for p in PROVIDERS
        }
        # Credentials are per provider; a few heavy users, a long tail (Zipf-like weights).
        self.keys: dict[str, list[tuple[str, str]]] = {p.name: [] for p in PROVIDERS}
        for i in range(API_KEYS):
            provider = PROVIDERS[i % len(PROVIDERS)].name
            secret = f"sk-bench-{provider}-{i:03d}-{rng.getrandbits(64):016x}"
            self.keys[provider].append((hashlib.sha256(secret.encode()).hexdigest(), secret[-4:]))
        self.key_cum = {
            name: list(itertools.accumulate(1 / (r + 1) for r in range(len(keys))))
            for name, keys in self.keys.items()
        }
        self.gateway_keys = [
            (f"gk_{rng.getrandbits(64):016x}", ORGS[i % 3], WORKSPACES[(i // 3) % 3])
            for i in range(GATEWAY_KEYS)
        ]
        self.gateway_cum = list(
            itertools.accumulate(1 / (r + 1) ** 0.8 for r in range(GATEWAY_KEYS))
        )
        # The policy set changed twice during the period: three revisions in time order.
        self.revisions = [hashlib.sha256(f"rev-{i}".encode()).hexdigest() for i in range(3)]


def _pick(rng: random.Random, items: Sequence[Any], cum: list[float]) -> Any:
    return items[bisect.bisect(cum, rng.random() * cum[-1])]


# ---------------------------------------------------------------------------------------------
# exact stored text, fast


class _Slot:
    """A per-row value inside a JSON template; `dumps` renders it (through `str`) as a marker."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __str__(self) -> str:
        return f"@@slot{self.index}@@"


def _slots(shape: object) -> Iterator[_Slot]:
    if isinstance(shape, _Slot):
        yield shape
    elif isinstance(shape, dict):
        for value in shape.values():
            yield from _slots(value)
    elif isinstance(shape, list):
        for value in shape:
            yield from _slots(value)


def _fill(shape: object, values: Sequence[Any]) -> object:
    if isinstance(shape, _Slot):
        return values[shape.index]
    if isinstance(shape, dict):
        return {key: _fill(value, values) for key, value in shape.items()}
    if isinstance(shape, list):
        return [_fill(value, values) for value in shape]
    return shape


def _scalar(value: object) -> str:
    """JSON for the slot values used here: bools, ints and strings that need no escaping."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return f'"{value}"'


class _Template:
    """`dumps` of one JSON shape with slots: the same text, built with one `%` per row.

    `dumps` (sorted keys, a fresh encoder per call) is ~10 us a call, three calls a row; this
    renders in ~1 us. The first `checks` renders of every template are compared with `dumps`
    of the filled-in object, so a difference in the text fails the seed instead of the bench.
    """

    def __init__(self, shape: dict[str, Any], checks: int = 50) -> None:
        self.shape = shape
        text = dumps(shape).replace("%", "%%")
        markers = [(text.index(f'"{slot}"'), slot) for slot in _slots(shape)]
        self.order = tuple(slot.index for _, slot in sorted(markers, key=lambda m: m[0]))
        for _, slot in markers:
            text = text.replace(f'"{slot}"', "%s")
        self.text = text
        self._checks = checks

    def render(self, values: Sequence[Any]) -> str:
        """The JSON text for these slot values."""
        text = self.text % tuple([_scalar(values[i]) for i in self.order])
        if self._checks:
            self._checks -= 1
            expected = dumps(_fill(self.shape, values))
            if text != expected:
                raise RuntimeError(f"JSON template drifted from dumps:\n{text}\n{expected}")
        return text


class _Clock:
    """Epoch microseconds -> stored timestamp text, HTTP Date, datetime; cached per minute.

    `format_utc` (strftime) is ~5 us a call; the text of a minute is reused for every trace in
    it. The first `checks` results are compared with `format_utc` itself.
    """

    EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def __init__(self, checks: int = 1000) -> None:
        self._minute = -1
        self._text = self._date = ""
        self._checks = checks

    def when(self, t_us: int) -> dt.datetime:
        """The aware UTC datetime (what asyncpg binds to TIMESTAMPTZ)."""
        return self.EPOCH + dt.timedelta(microseconds=t_us)

    def _at(self, t_us: int) -> tuple[int, int]:
        minute, rest = divmod(t_us, 60_000_000)
        if minute != self._minute:
            start = self.when(minute * 60_000_000)
            self._minute = minute
            self._text = format_utc(start)[:17]  # "YYYY-MM-DD HH:MM:"
            self._date = start.strftime("%a, %d %b %Y %H:%M:")
        return divmod(rest, 1_000_000)

    def text(self, t_us: int) -> str:
        """`format_utc` of the instant, as SQLite stores it."""
        sec, micros = self._at(t_us)
        text = f"{self._text}{sec:02d}.{micros:06d}+00:00"
        if self._checks:
            self._checks -= 1
            if text != format_utc(self.when(t_us)):
                raise RuntimeError(f"timestamp text drifted from format_utc: {text}")
        return text

    def http_date(self, t_us: int) -> str:
        """The RFC 7231 `Date` header value."""
        sec, _ = self._at(t_us)
        return f"{self._date}{sec:02d} GMT"


# ---------------------------------------------------------------------------------------------
# row generation


class _Shapes:
    """The JSON templates, one per shape: provider, stream or not, lineage depth (0, 1, 2)."""

    def __init__(self) -> None:
        self._request: dict[tuple[str, bool, int], _Template] = {}
        self._response: dict[bool, _Template] = {}
        self._metadata: dict[tuple[str, bool, int], _Template] = {}

    # request slots: 0 content length, 1 correlation, 2 group, 3 thread, 4 run, 5 seq, 6 parent
    def request(self, provider: Provider, stream: bool, depth: int) -> _Template:
        """Request headers as captured: canonical names, credential redacted, sorted."""
        key = (provider.name, stream, depth)
        if key not in self._request:
            shape: dict[str, Any] = {
                "Accept": ["text/event-stream" if stream else "application/json"],
                "Accept-Encoding": ["gzip, deflate"],
                provider.credential_header: [REDACTED],
                "Connection": ["keep-alive"],
                "Content-Length": [_Slot(0)],
                "Content-Type": ["application/json"],
                "User-Agent": [provider.user_agent],
                "X-Ongoingai-Correlation-Id": [_Slot(1)],
                **{name: [value] for name, value in provider.extra_request_headers},
            }
            if depth:
                shape |= {
                    "X-Ongoingai-Trace-Group-Id": [_Slot(2)],
                    "X-Ongoingai-Thread-Id": [_Slot(3)],
                    "X-Ongoingai-Run-Id": [_Slot(4)],
                    "X-Ongoingai-Checkpoint-Seq": [_Slot(5)],
                }
            if depth > 1:
                shape["X-Ongoingai-Parent-Checkpoint-Id"] = [_Slot(6)]
            self._request[key] = _Template(dict(sorted(shape.items())))
        return self._request[key]

    # response slots: 0 date, 1 correlation, 2 request id, 3 processing ms
    def response(self, stream: bool) -> _Template:
        """Upstream response headers plus the gateway's correlation header."""
        if stream not in self._response:
            content_type = "text/event-stream; charset=utf-8" if stream else "application/json"
            self._response[stream] = _Template(
                {
                    "Content-Type": [content_type],
                    "Date": [_Slot(0)],
                    "Server": ["cloudflare"],
                    "X-Ongoingai-Correlation-Id": [_Slot(1)],
                    "X-Request-Id": [_Slot(2)],
                    "X-Upstream-Processing-Ms": [_Slot(3)],
                }
            )
        return self._response[stream]

    # metadata slots: 0 chunks, 1 trace id, 2 correlation, 3 revision, 4 key last4,
    # 5 group, 6 thread, 7 run, 8 seq, 9 parent
    def metadata(self, provider: Provider, stream: bool, depth: int) -> _Template:
        """The metadata `record` writes (contract §4.5, SPEC §7.4), redaction mode off."""
        key = (provider.name, stream, depth)
        if key not in self._metadata:
            shape: dict[str, Any] = {
                "streaming": stream,
                "stream_chunks": _Slot(0),
                "redaction_mode": "off",
                "redaction_policy_id": "default/v1",
                "redaction_applied": True,
                "redaction_counts": {"header": 1},
                "lineage_checkpoint_id": _Slot(1),
                "lineage_immutable": True,
                "correlation_id": _Slot(2),
                "policy_revision": _Slot(3),
                "pricing": provider.pricing,
                "api_key_last4": _Slot(4),
            }
            if depth:
                shape |= {
                    "lineage_group_id": _Slot(5),
                    "lineage_thread_id": _Slot(6),
                    "lineage_run_id": _Slot(7),
                    "lineage_checkpoint_seq": _Slot(8),
                }
            if depth > 1:
                shape["lineage_parent_checkpoint_id"] = _Slot(9)
            self._metadata[key] = _Template(shape)
        return self._metadata[key]


def generate_block(opts: SeedOptions, block: int, text_times: bool) -> list[tuple[Any, ...]]:
    """Rows `block * BLOCK_ROWS` up to the next block (or the end), in `COLUMNS` order.

    Each block has its own random stream (derived from the seed and the block number), so
    blocks can be generated in any order, in parallel, with the same result. Timestamps are
    `format_utc` text for SQLite (`text_times`), aware datetimes for asyncpg; JSON columns are
    always `dumps` text. A lineage group still open at the end of a block ends there.
    """
    rng = random.Random(opts.seed * 1_000_003 + block)
    world = _World(random.Random(opts.seed))
    shapes, clock = _Shapes(), _Clock()
    end_us = int((opts.end - _Clock.EPOCH).total_seconds()) * 1_000_000
    start_us = end_us - int(opts.days * 86_400_000_000)
    step_us = (end_us - start_us) / opts.rows
    lineage: _Lineage | None = None
    rows = []
    for i in range(block * BLOCK_ROWS, min(opts.rows, (block + 1) * BLOCK_ROWS)):
        t_us = start_us + int((i + rng.random()) * step_us)
        stamp: Any = clock.text(t_us) if text_times else clock.when(t_us)
        if lineage is None and rng.random() < P_LINEAGE_START:
            lineage = _new_lineage(rng, world)
        joins = lineage is not None and rng.random() < P_LINEAGE_JOIN
        when = (stamp, clock.http_date(t_us), i / opts.rows)
        rows.append(_row(rng, world, shapes, when, lineage if joins else None))
        if lineage is not None and lineage.seq >= lineage.size:
            lineage = None
    return rows


def generate(
    opts: SeedOptions, *, text_times: bool, workers: int = 0
) -> Iterator[list[tuple[Any, ...]]]:
    """All rows, oldest first, one block (list of rows) at a time.

    With `workers` > 0 the blocks are generated by that many processes while the caller
    writes the previous ones: generating is two thirds of the CPU a seed costs, and the
    database (SQLite in this process, PostgreSQL in its own) can use the other core meanwhile.
    At most `2 * workers` finished blocks wait in memory.
    """
    blocks = range(math.ceil(opts.rows / BLOCK_ROWS))
    if workers <= 0:
        for block in blocks:
            yield generate_block(opts, block, text_times)
        return
    with ProcessPoolExecutor(workers) as pool:
        pending: deque[Future[list[tuple[Any, ...]]]] = deque()
        for block in blocks:
            pending.append(pool.submit(generate_block, opts, block, text_times))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _new_lineage(rng: random.Random, world: _World) -> _Lineage:
    provider = _pick(rng, PROVIDERS, world.provider_cum)
    return _Lineage(
        group_id=f"grp_{rng.getrandbits(64):016x}",
        thread_id=f"thread_{rng.getrandbits(64):016x}",
        run_id=f"run_{rng.getrandbits(64):016x}",
        size=rng.randint(3, 10),
        provider=provider,
        model=_pick(rng, provider.models, world.model_cum[provider.name]),
        key=_pick(rng, world.keys[provider.name], world.key_cum[provider.name]),
        gateway_key=_pick(rng, world.gateway_keys, world.gateway_cum),
    )


def _tokens(rng: random.Random, provider: Provider, model: Model) -> tuple[int, ...]:
    """(input, output, cache_read, cache_write, reasoning): the kinds are subsets, as reported."""
    inp = min(120_000, max(8, int(rng.lognormvariate(7.0, 1.1))))  # median ~1,100
    out = min(16_000, max(1, int(rng.lognormvariate(5.5, 1.0))))  # median ~250
    cache_read = cache_write = reasoning = 0
    if provider.caches and rng.random() < 0.35:
        cache_read = int(inp * rng.uniform(0.3, 0.9))
    if provider.cache_writes and rng.random() < 0.15:
        cache_write = int((inp - cache_read) * rng.uniform(0.2, 0.8))
    if model.reasoning:
        out = min(32_000, out * 3)
        reasoning = int(out * rng.uniform(0.3, 0.8))
    return inp, out, cache_read, cache_write, reasoning


def _status(rng: random.Random) -> int:
    roll = rng.random()
    if roll < P_4XX:
        return rng.choice(ERRORS_4XX)
    if roll < P_4XX + P_5XX:
        return rng.choice(ERRORS_5XX)
    return 200


def _row(
    rng: random.Random,
    world: _World,
    shapes: _Shapes,
    when: tuple[Any, str, float],
    lineage: _Lineage | None,
) -> tuple[Any, ...]:
    """One trace, as `record` + the TraceWriter would store it.

    `when` is (stored timestamp, HTTP date, share of the period elapsed).
    """
    stamp, http_date, progress = when
    trace_id = f"{rng.getrandbits(128):032x}"
    if lineage is not None:
        provider, model, key = lineage.provider, lineage.model, lineage.key
        gateway_key_id, org, workspace = lineage.gateway_key
    else:
        provider = _pick(rng, PROVIDERS, world.provider_cum)
        model = _pick(rng, provider.models, world.model_cum[provider.name])
        key = _pick(rng, world.keys[provider.name], world.key_cum[provider.name])
        gateway_key_id, org, workspace = _pick(rng, world.gateway_keys, world.gateway_cum)
    path = _pick(rng, provider.paths, world.path_cum[provider.name])[0]
    status = _status(rng)
    stream = rng.random() < P_STREAM
    if status == 200:
        latency = min(5000, max(50, int(rng.lognormvariate(6.4, 0.8))))  # median ~600 ms
        inp, out, cache_read, cache_write, reasoning = _tokens(rng, provider, model)
    else:
        latency = min(5000, max(50, int(rng.lognormvariate(5.0, 0.6))))  # fails fast
        inp = out = cache_read = cache_write = reasoning = 0
        stream = stream and status >= 500 and rng.random() < 0.3  # a stream that broke
    ttft_us = int(latency * 1000 * rng.uniform(0.08, 0.45)) + rng.randrange(1000) if stream else 0
    nanos = (
        (inp - cache_read - cache_write) * model.input
        + cache_read * model.cache_read
        + cache_write * model.cache_write
        + out * model.output
    )
    correlation = f"corr-{rng.getrandbits(128):032x}"
    values: list[Any] = [
        max(1, out // rng.randint(2, 6)) if stream else 0,
        trace_id,
        correlation,
        world.revisions[min(2, int(progress * 3))],
        key[1],
    ]
    request = [str(200 + inp * 4 // 3 if inp else rng.randrange(200, 4000)), correlation]
    depth, group_id = 0, None
    if lineage is not None:
        lineage.seq += 1
        depth, group_id = (2 if lineage.parent else 1), lineage.group_id
        ids = [group_id, lineage.thread_id, lineage.run_id]
        values += [*ids, lineage.seq, lineage.parent]
        request += [*ids, str(lineage.seq), lineage.parent]
        lineage.parent = trace_id
    response = [
        http_date,
        correlation,
        f"req_{rng.getrandbits(96):024x}",
        str(max(1, latency - rng.randrange(5, 40))),
    ]
    return (
        trace_id,
        group_id,
        org,
        workspace,
        stamp,
        provider.name,
        model.name,
        "POST",
        path,
        shapes.request(provider, stream, depth).render(request),
        "",
        status,
        shapes.response(stream).render(response),
        "",
        inp,
        out,
        inp + out,
        latency,
        (ttft_us + 999) // 1000,
        ttft_us,
        key[0],
        nanos / 1e9,
        shapes.metadata(provider, stream, depth).render(values),
        stamp,
        gateway_key_id,
        cache_read,
        cache_write,
        reasoning,
        nanos,
    )


class _Progress:
    """Rows/s to stderr every PROGRESS_ROWS rows."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = time.monotonic()
        self._next = PROGRESS_ROWS

    def add(self, count: int) -> None:
        self.done += count
        if self.done >= self._next or self.done == self.total:
            self._next += PROGRESS_ROWS
            elapsed = time.monotonic() - self.started
            sys.stderr.write(
                f"  {self.label}: {self.done:>9,} / {self.total:,} rows, {elapsed:6.1f} s, "
                f"{self.done / max(elapsed, 1e-9):,.0f} rows/s\n"
            )


# ---------------------------------------------------------------------------------------------
# SQLite: stdlib sqlite3, large transactions


def _seed_sqlite(path: str, opts: SeedOptions, workers: int) -> dict[str, float]:
    """Bulk-load with the secondary indexes dropped, then rebuild them; timings per phase."""
    timings: dict[str, float] = {}
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _require_empty(conn.execute("SELECT COUNT(*) FROM traces").fetchone()[0])
        # The load needs no crash safety (a failed seed is simply redone): no journal, no
        # fsync, a big page cache and in-memory sort space for the index builds.
        for pragma in (
            "PRAGMA journal_mode=OFF",
            "PRAGMA synchronous=OFF",
            "PRAGMA cache_size=-1048576",
            "PRAGMA temp_store=MEMORY",
            "PRAGMA threads=2",  # helper threads for the index builds' sorts
        ):
            conn.execute(pragma)
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'traces' "
            "AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
        for name, _sql in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        insert = (
            f"INSERT INTO traces ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        )
        progress = _Progress("sqlite insert", opts.rows)
        started = time.monotonic()
        conn.execute("BEGIN")
        since_commit = 0
        for chunk in generate(opts, text_times=True, workers=workers):
            conn.executemany(insert, chunk)
            since_commit += len(chunk)
            if since_commit >= COMMIT_ROWS:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
                since_commit = 0
            progress.add(len(chunk))
        conn.execute("COMMIT")
        timings["insert_s"] = time.monotonic() - started
        started = time.monotonic()
        for name, sql in indexes:
            conn.execute(sql)
            sys.stderr.write(f"  sqlite index {name}: {time.monotonic() - started:6.1f} s\n")
        timings["indexes_s"] = time.monotonic() - started
        conn.execute("PRAGMA journal_mode=WAL")  # what the gateway runs with
    finally:
        conn.close()
    return timings


# ---------------------------------------------------------------------------------------------
# PostgreSQL: asyncpg COPY


async def _seed_postgres(dsn: str, opts: SeedOptions, workers: int) -> dict[str, float]:
    """COPY with the secondary indexes dropped, rebuild them, then VACUUM ANALYZE."""
    timings: dict[str, float] = {}
    conn: asyncpg.Connection = await asyncpg.connect(_plain_dsn(dsn))
    try:
        _require_empty(await conn.fetchval("SELECT COUNT(*) FROM traces"))
        indexes = await conn.fetch(
            """
            SELECT i.indexname AS name, i.indexdef AS sql
            FROM pg_indexes i
            WHERE i.schemaname = current_schema() AND i.tablename = 'traces'
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)
            ORDER BY i.indexname
            """
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["name"]}"')
        await conn.execute("SET synchronous_commit = off")
        progress = _Progress("postgres copy", opts.rows)
        started = time.monotonic()
        for chunk in generate(opts, text_times=False, workers=workers):
            await conn.copy_records_to_table("traces", records=chunk, columns=COLUMNS)
            progress.add(len(chunk))
        timings["insert_s"] = time.monotonic() - started
        started = time.monotonic()
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for index in indexes:
            await conn.execute(index["sql"])
            sys.stderr.write(
                f"  postgres index {index['name']}: {time.monotonic() - started:6.1f} s\n"
            )
        timings["indexes_s"] = time.monotonic() - started
        started = time.monotonic()
        await conn.execute("VACUUM (ANALYZE) traces")
        timings["vacuum_analyze_s"] = time.monotonic() - started
    finally:
        await conn.close()
    return timings


def _plain_dsn(dsn: str) -> str:
    """asyncpg takes `postgresql://` and `postgres://`; SQLAlchemy-style `+asyncpg` is dropped."""
    return dsn.replace("postgresql+asyncpg://", "postgresql://", 1)


def _require_empty(count: int) -> None:
    if count:
        raise SystemExit(f"seed: the traces table already holds {count:,} rows; use a new database")


# ---------------------------------------------------------------------------------------------
# entry points


async def migrate(driver: str, path: str, dsn: str) -> None:
    """Apply the project's migrations to the database (creating the SQLite file)."""
    engine = create_engine_for(driver, path, dsn)
    try:
        await apply_migrations(engine)
    finally:
        await engine.dispose()


async def verify(driver: str, path: str, dsn: str, expected: int) -> str:
    """Read rows back with the gateway's own reader: they must parse like rows it wrote.

    Returns a one-line description. Raises RuntimeError (not assert: the check must also run
    under `python -O`) when a row reads back wrong or an index is missing.
    """
    engine = create_engine_for(driver, path, dsn)
    try:
        reader = TraceReader(engine)
        count = await reader.count()
        recent = await reader.list_recent(20)
        lineage = next((r for r in recent if r.trace_group_id), None)
        indexes = await traces_index_names(engine)
    finally:
        await engine.dispose()
    problems = []
    if count != expected:
        problems.append(f"{count} rows, expected {expected}")
    missing = set(INDEX_NAMES) - indexes
    if missing:
        problems.append(f"indexes missing: {sorted(missing)}")
    for record in recent:
        checks = {
            "timestamp is aware UTC": record.timestamp.utcoffset() == dt.timedelta(0),
            "created_at = timestamp": record.created_at == record.timestamp,
            "metadata decoded": record.metadata.get("lineage_checkpoint_id") == record.id,
            "headers decoded": isinstance(record.request_headers.get("Content-Type"), list),
            "total = input + output": record.total_tokens
            == record.input_tokens + record.output_tokens,
            "cache kinds within input": record.cache_read_input_tokens
            + record.cache_write_input_tokens
            <= record.input_tokens,
            "reasoning within output": record.reasoning_tokens <= record.output_tokens,
            "ttft back-fill stable": record.time_to_first_token_ms
            == (record.time_to_first_token_us + 999) // 1000,
        }
        problems += [f"{record.id}: {name}" for name, ok in checks.items() if not ok]
    if problems:
        raise RuntimeError("seeded rows do not read back as expected: " + "; ".join(problems))
    newest = recent[0].timestamp.isoformat() if recent else "none"
    seen_lineage = "a lineage trace among them" if lineage else "no lineage trace among them"
    return f"read back {len(recent)} newest rows (newest {newest}), {seen_lineage}"


def seed(driver: str, path: str, dsn: str, opts: SeedOptions, workers: int = 1) -> dict[str, float]:
    """Migrate, load `opts.rows` traces, verify; the seconds each phase took."""
    started = time.monotonic()
    asyncio.run(migrate(driver, path, dsn))
    timings = {"migrate_s": time.monotonic() - started}
    if driver == "sqlite":
        timings |= _seed_sqlite(path, opts, workers)
    else:
        timings |= asyncio.run(_seed_postgres(dsn, opts, workers))
    started = time.monotonic()
    sys.stderr.write(f"  {asyncio.run(verify(driver, path, dsn, opts.rows))}\n")
    timings["verify_s"] = time.monotonic() - started
    timings["total_s"] = sum(timings.values())
    return timings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--driver", choices=("sqlite", "postgres"), required=True)
    parser.add_argument("--path", default="", help="SQLite file (sqlite)")
    parser.add_argument("--dsn", default="", help="postgresql://user@host:port/db (postgres)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, min(4, (os.cpu_count() or 2) - 1)),
        help="processes generating rows while this one writes (0: generate inline)",
    )
    parser.add_argument(
        "--end",
        type=dt.datetime.fromisoformat,
        default=None,
        help="newest trace time, ISO 8601 UTC (default: now, rounded down to the minute)",
    )
    args = parser.parse_args(argv)
    if args.driver == "sqlite" and not args.path:
        parser.error("--driver sqlite needs --path")
    if args.driver == "postgres" and not args.dsn:
        parser.error("--driver postgres needs --dsn")
    if args.rows < 1 or args.days <= 0:
        parser.error("--rows and --days must be positive")
    return args


def options_from(args: argparse.Namespace) -> SeedOptions:
    """SeedOptions from parsed arguments (the end time resolved once, here)."""
    end = args.end or dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    return SeedOptions(rows=args.rows, days=args.days, seed=args.seed, end=end.astimezone(dt.UTC))


def main(argv: Sequence[str] | None = None) -> int:
    """Seed one database; 0 on success."""
    args = parse_args(argv)
    opts = options_from(args)
    where = args.path if args.driver == "sqlite" else "postgres"
    sys.stderr.write(
        f"seeding {opts.rows:,} traces over {opts.days:g} days up to {opts.end.isoformat()} "
        f"into {where} (seed {opts.seed})\n"
    )
    timings = seed(args.driver, args.path, args.dsn, opts, args.workers)
    phases = ", ".join(f"{k.removesuffix('_s')} {v:.1f} s" for k, v in timings.items())
    rate = opts.rows / max(timings["total_s"], 1e-9)
    print(
        f"seeded {opts.rows:,} traces into {args.driver} in {timings['total_s']:.1f} s "
        f"({rate:,.0f} rows/s; {phases})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
