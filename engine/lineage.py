"""Lineage: how traces of one agent run chain into checkpoints, and their order (contract §4.8).

Clients tag requests with `X-OngoingAI-Trace-Group-ID`, `-Thread-ID`, `-Run-ID`,
`-Parent-Checkpoint-ID` and `-Checkpoint-Seq`; the `record` stage stores them in the trace
metadata. Replay and `debug` rebuild the chain from whatever subset of those a client sent, in
the original's order: parents before children, then by sequence, time and id.
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ongoingai.engine.trace import TraceRecord

__all__ = [
    "Lineage",
    "coerce_bool",
    "coerce_int",
    "lineage_of",
    "sort_lineage",
]

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


def coerce_int(value: Any) -> int | None:
    """An integer from metadata as the original reads it (§4.7).

    Ints, floats truncated, integral JSON numbers, trimmed numeric strings; None for bools,
    None and anything else.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            return None
    return None


def coerce_bool(value: Any) -> bool | None:
    """A boolean from metadata as the original reads it (§4.7).

    Bools, or the strings `true`/`false` in any case and with spaces around (clients that
    write metadata by hand often quote them); None for anything else.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "false"):
            return text == "true"
    return None


def _text(metadata: Mapping[str, Any], key: str) -> str:
    value = metadata.get(key)
    return value.strip() if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class Lineage:
    """A trace's place in its lineage (the API's `lineage` object)."""

    group_id: str
    thread_id: str
    run_id: str
    checkpoint_id: str
    parent_checkpoint_id: str
    checkpoint_seq: int
    immutable: bool = True

    def as_json(self) -> dict[str, Any]:
        """Empty ids and a zero sequence are omitted, as the original omits them."""
        body: dict[str, Any] = {}
        for key in ("group_id", "thread_id", "run_id", "checkpoint_id", "parent_checkpoint_id"):
            if value := getattr(self, key):
                body[key] = value
        if self.checkpoint_seq:
            body["checkpoint_seq"] = self.checkpoint_seq
        body["immutable"] = self.immutable
        return body


def lineage_of(record: TraceRecord) -> Lineage:
    """Read a trace's lineage from its metadata (group falls back to `trace_group_id`)."""
    meta = record.metadata
    seq = coerce_int(meta.get("lineage_checkpoint_seq")) or 0
    immutable = coerce_bool(meta.get("lineage_immutable"))
    return Lineage(
        group_id=_text(meta, "lineage_group_id") or record.trace_group_id.strip(),
        thread_id=_text(meta, "lineage_thread_id"),
        run_id=_text(meta, "lineage_run_id"),
        checkpoint_id=_text(meta, "lineage_checkpoint_id") or record.id,
        parent_checkpoint_id=_text(meta, "lineage_parent_checkpoint_id"),
        checkpoint_seq=max(seq, 0),
        immutable=True if immutable is None else immutable,
    )


@dataclass(slots=True)
class _Node:
    index: int
    record: TraceRecord
    checkpoint: str
    parent: str
    seq: int
    children: list[_Node] = field(default_factory=list)

    def key(self) -> tuple[int, int, dt.datetime, str, int]:
        when = self.record.created_at or self.record.timestamp or _EPOCH
        return (0 if self.seq > 0 else 1, self.seq, when, self.record.id, self.index)

    def __lt__(self, other: _Node) -> bool:
        return self.key() < other.key()


def sort_lineage(records: Iterable[TraceRecord]) -> list[TraceRecord]:
    """The traces in lineage order (the original's `SortLineageTraces`)."""
    nodes = [
        _Node(i, r, (ln := lineage_of(r)).checkpoint_id, ln.parent_checkpoint_id, ln.checkpoint_seq)
        for i, r in enumerate(records)
    ]
    by_checkpoint: dict[str, _Node] = {}
    for node in nodes:
        by_checkpoint.setdefault(node.checkpoint, node)
    parents: dict[int, _Node] = {}
    for node in nodes:
        parent = by_checkpoint.get(node.parent) if node.parent else None
        if parent is not None and parent is not node:
            parents[node.index] = parent
            parent.children.append(node)
    _infer_sequences(nodes, parents)
    return [node.record for node in _topological(nodes, parents)]


def _infer_sequences(nodes: list[_Node], parents: dict[int, _Node]) -> None:
    """Fill missing sequences from neighbours: parent + 1, else the lowest child - 1."""
    changed = True
    while changed:
        changed = False
        for node in nodes:
            if node.seq > 0:
                continue
            parent = parents.get(node.index)
            if parent is not None and parent.seq > 0:
                node.seq = parent.seq + 1
                changed = True
                continue
            child_seqs = [child.seq for child in node.children if child.seq > 0]
            if child_seqs and min(child_seqs) - 1 > 0:
                node.seq = min(child_seqs) - 1
                changed = True


def _topological(nodes: list[_Node], parents: dict[int, _Node]) -> list[_Node]:
    """Parents before children; ready nodes by the comparator; cycles appended the same way."""
    waiting = {node.index: 1 if node.index in parents else 0 for node in nodes}
    ready = [node for node in nodes if waiting[node.index] == 0]
    heapq.heapify(ready)
    ordered: list[_Node] = []
    while ready:
        node = heapq.heappop(ready)
        ordered.append(node)
        for child in node.children:
            waiting[child.index] -= 1
            if waiting[child.index] == 0:
                heapq.heappush(ready, child)
    placed = {node.index for node in ordered}
    ordered += sorted(node for node in nodes if node.index not in placed)
    return ordered
