"""Diagnostics: the serving policy revision (`/config`) and the trace writer (`/trace-pipeline`)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ongoingai.engine.api.common import api_error, get_route, runtime_of

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


@get_route(router, "/api/diagnostics/trace-pipeline")
async def trace_pipeline(request: Request) -> JSONResponse:
    """The asynchronous trace writer's queue and drop counters (contract §3.3, §7.2)."""
    writer = runtime_of(request).inputs.services.trace_writer
    if writer is None:
        return api_error(503, "trace pipeline diagnostics unavailable", "internal_error")
    return JSONResponse(
        {
            "schema_version": "trace-pipeline-diagnostics.v1",
            "generated_at": _utc(dt.datetime.now(dt.UTC)),
            "diagnostics": writer.diagnostics(),
        }
    )


def _utc(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
