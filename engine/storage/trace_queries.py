"""Reading traces for the API: a filtered keyset page, one trace, and a lineage's traces.

List pages select everything but the four body/header columns (which can be megabytes per
row) and use the `(created_at, id)` row-value comparison that both backends answer from the
`created_at DESC, id DESC` indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Text, and_, bindparam, select, tuple_

from .coltypes import UtcDateTime
from .cursor import Cursor
from .filters import Tenant, TraceFilter, conditions
from .rows import record_from_row
from .tables import traces

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ongoingai.engine.trace import TraceRecord

__all__ = ["TracePage", "TraceQueries"]

_HEAVY = frozenset({"request_headers", "request_body", "response_headers", "response_body"})
_SUMMARY_COLUMNS = [column for column in traces.c if column.name not in _HEAVY]
_LINEAGE_PAGE = 200


@dataclass(frozen=True, slots=True)
class TracePage:
    """One page of the list, newest first; `next_cursor` is None on the last page."""

    items: list[TraceRecord]
    next_cursor: Cursor | None


class TraceQueries:
    """The API's reads over the `traces` table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def page(
        self, f: TraceFilter, limit: int, cursor: Cursor | None = None, *, full: bool = False
    ) -> TracePage:
        """Up to `limit` traces after `cursor`; bodies and headers left out unless `full`.

        `full` is for readers that need the content of each row (the `debug` chain digests
        and diffs it a page at a time); the trace list never asks for it, as a page of
        captured bodies can weigh hundreds of megabytes.
        """
        terms = conditions(f)
        if cursor is not None:
            created = bindparam("cursor_created_at", cursor.created_at, type_=UtcDateTime())
            after = bindparam("cursor_id", cursor.id, type_=Text())
            terms.append(tuple_(traces.c.created_at, traces.c.id) < tuple_(created, after))
        query = (
            select(*(traces.c if full else _SUMMARY_COLUMNS))
            .where(and_(True, *terms))
            .order_by(traces.c.created_at.desc(), traces.c.id.desc())
            .limit(limit + 1)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        items = [record_from_row(row) for row in rows[:limit]]
        more = len(rows) > limit and bool(items)
        last = rows[limit - 1] if more else None
        return TracePage(items, Cursor(last["created_at"], last["id"]) if last else None)

    async def get(self, trace_id: str, tenant: Tenant | None = None) -> TraceRecord | None:
        """One whole trace, or None when absent or outside `tenant`."""
        terms = [traces.c.id == trace_id, *conditions(TraceFilter(tenant=tenant))]
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(traces).where(*terms))).mappings().first()
        return None if row is None else record_from_row(row)

    async def lineage(self, f: TraceFilter, limit: int) -> list[TraceRecord]:
        """Up to `limit` traces matching a lineage filter, fetched a page at a time."""
        found: list[TraceRecord] = []
        cursor: Cursor | None = None
        while len(found) < limit:
            page = await self.page(f, min(_LINEAGE_PAGE, limit - len(found)), cursor)
            found += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return found
