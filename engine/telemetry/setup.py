"""`Telemetry`: the providers, exporters and sinks of one gateway, built from the boot config.

Private providers (never the OpenTelemetry globals): a process may run several gateways (the
tests do), and each must export under its own resource and shut down on its own. When
`observability.otel.enabled` is false no `Telemetry` exists at all (`services.telemetry` is
None), so the request path pays one `is None` check.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from typing import TYPE_CHECKING, Any

from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from ongoingai.engine.telemetry.export import ScrubbingSpanExporter, parse_endpoint
from ongoingai.engine.telemetry.logs import TraceIdsFilter
from ongoingai.engine.telemetry.otel_metrics import OtelMetricsSink, metric_views
from ongoingai.engine.telemetry.sinks import MetricsSink, MetricsSinks
from ongoingai.engine.telemetry.spans import Tracing
from ongoingai.engine.telemetry.writer_hooks import WriterTelemetry

if TYPE_CHECKING:
    from collections.abc import Callable

    from ongoingai.engine.config import OtelConfig
    from ongoingai.engine.storage import TraceWriter

__all__ = ["Telemetry"]

log = logging.getLogger("ongoingai.telemetry")
_SCOPE = "ongoingai.gateway"


class Telemetry:
    """Tracing (`tracing`, None when traces are off) and metrics sinks of one gateway."""

    def __init__(
        self,
        tracing: Tracing | None,
        metrics: MetricsSinks,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        prometheus: Any = None,
    ) -> None:
        self.tracing = tracing
        self.metrics = metrics
        #: The Prometheus sink (its registry backs the scrape endpoint), when enabled.
        self.prometheus = prometheus
        self._tracer_provider = tracer_provider
        self._meter_provider = meter_provider
        self._log_filter: TraceIdsFilter | None = None

    @classmethod
    def create(
        cls,
        config: OtelConfig,
        version: str,
        writer: Callable[[], TraceWriter | None],
    ) -> Telemetry | None:
        """Build from `observability.otel`; None when OpenTelemetry is disabled.

        Raises:
            ValueError: the OTLP endpoint is malformed (a startup error, as in the original).
        """
        if not config.enabled:
            return None
        resource = Resource.create(
            {
                "service.name": config.service_name.strip(),
                "service.version": version,
                "service.instance.id": str(uuid.uuid4()),
            }
        )
        timeout_s = config.export_timeout_ms / 1000
        tracer_provider = meter_provider = None
        sinks: list[MetricsSink] = []
        tracing = None
        if config.traces_enabled or config.metrics_enabled:
            endpoint = parse_endpoint(config.endpoint, config.insecure)
        if config.traces_enabled:
            tracer_provider = TracerProvider(
                resource=resource, sampler=ParentBased(TraceIdRatioBased(config.sampling_ratio))
            )
            exporter = OTLPSpanExporter(endpoint=endpoint.signal_url("traces"), timeout=timeout_s)
            tracer_provider.add_span_processor(
                BatchSpanProcessor(
                    ScrubbingSpanExporter(exporter), export_timeout_millis=config.export_timeout_ms
                )
            )
            tracing = Tracing(tracer_provider.get_tracer(_SCOPE, version))
        if config.metrics_enabled:
            reader = PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=endpoint.signal_url("metrics"), timeout=timeout_s),
                export_interval_millis=config.metric_export_interval_ms,
                export_timeout_millis=config.export_timeout_ms,
            )
            meter_provider = MeterProvider(
                metric_readers=[reader],
                resource=resource,
                views=metric_views(),
                shutdown_on_exit=False,
            )
            sinks.append(OtelMetricsSink(meter_provider.get_meter(_SCOPE, version), writer))
        prometheus = _prometheus_sink() if config.prometheus_enabled else None
        if prometheus is not None:
            sinks.append(prometheus)
        return cls(
            tracing,
            MetricsSinks(tuple(sinks)),
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            prometheus=prometheus,
        )

    def attach_writer(self, writer: TraceWriter, store: str) -> None:
        """Let the trace writer report its batches (spans, write metrics, queue gauges)."""
        writer.telemetry = WriterTelemetry(
            self.tracing.tracer if self.tracing else None, self.metrics, store
        )
        if self.prometheus is not None and hasattr(self.prometheus, "watch_queue"):
            capacity = int(writer.diagnostics()["queue_capacity"])
            self.prometheus.watch_queue(lambda: writer.diagnostics()["queue_depth"], capacity)

    def install_log_filter(self) -> None:
        """Annotate records of the root handlers with the current span's ids."""
        if self.tracing is None or self._log_filter is not None:
            return
        self._log_filter = TraceIdsFilter()
        for handler in logging.getLogger().handlers:
            handler.addFilter(self._log_filter)

    def shutdown(self) -> None:
        """Flush and stop exporters (metrics first, then traces: reverse order of creation)."""
        if self._log_filter is not None:
            for handler in logging.getLogger().handlers:
                handler.removeFilter(self._log_filter)
            self._log_filter = None
        if self._meter_provider is not None:
            self._meter_provider.shutdown()
            self._meter_provider = None
        if self._tracer_provider is not None:
            self._tracer_provider.shutdown()
            self._tracer_provider = None


def _prometheus_sink() -> MetricsSink | None:
    """The Prometheus sink, when that backend is part of this build (it is optional here)."""
    try:
        module = importlib.import_module("ongoingai.engine.telemetry.prometheus")
    except ImportError:
        log.warning("prometheus_enabled is set but the Prometheus sink is not available")
        return None
    sink: MetricsSink = module.PrometheusSink()
    return sink
