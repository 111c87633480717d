"""Finding the source trace and reading its chain out of storage (contract §1.6).

The source is the trace named by `--trace-id`, else the newest trace matching the chain
filters (or the newest of all). Its chain is every trace matching the explicit filters,
ANDed, or else the source's own lineage group/thread/run; read newest first, 200 a page,
up to `--limit`, and put in lineage order (§4.8). The source is always part of its chain,
even when the limit or a foreign row's metadata would leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ongoingai.engine.lineage import lineage_of, sort_lineage
from ongoingai.engine.storage.filters import TraceFilter

from .model import ChainItem, Options, Selection

if TYPE_CHECKING:
    from collections.abc import Callable

    from ongoingai.engine.storage.cursor import Cursor
    from ongoingai.engine.storage.trace_queries import TraceQueries

__all__ = [
    "PAGE_SIZE",
    "Chain",
    "NoTraces",
    "TraceNotFound",
    "read_chain",
    "resolve_source",
]

#: Traces read per query: bounded memory per page even with whole bodies selected.
PAGE_SIZE = 200
_SINGLE = "(single trace)"


class TraceNotFound(LookupError):
    """`--trace-id` names no stored trace."""


class NoTraces(LookupError):
    """Nothing is stored (or nothing matches the chain filters) to pick a source from."""


@dataclass(frozen=True, slots=True)
class Chain:
    """The source's chain in lineage order, and how it was picked."""

    group_id: str
    thread_id: str
    run_id: str
    lineage_identifier: str
    items: list[ChainItem]
    truncated: bool


async def resolve_source(
    queries: TraceQueries, selection: Selection, options: Options
) -> ChainItem:
    """The source trace, with its content when the options need it.

    Raises:
        TraceNotFound: `--trace-id` was given and no such trace exists.
        NoTraces: no trace is stored, or none matches the chain filters.
    """
    if selection.trace_id:
        record = await queries.get(selection.trace_id)
        if record is None:
            raise TraceNotFound(selection.trace_id)
        return ChainItem.of(record, options)
    page = await queries.page(selection.chain_filter(), 1, full=options.needs_content)
    if not page.items:
        raise NoTraces
    return ChainItem.of(page.items[0], options)


def _identifier(selection: Selection) -> str:
    """Which filter picked an explicit chain: its column name, or `composite_filter`."""
    named = [
        name
        for name, value in (
            ("trace_group_id", selection.trace_group_id),
            ("lineage_thread_id", selection.thread_id),
            ("lineage_run_id", selection.run_id),
        )
        if value
    ]
    return "composite_filter" if len(named) > 1 else (named[0] if named else _SINGLE)


def _chain_filter(source: ChainItem, selection: Selection) -> tuple[TraceFilter, str]:
    """The filter for the chain query and the chain's `lineage_identifier`.

    Without explicit filters the source's own lineage decides: its group (metadata
    `lineage_group_id`, else the `trace_group_id` column), thread and run, all ANDed, and
    the identifier names the first of them present.
    """
    if selection.has_chain_filter:
        return selection.chain_filter(), _identifier(selection)
    origin = lineage_of(source.record)
    derived = TraceFilter(
        trace_group_id=origin.group_id, thread_id=origin.thread_id, run_id=origin.run_id
    )
    if origin.group_id:
        return derived, "trace_group_id"
    if origin.thread_id:
        return derived, "lineage_thread_id"
    return derived, "lineage_run_id" if origin.run_id else _SINGLE


async def _read_pages(
    queries: TraceQueries,
    f: TraceFilter,
    options: Options,
    progress: Callable[[int], None],
) -> tuple[list[ChainItem], bool]:
    """Up to `options.limit` matching traces, newest first, and whether more existed."""
    found: list[ChainItem] = []
    cursor: Cursor | None = None
    while len(found) < options.limit:
        size = min(PAGE_SIZE, options.limit - len(found))
        page = await queries.page(f, size, cursor, full=options.needs_content)
        found += [ChainItem.of(record, options) for record in page.items]
        progress(len(found))
        if page.next_cursor is None:
            return found, False
        cursor = page.next_cursor
    return found, True


async def read_chain(
    queries: TraceQueries,
    source: ChainItem,
    selection: Selection,
    options: Options,
    progress: Callable[[int], None] = lambda _count: None,
) -> Chain:
    """The source's chain, read a page at a time; `progress` hears the running count."""
    f, identifier = _chain_filter(source, selection)
    items: list[ChainItem] = []
    truncated = False
    if f.trace_group_id or f.thread_id or f.run_id:
        items, truncated = await _read_pages(queries, f, options, progress)
    if all(item.id != source.id for item in items):
        items.append(source)
    by_id = {item.id: item for item in items}
    ordered = [by_id[record.id] for record in sort_lineage(item.record for item in items)]
    return Chain(
        group_id=f.trace_group_id,
        thread_id=f.thread_id,
        run_id=f.run_id,
        lineage_identifier=identifier,
        items=ordered,
        truncated=truncated,
    )
