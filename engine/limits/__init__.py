"""Quotas per gateway key and per workspace: request rate windows and daily usage ledgers.

`Limiter` is the facade the `limit` stage uses; it lives in `Services` so that its state (the
windows, the ledgers, the requests in flight) survives hot reloads.
"""

from __future__ import annotations

from .ledger import DailyLedger, Quota, Reservation, TodayUsage, UsageScope, UsageSource
from .limiter import Admission, Limiter, LimitPlan
from .pg_window import PostgresWindow
from .stored_usage import StoredUsage
from .verdicts import LimitStoreUnavailable, Refusal
from .window import MemoryWindow, WindowCheck, WindowStore

__all__ = [
    "Admission",
    "DailyLedger",
    "LimitPlan",
    "LimitStoreUnavailable",
    "Limiter",
    "MemoryWindow",
    "PostgresWindow",
    "Quota",
    "Refusal",
    "Reservation",
    "StoredUsage",
    "TodayUsage",
    "UsageScope",
    "UsageSource",
    "WindowCheck",
    "WindowStore",
]
