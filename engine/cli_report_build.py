"""The `report.v1` document (contract §1.5) from what the report's storage reads returned.

Pure: no I/O, so the document's rules (orders, omissions, the provider roll-up) are plain
functions of their inputs. Field names are the contract's, snake_case; unknown timestamps are
left out instead of printed as Go's zero time (SPEC §1.4); the token kinds the original does
not know (cache read/write, reasoning) are added beside its fields, never in place of one.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, NotRequired, TypedDict

from ongoingai.engine.storage.analytics_results import TokenTotals, usd
from ongoingai.engine.storage.filters import TraceFilter
from ongoingai.engine.timefmt import format_rfc3339, parse_rfc3339

if TYPE_CHECKING:
    from ongoingai.engine.storage.analytics_results import (
        CostPoint,
        KeyStats,
        ModelStats,
        UsagePoint,
    )
    from ongoingai.engine.trace import TraceRecord

__all__ = [
    "SCHEMA_VERSION",
    "Bound",
    "FilterInfo",
    "KeyRow",
    "ModelRow",
    "ProviderRow",
    "Report",
    "ReportData",
    "ReportOptions",
    "StorageInfo",
    "SummaryInfo",
    "TraceRow",
    "build_report",
    "parse_bound",
]

SCHEMA_VERSION = "report.v1"
UNKNOWN_PROVIDER = "(unknown)"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_FRACTION = re.compile(r"[Tt]\d{2}:\d{2}:\d{2}\.(\d+)")
_MICROSECOND = dt.timedelta(microseconds=1)
_END_OF_DAY = dt.timedelta(days=1) - _MICROSECOND
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True, order=True)
class Bound:
    """A `--from`/`--to` instant in UTC, to the nanosecond.

    The original echoes its bounds at Go's nanosecond precision (a date-only `--to` is
    `...T23:59:59.999999999Z`) and compares them at it; `datetime` stops at microseconds,
    so the nanoseconds below the microsecond are kept beside it.
    """

    moment: dt.datetime
    nanos: int = 0

    def rfc3339(self) -> str:
        """Go's RFC3339Nano: UTC, trailing fractional zeros trimmed, `Z`."""
        fraction = f"{self.moment.microsecond * 1000 + self.nanos:09d}".rstrip("0")
        seconds = self.moment.strftime("%Y-%m-%dT%H:%M:%S")
        return f"{seconds}.{fraction}Z" if fraction else f"{seconds}Z"

    def earliest(self) -> dt.datetime:
        """The first stored (microsecond) instant not before this bound."""
        return self.moment + _MICROSECOND if self.nanos else self.moment

    def latest(self) -> dt.datetime:
        """The last stored (microsecond) instant not after this bound."""
        return self.moment


def parse_bound(raw: str, name: str, *, end_of_day: bool) -> Bound | None:
    """RFC 3339 (nanoseconds, any offset) or `YYYY-MM-DD` (UTC); None when blank.

    A date-only `to` (`end_of_day`) is the last nanosecond of that day, as in the original.

    Raises:
        ValueError: `invalid <name>: expected RFC3339 or YYYY-MM-DD`.
    """
    value = raw.strip()
    if not value:
        return None
    try:
        if _DATE.match(value):
            day = dt.datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=dt.UTC)
            return Bound(day + _END_OF_DAY, 999) if end_of_day else Bound(day)
        moment = parse_rfc3339(value)
    except ValueError:
        raise ValueError(f"invalid {name}: expected RFC3339 or YYYY-MM-DD") from None
    digits = _FRACTION.search(value)
    below_micro = digits.group(1)[6:9] if digits else ""
    return Bound(moment, int(below_micro.ljust(3, "0")))


@dataclass(frozen=True, slots=True)
class ReportOptions:
    """What the operator asked for, validated; `path` is "" unless the driver is sqlite."""

    driver: str
    path: str
    provider: str = ""
    model: str = ""
    start: Bound | None = None
    end: Bound | None = None
    limit: int = 10

    def trace_filter(self) -> TraceFilter:
        """All tenants, bounded on `timestamp` as the analytics are."""
        return TraceFilter(
            provider=self.provider,
            model=self.model,
            start=self.start.earliest() if self.start else None,
            end=self.end.latest() if self.end else None,
        )


@dataclass(frozen=True, slots=True)
class ReportData:
    """What the seven storage reads returned."""

    usage: TokenTotals
    cost_nanousd: int
    models: list[ModelStats]
    keys: list[KeyStats]
    usage_series: list[UsagePoint]
    cost_series: list[CostPoint]
    recent: list[TraceRecord]


class StorageInfo(TypedDict):
    """`storage`."""

    driver: str
    path: NotRequired[str]


_GivenFilters = TypedDict(
    "_GivenFilters",
    {"provider": str, "model": str, "from": str, "to": str},
    total=False,
)
FilterInfo = TypedDict(
    "FilterInfo",
    {
        "provider": NotRequired[str],
        "model": NotRequired[str],
        "from": NotRequired[str],
        "to": NotRequired[str],
        "limit": int,
    },
)


class SummaryInfo(TypedDict):
    """`summary`: the contract's fields plus the three newer token kinds."""

    total_requests: int
    total_input_tokens: int
    total_output_tokens: int
    total_tokens: int
    total_cache_read_input_tokens: int
    total_cache_write_input_tokens: int
    total_reasoning_tokens: int
    total_cost_usd: float
    active_keys: int
    top_model: NotRequired[str]


class ProviderRow(TypedDict):
    """One `providers[]` item."""

    provider: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_read_input_tokens: int
    cache_write_input_tokens: int
    reasoning_tokens: int
    total_cost_usd: float


class ModelRow(TypedDict):
    """One `models[]` item."""

    model: str
    request_count: int
    avg_latency_ms: float
    avg_ttft_ms: float
    total_tokens: int
    total_cost_usd: float


class KeyRow(TypedDict):
    """One `api_keys[]` item."""

    api_key_hash: str
    request_count: int
    total_tokens: int
    total_cost_usd: float
    last_active_at: NotRequired[str]


class _Stamp(TypedDict, total=False):
    timestamp: str


class TraceRow(TypedDict):
    """One `recent_traces[]` item."""

    id: str
    timestamp: NotRequired[str]
    provider: str
    model: str
    response_status: int
    total_tokens: int
    estimated_cost_usd: float
    latency_ms: int
    request_path: str


class Report(TypedDict):
    """The whole `report.v1` document."""

    schema_version: str
    generated_at: str
    storage: StorageInfo
    filters: FilterInfo
    summary: SummaryInfo
    providers: list[ProviderRow]
    models: list[ModelRow]
    api_keys: list[KeyRow]
    recent_traces: list[TraceRow]


def build_report(options: ReportOptions, data: ReportData, generated_at: dt.datetime) -> Report:
    """The document; `data` lists models and keys in the analytics' order (busiest first)."""
    storage: StorageInfo = {"driver": options.driver}
    if options.path:
        storage["path"] = options.path
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": format_rfc3339(generated_at),
        "storage": storage,
        "filters": _filters(options),
        "summary": _summary(data),
        "providers": _providers(data.usage_series, data.cost_series),
        "models": [_model(m) for m in data.models],
        "api_keys": [_key(k) for k in data.keys],
        "recent_traces": [_trace(t) for t in sorted(data.recent, key=_recency, reverse=True)],
    }


def _filters(options: ReportOptions) -> FilterInfo:
    """Only the filters given, in the contract's order (Go `omitempty`)."""
    given: _GivenFilters = {}
    if options.provider:
        given["provider"] = options.provider
    if options.model:
        given["model"] = options.model
    if options.start is not None:
        given["from"] = options.start.rfc3339()
    if options.end is not None:
        given["to"] = options.end.rfc3339()
    return {**given, "limit": options.limit}


def _summary(data: ReportData) -> SummaryInfo:
    """Requests are the models' sum and active keys the keyed rows, as the original counts."""
    tokens = data.usage
    summary: SummaryInfo = {
        "total_requests": sum(m.request_count for m in data.models),
        "total_input_tokens": tokens.input_tokens,
        "total_output_tokens": tokens.output_tokens,
        "total_tokens": tokens.total_tokens,
        "total_cache_read_input_tokens": tokens.cache_read_input_tokens,
        "total_cache_write_input_tokens": tokens.cache_write_input_tokens,
        "total_reasoning_tokens": tokens.reasoning_tokens,
        "total_cost_usd": float(usd(data.cost_nanousd)),
        "active_keys": len(data.keys),
    }
    # Models come busiest first, ties by name: the first is the original's top model.
    if data.models and data.models[0].model:
        summary["top_model"] = data.models[0].model
    return summary


def _providers(usage: list[UsagePoint], cost: list[CostPoint]) -> list[ProviderRow]:
    """Day buckets summed per provider; most tokens first, then most cost, then name."""
    tokens: dict[str, TokenTotals] = {}
    nanos: dict[str, int] = {}
    for point in usage:
        name = point.group.strip() or UNKNOWN_PROVIDER
        tokens[name] = tokens.get(name, TokenTotals()) + point.tokens
    for cost_point in cost:
        name = cost_point.group.strip() or UNKNOWN_PROVIDER
        nanos[name] = nanos.get(name, 0) + cost_point.cost_nanousd
    names = sorted(
        tokens.keys() | nanos.keys(),
        key=lambda n: (-tokens.get(n, TokenTotals()).total_tokens, -nanos.get(n, 0), n),
    )
    return [_provider(n, tokens.get(n, TokenTotals()), nanos.get(n, 0)) for n in names]


def _provider(name: str, tokens: TokenTotals, nanos: int) -> ProviderRow:
    return {
        "provider": name,
        "input_tokens": tokens.input_tokens,
        "output_tokens": tokens.output_tokens,
        "total_tokens": tokens.total_tokens,
        "cache_read_input_tokens": tokens.cache_read_input_tokens,
        "cache_write_input_tokens": tokens.cache_write_input_tokens,
        "reasoning_tokens": tokens.reasoning_tokens,
        "total_cost_usd": float(usd(nanos)),
    }


def _model(stats: ModelStats) -> ModelRow:
    return {
        "model": stats.model,
        "request_count": stats.request_count,
        "avg_latency_ms": stats.avg_latency_ms,
        "avg_ttft_ms": stats.avg_ttft_ms,
        "total_tokens": stats.total_tokens,
        "total_cost_usd": float(usd(stats.cost_nanousd)),
    }


def _key(stats: KeyStats) -> KeyRow:
    row: KeyRow = {
        "api_key_hash": stats.api_key_hash,
        "request_count": stats.request_count,
        "total_tokens": stats.total_tokens,
        "total_cost_usd": float(usd(stats.cost_nanousd)),
    }
    if stats.last_active_at is not None:
        row["last_active_at"] = format_rfc3339(stats.last_active_at)
    return row


def _when(record: TraceRecord) -> dt.datetime | None:
    """The trace's time; rows another client wrote with Go's zero time fall back to storage's."""
    if record.timestamp.year > 1:
        return record.timestamp
    if record.created_at is not None and record.created_at.year > 1:
        return record.created_at
    return None


def _recency(record: TraceRecord) -> tuple[dt.datetime, str]:
    """Newest first, then id descending (equal timestamps are common in batches)."""
    return _when(record) or _NEVER, record.id


def _trace(record: TraceRecord) -> TraceRow:
    moment = _when(record)
    stamp: _Stamp = {"timestamp": format_rfc3339(moment)} if moment is not None else {}
    return {
        "id": record.id,
        **stamp,
        "provider": record.provider,
        "model": record.model,
        "response_status": record.response_status,
        "total_tokens": record.total_tokens,
        "estimated_cost_usd": float(record.estimated_cost_usd),
        "latency_ms": record.latency_ms,
        "request_path": record.request_path,
    }
