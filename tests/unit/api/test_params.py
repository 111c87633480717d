"""Query parameters, times and cursors: the original's formats and messages."""

from __future__ import annotations

import datetime as dt

import pytest

from ongoingai.engine.api.params import InvalidParam, Params
from ongoingai.engine.storage.cursor import Cursor, InvalidCursor
from ongoingai.engine.timefmt import format_rfc3339, parse_rfc3339


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "limit must be an integer"),
        ("1.5", "limit must be an integer"),
        ("-1", "limit must be >= 0"),
        ("201", "limit must be <= 200"),
    ],
)
def test_integer_messages(raw, message):
    with pytest.raises(InvalidParam, match=f"^{message}$"):
        Params({"limit": raw}).integer("limit", 0, 200)


def test_integer_absent_empty_and_trimmed():
    assert Params({}).integer("limit", 0, 200) == 0
    assert Params({"limit": "  "}).integer("limit", 0, 200) == 0
    assert Params({"limit": " 7 "}).integer("limit", 0, 200) == 7


def test_choice_lowercases_and_names_the_bad_value():
    assert Params({"group_by": "Provider"}).choice("group_by", ("provider",)) == "provider"
    with pytest.raises(InvalidParam, match=r'^invalid group_by: "key"$'):
        Params({"group_by": "key"}).choice("group_by", ("provider", "model"))


def test_time_range_accepts_rfc3339_nano_and_dates():
    window = Params(
        {"from": "2026-01-02T03:04:05.123456789+01:00", "to": "2026-01-02"}
    ).time_range()
    assert window.start == dt.datetime(2026, 1, 2, 2, 4, 5, 123456, tzinfo=dt.UTC)
    assert window.end == dt.datetime(2026, 1, 2, 23, 59, 59, 999999, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "yesterday"}, "invalid from: expected RFC3339 or YYYY-MM-DD"),
        ({"to": "2026-13-01"}, "invalid to: expected RFC3339 or YYYY-MM-DD"),
        ({"from": "2026-01-02T03:04:05"}, "invalid from: expected RFC3339 or YYYY-MM-DD"),
        ({"from": "2026-01-03", "to": "2026-01-02"}, "to must be greater than or equal to from"),
    ],
)
def test_time_range_errors(query, message):
    with pytest.raises(InvalidParam, match=f"^{message}$"):
        Params(query).time_range()


def test_rfc3339_output_is_gos_rfc3339nano():
    assert format_rfc3339(dt.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC)) == (
        "2026-01-02T03:04:05.12Z"
    )
    assert format_rfc3339(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2026-01-02T03:04:05Z"
    moment = dt.datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=dt.UTC)
    assert parse_rfc3339(format_rfc3339(moment)) == moment


def test_cursor_round_trip_is_base64url_without_padding():
    cursor = Cursor(dt.datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=dt.UTC), "trace-a")
    text = cursor.encode()
    assert "=" not in text
    assert Cursor.decode(text) == cursor


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("!!not base64!!", "trace cursor is invalid: decode base64 cursor"),
        ("MjAyNi0wMS0wMlQwMzowNDowNVo", "trace cursor is invalid: missing id"),  # no "|"
        ("bm90LWEtdGltZXxpZA", "trace cursor is invalid: parse created_at"),  # not-a-time|id
    ],
)
def test_cursor_errors(text, message):
    with pytest.raises(InvalidCursor, match=f"^{message}$"):
        Cursor.decode(text)
