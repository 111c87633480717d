"""OpenTelemetry end to end: a real gateway exports OTLP/HTTP to a real local receiver.

The receiver decodes the protobuf requests with opentelemetry-proto; traffic comes from the
OpenAI and Anthropic SDKs (streaming and not), with auth on and one denial. Checked: span
names and parent/child structure, attributes, W3C propagation to the upstream and from the
caller, metric names and attributes, that no credential reaches any exported value, and that
each request's log line carries its server span's ids.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anthropic
import httpx
import openai
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from tests.fakes.upstream import FakeUpstream
from tests.integration.auth.gateways import PROVIDER_KEY, auth_config, start_gateway, token

GATEWAY_HEADER = "X-OngoingAI-Gateway-Key"
HEADER_SECRET = "password=hunter2-header-secret"
BODY_SECRET = "sk_live_bodysecret0123456789"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
SPAN_KIND_SERVER = ProtoSpan.SpanKind.SPAN_KIND_SERVER
#: Every credential the traffic carries; none may reach an exported value or a log line.
SECRETS = [PROVIDER_KEY, token("dev-a"), token("owner-a"), HEADER_SECRET, BODY_SECRET]


@dataclass
class Receiver:
    """What the OTLP receiver got: decoded requests and the raw bodies."""

    traces: list[ExportTraceServiceRequest] = field(default_factory=list)
    metrics: list[ExportMetricsServiceRequest] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spans(self) -> list[Any]:
        with self.lock:
            return [
                span
                for req in self.traces
                for rs in req.resource_spans
                for ss in rs.scope_spans
                for span in ss.spans
            ]

    def metric_points(self) -> dict[str, list[dict[str, Any]]]:
        """Metric name -> the attribute sets of every exported data point."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.lock:
            for req in self.metrics:
                for rm in req.resource_metrics:
                    for sm in rm.scope_metrics:
                        for metric in sm.metrics:
                            kind = metric.WhichOneof("data")
                            points = getattr(metric, kind).data_points
                            out.setdefault(metric.name, []).extend(
                                _attrs(p.attributes) for p in points
                            )
        return out


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


def _attrs(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            with receiver.lock:
                receiver.raw.append(body)
                if self.path == "/v1/traces":
                    receiver.traces.append(ExportTraceServiceRequest.FromString(body))
                elif self.path == "/v1/metrics":
                    receiver.metrics.append(ExportMetricsServiceRequest.FromString(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    got = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(got))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield got, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@dataclass
class Run:
    receiver: Receiver
    upstream: FakeUpstream
    log: str


def _traffic(url: str) -> None:
    headers = {GATEWAY_HEADER: token("dev-a"), "X-Custom": HEADER_SECRET}
    messages = [{"role": "user", "content": f"hello there {BODY_SECRET}"}]
    with openai.OpenAI(
        base_url=url + "/openai/v1", api_key=PROVIDER_KEY, max_retries=0, default_headers=headers
    ) as oai:
        oai.chat.completions.create(model="gpt-4o-mini", messages=messages)  # type: ignore[arg-type]
        stream = oai.chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,  # type: ignore[arg-type]
            stream=True,
        )
        assert list(stream)
    with anthropic.Anthropic(
        base_url=url + "/anthropic", api_key=PROVIDER_KEY, max_retries=0, default_headers=headers
    ) as claude:
        claude.messages.create(
            model="claude-sonnet-4-20250514",
            max_tokens=16,
            messages=messages,  # type: ignore[arg-type]
        )
        with claude.messages.stream(
            model="claude-sonnet-4-20250514",
            max_tokens=16,
            messages=messages,  # type: ignore[arg-type]
        ) as events:
            assert events.get_final_message()
    # The caller's own trace: the gateway's server span must join it.
    caller = {
        **headers,
        "Authorization": f"Bearer {PROVIDER_KEY}",
        "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
    }
    body = {"model": "gpt-4o-mini", "messages": messages}
    r = httpx.post(url + "/openai/v1/chat/completions", json=body, headers=caller)
    assert r.status_code == 200, r.text
    # A denial: no gateway key.
    r = httpx.post(
        url + "/openai/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {PROVIDER_KEY}"},
    )
    assert r.status_code == 401
    # An admin API request.
    r = httpx.get(url + "/api/traces", headers={GATEWAY_HEADER: token("owner-a")})
    assert r.status_code == 200


@pytest.fixture(scope="module")
def run(receiver: tuple[Receiver, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    got, endpoint = receiver
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "200",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    workdir = tmp_path_factory.mktemp("otel")
    with FakeUpstream("otel") as upstream:
        gw = start_gateway(workdir, upstream.url, env, auth_config())
        try:
            _traffic(gw.url)
            time.sleep(0.6)  # let the writer flush and a metric export happen
        finally:
            assert gw.stop() == 0  # shutdown flushes both providers
        yield Run(got, upstream, gw.log())


def _by_name(spans: list[Any]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for span in spans:
        out.setdefault(span.name, []).append(span)
    return out


def test_spans_have_the_contract_names_and_structure(run: Run) -> None:
    spans = _by_name(run.receiver.spans())
    assert len(spans["POST /openai/*"]) == 4  # SDK x2, caller-traced, denied
    assert len(spans["POST /anthropic/*"]) == 2
    assert len(spans["proxy POST /openai/*"]) == 3
    assert len(spans["proxy POST /anthropic/*"]) == 2
    assert len(spans["gateway.auth"]) == 6
    assert len(spans["gateway.route"]) == 5
    assert len(spans["gateway.trace.enqueue"]) == 6  # the denial is an audit event, not a trace
    assert spans["GET /api/*"]
    servers = {s.span_id: s for n, group in spans.items() if n.startswith("POST") for s in group}
    for name in ("gateway.auth", "gateway.route", "proxy POST /openai/*", "gateway.trace.enqueue"):
        for span in spans[name]:
            assert span.parent_span_id in servers, name
            assert span.trace_id == servers[span.parent_span_id].trace_id
    for span in spans["gateway.trace.write"]:
        assert span.parent_span_id == b""  # a root span
        assert _attrs(span.attributes)["gateway.trace.write.batch_size"] >= 1


def test_server_span_attributes(run: Run) -> None:
    spans = _by_name(run.receiver.spans())
    ok = [
        s
        for s in spans["POST /openai/*"]
        if _attrs(s.attributes)["http.response.status_code"] == 200
    ]
    attrs = _attrs(ok[0].attributes)
    assert attrs["gateway.provider"] == "openai"
    assert attrs["gateway.route"] == "/openai/*"
    assert attrs["gateway.org_id"] == "org-a"
    assert attrs["gateway.workspace_id"] == "ws-a"
    assert attrs["gateway.key_id"] == "dev-a"
    assert attrs["gateway.role"] == "developer"
    assert attrs["gateway.correlation_id"].startswith("corr-")
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.system"] == "openai"
    assert attrs["gen_ai.request.model"].startswith("gpt-4o-mini")
    assert attrs["gen_ai.usage.input_tokens"] > 0
    assert attrs["gen_ai.usage.output_tokens"] > 0


def test_denial_is_recorded_on_the_auth_span(run: Run) -> None:
    spans = _by_name(run.receiver.spans())
    results = [_attrs(s.attributes) for s in spans["gateway.auth"]]
    denied = [a for a in results if a["gateway.auth.result"] == "deny"]
    assert len(denied) == 1
    assert denied[0]["gateway.auth.deny_reason"] == "unauthorized"
    route = _attrs(spans["gateway.route"][0].attributes)
    assert route["gateway.route.provider"] in {"openai", "anthropic"}
    assert route["gateway.route.prefix"] in {"/openai", "/anthropic"}


def test_upstream_gets_the_client_spans_traceparent(run: Run) -> None:
    clients = {s.span_id.hex(): s for s in run.receiver.spans() if s.name.startswith("proxy POST")}
    parents = [r.headers["traceparent"] for r in run.upstream.requests]
    assert len(parents) == 5
    for header in parents:
        _, trace_id, span_id, _ = header.split("-")
        assert clients[span_id].trace_id.hex() == trace_id


def test_gateway_joins_the_callers_trace(run: Run) -> None:
    joined = [s for s in run.receiver.spans() if s.trace_id.hex() == CALLER_TRACE]
    server = [s for s in joined if s.name == "POST /openai/*"]
    assert len(server) == 1
    assert server[0].parent_span_id.hex() == CALLER_SPAN
    assert {s.name for s in joined} >= {"gateway.auth", "gateway.route", "proxy POST /openai/*"}


CONTRACT_METRICS = {
    "ongoingai.trace.enqueued_total",
    "ongoingai.trace.written_total",
    "ongoingai.provider.request_total",
    "ongoingai.proxy.request_total",
    "ongoingai.trace.flush_duration_seconds",
    "ongoingai.trace.flush_batch_size",
    "ongoingai.provider.request_duration_seconds",
    "ongoingai.proxy.request_duration_seconds",
    "ongoingai.trace.queue_depth",
    "ongoingai.trace.queue_capacity",
}
GENAI_METRICS = {
    "gen_ai.client.token.usage",
    "gen_ai.client.operation.duration",
    "gen_ai.server.time_to_first_token",
}


def test_metrics_are_exported_with_their_attributes(run: Run) -> None:
    points = run.receiver.metric_points()
    assert set(points) >= CONTRACT_METRICS | GENAI_METRICS
    requests = points["ongoingai.proxy.request_total"]
    assert {a["route"] for a in requests} == {"/openai/*", "/anthropic/*"}
    assert {a["provider"] for a in requests} == {"openai", "anthropic"}
    assert all(
        set(a) == {"provider", "model", "org_id", "workspace_id", "route", "status_code"}
        for a in requests
    )
    tokens = points["gen_ai.client.token.usage"]
    assert {a["gen_ai.token.type"] for a in tokens} == {"input", "output"}
    assert {a["gen_ai.system"] for a in tokens} == {"openai", "anthropic"}
    assert all(a["gen_ai.operation.name"] == "chat" for a in tokens)


def test_no_credential_reaches_any_exported_value(run: Run) -> None:
    assert run.receiver.raw
    for body in run.receiver.raw:
        for secret in SECRETS:
            assert secret.encode() not in body


def test_request_lines_carry_the_server_spans_ids_and_no_credential(run: Run) -> None:
    lines = [json.loads(line) for line in run.log.splitlines() if line.strip()]
    servers = {
        (s.trace_id.hex(), s.span_id.hex())
        for s in run.receiver.spans()
        if s.kind == SPAN_KIND_SERVER
    }
    requests = [line for line in lines if line["msg"] == "request complete"]
    proxied = [line for line in requests if line["path"].startswith(("/openai/", "/anthropic/"))]
    assert len(proxied) == 6
    assert any(line["path"] == "/api/traces" for line in requests)
    for line in requests:
        assert line["correlation_id"].startswith("corr-")
        assert (line["trace_id"], line["span_id"]) in servers, line
    joined = [line for line in requests if line["trace_id"] == CALLER_TRACE]
    assert len(joined) == 1 and joined[0]["path"] == "/openai/v1/chat/completions"
    assert not [s for s in SECRETS if s in run.log]
