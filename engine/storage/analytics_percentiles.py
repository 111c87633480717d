"""Latency percentiles: PostgreSQL's `percentile_cont`, computed the same way on both backends.

The p-th percentile of n sorted values is linear interpolation at the 0-based rank p·(n-1):
`lo + (hi - lo)·frac` between the values at ranks floor and ceil of it (contract §3.4). SQLite
has no percentile function and PostgreSQL's works in floats, so both backends run one portable
statement instead (`percentile_picks`): from a latency histogram (value, count) per group,
a running count in value order finds the two values bracketing each rank, with the rank in
integer arithmetic (`P·(n-1) / 100` truncates identically on both). The interpolation itself is
done here, in exact fractions, so both backends give bit-identical floats.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, case, cast, func, literal_column, select

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.sql.expression import ColumnElement, Select, Subquery

__all__ = ["PERCENTS", "interpolate", "percentile_of_sorted", "percentile_picks", "ranks"]

#: The percentiles the API reports (p50, p95, p99), as whole percents.
PERCENTS = (50, 95, 99)


def ranks(percent: int, n: int) -> tuple[int, int]:
    """The 0-based ranks just below and above the percentile's position p·(n-1)."""
    scaled = percent * (n - 1)
    return scaled // 100, (scaled + 99) // 100


def interpolate(lo: int, hi: int, percent: int, n: int) -> float:
    """`lo + (hi - lo)·frac`, frac being the fractional part of p·(n-1); 0.0 when n is 0."""
    if n <= 0:
        return 0.0
    frac = Fraction(percent * (n - 1) % 100, 100)
    return float(lo + (hi - lo) * frac)


def percentile_of_sorted(values: Sequence[int], percent: int) -> float:
    """The percentile of ascending `values` (the reference the SQL version is tested against)."""
    n = len(values)
    if n == 0:
        return 0.0
    below, above = ranks(percent, n)
    return interpolate(values[below], values[above], percent, n)


def _rank_sql(percent: int, n: ColumnElement[Any], *, upper: bool) -> ColumnElement[Any]:
    """The 1-based rank of the lower/upper bracketing value, in SQL integer arithmetic."""
    scaled: ColumnElement[Any] = literal_column(str(percent)) * (n - literal_column("1"))
    if upper:
        scaled = scaled + literal_column("99")
    return scaled // literal_column("100") + literal_column("1")


def percentile_picks(histogram: Subquery) -> Select[Any]:
    """Per group: n, sum, min, max and the bracketing values of each of `PERCENTS`.

    `histogram` has columns `grp` (text, never NULL), `v` (value) and `c` (how many traces
    have it). The value at 1-based rank r is the smallest v whose running count (in v order)
    reaches r; a (grp, v) pair split over several rows changes nothing, since its last row
    carries the full count and the earlier ones smaller ones. Result columns: grp, n, total,
    low, high, then `p<P>_lo`, `p<P>_hi` for each percent.
    """
    h = histogram.c
    running = cast(func.sum(h.c).over(partition_by=h.grp, order_by=h.v, rows=(None, 0)), BigInteger)
    size = cast(func.sum(h.c).over(partition_by=h.grp), BigInteger)
    cumulative = select(h.grp, h.v, h.c, running.label("upto"), size.label("n")).subquery(
        "cumulative"
    )
    w = cumulative.c
    picks: list[ColumnElement[Any]] = []
    for percent in PERCENTS:
        for upper, suffix in ((False, "lo"), (True, "hi")):
            rank = _rank_sql(percent, w.n, upper=upper)
            picks.append(func.min(case((w.upto >= rank, w.v))).label(f"p{percent}_{suffix}"))
    return select(
        w.grp,
        func.max(w.n).label("n"),
        func.sum(w.v * w.c).label("total"),
        func.min(w.v).label("low"),
        func.max(w.v).label("high"),
        *picks,
    ).group_by(w.grp)
