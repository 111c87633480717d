"""Go duration text for `--timeout` flags: parsed as Go parses it, printed as Go prints it."""

from __future__ import annotations

import pytest

from ongoingai.engine.durations import format_go_duration, parse_go_duration

MS = 1_000_000
S = 1_000 * MS


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("5s", 5 * S),
        ("500ms", 500 * MS),
        ("1m", 60 * S),
        ("1m30s", 90 * S),
        ("1h0m0s", 3600 * S),
        ("1.5s", 1500 * MS),
        (".5s", 500 * MS),
        ("300us", 300_000),
        ("300µs", 300_000),
        ("7ns", 7),
        ("0", 0),
        ("-1s", -S),
        ("+2m", 120 * S),
    ],
)
def test_parse_go_duration_accepts_go_syntax(text: str, ns: int):
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize("text", ["", "5", "s", "1x", "abc", "-", "1s ", " 1s", "1.s.5"])
def test_parse_go_duration_rejects_numbers_without_units_and_junk(text: str):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_go_duration(text)


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"),
        (-S, "-1s"),
        (-1500 * MS, "-1.5s"),
        (500 * MS, "500ms"),
        (60 * S, "1m0s"),
        (3600 * S, "1h0m0s"),
        (90 * S, "1m30s"),
        (1500, "1.5µs"),
        (7, "7ns"),
    ],
)
def test_format_go_duration_prints_like_go(ns: int, text: str):
    assert format_go_duration(ns) == text
