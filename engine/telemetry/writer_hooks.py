"""What the trace writer reports per batch: a `gateway.trace.write` root span and metrics.

The writer runs outside any request, so its span is a root span (contract §7.4); it is made
current while the batch is written so the writer's own log records carry its ids.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Status, StatusCode

from ongoingai.engine.telemetry.scrub import scrub

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from ongoingai.engine.telemetry.sinks import MetricsSinks

__all__ = ["WriteBatch", "WriterTelemetry"]


class WriterTelemetry:
    """Given to the trace writer once telemetry is up; opens one `WriteBatch` per batch."""

    __slots__ = ("_metrics", "_store", "_tracer")

    def __init__(self, tracer: Tracer | None, metrics: MetricsSinks, store: str) -> None:
        self._tracer = tracer
        self._metrics = metrics
        self._store = store

    def begin(self, size: int) -> WriteBatch:
        """A batch of `size` records is about to be written."""
        span = None
        if self._tracer is not None:
            span = self._tracer.start_span(
                "gateway.trace.write",
                context=Context(),  # a root span: no request is waiting on this write
                attributes={"gateway.trace.write.batch_size": size},
            )
        return WriteBatch(span, self._metrics, self._store)


class WriteBatch:
    """One batch being written: collects failures, then reports the outcome once."""

    __slots__ = ("_metrics", "_span", "_start", "_store", "_token")

    def __init__(self, span: Span | None, metrics: MetricsSinks, store: str) -> None:
        self._span = span
        self._metrics = metrics
        self._store = store
        self._start = time.perf_counter()
        self._token = (
            otel_context.attach(trace.set_span_in_context(span)) if span is not None else None
        )

    def failed(self, operation: str, error_class: str) -> None:
        """Some records of the batch could not be stored."""
        self._metrics.trace_write_failed(operation, error_class, self._store)
        if self._span is not None:
            self._span.set_attribute("gateway.trace.write.error_class", scrub(error_class))
            self._span.set_status(Status(StatusCode.ERROR, "write failed"))

    def end(self, written: int) -> None:
        """The batch is done; `written` records reached the database."""
        if written > 0:
            self._metrics.traces_written(written, time.perf_counter() - self._start)
        if self._token is not None:
            otel_context.detach(self._token)
            self._token = None
        if self._span is not None:
            self._span.end()
