"""What a limit check answers when it refuses, and the failure that makes it answer 503."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

__all__ = ["LimitStoreUnavailable", "Refusal", "seconds_until_utc_midnight", "utc_midnight"]


class LimitStoreUnavailable(Exception):
    """The state a decision needs (the shared window, today's usage) could not be read.

    The stage fails closed on it: 503 `usage_limit_check_unavailable` (contract §5.3).
    """


@dataclass(frozen=True, slots=True)
class Refusal:
    """A request the limits refuse: the contract's code and message, and when to retry."""

    code: str
    message: str
    retry_after_seconds: int


def seconds_until_utc_midnight(now: dt.datetime) -> int:
    """Whole seconds (at least 1) until the next UTC midnight, when daily quotas reset."""
    utc = now.astimezone(dt.UTC)
    midnight = utc.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return max(1, math.ceil((midnight - utc).total_seconds()))


def utc_midnight(now: dt.datetime) -> dt.datetime:
    """The start of `now`'s UTC day: daily usage is counted from there."""
    return now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
