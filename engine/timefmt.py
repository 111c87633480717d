"""RFC 3339 times as the original gateway writes and reads them (Go's RFC3339Nano).

Go prints UTC times as `2026-01-02T03:04:05.123456Z` (trailing fractional zeros trimmed) and
parses up to nanoseconds with any offset; Python's `isoformat` and `fromisoformat` differ on
both counts, and API clients compare these strings, so the exact shape lives here once.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["format_rfc3339", "parse_rfc3339"]

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def format_rfc3339(moment: dt.datetime) -> str:
    """UTC, microseconds with trailing zeros trimmed, `Z` suffix (Go's RFC3339Nano output)."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_rfc3339(text: str) -> dt.datetime:
    """An aware UTC datetime from RFC 3339 text (nanoseconds are cut to microseconds).

    Raises:
        ValueError: when the text is not RFC 3339 with an offset.
    """
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m = match.groups()
    offset = dt.timedelta(0)
    if not zulu:
        offset = dt.timedelta(hours=int(off_h), minutes=int(off_m))
        if sign == "-":
            offset = -offset
    moment = dt.datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second),
        int((fraction or "").ljust(6, "0")[:6]),
        tzinfo=dt.timezone(offset),
    )
    return moment.astimezone(dt.UTC)
