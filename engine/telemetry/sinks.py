"""What the gateway reports to metrics backends, once, whatever the backends are.

Contract §7.4 metrics plus the OpenTelemetry GenAI semantic-convention ones. The record stage
reports every finished exchange (`exchange`), the trace writer its queue and writes. Each
backend (OTLP push via the OTel SDK, Prometheus scrape via prometheus-client) implements
`MetricsSink`; `MetricsSinks` fans out to those configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["Exchange", "MetricsSink", "MetricsSinks", "ScopeAttrs"]


@dataclass(frozen=True, slots=True)
class ScopeAttrs:
    """The contract's scope attributes (trimmed, credential-scrubbed, `unknown` when empty).

    `route` is the configured provider prefix pattern (`/openai/*`), or `/api/*`, or `/other`:
    labels use the configured providers and prefixes (SPEC §1.9), never raw paths.
    """

    provider: str
    model: str
    org_id: str
    workspace_id: str
    route: str


@dataclass(frozen=True, slots=True)
class Exchange:
    """One finished proxied exchange, as metrics see it."""

    scope: ScopeAttrs
    status_code: int
    duration_s: float
    operation: str  # GenAI operation name: chat, text_completion, embeddings, ...
    input_tokens: int
    output_tokens: int
    ttft_s: float | None  # streaming only


class MetricsSink(Protocol):
    """A metrics backend. Every method is called on the event loop and must not block."""

    def exchange(self, exchange: Exchange) -> None:
        """A proxied exchange finished (request counters, durations, token usage, TTFT)."""
        ...

    def trace_enqueued(self, scope: ScopeAttrs, status_code: int, *, accepted: bool) -> None:
        """A trace was handed to the writer (accepted) or dropped because the queue was full."""
        ...

    def traces_written(self, count: int, flush_duration_s: float) -> None:
        """The writer stored a batch of `count` traces."""
        ...

    def trace_write_failed(self, operation: str, error_class: str, store: str) -> None:
        """The writer failed to store a batch (error_class: connection, timeout, ...)."""
        ...


class MetricsSinks:
    """Fan-out to the configured sinks (none when telemetry is off)."""

    __slots__ = ("sinks",)

    def __init__(self, sinks: tuple[MetricsSink, ...] = ()) -> None:
        self.sinks = sinks

    def __bool__(self) -> bool:
        return bool(self.sinks)

    def exchange(self, exchange: Exchange) -> None:
        """Report a finished exchange to every sink."""
        for sink in self.sinks:
            sink.exchange(exchange)

    def trace_enqueued(self, scope: ScopeAttrs, status_code: int, *, accepted: bool) -> None:
        """Report an enqueue to every sink."""
        for sink in self.sinks:
            sink.trace_enqueued(scope, status_code, accepted=accepted)

    def traces_written(self, count: int, flush_duration_s: float) -> None:
        """Report a written batch to every sink."""
        for sink in self.sinks:
            sink.traces_written(count, flush_duration_s)

    def trace_write_failed(self, operation: str, error_class: str, store: str) -> None:
        """Report a failed write to every sink."""
        for sink in self.sinks:
            sink.trace_write_failed(operation, error_class, store)
