"""The server span around admin API requests (`<METHOD> /api/*`, `/other` elsewhere)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from opentelemetry.trace import Status, StatusCode

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ongoingai.engine.asgi import Message, Scope, Send
    from ongoingai.engine.snapshot import PolicySnapshot
    from ongoingai.engine.telemetry.spans import Tracing

__all__ = ["traced_api"]


async def traced_api(
    tracing: Tracing,
    snapshot: PolicySnapshot,
    scope: Scope,
    send: Send,
    serve: Callable[[Scope, Send], Awaitable[None]],
) -> None:
    """Serve one API request inside a server span that records the response status."""
    pattern = tracing.pattern(snapshot.providers, scope["path"])
    spans = tracing.start_server(scope, pattern)
    status = 500  # what the span says when the app raised before answering

    async def watching(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        await send(message)

    try:
        await serve(scope, watching)
    finally:
        span = spans.server
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("gateway.route", pattern)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR, f"http {status}"))
        span.end()
        spans.detach()
