"""OTLP metrics: the contract's 12 instruments plus the GenAI semantic-convention ones.

Bucket boundaries are the contract's (explicit-bucket histogram views); the GenAI ones are the
semantic conventions' recommended boundaries. Every attribute value reaching here is already
scrubbed (`ScopeAttrs` is built scrubbed; operation/error class/store are gateway-owned words).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from opentelemetry.metrics import Meter

    from ongoingai.engine.storage import TraceWriter
    from ongoingai.engine.telemetry.sinks import Exchange, ScopeAttrs

__all__ = ["OtelMetricsSink", "metric_views"]

FLUSH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0)
# OpenTelemetry GenAI semantic conventions, recommended explicit bucket boundaries.
TOKEN_BUCKETS = tuple(float(4**i) for i in range(14))  # 1, 4, 16, ... 67108864
OPERATION_BUCKETS = tuple(0.01 * 2**i for i in range(14))  # 0.01 ... 81.92
TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0)

_HISTOGRAMS = {
    "ongoingai.trace.flush_duration_seconds": FLUSH_BUCKETS,
    "ongoingai.trace.flush_batch_size": BATCH_BUCKETS,
    "ongoingai.provider.request_duration_seconds": REQUEST_BUCKETS,
    "ongoingai.proxy.request_duration_seconds": REQUEST_BUCKETS,
    "gen_ai.client.token.usage": TOKEN_BUCKETS,
    "gen_ai.client.operation.duration": OPERATION_BUCKETS,
    "gen_ai.server.time_to_first_token": TTFT_BUCKETS,
}


def metric_views() -> list[View]:
    """One explicit-bucket view per histogram (the SDK defaults are for milliseconds)."""
    return [
        View(
            instrument_name=name,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=bounds),
        )
        for name, bounds in _HISTOGRAMS.items()
    ]


def _scope(scope: ScopeAttrs) -> dict[str, str]:
    return {
        "provider": scope.provider,
        "model": scope.model,
        "org_id": scope.org_id,
        "workspace_id": scope.workspace_id,
        "route": scope.route,
    }


class OtelMetricsSink:
    """`MetricsSink` over an OpenTelemetry meter (exported by a periodic OTLP reader)."""

    def __init__(self, meter: Meter, writer: Callable[[], TraceWriter | None]) -> None:
        self._writer = writer
        self._dropped = meter.create_counter(
            "ongoingai.trace.queue_dropped_total", "{trace}", "Traces dropped: queue full"
        )
        self._write_failed = meter.create_counter(
            "ongoingai.trace.write_failed_total", "{failure}", "Failed trace writes"
        )
        self._enqueued = meter.create_counter(
            "ongoingai.trace.enqueued_total", "{trace}", "Traces accepted by the writer queue"
        )
        self._written = meter.create_counter(
            "ongoingai.trace.written_total", "{trace}", "Traces stored"
        )
        self._provider_requests = meter.create_counter(
            "ongoingai.provider.request_total", "{request}", "Provider requests"
        )
        self._proxy_requests = meter.create_counter(
            "ongoingai.proxy.request_total", "{request}", "Proxied requests"
        )
        self._flush_duration = meter.create_histogram(
            "ongoingai.trace.flush_duration_seconds", "s", "Trace batch write duration"
        )
        self._flush_batch = meter.create_histogram(
            "ongoingai.trace.flush_batch_size", "{trace}", "Traces per written batch"
        )
        self._provider_duration = meter.create_histogram(
            "ongoingai.provider.request_duration_seconds", "s", "Provider request duration"
        )
        self._proxy_duration = meter.create_histogram(
            "ongoingai.proxy.request_duration_seconds", "s", "Proxied request duration"
        )
        meter.create_observable_gauge(
            "ongoingai.trace.queue_depth", [self._depth], "{trace}", "Traces waiting to be written"
        )
        meter.create_observable_gauge(
            "ongoingai.trace.queue_capacity", [self._capacity], "{trace}", "Trace queue bound"
        )
        self._tokens = meter.create_histogram(
            "gen_ai.client.token.usage", "{token}", "Tokens used per model call"
        )
        self._operation = meter.create_histogram(
            "gen_ai.client.operation.duration", "s", "Model call duration"
        )
        self._ttft = meter.create_histogram(
            "gen_ai.server.time_to_first_token", "s", "Time to the first streamed byte"
        )

    # -- MetricsSink -------------------------------------------------------------------------

    def exchange(self, exchange: Exchange) -> None:
        """Request counters and durations, and on model calls the GenAI metrics."""
        attrs: dict[str, str | int] = {
            **_scope(exchange.scope),
            "status_code": exchange.status_code,
        }
        self._provider_requests.add(1, attrs)
        self._proxy_requests.add(1, attrs)
        scope_only = _scope(exchange.scope)
        self._provider_duration.record(exchange.duration_s, scope_only)
        self._proxy_duration.record(exchange.duration_s, scope_only)
        if exchange.operation:
            self._genai(exchange)

    def _genai(self, exchange: Exchange) -> None:
        scope = exchange.scope
        attrs: dict[str, str | int] = {
            "gen_ai.operation.name": exchange.operation,
            "gen_ai.system": scope.provider,
            "gen_ai.provider.name": scope.provider,
            "gen_ai.request.model": scope.model,
        }
        if exchange.status_code >= 400:
            attrs["error.type"] = str(exchange.status_code)
        self._operation.record(exchange.duration_s, attrs)
        if exchange.ttft_s is not None:
            self._ttft.record(exchange.ttft_s, attrs)
        if exchange.status_code < 400:
            self._tokens.record(exchange.input_tokens, {**attrs, "gen_ai.token.type": "input"})
            self._tokens.record(exchange.output_tokens, {**attrs, "gen_ai.token.type": "output"})

    def trace_enqueued(self, scope: ScopeAttrs, status_code: int, *, accepted: bool) -> None:
        """Count an accepted or dropped trace under its scope and status."""
        attrs: dict[str, str | int] = {**_scope(scope), "status_code": status_code}
        (self._enqueued if accepted else self._dropped).add(1, attrs)

    def traces_written(self, count: int, flush_duration_s: float) -> None:
        """Count stored traces and time the batch."""
        self._written.add(count)
        self._flush_duration.record(flush_duration_s)
        self._flush_batch.record(count)

    def trace_write_failed(self, operation: str, error_class: str, store: str) -> None:
        """Count a failed write."""
        self._write_failed.add(
            1, {"operation": operation, "error_class": error_class, "store": store}
        )

    # -- gauges ------------------------------------------------------------------------------

    def _depth(self, _options: CallbackOptions) -> Iterable[Observation]:
        writer = self._writer()
        if writer is not None:
            yield Observation(writer.diagnostics()["queue_depth"])

    def _capacity(self, _options: CallbackOptions) -> Iterable[Observation]:
        writer = self._writer()
        if writer is not None:
            yield Observation(writer.diagnostics()["queue_capacity"])
