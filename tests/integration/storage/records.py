"""A plausible TraceRecord for storage tests; each test overrides what it checks."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from ongoingai.engine.trace import TraceRecord

#: The `diagnostics` object of trace-pipeline-diagnostics.v1 in the contract's order (§3.3),
#: while nothing was dropped and no write failed (the optional fields are then absent).
DIAGNOSTICS_FIELDS = [
    "queue_capacity",
    "queue_depth",
    "queue_depth_high_watermark",
    "queue_utilization_pct",
    "queue_high_watermark_utilization_pct",
    "queue_pressure_state",
    "queue_high_watermark_pressure_state",
    "enqueue_accepted_total",
    "enqueue_dropped_total",
    "write_dropped_total",
    "total_dropped_total",
    "store_driver",
]


def trace(**overrides: Any) -> TraceRecord:
    """A plausible trace; tests override what they check."""
    fields: dict[str, Any] = {
        "id": secrets.token_hex(16),
        "timestamp": dt.datetime.now(dt.UTC),
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request_method": "POST",
        "request_path": "/openai/v1/chat/completions",
        "response_status": 200,
    }
    fields.update(overrides)
    return TraceRecord(**fields)
