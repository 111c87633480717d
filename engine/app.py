"""The gateway ASGI application: lifespan, dispatch, and the admin API.

Provider paths go to the raw-ASGI proxy handler; everything else to a FastAPI app (cheap
enough for admin routes). The lifespan owns the upstream pool and the config watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ongoingai.engine.api import analytics, diagnostics, gateway_keys, health, traces
from ongoingai.engine.api.common import ApiError, api_error
from ongoingai.engine.asgi import Message, ProxyHandler, Receive, Scope, Send
from ongoingai.engine.auth.api_gate import admit_api_request
from ongoingai.engine.auth.directory import KeyDirectory
from ongoingai.engine.context import Headers
from ongoingai.engine.correlation import CORRELATION_HEADER, correlation_id
from ongoingai.engine.paths import has_path_prefix
from ongoingai.engine.persistence import Persistence
from ongoingai.engine.reload import watch_config
from ongoingai.engine.telemetry.api_span import traced_api
from ongoingai.engine.telemetry.prometheus import PrometheusSink
from ongoingai.engine.telemetry.setup import Telemetry
from ongoingai.engine.version import version_string

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ongoingai.engine.runtime import Runtime

__all__ = ["GatewayApp", "create_app"]

log = logging.getLogger("ongoingai.app")
_CORR = CORRELATION_HEADER.lower().encode()


class GatewayApp:
    """Top-level ASGI callable."""

    def __init__(
        self, runtime: Runtime, api: FastAPI, *, watch: bool = True, storage: bool = True
    ) -> None:
        self.runtime = runtime
        self.api = api
        self.startup_error: str | None = None
        self._proxy = ProxyHandler()
        self._watch = watch
        self._storage = storage
        self._stop = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch one ASGI connection."""
        kind = scope["type"]
        if kind == "http":
            if _scrape_requested(self.runtime, scope["path"]):
                await _serve_metrics(scope, _with_correlation(scope, send))
                return
            snapshot = self.runtime.snapshot  # pinned for the whole request
            if snapshot.providers.match(scope["path"]) is not None:
                await self._proxy(scope, receive, send, snapshot)
                return
            send = _with_correlation(scope, send)
            tracing = self._proxy.tracing
            if tracing is not None:
                await traced_api(tracing, snapshot, scope, send, self._serve_api(receive))
                return
            await self._serve_api(receive)(scope, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    def _serve_api(self, receive: Receive) -> Callable[[Scope, Send], Awaitable[None]]:
        async def serve(scope: Scope, send: Send) -> None:
            snapshot = self.runtime.snapshot
            if snapshot.config.auth.enabled and has_path_prefix(scope["path"], "/api"):
                keys = self.runtime.inputs.services.keys
                cors = _cors_headers(self.runtime)
                if not await admit_api_request(scope, send, snapshot, keys, cors):
                    return
            await self.api(scope, receive, send)

        return serve

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001 - any startup failure is reported, exit 1
                    self.startup_error = str(exc)
                    log.error("startup failed", extra={"error": str(exc)})
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        """Open storage and the upstream pool, then start watching the config."""
        services = self.runtime.inputs.services
        config = self.runtime.boot.config
        services.telemetry = Telemetry.create(
            config.observability.otel, version_string(), lambda: services.trace_writer
        )
        if services.telemetry is not None:
            services.telemetry.install_log_filter()
            self._proxy.tracing = services.telemetry.tracing
        if self._storage:
            services.persistence = await Persistence.open(config)
            if services.telemetry is not None:
                services.telemetry.attach_writer(
                    services.persistence.writer, config.storage.driver.strip()
                )
            services.keys = KeyDirectory(
                services.persistence.keys, lambda: self.runtime.snapshot.config.auth
            )
            services.keys.start()
        await services.upstream.start()
        if self._watch:
            self._stop.clear()
            self._watcher = asyncio.create_task(watch_config(self.runtime, self._stop))
        self.runtime.started = True

    async def shutdown(self) -> None:
        """Stop the watcher and close the upstream pool."""
        self.runtime.started = False
        self._stop.set()
        if self._watcher is not None:
            with contextlib.suppress(asyncio.CancelledError, asyncio.TimeoutError):
                await asyncio.wait_for(self._watcher, timeout=2)
            self._watcher = None
        services = self.runtime.inputs.services
        if services.keys is not None:
            await services.keys.stop()
            services.keys = None
        await services.upstream.close()
        if services.persistence is not None:
            await services.persistence.close()
            services.persistence = None
        self._proxy.tracing = None
        if services.telemetry is not None:
            # Blocking flush (bounded by the export timeout): the last spans and metrics of
            # the process are worth the wait at shutdown.
            await asyncio.to_thread(services.telemetry.shutdown)
            services.telemetry = None


def _scrape_requested(runtime: Runtime, path: str) -> bool:
    """Contract §0 step 2: the exact Prometheus path, before auth, tracing and routing."""
    otel = runtime.snapshot.config.observability.otel
    return otel.enabled and otel.prometheus_enabled and path == otel.prometheus_path


async def _serve_metrics(scope: Scope, send: Send) -> None:
    """The exposition text for any method; OpenMetrics when the scraper's Accept asks for it."""
    accept = Headers(scope["headers"]).get("accept") or ""
    body, content_type = await PrometheusSink.scrape(accept)
    headers = [(b"content-type", content_type.encode("latin-1"))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _with_correlation(scope: Scope, send: Send) -> Send:
    """Every API response carries the correlation id too (contract §7.6).

    A minted id is also put into the request headers, so whatever reads the correlation id
    later (audit events, logs) sees the same one the response carries.
    """
    headers = Headers(scope["headers"])
    corr = correlation_id(headers).encode("latin-1")
    if headers.get(CORRELATION_HEADER) != corr.decode("latin-1"):
        scope["headers"] = [
            *(h for h in scope["headers"] if h[0].lower() != _CORR),
            (_CORR, corr),
        ]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != _CORR]
            headers.append((_CORR, corr))
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def create_app(runtime: Runtime, *, watch: bool = True, storage: bool = True) -> GatewayApp:
    """Build the gateway app around a runtime (its snapshot must already be valid)."""
    api = FastAPI(
        title="OngoingAI Gateway",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,  # `/api/traces/` is a 404, not a redirect (contract §3.2)
    )
    api.state.runtime = runtime
    api.state.started_monotonic = time.monotonic()
    api.include_router(health.router)
    api.include_router(diagnostics.router)
    api.include_router(traces.router)
    api.include_router(analytics.router)
    api.include_router(gateway_keys.router)
    _install_error_handlers(api, runtime)
    return GatewayApp(runtime, api, watch=watch, storage=storage)


def _install_error_handlers(api: FastAPI, runtime: Runtime) -> None:
    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=_cors_headers(runtime))
        if exc.status_code == 404:
            return api_error(404, "not found", "not_found")
        if exc.status_code == 405:
            allow = exc.headers.get("Allow", "") if exc.headers else ""
            methods = sorted({m.strip() for m in allow.split(",") if m.strip()}, key=_method_rank)
            headers = {"Allow": ", ".join([*methods, "OPTIONS"])}
            return api_error(405, "method not allowed", "method_not_allowed", headers)
        return api_error(exc.status_code, str(exc.detail), "invalid_request")

    @api.exception_handler(ApiError)
    async def refused(_request: Request, exc: ApiError) -> JSONResponse:
        return api_error(exc.status, exc.message, exc.code)

    @api.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"msg": "invalid request"}
        return api_error(400, str(first.get("msg")), "invalid_request")

    @api.middleware("http")
    async def cors(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=_cors_headers(runtime))
        response = await call_next(request)
        response.headers.update(_cors_headers(runtime))
        return response


_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _method_rank(method: str) -> tuple[int, str]:
    """Allow lists methods in a stable, conventional order (Starlette keeps a set)."""
    return (_METHOD_ORDER.index(method) if method in _METHOD_ORDER else 99, method)


def _cors_headers(runtime: Runtime) -> dict[str, str]:
    allowed = ["Content-Type", "Authorization", "X-API-Key", "X-OngoingAI-Gateway-Key"]
    custom = runtime.snapshot.config.auth.header.strip()
    if custom and custom.lower() not in (h.lower() for h in allowed):
        allowed.append(custom)
    return {
        "Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": ", ".join(allowed),
    }
