"""Query-string parsing for the admin API, with the original gateway's exact messages.

FastAPI's own validation would answer `422` with its own wording; API clients of the original
match on `limit must be <= 200` and friends, so parameters are read here by hand and a bad one
raises `InvalidParam`, which the routers turn into `400 {"error", "code": "invalid_request"}`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ongoingai.engine.timefmt import parse_rfc3339

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["InvalidParam", "Params", "TimeRange"]

_INTEGER = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_END_OF_DAY = dt.timedelta(days=1, microseconds=-1)


class InvalidParam(ValueError):
    """A query parameter was refused; `str(exc)` is the message the client sees."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """`from`/`to` bounds on the trace timestamp, both inclusive; None is open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None


class Params:
    """Typed access to one request's query string (values trimmed, as the original does)."""

    def __init__(self, query: Mapping[str, str]) -> None:
        self._query = query

    def text(self, name: str) -> str:
        """The trimmed value, or "" when absent."""
        return (self._query.get(name) or "").strip()

    def integer(self, name: str, minimum: int, maximum: int) -> int:
        """An integer within [minimum, maximum]; 0 when absent or empty.

        Raises:
            InvalidParam: `<name> must be an integer` / `must be >= N` / `must be <= N`.
        """
        raw = self.text(name)
        if not raw:
            return 0
        if not _INTEGER.match(raw):
            raise InvalidParam(f"{name} must be an integer")
        value = int(raw)
        if value < minimum:
            raise InvalidParam(f"{name} must be >= {minimum}")
        if value > maximum:
            raise InvalidParam(f"{name} must be <= {maximum}")
        return value

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        """A lowercased value among `allowed` ("" when absent).

        Raises:
            InvalidParam: `invalid <name>: "<value>"`.
        """
        value = self.text(name).lower()
        if value and value not in allowed:
            raise InvalidParam(f'invalid {name}: "{value}"')
        return value

    def time_range(self) -> TimeRange:
        """`from` and `to`: RFC 3339 (nanoseconds allowed) or a date.

        A date-only `to` is the end of that day.

        Raises:
            InvalidParam: `invalid from: expected RFC3339 or YYYY-MM-DD`, or
                `to must be greater than or equal to from`.
        """
        start = self._time("from", end_of_day=False)
        end = self._time("to", end_of_day=True)
        if start is not None and end is not None and end < start:
            raise InvalidParam("to must be greater than or equal to from")
        return TimeRange(start, end)

    def _time(self, name: str, *, end_of_day: bool) -> dt.datetime | None:
        raw = self.text(name)
        if not raw:
            return None
        if _DATE.match(raw):
            try:
                day = dt.datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=dt.UTC)
            except ValueError:
                raise InvalidParam(f"invalid {name}: expected RFC3339 or YYYY-MM-DD") from None
            return day + _END_OF_DAY if end_of_day else day
        try:
            return parse_rfc3339(raw)
        except ValueError:
            raise InvalidParam(f"invalid {name}: expected RFC3339 or YYYY-MM-DD") from None
