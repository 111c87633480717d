"""`/api/diagnostics/config`: which policy revision serves and why a reload was refused."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ongoingai.engine.api.common import get_route, runtime_of

__all__ = ["router"]

router = APIRouter()


@get_route(router, "/api/diagnostics/config")
async def config_diagnostics(request: Request) -> dict[str, object]:
    """Revision, load time, source files, last reload error and restart-required keys."""
    runtime = runtime_of(request)
    snapshot = runtime.snapshot
    failure = runtime.last_error
    return {
        "revision": snapshot.revision,
        "loaded_at": snapshot.loaded_at.isoformat().replace("+00:00", "Z"),
        "sources": list(snapshot.sources),
        "last_error": None
        if failure is None
        else {
            "at": failure.at.isoformat().replace("+00:00", "Z"),
            "errors": [p.as_dict() for p in failure.problems],
        },
        "restart_required": list(runtime.restart_required),
    }
