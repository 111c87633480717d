"""Public liveness and readiness endpoints: `/`, `/api/health`, `/api/ready`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ongoingai.engine.api.common import get_route, runtime_of
from ongoingai.engine.version import version_string

if TYPE_CHECKING:
    from ongoingai.engine.runtime import Runtime

__all__ = ["router"]

router = APIRouter()

#: Readiness probes are polled every few seconds; a slower answer is a not-ready one.
_STORAGE_PING_S = 2.0


@get_route(router, "/")
async def root() -> dict[str, str]:
    """Name, version and status (contract §3.1)."""
    return {"name": "ongoingai gateway", "version": version_string(), "status": "ok"}


@get_route(router, "/api/health")
async def health(request: Request) -> dict[str, object]:
    """Liveness: always ok while the process serves."""
    runtime = runtime_of(request)
    storage = runtime.boot.config.storage  # storage settings change only with a restart
    body: dict[str, object] = {
        "status": "ok",
        "version": version_string(),
        "uptime_sec": int(time.monotonic() - request.app.state.started_monotonic),
        "storage_driver": storage.driver.strip(),
        "trace_count": await _trace_count(runtime),
    }
    if storage.driver.strip() == "sqlite":
        with contextlib.suppress(OSError):
            size = Path(storage.path).stat().st_size
            if size:
                body["db_size_bytes"] = size
    return body


async def _trace_count(runtime: Runtime) -> int:
    """Stored traces over all tenants; 0 when storage does not answer (health never fails)."""
    persistence = runtime.inputs.services.persistence
    if persistence is None:
        return 0
    try:
        count: int = await persistence.reader.count()
        return count
    except Exception:  # noqa: BLE001 - liveness must not depend on storage
        return 0


async def _storage_problems(runtime: Runtime) -> list[str]:
    """Why storage cannot take traces now, if it cannot ([] when it answers in time)."""
    persistence = runtime.inputs.services.persistence
    if persistence is None:
        return ["storage is not open"] if runtime.started else []
    try:
        async with asyncio.timeout(_STORAGE_PING_S):
            await persistence.reader.ping()
    except TimeoutError:
        return [f"storage did not answer within {_STORAGE_PING_S:g}s"]
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; the kind is enough
        kind = type(getattr(exc, "orig", None) or exc).__name__
        return [f"storage is unavailable ({kind})"]
    return []


@get_route(router, "/api/ready")
async def ready(request: Request) -> JSONResponse:
    """Ready while a valid snapshot serves (an invalid edit keeps the last good one serving)."""
    runtime = runtime_of(request)
    reasons = [] if runtime.started else ["gateway is starting"]
    reasons += await _storage_problems(runtime)
    if reasons:
        return JSONResponse({"status": "not_ready", "reasons": reasons}, status_code=503)
    return JSONResponse(
        {
            "status": "ready",
            "config_revision": runtime.snapshot.revision,
            "config_error": runtime.last_error is not None,
        }
    )
