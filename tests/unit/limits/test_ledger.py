"""The daily ledger: the contract's refusal rule, reservations, waiting, and the overshoot bound.

Concurrency is simulated with asyncio tasks that hold their admission for a few event-loop
turns before settling, so requests really overlap; nothing here depends on wall-clock timing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from decimal import Decimal

import pytest

from ongoingai.engine.limits import DailyLedger, Quota, Refusal, Reservation, UsageScope

pytestmark = pytest.mark.anyio

KEY = UsageScope("org", "ws", "key-a")
WORKSPACE = UsageScope("org", "ws")


def tokens(limit: int, scope: UsageScope = KEY) -> Quota:
    whose = "key" if scope.key_id else "workspace"
    return Quota(
        scope,
        "tokens",
        Decimal(limit),
        f"{whose.upper()}_DAILY_TOKENS_EXCEEDED",
        f"daily token limit exceeded for {whose}",
    )


def cost(limit: str, scope: UsageScope = KEY) -> Quota:
    return Quota(
        scope,
        "cost",
        Decimal(limit),
        "KEY_DAILY_COST_EXCEEDED",
        "daily cost limit exceeded for key",
    )


class Wall:
    """A settable UTC clock."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 1, 23, 59, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


async def _request(
    ledger: DailyLedger, quotas: list[Quota], used: int, cost_used: str = "0", turns: int = 3
) -> bool:
    verdict = await ledger.admit(quotas, wait_s=30)
    if isinstance(verdict, Refusal):
        return False
    for _ in range(turns):  # in flight for a few loop turns: others run meanwhile
        await asyncio.sleep(0)
    verdict.settle(Decimal(used), Decimal(cost_used))
    return True


async def test_a_quota_is_refused_once_the_counted_usage_reaches_the_limit():
    wall = Wall()
    ledger = DailyLedger(None, now=wall)
    first = await ledger.admit([tokens(100)], wait_s=0)
    assert isinstance(first, Reservation)
    first.settle(Decimal(100), Decimal(0))

    refusal = await ledger.admit([tokens(100)], wait_s=0)

    assert refusal == Refusal(
        "KEY_DAILY_TOKENS_EXCEEDED", "daily token limit exceeded for key", 30
    )  # retry at the next UTC midnight, 30 s away


async def test_the_day_starts_over_at_utc_midnight():
    wall = Wall()
    ledger = DailyLedger(None, now=wall)
    spent = await ledger.admit([tokens(10)], wait_s=0)
    assert isinstance(spent, Reservation)
    spent.settle(Decimal(10), Decimal(0))
    assert isinstance(await ledger.admit([tokens(10)], wait_s=0), Refusal)

    wall.now += dt.timedelta(seconds=31)

    assert isinstance(await ledger.admit([tokens(10)], wait_s=0), Reservation)


async def test_while_no_usage_is_known_requests_run_one_at_a_time():
    ledger = DailyLedger(None)
    first = await ledger.admit([tokens(1000)], wait_s=0)

    second = await ledger.admit([tokens(1000)], wait_s=0)

    assert isinstance(first, Reservation)
    assert second == Refusal("KEY_DAILY_TOKENS_EXCEEDED", "daily token limit exceeded for key", 1)


async def test_once_usage_is_known_requests_that_fit_run_together():
    ledger = DailyLedger(None)
    first = await ledger.admit([tokens(100)], wait_s=0)
    assert isinstance(first, Reservation)
    first.settle(Decimal(30), Decimal(0))

    together = [await ledger.admit([tokens(100)], wait_s=0) for _ in range(3)]

    # 30 counted: room for two more reservations of 30 (30 + 2 x 30 <= 100), not three
    assert [isinstance(v, Reservation) for v in together] == [True, True, False]


async def test_a_waiting_request_is_admitted_when_a_request_in_flight_ends():
    ledger = DailyLedger(None)
    running = await ledger.admit([tokens(1000)], wait_s=0)
    assert isinstance(running, Reservation)
    waiting = asyncio.ensure_future(ledger.admit([tokens(1000)], wait_s=30))
    for _ in range(3):
        await asyncio.sleep(0)
    assert not waiting.done()

    running.settle(Decimal(40), Decimal(0))

    assert isinstance(await waiting, Reservation)


async def test_a_waiting_request_is_refused_when_the_request_in_flight_exhausts_the_quota():
    ledger = DailyLedger(None)
    running = await ledger.admit([tokens(100)], wait_s=0)
    assert isinstance(running, Reservation)
    waiting = asyncio.ensure_future(ledger.admit([tokens(100)], wait_s=30))
    await asyncio.sleep(0)

    running.settle(Decimal(120), Decimal(0))

    refusal = await waiting
    assert isinstance(refusal, Refusal) and refusal.retry_after_seconds > 1


async def test_a_released_reservation_frees_its_room_without_counting_usage():
    ledger = DailyLedger(None)
    held = await ledger.admit([tokens(100)], wait_s=0)
    assert isinstance(held, Reservation)

    held.release()
    held.settle(Decimal(500), Decimal(0))  # settling twice changes nothing

    assert isinstance(await ledger.admit([tokens(100)], wait_s=0), Reservation)


async def test_a_request_that_cannot_hold_every_quota_holds_none():
    ledger = DailyLedger(None)
    both = [tokens(100), tokens(1000, WORKSPACE)]
    warm = await ledger.admit(both, wait_s=0)
    assert isinstance(warm, Reservation)
    warm.settle(Decimal(50), Decimal(0))  # counted 50 in both; the largest request is 50
    assert isinstance(await ledger.admit(both, wait_s=0), Reservation)  # holds 50 in both

    refused = await ledger.admit(both, wait_s=0)  # the key has no room: 50 + 50 + 50 > 100

    assert isinstance(refused, Refusal) and refused.code == "KEY_DAILY_TOKENS_EXCEEDED"
    # the workspace holds only the admitted request's 50: (1000 - 50 - 50) / 50 = 18 more fit
    workspace_only = [await ledger.admit([tokens(1000, WORKSPACE)], 0) for _ in range(19)]
    assert [isinstance(v, Reservation) for v in workspace_only] == [True] * 18 + [False]


async def test_exhausted_quotas_are_reported_in_the_contracts_order():
    ledger = DailyLedger(None)
    spent = await ledger.admit([tokens(10), cost("0.01"), tokens(10, WORKSPACE)], wait_s=0)
    assert isinstance(spent, Reservation)
    spent.settle(Decimal(10), Decimal("0.01"))

    refusal = await ledger.admit([tokens(10), cost("0.01"), tokens(10, WORKSPACE)], wait_s=0)

    assert isinstance(refusal, Refusal) and refusal.code == "KEY_DAILY_TOKENS_EXCEEDED"
    refusal = await ledger.admit([cost("0.01"), tokens(10, WORKSPACE)], wait_s=0)
    assert isinstance(refusal, Refusal) and refusal.code == "KEY_DAILY_COST_EXCEEDED"


async def test_a_burst_of_fifty_admits_what_sequential_traffic_would_and_no_more():
    ledger = DailyLedger(None)
    limit, used = 1000, 30

    admitted = await asyncio.gather(*(_request(ledger, [tokens(limit)], used) for _ in range(50)))

    # sequentially: admitted while counted < 1000, i.e. 34 requests (33 x 30 = 990 < 1000)
    assert admitted.count(True) == 34
    assert admitted.count(True) * used < limit + used


async def test_a_cost_burst_admits_what_sequential_traffic_would_and_no_more():
    ledger = DailyLedger(None)

    admitted = await asyncio.gather(
        *(_request(ledger, [cost("0.001")], 0, "0.00007") for _ in range(50))
    )

    assert admitted.count(True) == 15  # 14 x 0.00007 = 0.00098 < 0.001 <= 15 x 0.00007


@pytest.mark.parametrize("seed", range(20))
async def test_usage_stays_below_limit_plus_one_request_for_any_interleaving(seed: int):
    rng = random.Random(seed)  # noqa: S311 - a reproducible interleaving, not a secret
    ledger = DailyLedger(None)
    limit = rng.randint(50, 2000)
    largest = rng.randint(1, 200)
    usages = [largest] + [rng.randint(0, largest) for _ in range(79)]
    spent: list[int] = []

    async def one(used: int, delay: int) -> None:
        for _ in range(delay):
            await asyncio.sleep(0)
        if await _request(ledger, [tokens(limit)], used, turns=rng.randint(0, 6)):
            spent.append(used)

    await one(usages[0], 0)  # the day's first request: the largest of the day
    await asyncio.gather(*(one(u, rng.randint(0, 10)) for u in usages[1:]))

    assert sum(spent) < limit + largest
