"""Shared pieces of the admin API: JSON responses with the contract's error shape."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from fastapi import Request

    from ongoingai.engine.runtime import Runtime

__all__ = ["api_error", "runtime_of"]


def runtime_of(request: Request) -> Runtime:
    """The runtime the app was created with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def api_error(
    status: int, message: str, code: str, headers: dict[str, Any] | None = None
) -> JSONResponse:
    """`{"error": message, "code": code}` with the given status."""
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)
