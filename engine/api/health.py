"""Public liveness and readiness endpoints: `/`, `/api/health`, `/api/ready`."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ongoingai.engine.api.common import get_route, runtime_of
from ongoingai.engine.version import version_string

__all__ = ["router"]

router = APIRouter()


@get_route(router, "/")
async def root() -> dict[str, str]:
    """Name, version and status (contract §3.1)."""
    return {"name": "ongoingai gateway", "version": version_string(), "status": "ok"}


@get_route(router, "/api/health")
async def health(request: Request) -> dict[str, object]:
    """Liveness: always ok while the process serves."""
    runtime = runtime_of(request)
    return {
        "status": "ok",
        "version": version_string(),
        "uptime_sec": int(time.monotonic() - request.app.state.started_monotonic),
        "storage_driver": runtime.boot.config.storage.driver.strip(),  # restart-only
    }


@get_route(router, "/api/ready")
async def ready(request: Request) -> JSONResponse:
    """Ready while a valid snapshot serves (an invalid edit keeps the last good one serving)."""
    runtime = runtime_of(request)
    reasons = [] if runtime.started else ["gateway is starting"]
    if reasons:
        return JSONResponse({"status": "not_ready", "reasons": reasons}, status_code=503)
    return JSONResponse(
        {
            "status": "ready",
            "config_revision": runtime.snapshot.revision,
            "config_error": runtime.last_error is not None,
        }
    )
