"""PrometheusSink: contract §7.4 names, labels and buckets, in-process and across processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ongoingai.engine.telemetry.prometheus import PrometheusSink
from ongoingai.engine.telemetry.sinks import Exchange, MetricsSink, ScopeAttrs

SCOPE = ScopeAttrs("openai", "gpt-4o-mini", "default", "default", "/openai/*")


def _exchange(status: int = 200, ttft: float | None = None) -> Exchange:
    return Exchange(SCOPE, status, 0.3, "chat", 12, 5, ttft)


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _scope_labels(**extra: str) -> frozenset[tuple[str, str]]:
    base = {
        "provider": "openai",
        "model": "gpt-4o-mini",
        "org_id": "default",
        "workspace_id": "default",
        "route": "/openai/*",
    }
    return frozenset({**base, **extra}.items())


def test_is_a_metrics_sink_with_its_own_registry() -> None:
    sink: MetricsSink = PrometheusSink()
    assert isinstance(sink, PrometheusSink)
    from prometheus_client import REGISTRY

    assert "ongoingai_proxy_request_total" not in {
        s.name for m in REGISTRY.collect() for s in m.samples
    }


def test_exchange_counts_times_and_records_genai_usage() -> None:
    sink = PrometheusSink()
    sink.exchange(_exchange())
    sink.exchange(_exchange(status=502, ttft=0.05))
    body, content_type = sink.render()
    assert content_type.startswith("text/plain")
    got = _samples(body.decode())
    for name in ("ongoingai_proxy_request_total", "ongoingai_provider_request_total"):
        assert got[(name, _scope_labels(status_code="200"))] == 1
        assert got[(name, _scope_labels(status_code="502"))] == 1
    hist = "ongoingai_proxy_request_duration_seconds"
    assert got[(hist + "_count", _scope_labels())] == 2
    assert got[(hist + "_bucket", _scope_labels(le="0.25"))] == 0
    assert got[(hist + "_bucket", _scope_labels(le="0.5"))] == 2
    assert got[(hist + "_bucket", _scope_labels(le="10.0"))] == 2
    genai = {
        "gen_ai_operation_name": "chat",
        "gen_ai_provider_name": "openai",
        "gen_ai_request_model": "gpt-4o-mini",
    }
    tokens = frozenset({**genai, "gen_ai_token_type": "input"}.items())
    assert got[("gen_ai_client_token_usage_count", tokens)] == 2
    assert got[("gen_ai_client_token_usage_sum", tokens)] == 24
    err = frozenset({**genai, "error_type": "502"}.items())
    assert got[("gen_ai_client_operation_duration_seconds_count", err)] == 1
    assert got[("gen_ai_server_time_to_first_token_seconds_count", frozenset(genai.items()))] == 1


def test_writer_events_and_queue_gauges() -> None:
    sink = PrometheusSink()
    depth = [3]
    sink.watch_queue(lambda: depth[0], 1024)
    sink.trace_enqueued(SCOPE, 200, accepted=True)
    sink.trace_enqueued(SCOPE, 200, accepted=False)
    depth[0] = 0
    sink.traces_written(7, 0.004)
    sink.trace_write_failed("insert", "timeout", "sqlite")
    got = _samples(sink.render()[0].decode())
    assert got[("ongoingai_trace_enqueued_total", _scope_labels(status_code="200"))] == 1
    assert got[("ongoingai_trace_queue_dropped_total", _scope_labels(status_code="200"))] == 1
    assert got[("ongoingai_trace_written_total", frozenset())] == 7
    fail = frozenset({"operation": "insert", "error_class": "timeout", "store": "sqlite"}.items())
    assert got[("ongoingai_trace_write_failed_total", fail)] == 1
    assert got[("ongoingai_trace_flush_duration_seconds_bucket", frozenset({("le", "0.005")}))] == 1
    assert got[("ongoingai_trace_flush_batch_size_sum", frozenset())] == 7
    assert got[("ongoingai_trace_queue_depth", frozenset())] == 0
    assert got[("ongoingai_trace_queue_capacity", frozenset())] == 1024


def test_openmetrics_when_the_scraper_asks() -> None:
    sink = PrometheusSink()
    body, content_type = sink.render("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")


_WORKER = """
import sys
from ongoingai.engine.telemetry.prometheus import PrometheusSink
from ongoingai.engine.telemetry.sinks import Exchange, ScopeAttrs
sink = PrometheusSink()
assert sink.multiprocess_dir is not None
sink.watch_queue(lambda: 2, 100)
scope = ScopeAttrs("openai", "m", "default", "default", "/openai/*")
for _ in range(int(sys.argv[1])):
    sink.exchange(Exchange(scope, 200, 0.02, "chat", 1, 1, None))
if sys.argv[2] == "render":
    sys.stdout.write(sink.render()[0].decode())
"""


def test_multiprocess_scrape_sums_every_worker_and_forgets_dead_gauges(tmp_path: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def run(count: int, mode: str) -> str:
        out = subprocess.run(
            [sys.executable, "-c", _WORKER, str(count), mode],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    run(3, "quiet")
    run(4, "quiet")
    got = _samples(run(5, "render"))
    labels = frozenset(
        {
            "provider": "openai",
            "model": "m",
            "org_id": "default",
            "workspace_id": "default",
            "route": "/openai/*",
            "status_code": "200",
        }.items()
    )
    assert got[("ongoingai_proxy_request_total", labels)] == 12
    assert (
        got[("ongoingai_proxy_request_duration_seconds_count", labels - {("status_code", "200")})]
        == 12
    )
    # The renderer is the only live process: only its gauges count.
    assert got[("ongoingai_trace_queue_capacity", frozenset())] == 100
