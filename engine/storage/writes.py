"""Write transactions: serialized in-process for SQLite, with the contract's busy retry.

SQLite allows one writer per file. Serializing writers of this process behind one lock keeps
them from fighting over the file lock; `BEGIN IMMEDIATE` takes the write lock up front so a
transaction never fails half-way when upgrading from read to write; and what contention is left
(other processes) is retried up to 12 times with 5 ms backoff doubling to 250 ms (contract §4.1).
PostgreSQL needs none of this: its writes simply run in one transaction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import OperationalError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = [
    "BEGIN_MODE_OPTION",
    "WRITE_GATE_OPTION",
    "BusyRetry",
    "WriteGate",
    "is_sqlite_busy",
    "run_write",
]

T = TypeVar("T")

# SQLITE_BUSY reads "database is locked"; SQLITE_LOCKED "database table is locked".
_BUSY_MARKERS = ("database is locked", "database table is locked", "sqlite_busy")

#: Execution option naming the SQLite BEGIN flavour (read by the `begin` event in `db.py`).
BEGIN_MODE_OPTION = "ongoingai_sqlite_begin"
#: Engine execution option holding the engine's `WriteGate` (user-defined options are allowed).
WRITE_GATE_OPTION = "ongoingai_write_gate"


@dataclass(frozen=True, slots=True)
class BusyRetry:
    """How often and how patiently a busy/locked SQLite write is retried."""

    attempts: int = 12
    first_delay_s: float = 0.005
    max_delay_s: float = 0.250

    def delays(self) -> list[float]:
        """The sleeps between attempts: 5 ms, 10 ms, ... capped (one fewer than attempts)."""
        out: list[float] = []
        delay = self.first_delay_s
        for _ in range(max(0, self.attempts - 1)):
            out.append(delay)
            delay = min(delay * 2, self.max_delay_s)
        return out


@dataclass(slots=True)
class WriteGate:
    """The in-process writer mutex of one SQLite engine, and its retry policy."""

    retry: BusyRetry = field(default_factory=BusyRetry)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def is_sqlite_busy(exc: BaseException) -> bool:
    """True for SQLITE_BUSY / SQLITE_LOCKED, the errors worth waiting out."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(marker in text for marker in _BUSY_MARKERS)


async def run_write(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `work` inside one write transaction and return its result.

    On SQLite the call holds the engine's write gate, opens the transaction with
    `BEGIN IMMEDIATE`, and retries the whole transaction on busy/locked errors. `work` may thus
    run more than once and must not have side effects outside the connection.
    """
    gate = engine.get_execution_options().get(WRITE_GATE_OPTION)
    if not isinstance(gate, WriteGate):
        async with engine.begin() as conn:
            return await work(conn)
    async with gate.lock:
        for delay in gate.retry.delays():
            try:
                return await _sqlite_transaction(engine, work)
            except OperationalError as exc:
                if not is_sqlite_busy(exc):
                    raise
            await asyncio.sleep(delay)
        return await _sqlite_transaction(engine, work)


async def _sqlite_transaction(
    engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]
) -> T:
    async with engine.connect() as conn:
        await conn.execution_options(**{BEGIN_MODE_OPTION: "IMMEDIATE"})
        async with conn.begin():
            return await work(conn)
