"""The trace writer's counters and the contract's diagnostics object (§3.3, §7.2).

Kept apart from the writer so the arithmetic (floors, pressure thresholds, which keys are
omitted) is one small, readable function of plain numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .failures import FAILURE_CLASSES, FailureClass

__all__ = ["WriterCounters", "pressure_state", "utilization_pct"]


def utilization_pct(depth: int, capacity: int) -> int:
    """floor(depth * 100 / capacity); 0 when either is <= 0; 100 once depth reaches capacity."""
    if capacity <= 0 or depth <= 0:
        return 0
    if depth >= capacity:
        return 100
    return depth * 100 // capacity


def pressure_state(pct: int) -> str:
    """`saturated` at 100 %, `high` from 80, `elevated` from 50, else `ok`."""
    if pct >= 100:
        return "saturated"
    if pct >= 80:
        return "high"
    if pct >= 50:
        return "elevated"
    return "ok"


def _rfc3339(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class WriterCounters:
    """Everything the writer counts; mutated only from the event loop that runs the writer."""

    capacity: int
    store_driver: str
    high_watermark: int = 0
    accepted: int = 0
    enqueue_dropped: int = 0
    write_dropped: int = 0
    last_enqueue_drop_at: dt.datetime | None = None
    last_write_drop_at: dt.datetime | None = None
    last_write_drop_operation: str = ""
    failures: dict[FailureClass, int] = field(default_factory=dict)

    def on_accepted(self, depth: int) -> None:
        """Count one queued record; the high watermark is the deepest queue seen."""
        self.accepted += 1
        self.high_watermark = max(self.high_watermark, depth)

    def on_enqueue_drop(self) -> None:
        """Count one record refused at the door (the queue was full, or the writer closed)."""
        self.enqueue_dropped += 1
        self.high_watermark = self.capacity
        self.last_enqueue_drop_at = dt.datetime.now(dt.UTC)

    def on_write_failure(self, cls: FailureClass) -> None:
        """Count one failed write attempt (retried or not) under its failure class."""
        self.failures[cls] = self.failures.get(cls, 0) + 1

    def on_write_drop(self, count: int, operation: str) -> None:
        """Count `count` accepted records that will never reach the database."""
        if count <= 0:
            return
        self.write_dropped += count
        self.last_write_drop_at = dt.datetime.now(dt.UTC)
        self.last_write_drop_operation = operation

    def snapshot(self, depth: int) -> dict[str, Any]:
        """The `diagnostics` object; optional keys are omitted while they have no value."""
        now_pct = utilization_pct(depth, self.capacity)
        high_pct = utilization_pct(self.high_watermark, self.capacity)
        out: dict[str, Any] = {
            "queue_capacity": self.capacity,
            "queue_depth": depth,
            "queue_depth_high_watermark": self.high_watermark,
            "queue_utilization_pct": now_pct,
            "queue_high_watermark_utilization_pct": high_pct,
            "queue_pressure_state": pressure_state(now_pct),
            "queue_high_watermark_pressure_state": pressure_state(high_pct),
            "enqueue_accepted_total": self.accepted,
            "enqueue_dropped_total": self.enqueue_dropped,
            "write_dropped_total": self.write_dropped,
            "total_dropped_total": self.enqueue_dropped + self.write_dropped,
        }
        if self.last_enqueue_drop_at is not None:
            out["last_enqueue_drop_at"] = _rfc3339(self.last_enqueue_drop_at)
        if self.last_write_drop_at is not None:
            out["last_write_drop_at"] = _rfc3339(self.last_write_drop_at)
            out["last_write_drop_operation"] = self.last_write_drop_operation
        by_class = {c: self.failures[c] for c in FAILURE_CLASSES if self.failures.get(c)}
        if by_class:
            out["write_failures_by_class"] = by_class
        out["store_driver"] = self.store_driver
        return out
