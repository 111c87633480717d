"""The analytics endpoints over real HTTP on both backends (contract §3.4, SPEC §1).

Expected values are computed by hand from the seeded traces; a cross-backend test stores the
same varied traces in SQLite and PostgreSQL and requires identical JSON from every endpoint
and option, and checks the latency and error breakdowns against a plain Python computation.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from ongoingai.engine.storage import create_engine_for
from ongoingai.engine.storage.analytics import AnalyticsQueries
from ongoingai.engine.storage.analytics_percentiles import percentile_of_sorted
from ongoingai.engine.storage.filters import Tenant, TraceFilter
from ongoingai.engine.trace import TraceRecord
from tests.api_server import ANALYTICS_PATHS, ApiServer, seed, sqlite_and_postgres
from tests.integration.storage.records import trace
from tests.postgres_admin import run_in_thread

MONDAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
SUNDAY_NIGHT = MONDAY - dt.timedelta(minutes=30)  # 2026-03-01T23:30Z, the week before
KEY_A, KEY_B = "a" * 64, "b" * 64
ENDPOINTS = ("usage", "cost", "models", "keys", "latency", "errors", "summary")


@pytest.fixture
def api(tmp_path, backend):
    with ApiServer(tmp_path, backend) as server:
        yield server


def _at(moment: dt.datetime, **overrides: Any) -> TraceRecord:
    return trace(timestamp=moment, **overrides)


def _json(api: ApiServer, path: str, **params: Any) -> Any:
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


# --- usage ---------------------------------------------------------------------------------------
def test_usage_summary_sums_every_token_kind(api):
    api.seed(
        [
            _at(MONDAY, input_tokens=100, output_tokens=20, cache_read_input_tokens=60),
            _at(MONDAY, input_tokens=50, output_tokens=30, reasoning_tokens=10),
            _at(MONDAY, input_tokens=7, output_tokens=0, cache_write_input_tokens=5),
        ]
    )

    assert _json(api, "/api/analytics/usage") == {
        "total_input_tokens": 157,
        "total_output_tokens": 50,
        "total_tokens": 207,
        "total_cache_read_input_tokens": 60,
        "total_cache_write_input_tokens": 5,
        "total_reasoning_tokens": 10,
    }


def test_usage_summary_of_an_empty_store_is_zeros(api):
    body = _json(api, "/api/analytics/usage")
    assert set(body.values()) == {0}
    assert len(body) == 6


def test_usage_series_by_provider_per_day_in_bucket_then_group_order(api):
    day2 = MONDAY + dt.timedelta(days=1)
    api.seed(
        [
            _at(day2, provider="openai", input_tokens=1, output_tokens=1),
            _at(MONDAY + dt.timedelta(hours=5), provider="openai", input_tokens=10),
            _at(MONDAY, provider="openai", input_tokens=5, output_tokens=5, reasoning_tokens=2),
            _at(MONDAY, provider="anthropic", model="claude", input_tokens=40, output_tokens=4),
        ]
    )

    body = _json(api, "/api/analytics/usage", group_by="PROVIDER")

    assert body["group_by"] == "provider"
    assert body["bucket"] == "day"
    tokens = ("input_tokens", "output_tokens", "total_tokens", "reasoning_tokens")
    assert [
        (item["bucket_start"], item["group"], *(item[t] for t in tokens)) for item in body["items"]
    ] == [
        ("2026-03-02T00:00:00Z", "anthropic", 40, 4, 44, 0),
        ("2026-03-02T00:00:00Z", "openai", 15, 5, 20, 2),
        ("2026-03-03T00:00:00Z", "openai", 1, 1, 2, 0),
    ]
    assert set(body["items"][0]) == {
        "bucket_start",
        "group",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cache_read_input_tokens",
        "cache_write_input_tokens",
        "reasoning_tokens",
    }


def test_series_buckets_split_hours_days_and_weeks_at_sunday_to_monday(api):
    api.seed(
        [
            _at(SUNDAY_NIGHT, input_tokens=1),
            _at(SUNDAY_NIGHT + dt.timedelta(minutes=29, seconds=59), input_tokens=2),
            _at(MONDAY + dt.timedelta(minutes=10), input_tokens=4),
            _at(MONDAY + dt.timedelta(days=6, hours=23, minutes=59), input_tokens=8),  # Sunday
            _at(MONDAY + dt.timedelta(days=7), input_tokens=16),  # next Monday
        ]
    )

    def series(bucket: str) -> list[tuple[str, int]]:
        body = _json(api, "/api/analytics/usage", bucket=bucket)
        assert body["bucket"] == bucket
        assert "group_by" not in body
        assert all("group" not in item for item in body["items"])
        return [(item["bucket_start"], item["input_tokens"]) for item in body["items"]]

    assert series("hour") == [
        ("2026-03-01T23:00:00Z", 3),
        ("2026-03-02T00:00:00Z", 4),
        ("2026-03-08T23:00:00Z", 8),
        ("2026-03-09T00:00:00Z", 16),
    ]
    assert series("day") == [
        ("2026-03-01T00:00:00Z", 3),
        ("2026-03-02T00:00:00Z", 4),
        ("2026-03-08T00:00:00Z", 8),
        ("2026-03-09T00:00:00Z", 16),
    ]
    assert series("week") == [
        ("2026-02-23T00:00:00Z", 3),
        ("2026-03-02T00:00:00Z", 12),
        ("2026-03-09T00:00:00Z", 16),
    ]


# --- cost ----------------------------------------------------------------------------------------
def test_cost_sums_exact_nano_dollars(api):
    api.seed([_at(MONDAY, estimated_cost_usd=Decimal("0.1")) for _ in range(3)])

    assert _json(api, "/api/analytics/cost") == {"total_cost_usd": 0.3}


def test_cost_series_by_model_counts_and_averages_per_bucket(api):
    api.seed(
        [
            _at(MONDAY, model="gpt-4o", estimated_cost_usd=Decimal("0.1")),
            _at(MONDAY, model="gpt-4o", estimated_cost_usd=Decimal("0.2")),
            _at(MONDAY, model="gpt-4o-mini", estimated_cost_usd=Decimal("0.000000001")),
            _at(MONDAY + dt.timedelta(hours=1), model="gpt-4o", estimated_cost_usd=Decimal(0)),
        ]
    )

    body = _json(api, "/api/analytics/cost", group_by="model", bucket="hour")

    assert body == {
        "group_by": "model",
        "bucket": "hour",
        "items": [
            {
                "bucket_start": "2026-03-02T00:00:00Z",
                "group": "gpt-4o",
                "total_cost_usd": 0.3,
                "request_count": 2,
                "avg_cost_usd": 0.15,
            },
            {
                "bucket_start": "2026-03-02T00:00:00Z",
                "group": "gpt-4o-mini",
                "total_cost_usd": 1e-09,
                "request_count": 1,
                "avg_cost_usd": 1e-09,
            },
            {
                "bucket_start": "2026-03-02T01:00:00Z",
                "group": "gpt-4o",
                "total_cost_usd": 0.0,
                "request_count": 1,
                "avg_cost_usd": 0.0,
            },
        ],
    }


# --- models and keys -----------------------------------------------------------------------------
def test_models_average_latency_and_ttft_including_non_stream_zeros(api):
    api.seed(
        [
            _at(MONDAY, model="gpt-4o-mini", latency_ms=100, total_tokens=10),
            _at(MONDAY, model="gpt-4o-mini", latency_ms=200, time_to_first_token_ms=30),
            _at(MONDAY, model="claude", latency_ms=7, estimated_cost_usd=Decimal("0.25")),
            _at(MONDAY, model="alpha", latency_ms=9),
        ]
    )

    assert _json(api, "/api/analytics/models")["items"] == [
        {
            "model": "gpt-4o-mini",
            "request_count": 2,
            "avg_latency_ms": 150.0,
            "avg_ttft_ms": 15.0,
            "total_tokens": 10,
            "total_cost_usd": 0.0,
        },
        {
            "model": "alpha",
            "request_count": 1,
            "avg_latency_ms": 9.0,
            "avg_ttft_ms": 0.0,
            "total_tokens": 0,
            "total_cost_usd": 0.0,
        },
        {
            "model": "claude",
            "request_count": 1,
            "avg_latency_ms": 7.0,
            "avg_ttft_ms": 0.0,
            "total_tokens": 0,
            "total_cost_usd": 0.25,
        },
    ]


def test_keys_leave_out_traces_without_a_key_hash(api):
    api.seed(
        [
            _at(MONDAY, api_key_hash=KEY_B, total_tokens=5, estimated_cost_usd=Decimal("0.1")),
            _at(MONDAY + dt.timedelta(seconds=1.5), api_key_hash=KEY_B, total_tokens=7),
            _at(MONDAY + dt.timedelta(hours=3), api_key_hash=KEY_A, total_tokens=1),
            _at(MONDAY + dt.timedelta(hours=4), api_key_hash="c" * 64),
            _at(MONDAY + dt.timedelta(hours=5), api_key_hash="", total_tokens=1000),
        ]
    )

    assert _json(api, "/api/analytics/keys")["items"] == [
        {
            "api_key_hash": KEY_B,
            "request_count": 2,
            "total_tokens": 12,
            "total_cost_usd": 0.1,
            "last_active_at": "2026-03-02T00:00:01.5Z",
        },
        {
            "api_key_hash": KEY_A,
            "request_count": 1,
            "total_tokens": 1,
            "total_cost_usd": 0.0,
            "last_active_at": "2026-03-02T03:00:00Z",
        },
        {
            "api_key_hash": "c" * 64,
            "request_count": 1,
            "total_tokens": 0,
            "total_cost_usd": 0.0,
            "last_active_at": "2026-03-02T04:00:00Z",
        },
    ]


# --- latency -------------------------------------------------------------------------------------
def test_latency_percentiles_per_provider_as_the_contract_states(api):
    api.seed(
        [_at(MONDAY, provider="openai", latency_ms=ms) for ms in (500, 50, 200, 100, 150)]
        + [_at(MONDAY, provider="anthropic", model="claude", latency_ms=ms) for ms in (30, 10)]
        + [_at(MONDAY, provider="groq", model="llama", latency_ms=ms) for ms in (1, 2)]
    )

    body = _json(api, "/api/analytics/latency", group_by="provider")

    assert body["group_by"] == "provider"
    assert body["items"] == [
        {
            "group": "openai",
            "request_count": 5,
            "avg_ms": 200.0,
            "min_ms": 50,
            "max_ms": 500,
            "p50_ms": 150.0,
            "p95_ms": 440.0,
            "p99_ms": 488.0,
        },
        {
            "group": "anthropic",
            "request_count": 2,
            "avg_ms": 20.0,
            "min_ms": 10,
            "max_ms": 30,
            "p50_ms": 20.0,
            "p95_ms": 29.0,
            "p99_ms": 29.8,
        },
        {
            "group": "groq",
            "request_count": 2,
            "avg_ms": 1.5,
            "min_ms": 1,
            "max_ms": 2,
            "p50_ms": 1.5,
            "p95_ms": 1.95,
            "p99_ms": 1.99,
        },
    ]


def test_latency_ungrouped_and_single_trace_groups(api):
    api.seed(
        [
            _at(
                MONDAY,
                request_path="/openai/v1/chat/completions",
                gateway_key_id="k1",
                latency_ms=4,
            ),
            _at(
                MONDAY,
                request_path="/openai/v1/chat/completions",
                gateway_key_id="k1",
                latency_ms=4,
            ),
            _at(MONDAY, request_path="/openai/v1/embeddings", gateway_key_id="", latency_ms=10),
        ]
    )

    overall = _json(api, "/api/analytics/latency")
    assert "group_by" not in overall
    assert overall["items"] == [
        {
            "request_count": 3,
            "avg_ms": 6.0,
            "min_ms": 4,
            "max_ms": 10,
            "p50_ms": 4.0,
            "p95_ms": 9.4,
            "p99_ms": 9.88,
        }
    ]
    by_route = _json(api, "/api/analytics/latency", group_by="route")["items"]
    assert [(i["group"], i["request_count"], i["p99_ms"]) for i in by_route] == [
        ("/openai/v1/chat/completions", 2, 4.0),
        ("/openai/v1/embeddings", 1, 10.0),
    ]
    by_key = _json(api, "/api/analytics/latency", group_by="key")["items"]
    assert [(i.get("group"), i["request_count"], i["p50_ms"]) for i in by_key] == [
        ("k1", 2, 4.0),
        (None, 1, 10.0),  # no gateway key: the row has no `group` at all
    ]


# --- errors --------------------------------------------------------------------------------------
def test_error_rate_counts_4xx_and_5xx_as_the_contract_states(api):
    statuses = {"openai": [200, 200, 404, 429, 503], "anthropic": [200, 499, 500, 599]}
    api.seed(
        [_at(MONDAY, provider=p, response_status=s) for p, codes in statuses.items() for s in codes]
        + [_at(MONDAY, provider="groq", response_status=399)]
    )

    body = _json(api, "/api/analytics/errors", group_by="provider")

    assert body == {
        "group_by": "provider",
        "items": [
            {
                "group": "openai",
                "total_requests": 5,
                "error_count_4xx": 2,
                "error_count_5xx": 1,
                "error_rate": 0.6,
            },
            {
                "group": "anthropic",
                "total_requests": 4,
                "error_count_4xx": 1,
                "error_count_5xx": 2,
                "error_rate": 0.75,
            },
            {
                "group": "groq",
                "total_requests": 1,
                "error_count_4xx": 0,
                "error_count_5xx": 0,
                "error_rate": 0.0,
            },
        ],
    }
    assert _json(api, "/api/analytics/errors")["items"] == [
        {"total_requests": 10, "error_count_4xx": 3, "error_count_5xx": 3, "error_rate": 0.6}
    ]


def test_errors_by_route_and_key(api):
    api.seed(
        [
            _at(MONDAY, request_path="/a", gateway_key_id="k2", response_status=500),
            _at(MONDAY, request_path="/b", gateway_key_id="k1", response_status=200),
            _at(MONDAY, request_path="/b", gateway_key_id="k1", response_status=400),
        ]
    )

    by_route = _json(api, "/api/analytics/errors", group_by="route")["items"]
    assert [(i["group"], i["total_requests"], i["error_rate"]) for i in by_route] == [
        ("/b", 2, 0.5),
        ("/a", 1, 1.0),
    ]
    by_key = _json(api, "/api/analytics/errors", group_by="key")["items"]
    assert [(i["group"], i["error_count_4xx"], i["error_count_5xx"]) for i in by_key] == [
        ("k1", 1, 0),
        ("k2", 0, 1),
    ]


def test_errors_and_latency_of_an_empty_store_have_no_items(api):
    for path in ("/api/analytics/errors", "/api/analytics/latency"):
        for group in ("", "provider", "route", "key"):
            assert _json(api, path, group_by=group)["items"] == []


# --- summary -------------------------------------------------------------------------------------
def test_summary_as_the_contract_states(api):
    api.seed(
        [_at(MONDAY, model="gpt-4o-mini", api_key_hash=KEY_A, input_tokens=10) for _ in range(4)]
        + [
            _at(MONDAY, model="gpt-4o", api_key_hash=KEY_B, estimated_cost_usd=Decimal("0.1"))
            for _ in range(2)
        ]
        + [_at(MONDAY, model="claude", api_key_hash="", cache_read_input_tokens=3)]
    )

    assert _json(api, "/api/analytics/summary") == {
        "total_requests": 7,
        "total_input_tokens": 40,
        "total_output_tokens": 0,
        "total_tokens": 40,
        "total_cost_usd": 0.2,
        "active_keys": 2,
        "top_model": "gpt-4o-mini",
        "total_cache_read_input_tokens": 3,
        "total_cache_write_input_tokens": 0,
        "total_reasoning_tokens": 0,
    }


def test_summary_top_model_tie_goes_to_the_first_name_and_is_omitted_when_empty(api):
    assert "top_model" not in _json(api, "/api/analytics/summary")
    api.seed([_at(MONDAY, model="zeta"), _at(MONDAY, model="beta"), _at(MONDAY, model="gamma")])

    body = _json(api, "/api/analytics/summary")

    assert body["top_model"] == "beta"
    assert body["total_requests"] == 3
    assert body["active_keys"] == 0


# --- filters -------------------------------------------------------------------------------------
def _filtered_traces() -> list[TraceRecord]:
    hour = MONDAY + dt.timedelta(hours=10)
    return [
        _at(hour + dt.timedelta(minutes=10), provider="openai", model="gpt-4o", input_tokens=1),
        _at(hour + dt.timedelta(minutes=40), provider="openai", model="gpt-4o", input_tokens=2),
        _at(hour + dt.timedelta(minutes=50), provider="openai", model="mini", input_tokens=4),
        _at(hour + dt.timedelta(days=1), provider="anthropic", model="claude", input_tokens=8),
        _at(hour + dt.timedelta(days=2), provider="openai", model="gpt-4o", input_tokens=16),
    ]


@pytest.mark.parametrize(
    ("params", "tokens", "count"),
    [
        ({}, 31, 5),
        ({"provider": "openai"}, 23, 4),
        ({"model": "gpt-4o"}, 19, 3),
        ({"provider": " openai ", "model": "gpt-4o"}, 19, 3),
        ({"provider": "anthropic", "model": "gpt-4o"}, 0, 0),
        ({"from": "2026-03-02T10:30:00Z", "to": "2026-03-02T10:45:00Z"}, 2, 1),
        ({"from": "2026-03-02T10:40:00Z", "to": "2026-03-02T10:40:00Z"}, 2, 1),
        ({"from": "2026-03-03"}, 24, 2),
        ({"to": "2026-03-03"}, 15, 4),
        ({"from": "2026-03-02T13:00:00+02:00", "to": "2026-03-03"}, 8, 1),
    ],
    ids=[
        "none",
        "provider",
        "model",
        "provider-and-model",
        "nothing-matches",
        "inside-one-hour",
        "one-instant",
        "from-date",
        "to-date-is-end-of-day",
        "offset-from",
    ],
)
def test_filters_apply_to_every_endpoint(api, params, tokens, count):
    api.seed(_filtered_traces())

    assert _json(api, "/api/analytics/usage", **params)["total_input_tokens"] == tokens
    series = _json(api, "/api/analytics/usage", bucket="hour", **params)["items"]
    assert sum(item["input_tokens"] for item in series) == tokens
    costs = _json(api, "/api/analytics/cost", group_by="provider", **params)["items"]
    assert sum(item["request_count"] for item in costs) == count
    models = _json(api, "/api/analytics/models", **params)["items"]
    assert sum(item["request_count"] for item in models) == count
    assert _json(api, "/api/analytics/summary", **params)["total_requests"] == count
    for path in ("/api/analytics/latency", "/api/analytics/errors"):
        for group in ("", "model", "route", "key"):
            items = _json(api, path, group_by=group, **params)["items"]
            counted = sum(i.get("request_count", i.get("total_requests", 0)) for i in items)
            assert counted == count, (path, group)


# --- validation, methods, failures ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("usage", {"group_by": "key"}, 'invalid group_by: "key"'),
        ("usage", {"group_by": "Route"}, 'invalid group_by: "route"'),
        ("cost", {"group_by": "key"}, 'invalid group_by: "key"'),
        ("usage", {"bucket": "month"}, 'invalid bucket: "month"'),
        ("cost", {"bucket": "MINUTE"}, 'invalid bucket: "minute"'),
        ("latency", {"group_by": "bucket"}, 'invalid group_by: "bucket"'),
        ("errors", {"group_by": "status"}, 'invalid group_by: "status"'),
        ("models", {"from": "yesterday"}, "invalid from: expected RFC3339 or YYYY-MM-DD"),
        ("keys", {"to": "2026-13-01"}, "invalid to: expected RFC3339 or YYYY-MM-DD"),
        (
            "summary",
            {"from": "2026-03-02", "to": "2026-03-01"},
            "to must be greater than or equal to from",
        ),
        ("usage", {"from": "x", "group_by": "key"}, "invalid from: expected RFC3339 or YYYY-MM-DD"),
    ],
)
def test_invalid_parameters_are_400_with_the_contracts_message(api, path, params, message):
    response = api.get(f"/api/analytics/{path}", params=params)

    assert response.status_code == 400
    assert response.json() == {"error": message, "code": "invalid_request"}


def test_series_options_are_case_insensitive_and_group_alone_means_daily(api):
    api.seed([_at(MONDAY, model="m")])

    body = _json(api, "/api/analytics/cost", group_by=" Model ")

    assert body["group_by"] == "model"
    assert body["bucket"] == "day"
    assert body["items"][0]["group"] == "m"


def test_head_answers_like_get_without_a_body(api):
    api.seed([_at(MONDAY)])
    for endpoint in ENDPOINTS:
        response = api.client.head(f"/api/analytics/{endpoint}")
        assert response.status_code == 200, endpoint
        assert response.content == b""
    assert api.client.head("/api/analytics/usage", params={"bucket": "x"}).status_code == 400


def test_without_storage_every_endpoint_answers_503(tmp_path, backend):
    with ApiServer(tmp_path, backend, storage=False) as api:
        for endpoint in ENDPOINTS:
            response = api.get(f"/api/analytics/{endpoint}", params={"group_by": "nonsense"})
            assert response.status_code == 503, endpoint
            assert response.json() == {
                "error": "trace store is not configured",
                "code": "internal_error",
            }


def test_a_failing_store_answers_500_without_the_database_error(api, caplog):
    api.seed([_at(MONDAY)])
    backend = api.backend

    async def break_store() -> None:
        engine = create_engine_for(backend.driver, backend.path, backend.dsn)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("DROP TABLE traces"))
        finally:
            await engine.dispose()

    run_in_thread(break_store)
    for endpoint in ENDPOINTS:
        response = api.get(f"/api/analytics/{endpoint}")
        assert response.status_code == 500, endpoint
        assert response.json() == {"error": "failed to read analytics", "code": "internal_error"}
    leaked = ("no such table", "does not exist", "DROP")
    assert not any(word in r.getMessage() for r in caplog.records for word in leaked)


# --- tenant scope (query layer: auth is not wired to the API yet) --------------------------------
def test_queries_scoped_to_a_tenant_count_only_its_traces(backend):
    mine = {"org_id": "org-a", "workspace_id": "ws-a"}
    seed(
        backend,
        [
            _at(MONDAY, **mine, api_key_hash=KEY_A, gateway_key_id="k", input_tokens=1),
            _at(MONDAY, **mine, api_key_hash=KEY_A, response_status=500, input_tokens=2),
            _at(MONDAY, org_id="org-b", workspace_id="ws-a", api_key_hash=KEY_B, input_tokens=4),
            _at(MONDAY, org_id="org-a", workspace_id="ws-b", api_key_hash=KEY_B, input_tokens=8),
        ],
    )
    scope = TraceFilter(tenant=Tenant("org-a", "ws-a"))

    async def read() -> dict[str, Any]:
        engine = create_engine_for(backend.driver, backend.path, backend.dsn)
        try:
            q = AnalyticsQueries(engine)
            return {
                "usage": (await q.usage_summary(scope)).input_tokens,
                "series": [p.tokens.input_tokens for p in await q.usage_series(scope, "", "day")],
                "cost": [p.request_count for p in await q.cost_series(scope, "provider", "week")],
                "models": [m.request_count for m in await q.models(scope)],
                "keys": [(k.api_key_hash, k.request_count) for k in await q.keys(scope)],
                "latency": [s.request_count for s in await q.latency(scope, "key")],
                "errors": [
                    (e.total_requests, e.error_count_5xx) for e in await q.errors(scope, "")
                ],
                "summary": await q.summary(scope),
            }
        finally:
            await engine.dispose()

    got = run_in_thread(read)
    assert got["usage"] == 3
    assert got["series"] == [3]
    assert got["cost"] == [2]
    assert got["models"] == [2]
    assert got["keys"] == [(KEY_A, 2)]
    assert got["latency"] == [1, 1]
    assert got["errors"] == [(2, 1)]
    assert got["summary"].total_requests == 2
    assert got["summary"].active_keys == 1


# --- both backends, the same answers --------------------------------------------------------------
START = dt.datetime(2026, 3, 1, 18, tzinfo=dt.UTC)  # a Sunday evening: weeks straddle it
PROVIDERS = {"openai": ["gpt-4o", "gpt-4o-mini"], "anthropic": ["claude-sonnet-4"], "Groq": ["L"]}


def _varied_traces(count: int = 200) -> list[TraceRecord]:
    rng = random.Random(4242)  # noqa: S311 - deterministic test data
    records = []
    for i in range(count):
        provider = rng.choice(sorted(PROVIDERS))
        output = rng.randint(0, 700)
        records.append(
            trace(
                timestamp=START + dt.timedelta(seconds=rng.randint(0, 16 * 86400), microseconds=i),
                provider=provider,
                model=rng.choice(PROVIDERS[provider]),
                request_path=rng.choice(["/openai/v1/chat/completions", "/openai/v1/Embeddings"]),
                response_status=rng.choice([200] * 8 + [400, 401, 499, 500, 504, 0]),
                input_tokens=rng.randint(0, 3000),
                output_tokens=output,
                cache_read_input_tokens=rng.choice([0, 0, 128]),
                cache_write_input_tokens=rng.choice([0, 0, 0, 32]),
                reasoning_tokens=output // 4,
                latency_ms=rng.choice([rng.randint(0, 4000), 100, 100]),
                time_to_first_token_ms=rng.choice([0, rng.randint(1, 900)]),
                api_key_hash=rng.choice(["", KEY_A, KEY_B, "C" * 64]),
                gateway_key_id=rng.choice(["", "gk-1", "gk-2", "GK-3"]),
                org_id=rng.choice(["default", "org-a"]),
                estimated_cost_usd=Decimal(rng.randint(0, 3_000_000)) / Decimal(10**9),
            )
        )
    return records


@pytest.fixture(scope="module")
def both(tmp_path_factory, postgres_test_database) -> Iterator[tuple[ApiServer, ApiServer]]:
    with sqlite_and_postgres(
        tmp_path_factory.mktemp, postgres_test_database, "analytics_cross_backend", _varied_traces()
    ) as pair:
        yield pair


CROSS_PATHS = list(ANALYTICS_PATHS)
CROSS_FILTERS = ["", "provider=openai", "model=gpt-4o&from=2026-03-04&to=2026-03-09T13:30:00Z"]


def _with(path: str, query: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{query}" if query else path


@pytest.mark.postgres
@pytest.mark.parametrize("path", [_with(p, q) for p in CROSS_PATHS for q in CROSS_FILTERS])
def test_sqlite_and_postgres_give_identical_json(both, path):
    lite, post = both
    a, b = lite.get(path), post.get(path)

    assert a.status_code == b.status_code == 200, (a.text, b.text)
    assert a.content == b.content


def _oracle(records: list[TraceRecord], group: str) -> tuple[list[Any], list[Any]]:
    """Latency and error items computed the plain way, for comparison."""
    column = {"": None, "provider": "provider", "model": "model"}
    column |= {"route": "request_path", "key": "gateway_key_id"}
    by: dict[str, list[TraceRecord]] = defaultdict(list)
    for record in records:
        by[getattr(record, column[group]) if column[group] else ""].append(record)
    latency, errors = [], []
    for name, rows in sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        values = sorted(r.latency_ms for r in rows)
        head = {"group": name} if name else {}
        latency.append(
            head
            | {
                "request_count": len(values),
                "avg_ms": sum(values) / len(values),
                "min_ms": values[0],
                "max_ms": values[-1],
                **{f"p{p}_ms": percentile_of_sorted(values, p) for p in (50, 95, 99)},
            }
        )
        e4 = sum(400 <= r.response_status < 500 for r in rows)
        e5 = sum(r.response_status >= 500 for r in rows)
        errors.append(
            head
            | {
                "total_requests": len(rows),
                "error_count_4xx": e4,
                "error_count_5xx": e5,
                "error_rate": (e4 + e5) / len(rows),
            }
        )
    return latency, errors


@pytest.mark.postgres
@pytest.mark.parametrize("group", ["", "provider", "model", "route", "key"])
def test_latency_and_errors_match_a_plain_computation(both, group):
    latency, errors = _oracle(_varied_traces(), group)
    for server in both:
        assert _json(server, "/api/analytics/latency", group_by=group)["items"] == latency
        assert _json(server, "/api/analytics/errors", group_by=group)["items"] == errors
