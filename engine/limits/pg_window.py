"""Request windows shared by every gateway process on one PostgreSQL database.

A limit of N requests per minute then holds for the fleet, not per replica (SPEC §5). Each
admission is one transaction over `rate_limit_hits(scope, at)`:

1. `pg_advisory_xact_lock` on every scope of the request, in ascending lock-key order, so two
   transactions never wait on each other in a cycle; the locks are held until commit, so the
   admissions of one scope are serialized across processes;
2. read the database clock once (`clock_timestamp()`, after the locks), so replicas with
   skewed clocks still agree on what "the last minute" is;
3. count each scope's hits after now - 60 s; refuse at `limit` (nothing is written);
4. otherwise insert one hit per scope and delete that scope's expired hits.

Every two minutes a process also deletes every expired hit, so scopes that went quiet leave
no rows behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, text
from sqlalchemy.exc import SQLAlchemyError

from .verdicts import LimitStoreUnavailable, Refusal
from .window import SWEEP_EVERY_S, WINDOW_S, WindowCheck, retry_after

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["PostgresWindow", "lock_key"]

_WINDOW = dt.timedelta(seconds=WINDOW_S)
_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_NOW = text("SELECT clock_timestamp()")
_COUNT = text(
    "SELECT scope, count(*) AS hits, min(at) AS oldest FROM rate_limit_hits "
    "WHERE scope IN :scopes AND at > :since GROUP BY scope"
).bindparams(bindparam("scopes", expanding=True))
_INSERT = text("INSERT INTO rate_limit_hits (scope, at) VALUES (:scope, :at)")
_PRUNE = text("DELETE FROM rate_limit_hits WHERE scope IN :scopes AND at <= :since").bindparams(
    bindparam("scopes", expanding=True)
)
_SWEEP = text("DELETE FROM rate_limit_hits WHERE at <= :since")


def lock_key(scope: str) -> int:
    """A stable signed 64-bit advisory-lock key for a scope (the same in every process)."""
    digest = hashlib.blake2b(b"ongoingai.rate_limit:" + scope.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresWindow:
    """`WindowStore` over the shared `rate_limit_hits` table (migration 009)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._swept_at = time.monotonic()

    async def admit(self, checks: Sequence[WindowCheck]) -> Refusal | None:
        """See `WindowStore.admit`.

        Raises:
            LimitStoreUnavailable: the database could not be asked.
        """
        try:
            async with self._engine.begin() as conn:
                refusal = await _admit(conn, checks)
                await self._sweep(conn)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            raise LimitStoreUnavailable(f"rate limit window: {exc}") from exc
        return refusal

    async def _sweep(self, conn: AsyncConnection) -> None:
        if time.monotonic() - self._swept_at < SWEEP_EVERY_S:
            return
        self._swept_at = time.monotonic()
        # Twice the window: a transaction still deciding with a slightly older clock reading
        # never loses a hit it could count.
        horizon = (await conn.execute(_NOW)).scalar_one() - 2 * _WINDOW
        await conn.execute(_SWEEP, {"since": horizon})


async def _admit(conn: AsyncConnection, checks: Sequence[WindowCheck]) -> Refusal | None:
    for key in sorted({lock_key(check.scope) for check in checks}):
        await conn.execute(_LOCK, {"key": key})
    now: dt.datetime = (await conn.execute(_NOW)).scalar_one()
    since = now - _WINDOW
    scopes = [check.scope for check in checks]
    rows = (await conn.execute(_COUNT, {"scopes": scopes, "since": since})).all()
    found = {row.scope: (int(row.hits), row.oldest) for row in rows}
    for check in checks:
        hits, oldest = found.get(check.scope, (0, None))
        if hits >= check.limit and oldest is not None:
            age = (now - oldest).total_seconds()  # on the database clock
            return Refusal(check.code, check.message, retry_after(oldest=0.0, now=age))
    await conn.execute(_INSERT, [{"scope": scope, "at": now} for scope in scopes])
    await conn.execute(_PRUNE, {"scopes": scopes, "since": since})
    return None
