"""The Prometheus scrape backend: contract §7.4 metrics under their Prometheus names.

One scrape of any worker must show the whole server's totals, so with several workers
(`server.workers > 1`; `ongoingai serve` then sets `PROMETHEUS_MULTIPROC_DIR` before any
worker starts) prometheus-client's multiprocess mode is used: every worker's values live in
mmap'd files in that directory and a scrape aggregates them with `MultiProcessCollector`.
Counters and histograms of workers that exited stay counted (fleet totals); the queue gauges
are `livesum` (the sum over live workers), and files of workers that died are dropped at scrape
time (`mark_process_dead`), since a killed worker cannot clean up after itself.

With one worker the metrics live in the sink's own `CollectorRegistry` (never the global
default one, so nothing a library registers there leaks into our exposition).

Metric values are per process in prometheus-client (its multiprocess files are keyed by pid),
so there is one sink per process: the sink a process created last is the one its scrape
endpoint serves (`PrometheusSink.scrape`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

if TYPE_CHECKING:
    from collections.abc import Callable

    from ongoingai.engine.telemetry.sinks import Exchange, ScopeAttrs

__all__ = ["MULTIPROC_ENV", "PrometheusSink", "multiprocess_dir"]

#: Set by `ongoingai serve` for several workers; read by prometheus-client at import time.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

_SCOPE = ("provider", "model", "org_id", "workspace_id", "route")
_SCOPE_STATUS = (*_SCOPE, "status_code")
_FLUSH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# The OTel SDK's default explicit buckets, which the original's batch-size histogram uses.
_BATCH_BUCKETS = (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000)
# GenAI semantic-convention advisory buckets.
_TOKEN_BUCKETS = tuple(float(4**i) for i in range(14))  # 1 .. 67108864
_GENAI_DURATION_BUCKETS = tuple(0.01 * 2**i for i in range(14))  # 0.01 .. 81.92
_TTFT_BUCKETS = (
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
_GENAI = ("gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")
_LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w+?_(\d+)\.db$")


def multiprocess_dir() -> Path | None:
    """The multiprocess directory when this process runs in multiprocess mode.

    prometheus-client picks its value storage when it is first imported, so the directory
    only counts if it was already set then; otherwise values stay in memory and are served
    from the sink's registry.
    """
    value = os.environ.get(MULTIPROC_ENV, "").strip()
    in_files = bool(getattr(values.ValueClass, "_multiprocess", False))
    return Path(value) if value and in_files else None


class PrometheusSink:
    """`MetricsSink` recording into prometheus-client; constructed with no arguments.

    The trace-queue gauges need the writer: call `watch_queue` once it exists (without it they
    stay 0). Every method is a few in-memory (or mmap) writes; none blocks the event loop.
    """

    _current: ClassVar[PrometheusSink | None] = None

    def __init__(self) -> None:
        self.multiprocess_dir = multiprocess_dir()
        # In multiprocess mode values go to the per-pid files whatever the registry; keeping
        # the metrics out of any registry avoids counting this process twice at scrape time.
        self.registry = CollectorRegistry(auto_describe=True)
        reg = None if self.multiprocess_dir else self.registry
        self._queue_depth: Callable[[], int] | None = None

        self.dropped = Counter(
            "ongoingai_trace_queue_dropped", "Traces dropped because the writer queue was full.",
            _SCOPE_STATUS, registry=reg,
        )  # fmt: skip
        self.enqueued = Counter(
            "ongoingai_trace_enqueued", "Traces accepted by the writer queue.",
            _SCOPE_STATUS, registry=reg,
        )  # fmt: skip
        self.written = Counter(
            "ongoingai_trace_written", "Traces stored by the writer.", registry=reg
        )
        self.write_failed = Counter(
            "ongoingai_trace_write_failed", "Trace batches the writer failed to store.",
            ("operation", "error_class", "store"), registry=reg,
        )  # fmt: skip
        self.provider_requests = Counter(
            "ongoingai_provider_request", "Proxied requests per provider.",
            _SCOPE_STATUS, registry=reg,
        )  # fmt: skip
        self.proxy_requests = Counter(
            "ongoingai_proxy_request", "Requests through the proxy.", _SCOPE_STATUS, registry=reg
        )
        self.flush_duration = Histogram(
            "ongoingai_trace_flush_duration_seconds", "Time to store one batch of traces.",
            buckets=_FLUSH_BUCKETS, registry=reg,
        )  # fmt: skip
        self.flush_batch = Histogram(
            "ongoingai_trace_flush_batch_size", "Traces per stored batch.",
            buckets=_BATCH_BUCKETS, registry=reg,
        )  # fmt: skip
        self.provider_duration = Histogram(
            "ongoingai_provider_request_duration_seconds", "Provider request latency.",
            _SCOPE, buckets=_REQUEST_BUCKETS, registry=reg,
        )  # fmt: skip
        self.proxy_duration = Histogram(
            "ongoingai_proxy_request_duration_seconds", "Proxy request latency.",
            _SCOPE, buckets=_REQUEST_BUCKETS, registry=reg,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "ongoingai_trace_queue_depth", "Traces waiting in the writer queue.",
            registry=reg, multiprocess_mode="livesum",
        )  # fmt: skip
        self.queue_capacity = Gauge(
            "ongoingai_trace_queue_capacity", "Capacity of the writer queue.",
            registry=reg, multiprocess_mode="livesum",
        )  # fmt: skip
        self.token_usage = Histogram(
            "gen_ai_client_token_usage", "GenAI tokens used, by token type.",
            (*_GENAI, "gen_ai_token_type"), buckets=_TOKEN_BUCKETS, registry=reg,
        )  # fmt: skip
        self.operation_duration = Histogram(
            "gen_ai_client_operation_duration_seconds", "GenAI operation duration.",
            (*_GENAI, "error_type"), buckets=_GENAI_DURATION_BUCKETS, registry=reg,
        )  # fmt: skip
        self.ttft = Histogram(
            "gen_ai_server_time_to_first_token_seconds", "Time to the first streamed token.",
            _GENAI, buckets=_TTFT_BUCKETS, registry=reg,
        )  # fmt: skip
        PrometheusSink._current = self

    # --- MetricsSink -------------------------------------------------------------------------
    def exchange(self, exchange: Exchange) -> None:
        """Count the request for provider and proxy, time it, and record GenAI usage."""
        scope = _scope_values(exchange.scope)
        labelled = (*scope, str(exchange.status_code))
        self.provider_requests.labels(*labelled).inc()
        self.proxy_requests.labels(*labelled).inc()
        # Same duration for both, as in the original (the trace latency).
        self.provider_duration.labels(*scope).observe(exchange.duration_s)
        self.proxy_duration.labels(*scope).observe(exchange.duration_s)
        if not exchange.operation:
            return
        genai = (exchange.operation, exchange.scope.provider, exchange.scope.model)
        error = str(exchange.status_code) if exchange.status_code >= 400 else ""
        self.operation_duration.labels(*genai, error).observe(exchange.duration_s)
        if exchange.input_tokens > 0:
            self.token_usage.labels(*genai, "input").observe(exchange.input_tokens)
        if exchange.output_tokens > 0:
            self.token_usage.labels(*genai, "output").observe(exchange.output_tokens)
        if exchange.ttft_s is not None:
            self.ttft.labels(*genai).observe(exchange.ttft_s)

    def trace_enqueued(self, scope: ScopeAttrs, status_code: int, *, accepted: bool) -> None:
        """Count the trace as enqueued or dropped."""
        counter = self.enqueued if accepted else self.dropped
        counter.labels(*_scope_values(scope), str(status_code)).inc()
        self._refresh_depth()

    def traces_written(self, count: int, flush_duration_s: float) -> None:
        """Count the stored traces and record the batch's size and flush time."""
        self.written.inc(count)
        self.flush_duration.observe(flush_duration_s)
        self.flush_batch.observe(count)
        self._refresh_depth()

    def trace_write_failed(self, operation: str, error_class: str, store: str) -> None:
        """Count a failed batch."""
        self.write_failed.labels(operation, error_class, store).inc()
        self._refresh_depth()

    # --- queue gauges ------------------------------------------------------------------------
    def watch_queue(self, depth: Callable[[], int], capacity: int) -> None:
        """Report the trace writer's queue: `depth()` is read after each writer event.

        Depth only changes on enqueue and flush, which are exactly the events this sink hears
        about, so refreshing then is as current as a read at scrape time, and it also works in
        multiprocess mode, where a callback-backed gauge cannot be read across processes.
        """
        self._queue_depth = depth
        self.queue_capacity.set(capacity)
        self._refresh_depth()

    def _refresh_depth(self) -> None:
        if self._queue_depth is not None:
            self.queue_depth.set(self._queue_depth())

    def close(self) -> None:
        """A worker leaving: its queue gauges stop counting toward the live sum."""
        if self.multiprocess_dir is not None:
            with contextlib.suppress(OSError):
                mark_process_dead(os.getpid(), str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        if PrometheusSink._current is self:
            PrometheusSink._current = None

    # --- exposition --------------------------------------------------------------------------
    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The exposition text (OpenMetrics when the scraper asks for it) and its content type.

        Multiprocess mode reads every worker's files, blocking file I/O: call it off the event
        loop (`scrape` does).
        """
        encoder, content_type = choose_encoder(accept)
        if self.multiprocess_dir is None:
            return encoder(self.registry), content_type
        _forget_dead_workers(self.multiprocess_dir)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.multiprocess_dir))  # type: ignore[no-untyped-call]
        return encoder(registry), content_type

    @classmethod
    async def scrape(cls, accept: str = "") -> tuple[bytes, str]:
        """What this process's scrape endpoint serves (empty text before any sink exists)."""
        sink = cls._current
        if sink is None:
            encoder, content_type = choose_encoder(accept)
            return encoder(CollectorRegistry()), content_type
        if sink.multiprocess_dir is None:
            return sink.render(accept)
        return await asyncio.to_thread(sink.render, accept)


def _scope_values(scope: ScopeAttrs) -> tuple[str, str, str, str, str]:
    return (scope.provider, scope.model, scope.org_id, scope.workspace_id, scope.route)


def _forget_dead_workers(directory: Path) -> None:
    """Drop the live-gauge files of workers that are gone (killed workers cannot do it)."""
    for entry in directory.iterdir():
        found = _LIVE_GAUGE_FILE.match(entry.name)
        if found is None:
            continue
        pid = int(found.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
        except PermissionError:
            continue  # alive, owned by someone else
