"""SQLite and PostgreSQL answer every read endpoint identically for the same traces.

The same few hundred varied traces (providers, models, keys, statuses, token kinds, exact
costs, lineage, 30 days of timestamps) are stored in both backends; every endpoint, with every
grouping and bucket, must return byte-for-byte the same JSON from both.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from decimal import Decimal

import pytest

from ongoingai.engine.trace import TraceRecord
from tests.api_server import ANALYTICS_PATHS, ApiServer, sqlite_and_postgres
from tests.integration.storage.records import trace

pytestmark = pytest.mark.postgres

START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)  # a Sunday: weeks straddle the month start
MODELS = {"openai": ["gpt-4o", "gpt-4o-mini"], "anthropic": ["claude-sonnet-4"], "groq": ["llama"]}


def _traces(count: int = 320) -> list[TraceRecord]:
    rng = random.Random(20261203)  # noqa: S311 - deterministic test data, not secrets
    records = []
    for i in range(count):
        provider = rng.choice(sorted(MODELS))
        cache_read = rng.choice([0, 0, 64, 512])
        output = rng.randint(0, 900)
        metadata = {}
        group = ""
        if i % 10 < 4:
            group = f"grp{i % 3}"
            metadata = {
                "lineage_group_id": group,
                "lineage_thread_id": f"th{i % 2}",
                "lineage_run_id": "run",
                "lineage_checkpoint_seq": i // 10 + 1,
            }
        records.append(
            trace(
                id=f"{i:04d}" + "0" * 28,
                timestamp=START + dt.timedelta(seconds=rng.randint(0, 30 * 86400), microseconds=i),
                provider=provider,
                model=rng.choice(MODELS[provider]),
                request_path=rng.choice(["/openai/v1/chat/completions", "/anthropic/v1/messages"]),
                response_status=rng.choice([200] * 12 + [400, 404, 429, 500, 502]),
                input_tokens=cache_read + rng.randint(0, 2000),
                output_tokens=output,
                cache_read_input_tokens=cache_read,
                reasoning_tokens=output // 3,
                latency_ms=rng.randint(20, 5000),
                time_to_first_token_us=rng.choice([0, rng.randint(1000, 900000)]),
                api_key_hash=rng.choice(["", "a" * 64, "b" * 64, "c" * 64]),
                gateway_key_id=rng.choice(["", "gk-1", "gk-2"]),
                estimated_cost_usd=Decimal(rng.randint(0, 5_000_000)) / Decimal(10**9),
                trace_group_id=group,
                metadata=metadata,
            )
        )
    return records


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, postgres_test_database: str
) -> Iterator[tuple[ApiServer, ApiServer]]:
    with sqlite_and_postgres(
        tmp_path_factory.mktemp, postgres_test_database, "cross_backend", _traces()
    ) as pair:
        yield pair


ANALYTICS = list(ANALYTICS_PATHS)
FILTERS = [
    "",
    "?provider=openai",
    "?model=gpt-4o&from=2026-03-05&to=2026-03-20",
    "?from=2026-03-02T12:00:00Z",
]
TRACE_PATHS = [
    "/api/traces?limit=200",
    "/api/traces?limit=7",
    "/api/traces?provider=anthropic&status=200&min_tokens=500",
    f"/api/traces?api_key_hash={'b' * 64}&max_tokens=1500",
    "/api/traces?trace_group_id=grp1&thread_id=th1&run_id=run",
    "/api/traces?from=2026-03-10&to=2026-03-11",
    "/api/traces/0004" + "0" * 28,
    "/api/traces/0013" + "0" * 28 + "/replay",
    "/api/traces/0022" + "0" * 28 + "/replay?limit=2",
]


@pytest.mark.parametrize(
    "path",
    TRACE_PATHS
    + [
        path + (("&" if "?" in path else "?") + query[1:] if query else "")
        for path in ANALYTICS
        for query in FILTERS
    ],
)
def test_both_backends_answer_the_same(servers, path):
    lite, post = servers
    a, b = lite.get(path), post.get(path)
    assert a.status_code == b.status_code == 200, (a.text, b.text)
    assert a.content == b.content


def test_walking_every_page_gives_the_same_sequence(servers):
    lite, post = servers
    walked = lite.walk_traces(13)
    assert walked == post.walk_traces(13)
    assert len(walked) == 320
