"""The raw-ASGI front door: provider paths run the pipeline, everything else goes to the API.

Raw ASGI on purpose: a FastAPI route costs ~0.45 ms more per request than this handler
(reference/perf-baseline.md). The snapshot is pinned once per request, so a hot reload never
changes the rules under a request in flight.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from ongoingai.engine.context import Headers, RequestContext
from ongoingai.engine.correlation import CORRELATION_HEADER, correlation_id
from ongoingai.engine.errors import render_provider_error
from ongoingai.engine.stage import Respond, UpstreamResponse

if TYPE_CHECKING:
    from ongoingai.engine.snapshot import PolicySnapshot
    from ongoingai.engine.telemetry.spans import Tracing

__all__ = ["ASGIApp", "Message", "ProxyHandler", "Receive", "Scope", "Send"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("ongoingai.proxy")
_CORR = CORRELATION_HEADER.lower().encode()
_JSON = (b"content-type", b"application/json")


class ProxyHandler:
    """Runs one proxied request through its pinned snapshot's pipeline.

    `tracing` is set by the app once telemetry is up; while it is None no span or context is
    created for any request.
    """

    __slots__ = ("tracing",)

    def __init__(self) -> None:
        self.tracing: Tracing | None = None

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, snapshot: PolicySnapshot
    ) -> None:
        """Serve one request under a provider prefix."""
        headers = Headers(scope["headers"])
        corr = correlation_id(headers)
        ctx = RequestContext(
            request_id=corr,
            received_at_ns=time.time_ns(),
            method=scope["method"],
            path=scope["path"],
            raw_path=(scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
            query=scope.get("query_string", b"").decode("latin-1"),
            headers=Headers(_with_correlation(scope["headers"], corr)),
            client_host=(scope.get("client") or ("",))[0] or "",
            snapshot=snapshot,
        )
        tracing = self.tracing
        if tracing is not None:
            pattern = tracing.pattern(snapshot.providers, ctx.path)
            ctx.otel = tracing.start_server(scope, pattern)
        try:
            await _read_first_body(ctx, receive)
            outcome = await snapshot.pipeline.run(ctx)
            try:
                if isinstance(outcome, Respond):
                    await _send_reply(ctx, outcome, send)
                else:
                    await _stream(ctx, outcome, receive, send)
            finally:
                ctx.completed_ns = time.time_ns()
                await snapshot.pipeline.complete(ctx)
        finally:
            if ctx.otel is not None:
                ctx.otel.finish(ctx)


def _with_correlation(raw: list[tuple[bytes, bytes]], corr: str) -> list[tuple[bytes, bytes]]:
    """Set the canonical correlation header so it is forwarded upstream and stored."""
    out = [(k, v) for k, v in raw if k.lower() != _CORR]
    out.append((_CORR, corr.encode("latin-1")))
    return out


async def _read_first_body(ctx: RequestContext, receive: Receive) -> None:
    """Read the first body message; a one-message body (the common case) is kept as bytes."""
    message = await receive()
    if message["type"] == "http.disconnect":
        ctx.client_disconnected = True
        ctx.body = b""
        return
    first = message.get("body", b"")
    if not message.get("more_body", False):
        ctx.body = first
        return
    ctx.body_stream = _rest_of_body(first, receive, ctx)


async def _rest_of_body(
    first: bytes, receive: Receive, ctx: RequestContext
) -> AsyncIterator[bytes]:
    if first:
        yield first
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            ctx.client_disconnected = True
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


async def _send_reply(ctx: RequestContext, reply: Respond, send: Send) -> None:
    """A local reply, shaped in the provider's error dialect so SDKs surface it."""
    match = ctx.snapshot.providers.match(ctx.path)
    dialect = match[1].dialect if match else "openai"
    body = render_provider_error(dialect, reply.status, reply.message, reply.code, reply.extra)
    headers = [_JSON, (_CORR, ctx.request_id.encode("latin-1"))]
    headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers)
    ctx.response_status = reply.status
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _stream(
    ctx: RequestContext, upstream: UpstreamResponse, receive: Receive, send: Send
) -> None:
    """Relay the upstream response chunk by chunk; stop early if the client leaves."""
    headers = [h for h in upstream.headers if h[0].lower() != _CORR]
    headers.append((_CORR, ctx.request_id.encode("latin-1")))
    # Only open-ended responses (SSE, chunked) need a watch for the client leaving early.
    streaming = ctx.body_stream is None and not any(
        k.lower() == b"content-length" for k, _ in headers
    )
    done = asyncio.Event()
    watcher = (
        asyncio.ensure_future(_watch_disconnect(ctx, upstream, receive, done))
        if streaming
        else None
    )
    try:
        await send({"type": "http.response.start", "status": upstream.status, "headers": headers})
        if not await _relay_body(ctx, upstream, send, done):
            await _end_early(ctx, send, done)
    except OSError:
        ctx.client_disconnected = True
    finally:
        done.set()
        if watcher is not None:
            watcher.cancel()
        await upstream.close()


async def _relay_body(
    ctx: RequestContext, upstream: UpstreamResponse, send: Send, done: asyncio.Event
) -> bool:
    """Send each chunk as it arrives; True when the final frame went out with the last one."""
    pipeline = ctx.snapshot.pipeline
    observe = pipeline.observes_chunks
    async for chunk in upstream.body:
        out = pipeline.on_chunk(ctx, chunk) if observe else chunk
        # The last chunk (usually the only one of a JSON answer) goes out as the final frame:
        # one send instead of two.
        finished = upstream.at_eof()
        if finished:
            out += pipeline.on_stream_end(ctx) if observe else b""
            done.set()
        if out or finished:
            await send({"type": "http.response.body", "body": out, "more_body": not finished})
        if out:
            if not ctx.first_byte_ns:
                ctx.first_byte_ns = time.time_ns()
            ctx.stream_chunks += 1
        if finished:
            return True
    return False


async def _end_early(ctx: RequestContext, send: Send, done: asyncio.Event) -> None:
    """The body ended without the final frame: finish it, or pass an upstream break on."""
    pipeline = ctx.snapshot.pipeline
    tail = pipeline.on_stream_end(ctx) if pipeline.observes_chunks else b""
    done.set()
    if ctx.client_disconnected:
        return
    if tail:
        await send({"type": "http.response.body", "body": tail, "more_body": True})
        ctx.stream_chunks += 1
    if ctx.upstream_error:
        # Ending the response cleanly would let the client take a cut stream for a whole one:
        # the connection closes without the final chunk, as the upstream's did.
        return
    await send({"type": "http.response.body", "body": b""})


async def _watch_disconnect(
    ctx: RequestContext, upstream: UpstreamResponse, receive: Receive, done: asyncio.Event
) -> None:
    """Notice the client leaving mid-response; closing upstream cancels the generation.

    After the response completes the server also reports `http.disconnect`; `done` tells the
    two apart.
    """
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if not done.is_set():
                ctx.client_disconnected = True
                await upstream.close()
            return
