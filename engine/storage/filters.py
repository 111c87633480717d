"""Which traces a read is about: the tenant it is scoped to and the API's filters, as SQL.

One filter type serves the trace list, replay and every analytics query, so a tenant scope
added in one place holds in all of them (cross-tenant rows are never counted or listed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .sqlfuncs import metadata_text
from .tables import traces

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.sql.expression import ColumnElement

__all__ = ["Tenant", "TraceFilter", "conditions"]


@dataclass(frozen=True, slots=True)
class Tenant:
    """An org/workspace pair; reads scoped to it see only its traces."""

    org_id: str
    workspace_id: str


@dataclass(frozen=True, slots=True)
class TraceFilter:
    """Exact-match and range filters; empty strings, zeros and None mean "any"."""

    tenant: Tenant | None = None
    provider: str = ""
    model: str = ""
    api_key_hash: str = ""
    trace_group_id: str = ""
    thread_id: str = ""
    run_id: str = ""
    status: int = 0
    min_tokens: int = 0
    max_tokens: int = 0
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    #: Which column `start`/`end` bound. Both gateways store the same instant in `timestamp`
    #: and `created_at`; the trace list bounds `created_at`, its order column, so a window
    #: and the page order are one index range (2 ms instead of 300 ms over 1M traces).
    time_column: Literal["timestamp", "created_at"] = "timestamp"


def conditions(f: TraceFilter) -> list[ColumnElement[bool]]:
    """The WHERE terms for `f` (ANDed by the caller)."""
    c = traces.c
    terms: list[ColumnElement[bool]] = []
    if f.tenant is not None:
        terms += [c.org_id == f.tenant.org_id, c.workspace_id == f.tenant.workspace_id]
    exact: tuple[tuple[ColumnElement[str], str], ...] = (
        (c.provider, f.provider),
        (c.model, f.model),
        (c.api_key_hash, f.api_key_hash),
        (c.trace_group_id, f.trace_group_id),
        (metadata_text("lineage_thread_id"), f.thread_id),
        (metadata_text("lineage_run_id"), f.run_id),
    )
    terms += [column == value for column, value in exact if value]
    if f.status:
        terms.append(c.response_status == f.status)
    if f.min_tokens > 0:
        terms.append(c.total_tokens >= f.min_tokens)
    if f.max_tokens > 0:
        terms.append(c.total_tokens <= f.max_tokens)
    moment = c.created_at if f.time_column == "created_at" else c.timestamp
    if f.start is not None:
        terms.append(moment >= f.start)
    if f.end is not None:
        terms.append(moment <= f.end)
    return terms
