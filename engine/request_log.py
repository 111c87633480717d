"""The contract's per-request log line (§0 step 1): `request complete` as one JSON record.

The outermost layer, wrapped around the gateway app by `ongoingai serve` (uvicorn's access
log stays off, so each request is logged once). The correlation id is read from the response
headers the app sends, so the line carries exactly the id the client got — also when the app
minted one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import TYPE_CHECKING

from ongoingai.engine.correlation import CORRELATION_HEADER
from ongoingai.engine.logs import write_line
from ongoingai.engine.telemetry.spans import SERVER_SPAN_KEY, log_ids

if TYPE_CHECKING:
    from ongoingai.engine.asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestLog"]

log = logging.getLogger("ongoingai.request")
_CORR = CORRELATION_HEADER.lower().encode()


class RequestLog:
    """ASGI wrapper logging `correlation_id, method, path, status, latency_ms` per request.

    With tracing on, the line also carries the server span's `trace_id` / `span_id`, so a log
    line leads to its trace in the tracing backend.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request through, then log how it ended."""
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        corr = ""

        async def watched(message: Message) -> None:
            nonlocal status, corr
            if message["type"] == "http.response.start":
                status = message["status"]
                for key, value in message.get("headers", ()):
                    if key.lower() == _CORR:
                        corr = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except BaseException:
            status = status or 500  # what uvicorn answers for an exception before a response
            raise
        finally:
            # The JSON line is built here and queued for the log writer thread directly: the
            # logging machinery (record, caller lookup, handler chain) would cost more than
            # the rest of this wrapper, on every request. Same fields as any other JSON line.
            line = {
                "time": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
                "level": "INFO",
                "logger": log.name,
                "msg": "request complete",
                "correlation_id": corr,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            }
            span = scope.get(SERVER_SPAN_KEY)
            if span is not None:  # tracing is on: the ids of this request's server span
                line.update(log_ids(span))
            write_line(json.dumps(line))
