"""Shared pieces of the admin API: JSON responses with the contract's error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from fastapi import APIRouter, Request

    from ongoingai.engine.runtime import Runtime

__all__ = ["api_error", "get_route", "runtime_of"]

_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


def get_route(router: APIRouter, path: str) -> Callable[[_Endpoint], _Endpoint]:
    """Register a GET endpoint that also answers HEAD (SPEC §1.3), documented once."""

    def register(endpoint: _Endpoint) -> _Endpoint:
        router.add_api_route(path, endpoint, methods=["GET"])
        router.add_api_route(path, endpoint, methods=["HEAD"], include_in_schema=False)
        return endpoint

    return register


def runtime_of(request: Request) -> Runtime:
    """The runtime the app was created with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def api_error(
    status: int, message: str, code: str, headers: dict[str, Any] | None = None
) -> JSONResponse:
    """`{"error": message, "code": code}` with the given status."""
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)
