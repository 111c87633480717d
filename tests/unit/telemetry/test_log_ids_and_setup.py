"""Log records get the current span's ids; disabled OpenTelemetry builds nothing."""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from ongoingai.engine.config import OtelConfig
from ongoingai.engine.telemetry.logs import TraceIdsFilter
from ongoingai.engine.telemetry.setup import Telemetry


def _record() -> logging.LogRecord:
    return logging.makeLogRecord({"msg": "hello"})


def test_records_inside_a_recording_span_get_its_ids() -> None:
    tracer = TracerProvider().get_tracer("t")
    span = tracer.start_span("s")
    record = _record()
    with trace.use_span(span, end_on_exit=True):
        assert TraceIdsFilter().filter(record)
    ids = span.get_span_context()
    assert record.trace_id == format(ids.trace_id, "032x")
    assert record.span_id == format(ids.span_id, "016x")


def test_records_outside_spans_are_left_alone() -> None:
    record = _record()
    assert TraceIdsFilter().filter(record)
    assert not hasattr(record, "trace_id")


def test_disabled_otel_creates_no_telemetry() -> None:
    assert Telemetry.create(OtelConfig(enabled=False), "v", lambda: None) is None


def test_traces_only_has_a_tracer_and_no_metric_sinks() -> None:
    config = OtelConfig(enabled=True, metrics_enabled=False, endpoint="127.0.0.1:1")
    telemetry = Telemetry.create(config, "v", lambda: None)
    assert telemetry is not None
    try:
        assert telemetry.tracing is not None
        assert not telemetry.metrics
    finally:
        telemetry.shutdown()
