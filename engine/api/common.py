"""Shared pieces of the admin API: the error shape, the caller's tenant, storage access."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi.responses import JSONResponse

from ongoingai.engine.auth.identity import IDENTITY_SCOPE_KEY, Identity
from ongoingai.engine.storage.filters import Tenant

if TYPE_CHECKING:
    from fastapi import APIRouter, Request

    from ongoingai.engine.persistence import Persistence
    from ongoingai.engine.runtime import Runtime

__all__ = [
    "IDENTITY_SCOPE_KEY",
    "ApiError",
    "api_error",
    "caller",
    "caller_tenant",
    "get_route",
    "persistence_of",
    "runtime_of",
]


_Endpoint = TypeVar("_Endpoint", bound=Callable[..., Any])


class ApiError(Exception):
    """Raised by an endpoint to answer `{"error": message, "code": code}` with `status`."""

    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


def get_route(router: APIRouter, path: str) -> Callable[[_Endpoint], _Endpoint]:
    """Register a GET endpoint that also answers HEAD (SPEC §1.3), documented once."""

    def register(endpoint: _Endpoint) -> _Endpoint:
        router.add_api_route(path, endpoint, methods=["GET", "HEAD"])
        return endpoint

    return register


def runtime_of(request: Request) -> Runtime:
    """The runtime the app was created with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


def persistence_of(request: Request, unavailable: str) -> Persistence:
    """The open storage, or 503 with the endpoint's own "not configured" message."""
    persistence: Persistence | None = runtime_of(request).inputs.services.persistence
    if persistence is None:
        raise ApiError(503, unavailable, "internal_error")
    return persistence


def caller(request: Request) -> Identity | None:
    """The authenticated caller; None when auth is off."""
    identity: Identity | None = request.scope.get(IDENTITY_SCOPE_KEY)
    return identity


def caller_tenant(request: Request) -> Tenant | None:
    """The authenticated caller's org/workspace; None when auth is off (reads are unscoped)."""
    identity = caller(request)
    if identity is None:
        return None
    return Tenant(identity.org_id, identity.workspace_id)


def api_error(
    status: int, message: str, code: str, headers: dict[str, Any] | None = None
) -> JSONResponse:
    """`{"error": message, "code": code}` with the given status."""
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)
