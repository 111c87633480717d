"""Analytics endpoints (contract §3.4): usage, cost, models, keys, latency, errors, summary.

Every endpoint takes the filters `from`, `to`, `provider`, `model` and is scoped to the
caller's tenant when one is authenticated. Field names are snake_case everywhere (SPEC §1.2,
where the original leaked Go field names in the usage/cost summaries); `group` is left out
when a row's group is empty (Go `omitempty`), and `top_model` when there are no traces. Money
is the float of an exact Decimal sum of nano-USD, so 3 x 0.1 USD renders as 0.3.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypeVar, cast

from fastapi import APIRouter, Request
from sqlalchemy.exc import SQLAlchemyError

from ongoingai.engine.api.common import ApiError, caller_tenant, get_route, persistence_of
from ongoingai.engine.api.params import InvalidParam, Params
from ongoingai.engine.storage.analytics import AnalyticsQueries, Breakdown, SeriesGroup
from ongoingai.engine.storage.analytics_results import TOKEN_COLUMNS, TokenTotals, usd
from ongoingai.engine.storage.filters import TraceFilter
from ongoingai.engine.timefmt import format_rfc3339

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ongoingai.engine.storage.analytics_results import (
        CostPoint,
        ErrorStats,
        KeyStats,
        LatencyStats,
        ModelStats,
        Summary,
        UsagePoint,
    )
    from ongoingai.engine.storage.analytics_sql import Bucket

__all__ = ["router"]

log = logging.getLogger("ongoingai.api")
router = APIRouter()

_STORE_MISSING = "trace store is not configured"
_READ_FAILED = "failed to read analytics"
_SERIES_GROUPS = ("provider", "model")
_BREAKDOWNS = ("provider", "model", "route", "key")
_BUCKETS = ("hour", "day", "week")
_T = TypeVar("_T")


def _queries(request: Request) -> AnalyticsQueries:
    return AnalyticsQueries(persistence_of(request, _STORE_MISSING).engine)


def _analytics_filter(request: Request, params: Params) -> TraceFilter:
    window = params.time_range()
    return TraceFilter(
        tenant=caller_tenant(request),
        provider=params.text("provider"),
        model=params.text("model"),
        start=window.start,
        end=window.end,
    )


async def _read(read: Callable[[], Awaitable[_T]]) -> _T:
    try:
        return await read()
    except SQLAlchemyError as exc:
        # Never the exception text: SQLAlchemy's quotes statement parameters.
        kind = type(getattr(exc, "orig", None) or exc).__name__
        log.error(_READ_FAILED, extra={"error_kind": kind})
        raise ApiError(500, _READ_FAILED, "internal_error") from None


def _invalid(exc: Exception) -> ApiError:
    return ApiError(400, str(exc), "invalid_request")


def _series_options(params: Params) -> tuple[SeriesGroup, Bucket | None]:
    """`group_by` and `bucket`; bucket None means the summary (both absent)."""
    group = cast("SeriesGroup", params.choice("group_by", _SERIES_GROUPS))
    bucket = params.choice("bucket", _BUCKETS)
    if not group and not bucket:
        return group, None
    return group, cast("Bucket", bucket or "day")


def _grouped(group: str, item: dict[str, Any]) -> dict[str, Any]:
    """`item` with `group` first, left out when empty (Go omitempty)."""
    return {"group": group, **item} if group else item


def _series_body(group: str, bucket: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"group_by": group} if group else {}
    return {**body, "bucket": bucket, "items": items}


def _tokens_json(tokens: TokenTotals, *, totals: bool = False) -> dict[str, int]:
    """Token counters by name; as totals, `total_` prefixed (`total_tokens` stays itself)."""

    def key(name: str) -> str:
        return f"total_{name}" if totals and not name.startswith("total_") else name

    return {key(name): getattr(tokens, name) for name in TOKEN_COLUMNS}


@get_route(router, "/api/analytics/usage")
async def usage(request: Request) -> dict[str, Any]:
    """Token totals, or a series per hour/day/week (and provider or model)."""
    queries = _queries(request)
    params = Params(request.query_params)
    try:
        f = _analytics_filter(request, params)
        group, bucket = _series_options(params)
    except InvalidParam as exc:
        raise _invalid(exc) from None
    if bucket is None:
        totals = await _read(lambda: queries.usage_summary(f))
        return _tokens_json(totals, totals=True)
    points = await _read(lambda: queries.usage_series(f, group, bucket))
    return _series_body(group, bucket, [_usage_point(point) for point in points])


def _usage_point(point: UsagePoint) -> dict[str, Any]:
    item = _grouped(point.group, _tokens_json(point.tokens))
    return {"bucket_start": point.bucket_start, **item}


@get_route(router, "/api/analytics/cost")
async def cost(request: Request) -> dict[str, Any]:
    """Total cost, or a series per hour/day/week (and provider or model)."""
    queries = _queries(request)
    params = Params(request.query_params)
    try:
        f = _analytics_filter(request, params)
        group, bucket = _series_options(params)
    except InvalidParam as exc:
        raise _invalid(exc) from None
    if bucket is None:
        nanos = await _read(lambda: queries.cost_summary(f))
        return {"total_cost_usd": float(usd(nanos))}
    points = await _read(lambda: queries.cost_series(f, group, bucket))
    return _series_body(group, bucket, [_cost_point(point) for point in points])


def _cost_point(point: CostPoint) -> dict[str, Any]:
    item = {
        "total_cost_usd": float(usd(point.cost_nanousd)),
        "request_count": point.request_count,
        "avg_cost_usd": float(point.avg_cost_usd),
    }
    return {"bucket_start": point.bucket_start, **_grouped(point.group, item)}


def _filtered(request: Request) -> tuple[AnalyticsQueries, TraceFilter, Params]:
    queries = _queries(request)
    params = Params(request.query_params)
    try:
        return queries, _analytics_filter(request, params), params
    except InvalidParam as exc:
        raise _invalid(exc) from None


@get_route(router, "/api/analytics/models")
async def models(request: Request) -> dict[str, Any]:
    """Per-model request count, average latency and TTFT, tokens and cost."""
    queries, f, _ = _filtered(request)
    stats = await _read(lambda: queries.models(f))
    return {"items": [_model_json(item) for item in stats]}


def _model_json(item: ModelStats) -> dict[str, Any]:
    return {
        "model": item.model,
        "request_count": item.request_count,
        "avg_latency_ms": item.avg_latency_ms,
        "avg_ttft_ms": item.avg_ttft_ms,
        "total_tokens": item.total_tokens,
        "total_cost_usd": float(usd(item.cost_nanousd)),
    }


@get_route(router, "/api/analytics/keys")
async def keys(request: Request) -> dict[str, Any]:
    """Per provider-key-hash request count, tokens, cost and last activity."""
    queries, f, _ = _filtered(request)
    stats = await _read(lambda: queries.keys(f))
    return {"items": [_key_json(item) for item in stats]}


def _key_json(item: KeyStats) -> dict[str, Any]:
    body: dict[str, Any] = {
        "api_key_hash": item.api_key_hash,
        "request_count": item.request_count,
        "total_tokens": item.total_tokens,
        "total_cost_usd": float(usd(item.cost_nanousd)),
    }
    if item.last_active_at is not None:  # unknown times are left out (SPEC §1.4)
        body["last_active_at"] = format_rfc3339(item.last_active_at)
    return body


def _breakdown(request: Request) -> tuple[AnalyticsQueries, TraceFilter, Breakdown]:
    queries, f, params = _filtered(request)
    try:
        group = cast("Breakdown", params.choice("group_by", _BREAKDOWNS))
    except InvalidParam as exc:
        raise _invalid(exc) from None
    return queries, f, group


@get_route(router, "/api/analytics/latency")
async def latency(request: Request) -> dict[str, Any]:
    """Latency count, average, min, max and p50/p95/p99 per provider/model/route/key."""
    queries, f, group = _breakdown(request)
    stats = await _read(lambda: queries.latency(f, group))
    body: dict[str, Any] = {"group_by": group} if group else {}
    return {**body, "items": [_latency_json(item) for item in stats]}


def _latency_json(item: LatencyStats) -> dict[str, Any]:
    return _grouped(
        item.group,
        {
            "request_count": item.request_count,
            "avg_ms": item.avg_ms,
            "min_ms": item.min_ms,
            "max_ms": item.max_ms,
            "p50_ms": item.p50_ms,
            "p95_ms": item.p95_ms,
            "p99_ms": item.p99_ms,
        },
    )


@get_route(router, "/api/analytics/errors")
async def errors(request: Request) -> dict[str, Any]:
    """4xx and 5xx counts and error rate per provider/model/route/key."""
    queries, f, group = _breakdown(request)
    stats = await _read(lambda: queries.errors(f, group))
    body: dict[str, Any] = {"group_by": group} if group else {}
    return {**body, "items": [_error_json(item) for item in stats]}


def _error_json(item: ErrorStats) -> dict[str, Any]:
    return _grouped(
        item.group,
        {
            "total_requests": item.total_requests,
            "error_count_4xx": item.error_count_4xx,
            "error_count_5xx": item.error_count_5xx,
            "error_rate": item.error_rate,
        },
    )


@get_route(router, "/api/analytics/summary")
async def summary(request: Request) -> dict[str, Any]:
    """Headline totals: requests, tokens, cost, active provider keys, top model."""
    queries, f, _ = _filtered(request)
    return _summary_json(await _read(lambda: queries.summary(f)))


def _summary_json(item: Summary) -> dict[str, Any]:
    tokens = item.tokens
    body: dict[str, Any] = {
        "total_requests": item.total_requests,
        "total_input_tokens": tokens.input_tokens,
        "total_output_tokens": tokens.output_tokens,
        "total_tokens": tokens.total_tokens,
        "total_cost_usd": float(usd(item.cost_nanousd)),
        "active_keys": item.active_keys,
    }
    if item.top_model:
        body["top_model"] = item.top_model
    body |= {
        "total_cache_read_input_tokens": tokens.cache_read_input_tokens,
        "total_cache_write_input_tokens": tokens.cache_write_input_tokens,
        "total_reasoning_tokens": tokens.reasoning_tokens,
    }
    return body
