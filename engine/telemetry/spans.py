"""The gateway's spans (contract §7.4): server, gateway.auth, gateway.route, proxy client, enqueue.

One `RequestSpans` per traced request, kept on the request context (`ctx.otel`); it is only
created when tracing is on, so an untraced request never builds a span or a context. Children
get their parent explicitly (no implicit context lookups in the hot path); the server span is
also attached as the current context so log records emitted during the request carry its ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ongoingai.engine.telemetry.labels import genai_operation, route_pattern, scope_of, status_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer

    from ongoingai.engine.asgi import Scope
    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.models.provider import ProviderTable

__all__ = ["SERVER_SPAN_KEY", "RequestSpans", "Tracing", "log_ids"]

#: The ASGI scope key holding the server span, so the outermost `request complete` log line
#: (written after the span has ended and is no longer current) can carry its ids.
SERVER_SPAN_KEY = "ongoingai.server_span"

_PROPAGATOR = TraceContextTextMapPropagator()
_TRACE_HEADERS = frozenset({"traceparent", "tracestate"})

_DENY_REASON = {401: "unauthorized", 403: "forbidden"}


def _incoming(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The W3C trace headers of a request, for extraction (everything else is ignored)."""
    out: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1").lower()
        if name in _TRACE_HEADERS:
            out[name] = value.decode("latin-1")
    return out


class Tracing:
    """Starts server spans; one per gateway, wrapping the process's private tracer."""

    __slots__ = ("tracer",)

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer

    def start_server(self, scope: Scope, pattern: str) -> RequestSpans:
        """Open the server span `<METHOD> <route pattern>`, joining the caller's W3C trace.

        The span is also left in the scope (`SERVER_SPAN_KEY`) for the request log line.
        """
        method, path = scope["method"], scope["path"]
        parent = _PROPAGATOR.extract(_incoming(scope["headers"]))
        span = self.tracer.start_span(
            f"{method} {pattern}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "http.route": pattern,
                "url.path": path,
            },
        )
        scope[SERVER_SPAN_KEY] = span
        return RequestSpans(self.tracer, span, pattern)

    def pattern(self, providers: ProviderTable, path: str) -> str:
        """The route pattern a path is labelled with."""
        return route_pattern(providers, path)


class RequestSpans:
    """The spans of one request; the server span is current while the request runs."""

    __slots__ = ("_group", "_group_name", "_token", "context", "pattern", "server", "tracer")

    def __init__(self, tracer: Tracer, server: Span, pattern: str) -> None:
        self.tracer = tracer
        self.server = server
        self.pattern = pattern
        self.context: Context = trace.set_span_in_context(server)
        self._token: object | None = otel_context.attach(self.context)
        self._group: Span | None = None
        self._group_name = ""

    def child(self, name: str, kind: SpanKind = SpanKind.INTERNAL) -> Span:
        """Start a span under the server span."""
        return self.tracer.start_span(name, context=self.context, kind=kind)

    # -- pipeline groups -------------------------------------------------------------------

    def enter_group(self, name: str | None, ctx: RequestContext) -> None:
        """Entering a stage: switch the group span when the stage belongs to another group."""
        if name == self._group_name:
            return
        self.leave_group(ctx, None)
        if name is not None:
            self._group = self.child(name)
            self._group_name = name

    def leave_group(self, ctx: RequestContext, reply_status: int | None) -> None:
        """End the open group span; `reply_status` is set when a stage of it answered."""
        span, name = self._group, self._group_name
        if span is None:
            return
        self._group, self._group_name = None, ""
        if name == "gateway.auth":
            reason = _DENY_REASON.get(reply_status or 0)
            span.set_attribute("gateway.auth.result", "deny" if reason else "allow")
            if reason:
                span.set_attribute("gateway.auth.deny_reason", reason)
                span.set_status(Status(StatusCode.ERROR, reason))
        elif name == "gateway.route":
            if ctx.route is not None:
                span.set_attribute("gateway.route.provider", ctx.route.provider.name)
                span.set_attribute("gateway.route.prefix", ctx.route.provider.prefix)
            if reply_status is not None and reply_status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"http {reply_status}"))
        span.end()

    # -- upstream call ---------------------------------------------------------------------

    def start_client(self, method: str, headers: list[tuple[str, str]]) -> Span:
        """Open the upstream span and put its W3C `traceparent` into the upstream headers.

        Replaces any inbound trace headers: the upstream's parent is this gateway's span.
        """
        span = self.child(f"proxy {method} {self.pattern}", SpanKind.CLIENT)
        span.set_attribute("http.request.method", method)
        headers[:] = [h for h in headers if h[0].lower() not in _TRACE_HEADERS]
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
        headers.extend(carrier.items())
        return span

    # -- end of request --------------------------------------------------------------------

    def finish(self, ctx: RequestContext) -> None:
        """Enrich and end the server span, and stop it being the current context."""
        self.leave_group(ctx, None)
        span = self.server
        status = status_of(ctx)
        scope = scope_of(ctx)
        span.set_attributes(
            {
                "http.response.status_code": status,
                "gateway.provider": scope.provider,
                "gateway.model": scope.model,
                "gateway.org_id": scope.org_id,
                "gateway.workspace_id": scope.workspace_id,
                "gateway.route": scope.route,
                "gateway.correlation_id": ctx.request_id,
            }
        )
        identity = ctx.identity
        if identity is not None:
            for key, value in (
                ("gateway.key_id", identity.key_id),
                ("gateway.role", identity.role),
            ):
                if value.strip():
                    span.set_attribute(key, value)
        _genai(span, ctx, scope.provider)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR, f"http {status}"))
        span.end()
        self.detach()

    def detach(self) -> None:
        """Stop the server span being current (idempotent)."""
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
            self._token = None


def log_ids(span: Span) -> dict[str, str]:
    """The span's `trace_id` / `span_id` as log fields (lower-case hex, W3C widths).

    One helper for both places that name a span in a log line: the logging filter (records
    emitted while a span is current) and the `request complete` line (written after it ended).
    """
    context = span.get_span_context()
    return {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
    }


def _genai(span: Span, ctx: RequestContext, provider: str) -> None:
    """GenAI semantic-convention attributes, on model calls only."""
    path = ctx.route.upstream_path if ctx.route is not None else ctx.path
    operation = genai_operation(path.split("?", 1)[0])
    if not operation:
        return
    span.set_attribute("gen_ai.operation.name", operation)
    span.set_attribute("gen_ai.system", provider)
    span.set_attribute("gen_ai.provider.name", provider)
    if ctx.model and ctx.model != "unknown":
        span.set_attribute("gen_ai.request.model", ctx.model)
        span.set_attribute("gen_ai.response.model", ctx.model)
    if ctx.usage is not None:
        span.set_attribute("gen_ai.usage.input_tokens", ctx.usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", ctx.usage.output_tokens)
