"""A scope's usage since UTC midnight, read from the traces table (the ledger's seed).

The same filter as the original's quota check (contract §7.1): the caller's org and workspace,
`timestamp` from midnight on, and for a key also its `gateway_key_id`; served by the
`(org_id, workspace_id, gateway_key_id, timestamp)` and `(org_id, workspace_id, timestamp)`
indexes. Cost is summed from the exact `cost_nanousd` column.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ongoingai.engine.storage.tables import traces

from .ledger import TodayUsage, UsageScope
from .verdicts import LimitStoreUnavailable

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["StoredUsage"]

_T = traces.c
_TOTALS = select(
    func.coalesce(func.sum(_T.total_tokens), 0),
    func.coalesce(func.max(_T.total_tokens), 0),
    func.coalesce(func.sum(_T.cost_nanousd), 0),
    func.coalesce(func.max(_T.cost_nanousd), 0),
)


class StoredUsage:
    """`UsageSource` over the traces table of a storage engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def __call__(self, scope: UsageScope, since: dt.datetime) -> TodayUsage:
        """Totals of `scope` since `since`.

        Raises:
            LimitStoreUnavailable: the database could not be asked.
        """
        query = _TOTALS.where(
            _T.org_id == scope.org_id,
            _T.workspace_id == scope.workspace_id,
            _T.timestamp >= since,
        )
        if scope.key_id is not None:
            query = query.where(_T.gateway_key_id == scope.key_id)
        try:
            async with self._engine.connect() as conn:
                tokens, largest_tokens, nanos, largest_nanos = (await conn.execute(query)).one()
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            raise LimitStoreUnavailable(f"stored usage: {exc}") from exc
        return TodayUsage(
            tokens=Decimal(tokens),
            largest_tokens=Decimal(largest_tokens),
            cost=Decimal(nanos).scaleb(-9),
            largest_cost=Decimal(largest_nanos).scaleb(-9),
        )
