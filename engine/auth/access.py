"""The access decision shared by the admin API gate and the authenticate/authorize stages.

Contract §5.2-5.3 order: the route's rule is found first (deny by default: an `/api` request no
rule maps is refused before any key is looked at), then the key is authenticated, then its
permission checked, then — on provider routes — a provider credential is required. Only
`/api` and provider paths are protected; `/`, `/metrics` and unknown paths are not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ongoingai.engine.auth.directory import DirectoryUnavailable
from ongoingai.engine.auth.tokens import hash_token
from ongoingai.engine.paths import has_path_prefix

if TYPE_CHECKING:
    from ongoingai.engine.auth.directory import KeyDirectory
    from ongoingai.engine.auth.identity import Identity
    from ongoingai.engine.context import Headers
    from ongoingai.engine.models.rbac import RouteRule
    from ongoingai.engine.snapshot import PolicySnapshot

__all__ = [
    "MISSING_CREDENTIAL",
    "Denial",
    "audit_denial",
    "has_provider_credential",
    "identify",
    "is_protected",
    "permission_denial",
    "rule_for",
]

audit = logging.getLogger("ongoingai.audit")


@dataclass(frozen=True, slots=True)
class Denial:
    """A refused request: status, stable code (the audit reason) and message."""

    status: int
    code: str
    message: str


_KEY_MESSAGE = "missing or invalid gateway key"
MISSING_KEY = Denial(401, "missing_gateway_key", _KEY_MESSAGE)
INVALID_KEY = Denial(401, "invalid_gateway_key", _KEY_MESSAGE)
UNAVAILABLE = Denial(503, "verification_unavailable", "gateway key verification unavailable")
UNMAPPED = Denial(403, "action_unmapped", "request is not authorized by gateway policy")
FORBIDDEN = Denial(403, "permission_denied", "gateway key does not have required permission")
MISSING_CREDENTIAL = Denial(
    403,
    "missing_provider_credential",
    "missing provider API key — pass your provider key via Authorization or X-API-Key header",
)
_CREDENTIAL_HEADERS = ("authorization", "x-api-key")


def is_protected(snapshot: PolicySnapshot, path: str) -> bool:
    """Whether auth applies to `path`: the admin API and provider routes."""
    return has_path_prefix(path, "/api") or snapshot.providers.match(path) is not None


def rule_for(snapshot: PolicySnapshot, method: str, path: str) -> RouteRule | None:
    """The `rbac` rule governing the request; None means unmapped (refused)."""
    return snapshot.rbac.match(method, path, snapshot.providers.prefixes)


async def identify(
    snapshot: PolicySnapshot, headers: Headers, directory: KeyDirectory | None
) -> Identity | Denial:
    """Authenticate the gateway key in the configured header (never `Authorization`).

    YAML keys are checked first and do not depend on the database; stored keys come from the
    directory, which fails closed when it is stale.
    """
    token = (headers.get(snapshot.config.auth.header.strip()) or "").strip()
    if not token:
        return MISSING_KEY
    digest = hash_token(token)
    entry = snapshot.keys.find(digest)
    if entry is None and directory is not None and directory.has_store:
        try:
            entry = (await directory.ring()).find(digest)
        except DirectoryUnavailable:
            return UNAVAILABLE
    if entry is None:
        return INVALID_KEY
    return entry.identity(snapshot.rbac)


def permission_denial(identity: Identity | None, rule: RouteRule | None) -> Denial | None:
    """Why `identity` may not do what `rule` covers, or None when it may."""
    if rule is None:
        return UNMAPPED
    if rule.public:
        return None
    if identity is None:
        return MISSING_KEY
    if rule.permission is None or not identity.allows(rule.permission):
        return FORBIDDEN
    return None


def has_provider_credential(headers: Headers, extra: tuple[str, ...] = ()) -> bool:
    """A non-empty `Authorization`, `X-API-Key` or provider-specific credential header."""
    return any((headers.get(name) or "").strip() for name in (*_CREDENTIAL_HEADERS, *extra))


def audit_denial(
    denial: Denial,
    *,
    correlation_id: str,
    path: str,
    rule: RouteRule | None,
    identity: Identity | None,
    provider: str = "",
) -> None:
    """The contract's `audit gateway auth deny` event (WARN, structured; no secrets)."""
    audit.warning(
        "audit gateway auth deny",
        extra={
            "correlation_id": correlation_id,
            "audit_action": "gateway_auth",
            "audit_outcome": "deny",
            "audit_reason": denial.code,
            "status_code": denial.status,
            "path": path,
            "audit_resource": rule.resource if rule is not None else "api",
            "audit_resource_action": rule.action if rule is not None else "",
            "audit_scope": "workspace",
            "provider": provider,
            "required_permission": (rule.permission or "") if rule is not None else "",
            "key_id": identity.key_id if identity else "",
            "org_id": (identity.org_id or "default") if identity else "",
            "workspace_id": (identity.workspace_id or "default") if identity else "",
            "limit_code": "",
        },
    )
