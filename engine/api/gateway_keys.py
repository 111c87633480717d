"""Gateway-key endpoints (contract §3.5): list, create, revoke and rotate, each mutation audited.

With an authenticated caller every operation is confined to its org and workspace: a new key
is created there whatever the body says, and another tenant's key is `404 gateway key not
found`, exactly like a missing one. Without auth, keys go where the body says (else `default`).
Keys declared in `ongoingai.yaml` are listed too but are read-only (501), and their ids and
tokens cannot be reused (409).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from ongoingai.engine.api.body import read_json_object
from ongoingai.engine.api.common import (
    ApiError,
    caller,
    caller_tenant,
    get_route,
    persistence_of,
    runtime_of,
)
from ongoingai.engine.api.key_audit import Action, KeyAudit
from ongoingai.engine.auth.lifecycle import InvalidToken, KeyLifecycle, KeyRequest, NotSupported
from ongoingai.engine.auth.tokens import generate_key_id
from ongoingai.engine.storage.gateway_keys import (
    DEFAULT_TENANT,
    InvalidKey,
    KeyConflict,
    KeyNotFound,
    KeyStoreError,
    TokenConflict,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ongoingai.engine.auth.identity import Identity

__all__ = ["router"]

log = logging.getLogger("ongoingai.api")
router = APIRouter()
#: The `{id}` path segment (the contract's name; `id` itself would shadow the builtin).
KeyId = Annotated[str, Path(alias="id")]

_STORE_MISSING = "gateway key store is not configured"
_BODY_LIMIT = 64 * 1024
_TOO_LARGE = "request body too large"
_INVALID = "invalid json body"
_TEXT_FIELDS = ("id", "token", "org_id", "workspace_id", "name", "description", "role")
_CREATE_FIELDS = frozenset({*_TEXT_FIELDS, "permissions"})
_ROTATE_FIELDS = frozenset({"token"})
_FAILED: dict[Action, str] = {
    "create": "failed to create gateway key",
    "revoke": "failed to revoke gateway key",
    "rotate": "failed to rotate gateway key",
}
#: Refused operations: exception type -> (status, error code, audit reason).
_REFUSALS: dict[type[KeyStoreError], tuple[int, str, str]] = {
    KeyNotFound: (404, "not_found", "not_found"),
    KeyConflict: (409, "conflict", "conflict"),
    TokenConflict: (409, "conflict", "conflict"),
    NotSupported: (501, "not_implemented", "not_implemented"),
    InvalidToken: (400, "invalid_request", "invalid_token"),
    InvalidKey: (400, "invalid_request", "invalid_key"),
}
#: Refusals before the operation starts: status -> audit reason.
_EARLY_REASONS = {503: "store_unavailable", 413: "body_too_large", 400: "invalid_json"}


def _lifecycle(request: Request) -> KeyLifecycle:
    """The stored keys plus the YAML keys of the snapshot serving this request."""
    store = persistence_of(request, _STORE_MISSING).keys
    return KeyLifecycle(store, runtime_of(request).snapshot.config.auth.keys)


@get_route(router, "/api/gateway-keys")
async def list_keys(request: Request) -> dict[str, Any]:
    """Active keys of the caller's tenant (all without auth): YAML ones, then stored ones."""
    lifecycle = _lifecycle(request)
    try:
        keys = await lifecycle.list(caller_tenant(request))
    except (SQLAlchemyError, OSError) as exc:
        raise _storage_failure("failed to list gateway keys", exc) from None
    return {"items": [key.as_json() for key in keys]}


@router.post("/api/gateway-keys", status_code=201)
async def create_key(request: Request) -> Response:
    """A new key in the caller's tenant; the only response that shows its token."""
    audit = KeyAudit.start(request, "create")

    async def operation() -> Response:
        lifecycle = _lifecycle(request)
        body = await _read(request, _CREATE_FIELDS)
        wanted = _key_request(body, caller(request))
        audit.target_key_id = wanted.id
        audit.org_id, audit.workspace_id = wanted.org_id, wanted.workspace_id
        issued = await lifecycle.create(wanted)
        audit.about(issued.key)
        return JSONResponse(issued.as_json(), status_code=201)

    return await _audited(audit, operation)


@router.delete("/api/gateway-keys/{id}", status_code=204)
async def revoke_key(request: Request, key_id: KeyId) -> Response:
    """Revoke a stored key; every replica refuses it after its next key refresh."""
    audit = KeyAudit.start(request, "revoke", key_id)

    async def operation() -> Response:
        revoked = await _lifecycle(request).revoke(key_id, caller_tenant(request))
        audit.about(revoked)
        return Response(status_code=204)

    return await _audited(audit, operation)


@router.post("/api/gateway-keys/{id}/rotate")
async def rotate_key(request: Request, key_id: KeyId) -> Response:
    """Give a stored key a new token (the body's, else generated); the old one stops working."""
    audit = KeyAudit.start(request, "rotate", key_id)

    async def operation() -> Response:
        lifecycle = _lifecycle(request)
        body = await _read(request, _ROTATE_FIELDS)
        token = body.get("token", "")
        if not isinstance(token, str):
            raise ApiError(400, _INVALID, "invalid_request")
        issued = await lifecycle.rotate(key_id, token, caller_tenant(request))
        audit.about(issued.key)
        return JSONResponse(issued.as_json())

    return await _audited(audit, operation)


async def _audited(audit: KeyAudit, operation: Callable[[], Awaitable[Response]]) -> Response:
    """Run a mutation and log its audit event, whatever the outcome."""
    try:
        response = await operation()
    except (ApiError, KeyStoreError, SQLAlchemyError, OSError) as exc:
        error, reason = _refusal(exc, audit.action)
        audit.failure(error.status, reason)
        raise error from None
    audit.success(response.status_code)
    return response


def _refusal(exc: Exception, action: Action) -> tuple[ApiError, str]:
    """The API error and audit reason for what stopped a mutation."""
    if isinstance(exc, ApiError):
        return exc, _EARLY_REASONS.get(exc.status, "invalid_json")
    refusal = _REFUSALS.get(type(exc)) if isinstance(exc, KeyStoreError) else None
    if refusal is not None:
        status, code, reason = refusal
        return ApiError(status, str(exc), code), reason
    return _storage_failure(_FAILED[action], exc), f"{action}_failed"


async def _read(request: Request, fields: frozenset[str]) -> dict[str, Any]:
    return await read_json_object(
        request, limit=_BODY_LIMIT, fields=fields, too_large=_TOO_LARGE, invalid=_INVALID
    )


def _key_request(body: dict[str, Any], identity: Identity | None) -> KeyRequest:
    """The create request; an authenticated caller's tenant overrides the body's."""
    texts = {name: body.get(name, "") for name in _TEXT_FIELDS}
    permissions = body.get("permissions", [])
    if not all(isinstance(value, str) for value in texts.values()):
        raise ApiError(400, _INVALID, "invalid_request")
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise ApiError(400, _INVALID, "invalid_request")
    if identity is not None:
        texts["org_id"], texts["workspace_id"] = identity.org_id, identity.workspace_id
    return KeyRequest(
        id=texts["id"].strip() or generate_key_id(),  # known before storing, for the audit
        token=texts["token"],
        org_id=texts["org_id"].strip() or DEFAULT_TENANT,
        workspace_id=texts["workspace_id"].strip() or DEFAULT_TENANT,
        name=texts["name"],
        description=texts["description"],
        role=texts["role"],
        permissions=tuple(permissions),
        created_by=identity.key_id if identity is not None else "system",
    )


def _storage_failure(message: str, exc: Exception) -> ApiError:
    # Never the exception text: SQLAlchemy's quotes statement parameters.
    log.error(message, extra={"error_kind": type(getattr(exc, "orig", None) or exc).__name__})
    return ApiError(500, message, "internal_error")
