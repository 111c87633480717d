"""The report's pure parts: time bounds, the report.v1 rules, and its text for 80 columns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ongoingai.engine.cli_report_build import (
    Bound,
    ReportData,
    ReportOptions,
    build_report,
    parse_bound,
)
from ongoingai.engine.cli_report_text import render_text
from ongoingai.engine.storage.analytics_results import (
    CostPoint,
    KeyStats,
    ModelStats,
    TokenTotals,
    UsagePoint,
)
from ongoingai.engine.trace import TraceRecord

NOW = dt.datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=dt.UTC)
ZERO = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("raw", "end_of_day", "echo"),
    [
        ("2026-02-18", False, "2026-02-18T00:00:00Z"),
        ("2026-02-18", True, "2026-02-18T23:59:59.999999999Z"),
        (" 2026-02-18T12:00:00Z ", True, "2026-02-18T12:00:00Z"),
        ("2026-02-18T13:30:00+01:30", False, "2026-02-18T12:00:00Z"),
        ("2026-02-18T12:00:00.5-00:00", False, "2026-02-18T12:00:00.5Z"),
        ("2026-02-18T12:00:00.123456789Z", False, "2026-02-18T12:00:00.123456789Z"),
        ("2026-02-18T12:00:00.000000010Z", False, "2026-02-18T12:00:00.00000001Z"),
    ],
)
def test_bounds_echo_at_nanosecond_precision_in_utc(raw: str, end_of_day: bool, echo: str):
    bound = parse_bound(raw, "from", end_of_day=end_of_day)

    assert bound is not None
    assert bound.rfc3339() == echo


@pytest.mark.parametrize(
    "raw", ["2026-2-18", "2026-02-30", "2026-02-18T12:00:00", "18/02/2026", "now", "2026-02-18Z"]
)
def test_bounds_refuse_anything_but_rfc3339_or_a_date(raw: str):
    with pytest.raises(ValueError, match=r"^invalid to: expected RFC3339 or YYYY-MM-DD$"):
        parse_bound(raw, "to", end_of_day=True)


def test_blank_bounds_are_absent():
    assert parse_bound("   ", "from", end_of_day=False) is None


def test_bounds_round_to_the_stored_microseconds_inward():
    """Stored times are microseconds: a sub-microsecond `from` starts at the next one."""
    start = parse_bound("2026-02-18T12:00:00.000000001Z", "from", end_of_day=False)
    end = parse_bound("2026-02-18T12:00:00.000001999Z", "to", end_of_day=True)
    assert start is not None and end is not None

    assert start.earliest() == dt.datetime(2026, 2, 18, 12, 0, 0, 1, tzinfo=dt.UTC)
    assert end.latest() == dt.datetime(2026, 2, 18, 12, 0, 0, 1, tzinfo=dt.UTC)
    assert start < end
    assert Bound(start.moment, 2) > start


def _model(name: str, requests: int) -> ModelStats:
    return ModelStats(name, requests, 100 * requests, requests, 0, requests, 10 * requests, 1000)


def _record(id_: str, timestamp: dt.datetime, created_at: dt.datetime | None) -> TraceRecord:
    return TraceRecord(
        id=id_,
        timestamp=timestamp,
        provider="openai",
        model="gpt-4o",
        request_method="POST",
        request_path="/openai/v1/chat/completions",
        response_status=200,
        estimated_cost_usd=Decimal("0.5"),
        created_at=created_at,
    )


def _data(**overrides) -> ReportData:
    fields = {
        "usage": TokenTotals(),
        "cost_nanousd": 0,
        "models": [],
        "keys": [],
        "usage_series": [],
        "cost_series": [],
        "recent": [],
    }
    fields.update(overrides)
    return ReportData(**fields)


OPTIONS = ReportOptions(driver="postgres", path="")


def test_unknown_times_are_left_out_never_the_zero_time():
    data = _data(
        keys=[KeyStats("k", 1, 1, 0, None)],
        recent=[
            _record("no-time", ZERO, None),
            _record("created-only", ZERO, NOW),
            _record("stamped", NOW - dt.timedelta(days=1), NOW),
        ],
    )

    report = build_report(OPTIONS, data, NOW)
    text = render_text(report)

    assert "last_active_at" not in report["api_keys"][0]
    assert [(t["id"], t.get("timestamp")) for t in report["recent_traces"]] == [
        ("created-only", "2026-03-01T09:30:15.25Z"),
        ("stamped", "2026-02-28T09:30:15.25Z"),
        ("no-time", None),
    ]
    assert "0001-01-01" not in text
    assert "  (none)\n" in text  # LAST_ACTIVE_AT
    assert "\n(unknown)  " in text  # TIMESTAMP


def test_providers_merge_day_buckets_and_name_the_blank_one():
    day1, day2 = "2026-02-17T00:00:00Z", "2026-02-18T00:00:00Z"
    data = _data(
        usage_series=[
            UsagePoint(day1, "b", TokenTotals(1, 1, 2, 1, 0, 0)),
            UsagePoint(day2, "b", TokenTotals(1, 1, 2, 0, 1, 1)),
            UsagePoint(day1, "a", TokenTotals(2, 2, 4)),
            UsagePoint(day1, "", TokenTotals(2, 2, 4)),
            UsagePoint(day1, "c", TokenTotals(2, 2, 4)),
        ],
        cost_series=[
            CostPoint(day1, "b", 5, 1),
            CostPoint(day2, "b", 5, 1),
            CostPoint(day1, "c", 7, 1),
            CostPoint(day1, "", 7, 1),
        ],
    )

    providers = build_report(OPTIONS, data, NOW)["providers"]

    # equal tokens: more cost first, then name
    assert [p["provider"] for p in providers] == ["b", "(unknown)", "c", "a"]
    b = providers[0]
    assert (b["input_tokens"], b["total_tokens"], b["total_cost_usd"]) == (2, 4, 1e-08)
    assert (b["cache_read_input_tokens"], b["cache_write_input_tokens"]) == (1, 1)
    assert b["reasoning_tokens"] == 1


def test_summary_counts_requests_from_models_and_names_the_busiest():
    data = _data(
        models=[_model("b-model", 3), _model("a-model", 1)],
        keys=[KeyStats("k1", 3, 1, 0, NOW), KeyStats("k2", 1, 1, 0, NOW)],
        cost_nanousd=1_500_000_000,
    )

    summary = build_report(OPTIONS, data, NOW)["summary"]
    empty = build_report(OPTIONS, _data(), NOW)["summary"]

    assert summary["total_requests"] == 4
    assert summary["active_keys"] == 2
    assert summary["top_model"] == "b-model"
    assert summary["total_cost_usd"] == 1.5
    assert "top_model" not in empty


def test_storage_path_is_echoed_for_sqlite_only():
    sqlite = ReportOptions(driver="sqlite", path="./data/ongoingai.db")

    assert build_report(sqlite, _data(), NOW)["storage"] == {
        "driver": "sqlite",
        "path": "./data/ongoingai.db",
    }
    assert build_report(OPTIONS, _data(), NOW)["storage"] == {"driver": "postgres"}


def test_text_folds_wide_tables_and_shortens_long_values_to_80_columns():
    options = ReportOptions(driver="sqlite", path="/very/long/" + "nested/" * 12 + "traces.db")
    data = _data(
        models=[_model("claude-3-5-sonnet-20241022", 12345)],
        keys=[KeyStats("f" * 64, 12345, 987654321, 123456789012, NOW)],
        recent=[_record("e" * 32, NOW, NOW)],
    )

    text = render_text(build_report(options, data, NOW))
    lines = text.splitlines()

    assert all(len(line) <= 80 for line in lines), [ln for ln in lines if len(ln) > 80]
    path_line = next(line for line in lines if line.startswith("Storage path"))
    assert path_line.startswith("Storage path     …")
    assert path_line.endswith("/nested/traces.db")
    assert "claude-3-5-sonnet-20241022" in text
    assert "e" * 32 in text
    assert "\nffffffffffff…  " in text
    assert " 123.456789 " in text


def test_text_uses_three_dots_where_the_terminal_cannot_show_an_ellipsis():
    data = _data(keys=[KeyStats("f" * 64, 1, 1, 1, NOW)])

    text = render_text(build_report(OPTIONS, data, NOW), ellipsis="...")

    assert "\nffffffffffff...  " in text
    assert "…" not in text
