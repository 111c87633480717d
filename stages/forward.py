"""forward: the terminal stage — send the request upstream and stream the answer back.

Uses the process-wide aiohttp session (see engine.upstream). Chunks are relayed as they arrive
(`iter_any`: no re-chunking, no coalescing, no whole-stream buffering). Connection failures map
to 502 `upstream_unreachable`, timeouts before a response to 504 `upstream_timeout`; a failure
after headers were sent ends the stream and is noted on the context as `upstream_error`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import aiohttp
from opentelemetry.trace import Status, StatusCode
from pydantic import BaseModel, ConfigDict
from yarl import URL

from ongoingai.engine.errors import RouteNotFound, UpstreamTimeout, UpstreamUnreachable
from ongoingai.engine.stage import OnError, Outcome, UpstreamResponse

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from opentelemetry.trace import Span

    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.services import Services

__all__ = ["Forward"]

_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Not forwarded upstream: hop-by-hop, Host (set for the upstream), and Accept-Encoding (the
# gateway asks for identity so usage can be read from the bytes it relays).
_REQUEST_DROP = _HOP_BY_HOP | {b"host", b"accept-encoding", b"content-length"}


class ForwardConfig(BaseModel):
    """Options of the forward stage (`schemas/stages/forward.schema.json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout_ms: int = 10000
    read_timeout_ms: int = 600000


class Forward:
    """Terminal stage: one upstream request per client request, no retries."""

    type_name: ClassVar[str] = "forward"
    terminal: ClassVar[bool] = True
    phase: ClassVar[str] = "request"
    default_on_error: ClassVar[OnError] = "fail_closed"
    Config = ForwardConfig

    def __init__(self, config: ForwardConfig, services: Services) -> None:
        self._pool = services.upstream
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=config.connect_timeout_ms / 1000,
            sock_read=config.read_timeout_ms / 1000,
        )

    async def on_request(self, ctx: RequestContext) -> Outcome:
        """Send the request upstream and return its streaming response."""
        route = ctx.route
        if route is None:
            raise RouteNotFound(f"no provider route for {ctx.path}")
        headers = _upstream_headers(ctx)
        # The upstream call's span (tracing on only); it carries the W3C traceparent upstream.
        span = ctx.otel.start_client(ctx.method, headers) if ctx.otel is not None else None
        data: Any = ctx.body if ctx.body is not None else ctx.body_stream
        try:
            resp = await self._pool.session.request(
                ctx.method,
                URL(route.upstream_url, encoded=True),
                headers=headers,
                data=data,
                timeout=self._timeout,
                allow_redirects=False,
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            _end_span(span, 504)
            raise UpstreamTimeout("upstream request timed out") from exc
        except (aiohttp.ClientError, OSError) as exc:
            _end_span(span, 502)
            raise UpstreamUnreachable("upstream request failed") from exc
        ctx.response_status = resp.status
        out = [(k, v) for k, v in resp.raw_headers if k.lower() not in _HOP_BY_HOP]
        ctx.response_headers = out
        ctx.streaming = b"text/event-stream" in (
            resp.headers.get("content-type", "").lower().encode()
        )
        return UpstreamResponse(
            resp.status, out, _relay(resp, ctx), _closer(resp, span), resp.content.at_eof
        )


def _end_span(span: Span | None, status: int) -> None:
    """End the upstream span: it covers the call until its body is released or it failed."""
    if span is None:
        return
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"http {status}"))
    span.end()


def _upstream_headers(ctx: RequestContext) -> list[tuple[str, str]]:
    """Inbound headers minus hop-by-hop, Host and the gateway key; plus forwarding facts."""
    gateway_header = ctx.snapshot.config.auth.header.strip().lower().encode("latin-1")
    raw = ctx.headers.raw
    connection_named = {
        token.strip().lower().encode("latin-1")
        for k, v in raw
        if k.lower() == b"connection"
        for token in v.decode("latin-1").split(",")
    }
    headers = [
        (k.decode("latin-1"), v.decode("latin-1"))
        for k, v in raw
        if (lk := k.lower()) not in _REQUEST_DROP
        and lk != gateway_header
        and lk not in connection_named
    ]
    if ctx.body is None and (length := ctx.headers.get("content-length")) is not None:
        headers.append(("Content-Length", length))  # streamed body: keep the declared length
    headers.append(("Accept-Encoding", "identity"))
    if ctx.client_host:
        prior = ctx.headers.get("x-forwarded-for")
        headers = [h for h in headers if h[0].lower() != "x-forwarded-for"]
        headers.append(
            ("X-Forwarded-For", f"{prior}, {ctx.client_host}" if prior else ctx.client_host)
        )
    return headers


async def _relay(resp: aiohttp.ClientResponse, ctx: RequestContext) -> AsyncIterator[bytes]:
    """Yield upstream bytes as they arrive; a mid-stream failure ends the stream quietly."""
    try:
        async for chunk in resp.content.iter_any():
            yield chunk
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        if not ctx.client_disconnected:
            ctx.upstream_error = type(exc).__name__


def _closer(resp: aiohttp.ClientResponse, span: Span | None) -> Any:
    async def close() -> None:
        _end_span(span, resp.status)
        # A fully read body returns its connection to the pool; otherwise the connection is
        # closed, which also cancels the upstream generation.
        if resp.content.at_eof():
            resp.release()
        else:
            resp.close()

    return close
