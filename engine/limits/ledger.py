"""Daily token and cost quotas that hold under concurrency: counted, largest and reserved usage.

Why not just compare the traces table's sum with the limit (the original)? Traces are written
after the response ends, asynchronously: a burst of 50 concurrent requests all see the same old
sum and are all admitted, whatever the limit. The ledger instead keeps, per scope (a gateway key
or a workspace), per UTC day, and separately for tokens and for cost:

- `counted`: usage of the requests that ended today. Seeded from the traces table on first use
  (so a restart keeps the day's usage) and refreshed from it every `refresh_s` (other replicas'
  usage), and raised by each request's own usage as soon as it ends, without waiting for its
  trace to be written. A refresh sets `max(counted, traces sum)`: both are lower bounds of the
  truth (the sum lags by the traces not yet written, `counted` by other processes' usage), so
  the result never counts anything twice.
- `largest`: the largest usage of a single request seen today.
- `reserved` and `in_flight`: what admitted requests that are still running hold.

For one quota with limit L a request is:

- refused (429) once `counted ≥ L` (the contract's rule);
- admitted when nothing is in flight, reserving `largest` (all that remains, `L - counted`,
  while no usage has been seen today);
- admitted when `counted + reserved + largest ≤ L`, reserving `largest`;
- otherwise it waits (at most `wait_s`) for a request in flight to end, then decides again. A
  request that waited in vain is refused with the quota's code and `Retry-After: 1`.

Bound. Let P = counted + reserved. A request admitted while others are in flight keeps
P <= L; one admitted while nothing is in flight starts from counted < L and adds its
reservation r. When a request ends, its usage u replaces its reservation, so P does not grow
as long as u <= r. Hence the usage counted for a day stays below `L + r`, at most `L + one
request's usage`: the overshoot strictly sequential traffic has (the last request admitted
below the limit runs to completion), as long as no request uses more than it reserved, i.e.
more than the largest single request seen before it that day. A request that does adds its
excess once; afterwards it is the new largest. Requests in flight in other processes are not
seen (see `Limiter.for_storage`).

A request holds all its quotas (key tokens, key cost, workspace tokens, workspace cost) or none:
checking and reserving happen without suspending, so the check-then-reserve is atomic.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol

from .verdicts import Refusal, seconds_until_utc_midnight, utc_midnight

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "DEFAULT_REFRESH_S",
    "DailyLedger",
    "Kind",
    "Quota",
    "Reservation",
    "TodayUsage",
    "UsageScope",
    "UsageSource",
]

Kind = Literal["tokens", "cost"]
ZERO = Decimal(0)
#: How stale the traces-table view of a scope may get (other replicas' usage).
DEFAULT_REFRESH_S = 5.0


@dataclass(frozen=True, slots=True)
class UsageScope:
    """Whose usage a quota counts: a workspace, or one gateway key within it."""

    org_id: str
    workspace_id: str
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class TodayUsage:
    """A scope's usage stored since UTC midnight: totals and the largest single request."""

    tokens: Decimal = ZERO
    largest_tokens: Decimal = ZERO
    cost: Decimal = ZERO
    largest_cost: Decimal = ZERO


class UsageSource(Protocol):
    """Reads a scope's stored usage since `since` (the traces table)."""

    async def __call__(self, scope: UsageScope, since: dt.datetime) -> TodayUsage:
        """Totals for `scope` from `since` to now.

        Raises:
            LimitStoreUnavailable: the store could not be asked.
        """
        ...


@dataclass(frozen=True, slots=True)
class Quota:
    """One daily limit a request must fit in, and what its refusal says."""

    scope: UsageScope
    kind: Kind
    limit: Decimal
    code: str
    message: str


@dataclass(slots=True)
class _Meter:
    """One quantity (tokens or cost) of one scope for one day."""

    counted: Decimal = ZERO
    largest: Decimal = ZERO
    reserved: Decimal = ZERO
    in_flight: int = 0

    def reservation(self, limit: Decimal) -> Decimal | None:
        """What a new request would reserve now, or None when it has to wait."""
        if self.in_flight == 0:
            return self.largest if self.largest > 0 else limit - self.counted
        if self.largest > 0 and self.counted + self.reserved + self.largest <= limit:
            return self.largest
        return None

    def add(self, used: Decimal) -> None:
        self.counted += used
        self.largest = max(self.largest, used)

    def learn(self, stored: Decimal, largest: Decimal) -> None:
        self.counted = max(self.counted, stored)
        self.largest = max(self.largest, largest)


@dataclass(slots=True)
class _Entry:
    """Everything the ledger knows about one scope on one UTC day."""

    day: dt.date
    tokens: _Meter = field(default_factory=_Meter)
    cost: _Meter = field(default_factory=_Meter)
    refreshed_at: float | None = None  # monotonic; None until seeded from the store
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def meter(self, kind: Kind) -> _Meter:
        return self.tokens if kind == "tokens" else self.cost


@dataclass(frozen=True, slots=True)
class _Hold:
    entry: _Entry
    kind: Kind
    amount: Decimal


class Reservation:
    """What one admitted request holds; `settle` it exactly once when the request ends."""

    __slots__ = ("_holds", "_ledger", "_open", "_scopes")

    def __init__(
        self, ledger: DailyLedger, holds: list[_Hold], scopes: dict[UsageScope, _Entry]
    ) -> None:
        self._ledger = ledger
        self._holds = holds
        self._scopes = scopes
        self._open = True

    def settle(self, tokens: Decimal, cost: Decimal) -> None:
        """Replace the reservations by the request's actual usage (idempotent)."""
        if not self._open:
            return
        self._open = False
        self._ledger.settle(self._holds, self._scopes, tokens, cost)

    def release(self) -> None:
        """The request used nothing (it was refused later on): free what it reserved."""
        self.settle(ZERO, ZERO)


class DailyLedger:
    """Daily quotas for one process; see the module docstring for the rule and its bound."""

    def __init__(
        self,
        source: UsageSource | None,
        refresh_s: float = DEFAULT_REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._source = source
        self._refresh_s = refresh_s
        self._clock = clock
        self._now = now
        self._entries: dict[UsageScope, _Entry] = {}
        self._changed = asyncio.Event()

    async def admit(self, quotas: Sequence[Quota], wait_s: float) -> Reservation | Refusal:
        """Reserve room in every quota, waiting for requests in flight when there is none yet.

        Raises:
            LimitStoreUnavailable: today's stored usage could not be read.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            now = self._now()
            await self._fresh(quotas, now)
            changed = self._changed  # taken before deciding, so no wake-up is missed
            verdict = self._decide(quotas, now)
            if not isinstance(verdict, Quota):
                return verdict
            remaining = deadline - loop.time()
            if remaining <= 0:
                return Refusal(verdict.code, verdict.message, 1)
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                continue  # decide once more: the last request may have ended just now

    def settle(
        self,
        holds: Sequence[_Hold],
        scopes: dict[UsageScope, _Entry],
        tokens: Decimal,
        cost: Decimal,
    ) -> None:
        """Free the holds and count the usage in every scope the request was checked in."""
        for hold in holds:
            meter = hold.entry.meter(hold.kind)
            meter.reserved -= hold.amount
            meter.in_flight -= 1
        today = self._now().date()
        for scope, entry in scopes.items():
            # A request that ran past midnight counts on the day it ended, as its trace does.
            target = entry if entry.day == today else self._entry(scope, today)
            target.tokens.add(Decimal(tokens))
            target.cost.add(Decimal(cost))
        self._changed.set()
        self._changed = asyncio.Event()

    def _decide(self, quotas: Sequence[Quota], now: dt.datetime) -> Reservation | Refusal | Quota:
        """Admit (all quotas reserved), refuse, or name the quota to wait for. Never suspends."""
        day = now.date()
        scopes = {q.scope: self._entry(q.scope, day) for q in quotas}
        for quota in quotas:
            if scopes[quota.scope].meter(quota.kind).counted >= quota.limit:
                return Refusal(quota.code, quota.message, seconds_until_utc_midnight(now))
        holds: list[_Hold] = []
        for quota in quotas:
            entry = scopes[quota.scope]
            amount = entry.meter(quota.kind).reservation(quota.limit)
            if amount is None:
                return quota
            holds.append(_Hold(entry, quota.kind, amount))
        for hold in holds:
            meter = hold.entry.meter(hold.kind)
            meter.reserved += hold.amount
            meter.in_flight += 1
        return Reservation(self, holds, scopes)

    def _entry(self, scope: UsageScope, day: dt.date) -> _Entry:
        entry = self._entries.get(scope)
        if entry is None or entry.day < day:
            entry = _Entry(day)
            if self._source is None:
                entry.refreshed_at = self._clock()  # nothing stored to seed from
            self._entries[scope] = entry
        return entry

    async def _fresh(self, quotas: Sequence[Quota], now: dt.datetime) -> None:
        """Seed (first use today) or refresh (older than `refresh_s`) the quotas' scopes."""
        source = self._source
        if source is None:
            return
        for scope in dict.fromkeys(q.scope for q in quotas):
            entry = self._entry(scope, now.date())
            if self._is_fresh(entry):
                continue
            async with entry.lock:  # one query per scope at a time; the others wait for it
                if self._is_fresh(entry):
                    continue
                stored = await source(scope, utc_midnight(now))
                entry.tokens.learn(stored.tokens, stored.largest_tokens)
                entry.cost.learn(stored.cost, stored.largest_cost)
                entry.refreshed_at = self._clock()

    def _is_fresh(self, entry: _Entry) -> bool:
        at = entry.refreshed_at
        return at is not None and self._clock() - at < self._refresh_s
