"""Log correlation: records emitted while a recording span is current get its ids.

A filter (not a formatter) so it works with whatever formatter the handler has: the JSON
formatter renders every extra attribute, so `trace_id` / `span_id` appear as fields.
"""

from __future__ import annotations

import logging

from opentelemetry import trace

from ongoingai.engine.telemetry.spans import log_ids

__all__ = ["TraceIdsFilter"]


class TraceIdsFilter(logging.Filter):
    """Adds `trace_id` and `span_id` (lower-case hex) when a recording span is current."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Never drops a record; only annotates it."""
        span = trace.get_current_span()
        if span.is_recording():
            record.__dict__.update(log_ids(span))
        return True
