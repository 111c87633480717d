"""The analytics reads (contract §3.4), aggregated in SQL identically on SQLite and PostgreSQL.

Each query reads one covering index in its grouping order (see `analytics_sql`) and returns one
row per group or bucket; nothing loads traces into Python. Usage, cost, models, summary and the
provider/model error breakdown first group per (UTC hour, provider, model) — a few thousand rows
for a month — and roll that up to the bucket and group asked for. Latency builds a histogram
(value, count) per group and picks percentiles from it (`analytics_percentiles`).

Result order is applied here, not in SQL: PostgreSQL sorts text by the database's collation,
SQLite by bytes, and both backends must list groups identically (Python's `str` order is
SQLite's). Latency rows are ordered request count descending, then group ascending, on both
backends (the original sorted them by group on SQLite only).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import and_, case, func, literal, literal_column, select

from .analytics_percentiles import interpolate, percentile_picks
from .analytics_results import (
    TOKEN_COLUMNS,
    CostPoint,
    ErrorStats,
    KeyStats,
    LatencyStats,
    ModelStats,
    Summary,
    TokenTotals,
    UsagePoint,
)
from .analytics_sql import (
    AnalyticsIndex,
    Bucket,
    bucket_start_of,
    hour_key,
    hour_of_bound,
    indexed_traces,
    scoped,
)
from .coltypes import UtcDateTime

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncEngine
    from sqlalchemy.sql.expression import ColumnClause, ColumnElement, Select
    from sqlalchemy.sql.selectable import Alias, Subquery

    from .filters import TraceFilter

__all__ = ["AnalyticsQueries", "Breakdown", "SeriesGroup"]

#: `group_by` of usage and cost series ("" = one series).
SeriesGroup = Literal["", "provider", "model"]
#: `group_by` of latency and errors: route is the request path, key the gateway key id.
Breakdown = Literal["", "provider", "model", "route", "key"]

_HOURLY: AnalyticsIndex = "analytics_hourly"
_ROUTE: AnalyticsIndex = "analytics_route_latency"
_GATEWAY_KEY: AnalyticsIndex = "analytics_gateway_key_latency"
_API_KEY: AnalyticsIndex = "analytics_api_key"
_EMPTY: ColumnClause[Any] = literal_column("''")
_ZERO: ColumnClause[Any] = literal_column("0")

# Latency histograms: the index read and its leading columns grouped on (a prefix of the
# index, so the groups stream in order), then the column the caller groups by.
_LATENCY_PLANS: Mapping[Breakdown, tuple[AnalyticsIndex, tuple[str, ...], str | None]] = (
    MappingProxyType(
        {
            "": (_ROUTE, ("request_path", "latency_ms"), None),
            "provider": (_ROUTE, ("request_path", "latency_ms", "provider"), "provider"),
            "model": (_ROUTE, ("request_path", "latency_ms", "provider", "model"), "model"),
            "route": (_ROUTE, ("request_path", "latency_ms"), "request_path"),
            "key": (_GATEWAY_KEY, ("gateway_key_id", "latency_ms"), "gateway_key_id"),
        }
    )
)

# Errors per route / gateway key: the index grouped on and its leading column.
_ERROR_PLANS: Mapping[Breakdown, tuple[AnalyticsIndex, str]] = MappingProxyType(
    {"route": (_ROUTE, "request_path"), "key": (_GATEWAY_KEY, "gateway_key_id")}
)

_Measures = dict[str, "ColumnElement[Any]"]
_MODEL_SUMS = (
    "requests",
    "latency_sum",
    "latency_count",
    "ttft_sum",
    "ttft_count",
    "total_tokens",
    "cost",
)


def _tokens(t: Alias) -> _Measures:
    return {name: func.sum(t.c[name]) for name in TOKEN_COLUMNS}


def _status_counts(t: Alias) -> _Measures:
    status = t.c.response_status
    return {
        "requests": func.count(),
        "e4xx": func.sum(case((and_(status >= 400, status < 500), 1), else_=0)),
        "e5xx": func.sum(case((status >= 500, 1), else_=0)),
    }


def _hourly_terms(t: Alias, f: TraceFilter) -> list[ColumnElement[bool]]:
    """The filter, plus the same window on the hour key so the index is read as a range."""
    terms = scoped(t, f)
    if f.time_column == "timestamp":
        hour = hour_key(t.c.timestamp)
        if f.start is not None:
            terms.append(hour >= hour_of_bound(literal(f.start, UtcDateTime())))
        if f.end is not None:
            terms.append(hour <= hour_of_bound(literal(f.end, UtcDateTime())))
    return terms


def _hourly(f: TraceFilter, measures: Callable[[Alias], _Measures]) -> Subquery:
    """Per (hour, provider, model) partial sums; `measures(t)` names the sums wanted."""
    t = indexed_traces(_HOURLY)
    wanted: _Measures = measures(t)
    return (
        select(
            hour_key(t.c.timestamp).label("hour"),
            t.c.provider,
            t.c.model,
            *(expr.label(name) for name, expr in wanted.items()),
        )
        .where(*_hourly_terms(t, f))
        .group_by(hour_key(t.c.timestamp), t.c.provider, t.c.model)
        .subquery("hourly")
    )


def _rollup(hourly: Subquery, keys: Sequence[ColumnElement[Any]]) -> Select[Any]:
    """Sum every partial of `hourly` per `keys` (no keys: one row over everything)."""
    sums = [
        func.sum(column).label(column.name)
        for column in hourly.c
        if column.name not in ("hour", "provider", "model")
    ]
    return select(*keys, *sums).group_by(*keys)


def _int(value: Any) -> int:
    """SUM is NULL over no rows and Decimal for BIGINT on PostgreSQL; counts are ints."""
    return int(value or 0)


def _tokens_of(row: Any) -> TokenTotals:
    return TokenTotals(*(_int(row._mapping[name]) for name in TOKEN_COLUMNS))


class AnalyticsQueries:
    """The analytics API's reads over `traces`, one SQL statement per result (two for summary)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _rows(self, query: Select[Any]) -> Sequence[Any]:
        async with self._engine.connect() as conn:
            rows: Sequence[Any] = (await conn.execute(query)).all()
        return rows

    async def usage_summary(self, f: TraceFilter) -> TokenTotals:
        """Token sums over every matching trace (zeros when there are none)."""
        t = indexed_traces(_HOURLY)
        query = select(*(e.label(n) for n, e in _tokens(t).items())).where(*_hourly_terms(t, f))
        return _tokens_of((await self._rows(query))[0])

    async def cost_summary(self, f: TraceFilter) -> int:
        """Exact total cost in nano-USD."""
        t = indexed_traces(_HOURLY)
        query = select(func.sum(t.c.cost_nanousd)).where(*_hourly_terms(t, f))
        return _int((await self._rows(query))[0][0])

    def _series(
        self,
        f: TraceFilter,
        group: SeriesGroup,
        bucket: Bucket,
        measures: Callable[[Alias], _Measures],
    ) -> Select[Any]:
        hourly = _hourly(f, measures)
        keys: list[ColumnElement[Any]] = [bucket_start_of(bucket, hourly.c.hour).label("bucket")]
        if group:
            keys.append(hourly.c[group].label("grp"))
        return _rollup(hourly, keys)

    async def usage_series(
        self, f: TraceFilter, group: SeriesGroup, bucket: Bucket
    ) -> list[UsagePoint]:
        """Token sums per bucket (and group), ordered by bucket then group."""
        rows = await self._rows(self._series(f, group, bucket, _tokens))
        points = [UsagePoint(row.bucket, row.grp if group else "", _tokens_of(row)) for row in rows]
        return sorted(points, key=lambda p: (p.bucket_start, p.group))

    async def cost_series(
        self, f: TraceFilter, group: SeriesGroup, bucket: Bucket
    ) -> list[CostPoint]:
        """Cost and request count per bucket (and group), ordered by bucket then group."""

        def measures(t: Alias) -> _Measures:
            return {"cost": func.sum(t.c.cost_nanousd), "requests": func.count()}

        rows = await self._rows(self._series(f, group, bucket, measures))
        points = [
            CostPoint(row.bucket, row.grp if group else "", _int(row.cost), _int(row.requests))
            for row in rows
        ]
        return sorted(points, key=lambda p: (p.bucket_start, p.group))

    async def models(self, f: TraceFilter) -> list[ModelStats]:
        """Per-model stats, by request count descending then model."""

        def measures(t: Alias) -> _Measures:
            c = t.c
            return {
                "requests": func.count(),
                "latency_sum": func.sum(c.latency_ms),
                "latency_count": func.count(c.latency_ms),
                "ttft_sum": func.sum(c.time_to_first_token_ms),
                "ttft_count": func.count(c.time_to_first_token_ms),
                "total_tokens": func.sum(c.total_tokens),
                "cost": func.sum(c.cost_nanousd),
            }

        hourly = _hourly(f, measures)
        rows = await self._rows(_rollup(hourly, [hourly.c.model]))
        stats = [
            ModelStats(row.model, *(_int(row._mapping[name]) for name in _MODEL_SUMS))
            for row in rows
        ]
        return sorted(stats, key=lambda s: (-s.request_count, s.model))

    async def keys(self, f: TraceFilter) -> list[KeyStats]:
        """Per provider-key-hash stats (traces without a hash left out), busiest first."""
        t = indexed_traces(_API_KEY)
        query = (
            select(
                t.c.api_key_hash,
                func.count().label("requests"),
                func.sum(t.c.total_tokens).label("total_tokens"),
                func.sum(t.c.cost_nanousd).label("cost"),
                func.max(t.c.created_at).label("last_active_at"),
            )
            .where(t.c.api_key_hash != "", *scoped(t, f))
            .group_by(t.c.api_key_hash)
        )
        stats = [
            KeyStats(
                row.api_key_hash,
                _int(row.requests),
                _int(row.total_tokens),
                _int(row.cost),
                row.last_active_at,
            )
            for row in await self._rows(query)
        ]
        return sorted(stats, key=lambda s: (-s.request_count, s.api_key_hash))

    async def latency(self, f: TraceFilter, group: Breakdown) -> list[LatencyStats]:
        """Latency count/avg/min/max/p50/p95/p99 per group, busiest first then group."""
        index, leading, group_column = _LATENCY_PLANS[group]
        t = indexed_traces(index)
        keys = [t.c[name] for name in leading]
        stage = (
            select(*keys, func.count().label("c"))
            .where(*scoped(t, f))
            .group_by(*keys)
            .subquery("stage")
        )
        # Rows other clients wrote may hold NULLs: the original counts them as "" and 0. A
        # (grp, v) pair may now appear on several rows (per route, or NULL and ""): the
        # running count finds the same values, so they are not merged first.
        value = func.coalesce(stage.c.latency_ms, _ZERO)
        grp = func.coalesce(stage.c[group_column], _EMPTY) if group_column else _EMPTY
        histogram = select(grp.label("grp"), value.label("v"), stage.c.c).subquery("histogram")
        stats = [_latency_stats(row) for row in await self._rows(percentile_picks(histogram))]
        return sorted(stats, key=lambda s: (-s.request_count, s.group))

    async def errors(self, f: TraceFilter, group: Breakdown) -> list[ErrorStats]:
        """4xx/5xx counts per group, by request count descending then group."""
        rows = await self._rows(_errors_query(f, group))
        stats = [
            ErrorStats(row.grp if group else "", _int(row.requests), _int(row.e4xx), _int(row.e5xx))
            for row in rows
            if _int(row.requests)
        ]
        return sorted(stats, key=lambda s: (-s.total_requests, s.group))

    async def summary(self, f: TraceFilter) -> Summary:
        """Totals, number of distinct provider keys, and the most requested model."""

        def measures(t: Alias) -> _Measures:
            return {"requests": func.count(), "cost": func.sum(t.c.cost_nanousd), **_tokens(t)}

        hourly = _hourly(f, measures)
        per_model = await self._rows(_rollup(hourly, [hourly.c.model]))
        t = indexed_traces(_API_KEY)
        distinct_keys = (
            select(t.c.api_key_hash)
            .where(t.c.api_key_hash != "", *scoped(t, f))
            .group_by(t.c.api_key_hash)
            .subquery("distinct_keys")
        )
        active = (await self._rows(select(func.count()).select_from(distinct_keys)))[0][0]
        tokens = TokenTotals()
        for row in per_model:
            tokens += _tokens_of(row)
        busiest = min(per_model, key=lambda r: (-_int(r.requests), r.model), default=None)
        return Summary(
            total_requests=sum(_int(r.requests) for r in per_model),
            tokens=tokens,
            cost_nanousd=sum(_int(r.cost) for r in per_model),
            active_keys=_int(active),
            top_model=busiest.model if busiest is not None else "",
        )


def _errors_query(f: TraceFilter, group: Breakdown) -> Select[Any]:
    """Columns grp (when grouped), requests, e4xx, e5xx: one row per group."""
    if group in ("", "provider", "model"):
        if not group:
            t = indexed_traces(_HOURLY)
            counts = _status_counts(t)
            return select(*(e.label(n) for n, e in counts.items())).where(*_hourly_terms(t, f))
        hourly = _hourly(f, _status_counts)
        return _rollup(hourly, [hourly.c[group].label("grp")])
    index, column = _ERROR_PLANS[group]
    t = indexed_traces(index)
    stage = (
        select(t.c[column], *(e.label(n) for n, e in _status_counts(t).items()))
        .where(*scoped(t, f))
        .group_by(t.c[column])
        .subquery("stage")
    )
    # NULL and "" are one group: both mean "no key" and render without a `group`.
    grp = func.coalesce(stage.c[column], _EMPTY)
    sums = [func.sum(stage.c[n]).label(n) for n in ("requests", "e4xx", "e5xx")]
    return select(grp.label("grp"), *sums).group_by(grp)


def _latency_stats(row: Any) -> LatencyStats:
    n = _int(row.n)

    def pick(percent: int) -> float:
        lo, hi = row._mapping[f"p{percent}_lo"], row._mapping[f"p{percent}_hi"]
        return interpolate(_int(lo), _int(hi), percent, n)

    return LatencyStats(
        group=row.grp,
        request_count=n,
        total_ms=_int(row.total),
        min_ms=_int(row.low),
        max_ms=_int(row.high),
        p50_ms=pick(50),
        p95_ms=pick(95),
        p99_ms=pick(99),
    )
