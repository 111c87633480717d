"""What the analytics queries return: exact integers from SQL, averages and money derived here.

SQL hands back sums and counts only (integers, identical on both backends); averages, rates and
dollars are computed from them in Python, so SQLite and PostgreSQL give bit-identical floats
(PostgreSQL's numeric `AVG` and SQLite's float `AVG` would round differently). Money stays an
exact `Decimal` of nano-USD until the API renders it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from ongoingai.engine.trace import NANOS_PER_USD

if TYPE_CHECKING:
    import datetime as dt

__all__ = [
    "TOKEN_COLUMNS",
    "CostPoint",
    "ErrorStats",
    "KeyStats",
    "LatencyStats",
    "ModelStats",
    "Summary",
    "TokenTotals",
    "UsagePoint",
    "mean",
    "usd",
]

#: The token counters summed by usage and summary, in the order of `TokenTotals`' fields.
TOKEN_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "reasoning_tokens",
)


def usd(nanos: int) -> Decimal:
    """Exact dollars of an integer nano-USD amount."""
    return Decimal(nanos) / NANOS_PER_USD


def mean(total: int, count: int) -> float:
    """`total / count` as a correctly rounded float; 0.0 for no values."""
    return total / count if count else 0.0


@dataclass(frozen=True, slots=True)
class TokenTotals:
    """Sums of every token counter (see `TOKEN_COLUMNS`)."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    reasoning_tokens: int = 0

    def __add__(self, other: TokenTotals) -> TokenTotals:
        return TokenTotals(*(getattr(self, n) + getattr(other, n) for n in TOKEN_COLUMNS))


@dataclass(frozen=True, slots=True)
class UsagePoint:
    """Token sums of one bucket (and group, "" when ungrouped)."""

    bucket_start: str
    group: str
    tokens: TokenTotals


@dataclass(frozen=True, slots=True)
class CostPoint:
    """Cost and request count of one bucket (and group)."""

    bucket_start: str
    group: str
    cost_nanousd: int
    request_count: int

    @property
    def avg_cost_usd(self) -> Decimal:
        """Mean cost per request, exact to 28 digits."""
        if not self.request_count:
            return Decimal(0)
        return Decimal(self.cost_nanousd) / (NANOS_PER_USD * self.request_count)


@dataclass(frozen=True, slots=True)
class ModelStats:
    """Per-model totals; averages ignore NULLs, as SQL `AVG` does."""

    model: str
    request_count: int
    latency_ms_sum: int
    latency_ms_count: int
    ttft_ms_sum: int
    ttft_ms_count: int
    total_tokens: int
    cost_nanousd: int

    @property
    def avg_latency_ms(self) -> float:
        """Mean latency over traces that have one."""
        return mean(self.latency_ms_sum, self.latency_ms_count)

    @property
    def avg_ttft_ms(self) -> float:
        """Mean time to first token, non-streamed traces' zeros included (as the original)."""
        return mean(self.ttft_ms_sum, self.ttft_ms_count)


@dataclass(frozen=True, slots=True)
class KeyStats:
    """Per provider-key-hash totals and when the key was last seen."""

    api_key_hash: str
    request_count: int
    total_tokens: int
    cost_nanousd: int
    last_active_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Latency distribution of one group."""

    group: str
    request_count: int
    total_ms: int
    min_ms: int
    max_ms: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def avg_ms(self) -> float:
        """Mean latency."""
        return mean(self.total_ms, self.request_count)


@dataclass(frozen=True, slots=True)
class ErrorStats:
    """Request and error counts of one group (4xx: 400-499, 5xx: 500 and up)."""

    group: str
    total_requests: int
    error_count_4xx: int
    error_count_5xx: int

    @property
    def error_rate(self) -> float:
        """Share of requests that failed with a 4xx or 5xx."""
        return mean(self.error_count_4xx + self.error_count_5xx, self.total_requests)


@dataclass(frozen=True, slots=True)
class Summary:
    """The dashboard's headline figures; `top_model` is "" when there are no traces."""

    total_requests: int = 0
    tokens: TokenTotals = field(default_factory=TokenTotals)
    cost_nanousd: int = 0
    active_keys: int = 0
    top_model: str = ""
