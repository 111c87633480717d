"""Error taxonomy, stable codes, and the one renderer of error bodies.

    GatewayError
    ├─ ConfigError                       (never reaches clients)
    │  ├─ PipelineInvalid(index, message)
    │  └─ UnknownStageType
    ├─ ClientError
    │  ├─ AuthenticationFailed  401
    │  ├─ PermissionDenied      403
    │  ├─ PolicyBlocked         403  pii_blocked
    │  ├─ RouteNotFound         404  not_found
    │  ├─ PayloadTooLarge       413
    │  └─ RateLimited           429  (Retry-After)
    ├─ DependencyUnavailable    503  verification_unavailable / policy_evaluation_failed
    ├─ UpstreamError            502 upstream_unreachable / 504 upstream_timeout
    └─ InternalError            500

Expected denials are `Respond` values (see `engine.stage`); these exceptions are for failures.
Both end up as the same body: `/api/*` answers `{"error", "code"}`; provider routes answer in the
provider's own dialect so SDKs surface them (SPEC §4).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "AuthenticationFailed",
    "ClientError",
    "ConfigError",
    "DependencyUnavailable",
    "ErrorCode",
    "GatewayError",
    "InternalError",
    "PayloadTooLarge",
    "PermissionDenied",
    "PipelineInvalid",
    "PolicyBlocked",
    "RateLimited",
    "RouteNotFound",
    "UnknownStageType",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnreachable",
    "render_api_error",
    "render_provider_error",
]

ErrorCode = Literal[
    "missing_gateway_key",
    "invalid_gateway_key",
    "permission_denied",
    "action_unmapped",
    "missing_provider_credential",
    "verification_unavailable",
    "usage_limit_check_unavailable",
    "pii_blocked",
    "policy_evaluation_failed",
    "upstream_unreachable",
    "upstream_timeout",
    "not_found",
    "invalid_request",
    "payload_too_large",
    "method_not_allowed",
    "conflict",
    "not_implemented",
    "internal_error",
    "KEY_RATE_LIMIT_EXCEEDED",
    "WORKSPACE_RATE_LIMIT_EXCEEDED",
    "KEY_DAILY_TOKENS_EXCEEDED",
    "WORKSPACE_DAILY_TOKENS_EXCEEDED",
    "KEY_DAILY_COST_EXCEEDED",
    "WORKSPACE_DAILY_COST_EXCEEDED",
]


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    status: ClassVar[int] = 500
    default_code: ClassVar[ErrorCode] = "internal_error"  # overridden per class

    def __init__(
        self,
        message: str,
        code: ErrorCode | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code: ErrorCode = code or self.default_code
        self.headers = headers


class ConfigError(GatewayError):
    """Configuration or policy problems; reported to operators, never to clients."""


class PipelineInvalid(ConfigError):
    """A structural rule of the pipeline is broken at entry `index`."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


class UnknownStageType(ConfigError):
    """A pipeline names a stage type the registry does not know."""


class ClientError(GatewayError):
    """The request cannot be served as sent."""

    status = 400
    default_code: ClassVar[ErrorCode] = "invalid_request"


class AuthenticationFailed(ClientError):
    """Missing or invalid gateway key."""

    status = 401
    default_code: ClassVar[ErrorCode] = "invalid_gateway_key"


class PermissionDenied(ClientError):
    """The caller's role lacks the permission for this route."""

    status = 403
    default_code: ClassVar[ErrorCode] = "permission_denied"


class PolicyBlocked(ClientError):
    """A policy (e.g. PII block) refused the request."""

    status = 403
    default_code: ClassVar[ErrorCode] = "pii_blocked"


class RouteNotFound(ClientError):
    """No provider or API route serves this path."""

    status = 404
    default_code: ClassVar[ErrorCode] = "not_found"


class PayloadTooLarge(ClientError):
    """The request body exceeds what the gateway accepts."""

    status = 413
    default_code: ClassVar[ErrorCode] = "payload_too_large"


class RateLimited(ClientError):
    """A quota or rate limit is exhausted."""

    status = 429
    default_code: ClassVar[ErrorCode] = "KEY_RATE_LIMIT_EXCEEDED"


class DependencyUnavailable(GatewayError):
    """A dependency needed to decide (key store, policy) is down; fail closed."""

    status = 503
    default_code: ClassVar[ErrorCode] = "verification_unavailable"


class UpstreamError(GatewayError):
    """The upstream provider could not be used."""

    status = 502
    default_code: ClassVar[ErrorCode] = "upstream_unreachable"


class UpstreamUnreachable(UpstreamError):
    """Connecting to or talking with the upstream failed before a response."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer in time."""

    status = 504
    default_code: ClassVar[ErrorCode] = "upstream_timeout"


class InternalError(GatewayError):
    """A bug or an unexpected failure inside the gateway."""


_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
}


def render_api_error(message: str, code: str) -> bytes:
    """The `/api/*` error body: `{"error": message, "code": code}` plus newline."""
    return json.dumps({"error": message, "code": code}).encode() + b"\n"


def render_provider_error(
    dialect: str,
    status: int,
    message: str,
    code: str,
    extra: Iterable[tuple[str, object]] = (),
) -> bytes:
    """An error body in the provider's dialect, carrying the gateway's stable code.

    `extra` fields join the error object (e.g. `retry_after_seconds` of a 429).
    """
    error: dict[str, object]
    if dialect == "anthropic":
        kind = _ANTHROPIC_TYPES.get(status, "api_error")
        error = {"type": kind, "message": message, "code": code}
        body: dict[str, object] = {"type": "error", "error": error}
    else:
        kind = _OPENAI_TYPES.get(status, "api_error")
        error = {"message": message, "type": kind, "param": None, "code": code}
        body = {"error": error}
    error.update(extra)
    return json.dumps(body).encode() + b"\n"
