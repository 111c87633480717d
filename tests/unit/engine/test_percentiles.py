"""Percentiles as PostgreSQL's percentile_cont: linear interpolation at rank p·(n-1), exact."""

from __future__ import annotations

import random
import statistics
from fractions import Fraction

import pytest

from ongoingai.engine.storage.analytics_percentiles import (
    PERCENTS,
    interpolate,
    percentile_of_sorted,
    ranks,
)


def test_no_values_is_zero():
    assert [percentile_of_sorted([], p) for p in PERCENTS] == [0.0, 0.0, 0.0]
    assert interpolate(0, 0, 50, 0) == 0.0


def test_one_value_is_that_value_for_every_percentile():
    assert [percentile_of_sorted([42], p) for p in PERCENTS] == [42.0, 42.0, 42.0]


def test_two_values_interpolate_between_them():
    assert percentile_of_sorted([10, 20], 50) == 15.0
    assert percentile_of_sorted([10, 20], 95) == 19.5
    assert percentile_of_sorted([10, 20], 99) == 19.9


def test_the_contracts_five_latencies():
    values = [50, 100, 150, 200, 500]
    assert percentile_of_sorted(values, 50) == 150.0  # rank 2 exactly
    assert percentile_of_sorted(values, 95) == 440.0  # rank 3.8: 200 + 0.8 * 300
    assert percentile_of_sorted(values, 99) == 488.0  # rank 3.96: 200 + 0.96 * 300


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([7, 7, 7, 7], (7.0, 7.0, 7.0)),
        ([1, 1, 2, 2], (1.5, 2.0, 2.0)),
        ([3, 3, 3, 9], (3.0, 8.1, 8.82)),
    ],
    ids=["all-equal", "pairs", "one-outlier"],
)
def test_duplicates_are_ranked_like_any_other_value(values, expected):
    assert tuple(percentile_of_sorted(values, p) for p in PERCENTS) == expected


def test_ranks_bracket_the_position_in_integer_arithmetic():
    assert ranks(50, 5) == (2, 2)
    assert ranks(95, 5) == (3, 4)
    assert ranks(99, 1) == (0, 0)
    assert ranks(99, 101) == (99, 99)
    assert ranks(95, 1_000_000) == (949_999, 950_000)


def test_interpolation_is_exact_then_rounded_once():
    # p95 of n=1_000_000: rank 949999.05, so frac is exactly 5/100.
    expected = float(Fraction(1) + Fraction(2**53) * Fraction(5, 100))
    assert interpolate(1, 1 + 2**53, 95, 1_000_000) == expected


def test_agrees_with_the_inclusive_quantile_method():
    rng = random.Random(7)  # noqa: S311 - test data
    for n in (2, 3, 5, 17, 100, 257):
        values = sorted(rng.randint(0, 5000) for _ in range(n))
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        for p in PERCENTS:
            assert percentile_of_sorted(values, p) == pytest.approx(cuts[p - 1], abs=1e-9)
