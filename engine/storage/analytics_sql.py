"""SQL pieces the analytics queries share: index-pinned FROM clauses and hour/bucket keys.

SQLite has no hash aggregation: a `GROUP BY` whose keys are not the leading columns of the
index being scanned sorts every input row, which over a million traces costs more than the
whole one-second budget. So every analytics query reads a covering index whose leading
columns are its grouping keys (`sql/*/…_analytics_indexes.sql`), and groups in that order:

- `analytics_hourly`: (UTC hour, provider, model) + every counter: usage, cost, models,
  summary and errors are grouped per hour/provider/model first (a few thousand rows for a
  month), then rolled up to the bucket and group asked for;
- `analytics_route_latency`, `analytics_gateway_key_latency`: (group, latency_ms): latency
  histograms and error counts per route / gateway key, in order;
- `analytics_api_key`: (api_key_hash, ...): key stats and the number of active keys.

SQLite's planner, without statistics, often prefers a narrow non-covering index and then
reads every wide trace row; the FROM clause therefore names the index (`INDEXED BY`), which
PostgreSQL has no syntax for and does not need (its planner has statistics and reads the same
indexes, see the migration). The hour key is spelled exactly as in the index definition on each
backend, so that both backends can walk the index in group order.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Alias
from sqlalchemy.sql.util import ClauseAdapter

from .filters import TraceFilter, conditions
from .tables import traces

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.sql.compiler import SQLCompiler
    from sqlalchemy.sql.expression import ColumnElement

__all__ = [
    "AnalyticsIndex",
    "Bucket",
    "bucket_start",
    "bucket_start_of",
    "hour_key",
    "indexed_traces",
    "scoped",
]

AnalyticsIndex = Literal[
    "analytics_hourly",
    "analytics_route_latency",
    "analytics_gateway_key_latency",
    "analytics_api_key",
]
Bucket = Literal["hour", "day", "week"]
_INDEX_PREFIX = "idx_traces_"


class _IndexedTraces(Alias):
    """`traces AS <name>`; on SQLite followed by `INDEXED BY idx_traces_<name>`."""

    inherit_cache = True


def _alias_sql(element: _IndexedTraces, compiler: SQLCompiler, **kw: Any) -> str:
    text: str = compiler.visit_alias(element, **kw)  # type: ignore[no-untyped-call]
    return text


@compiles(_IndexedTraces)
def _indexed_default(element: _IndexedTraces, compiler: SQLCompiler, **kw: Any) -> str:
    return _alias_sql(element, compiler, **kw)


@compiles(_IndexedTraces, "sqlite")
def _indexed_sqlite(element: _IndexedTraces, compiler: SQLCompiler, **kw: Any) -> str:
    text = _alias_sql(element, compiler, **kw)
    if kw.get("asfrom"):
        text += f" INDEXED BY {_INDEX_PREFIX}{element.name}"
    return text


def indexed_traces(index: AnalyticsIndex) -> Alias:
    """The traces table read through one analytics index (the alias is named after it)."""
    return _IndexedTraces._construct(traces, name=index)


def scoped(source: Alias, f: TraceFilter) -> list[ColumnElement[bool]]:
    """`conditions(f)` rewritten onto `source` (an alias of traces)."""
    adapter = ClauseAdapter(source)
    return [adapter.traverse(term) for term in conditions(f)]


class hour_key(FunctionElement[Any]):
    """The UTC hour of a timestamp, spelled as in `idx_traces_analytics_hourly`.

    SQLite: the `YYYY-MM-DD HH` prefix of the stored text (order-preserving, so a `from`/`to`
    bound on it is a range of the index). PostgreSQL: `date_trunc` of the UTC wall time.
    """

    type = Text()
    inherit_cache = True
    name = "hour_key"


class hour_of_bound(hour_key):
    """`hour_key` of a bound timestamp parameter (a `from`/`to` value)."""

    inherit_cache = True
    name = "hour_of_bound"


@compiles(hour_key, "sqlite")
def _hour_sqlite(element: hour_key, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 13)"


@compiles(hour_key, "postgresql")
def _hour_postgres(element: hour_key, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date_trunc('hour', {compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC')"


@compiles(hour_of_bound, "postgresql")
def _bound_hour_postgres(element: hour_of_bound, compiler: SQLCompiler, **kw: Any) -> str:
    value = compiler.process(element.clauses, **kw)
    return f"date_trunc('hour', CAST({value} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"


class bucket_start(FunctionElement[str]):
    """`YYYY-MM-DDTHH:00:00Z` of the hour/day/week (weeks start Monday) of an `hour_key`.

    Same text as `sqlfuncs.time_bucket`, but computed once per hourly group instead of once
    per trace: PostgreSQL's `to_char` per row alone costs about half a second per million.
    Build it with `bucket_start_of`; one subclass per bucket keeps SQLAlchemy's statement
    cache keys apart.
    """

    type = Text()
    inherit_cache = True
    name = "bucket_start"
    bucket: ClassVar[Bucket] = "day"


class _hour_start(bucket_start):
    inherit_cache = True
    bucket = "hour"


class _day_start(bucket_start):
    inherit_cache = True
    bucket = "day"


class _week_start(bucket_start):
    inherit_cache = True
    bucket = "week"


_BUCKET_STARTS: Mapping[Bucket, type[bucket_start]] = MappingProxyType(
    {"hour": _hour_start, "day": _day_start, "week": _week_start}
)


def bucket_start_of(bucket: Bucket, hour: ColumnElement[Any]) -> bucket_start:
    """The start of the `bucket` containing the hour key `hour` (a column of a subquery)."""
    return _BUCKET_STARTS[bucket](hour)


@compiles(bucket_start, "sqlite")
def _bucket_sqlite(element: bucket_start, compiler: SQLCompiler, **kw: Any) -> str:
    hour = compiler.process(element.clauses, **kw)
    day = f"substr({hour}, 1, 10)"
    if element.bucket == "hour":
        return f"({day} || 'T' || substr({hour}, 12, 2) || ':00:00Z')"
    if element.bucket == "week":
        return f"(date({day}, '-6 days', 'weekday 1') || 'T00:00:00Z')"
    return f"({day} || 'T00:00:00Z')"


@compiles(bucket_start, "postgresql")
def _bucket_postgres(element: bucket_start, compiler: SQLCompiler, **kw: Any) -> str:
    hour = compiler.process(element.clauses, **kw)
    return f"to_char(date_trunc('{element.bucket}', {hour}), 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
