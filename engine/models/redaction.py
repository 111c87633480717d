"""Typed redaction (PII) policy: mode, detectors, denylists, placeholder format and scopes.

A ``kind: redaction`` file (schema ``schemas/redaction.schema.json``) is the contract's ``pii:``
block in file form, so :meth:`RedactionPolicy.from_pii_config` accepts that block as written.
:meth:`RedactionPolicy.resolve` picks the mode and policy id for one request (contract §2.4).
"""

import hashlib
from collections.abc import Mapping
from typing import Annotated, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, PrivateAttr, model_validator

from ongoingai.engine.paths import has_path_prefix

__all__ = [
    "BUILTIN_HEADER_DENYLIST",
    "DEFAULT_POLICY_ID",
    "DEFAULT_REPLACEMENT_FORMAT",
    "BodyRules",
    "Detectors",
    "HeaderRules",
    "Mode",
    "PolicyMode",
    "RedactionPolicy",
    "Replacement",
    "ResolvedRedaction",
    "Scope",
    "ScopeMatch",
    "Stages",
]

Mode = Literal["off", "redact_storage", "redact_upstream", "block", "shadow"]
"""An effective mode, as a request is processed and as a scope may set it."""

PolicyMode = Literal["auto", "off", "redact_storage", "redact_upstream", "block", "shadow"]
"""The global mode as written; ``auto`` (the contract's empty ``pii.mode``) is resolved later."""

DEFAULT_POLICY_ID = "default/v1"
DEFAULT_REPLACEMENT_FORMAT = "[{type}_REDACTED:{hash}]"
DEFAULT_TENANT = "default"
BUILTIN_HEADER_DENYLIST = frozenset(
    {"authorization", "cookie", "set-cookie", "x-api-key", "x-ongoingai-gateway-key"}
)
"""Headers whose stored values are always redacted, whatever the policy says (contract §6.4)."""


def _trimmed_or_none(value: object) -> object:
    """Treat an empty or blank string as "not set", as the contract's Go zero values do."""
    if isinstance(value, str):
        return value.strip() or None
    return value


def _policy_mode(value: object) -> object:
    """Accept the contract's spelling of the global mode: any case, and empty for ``auto``."""
    if isinstance(value, str):
        return value.strip().lower() or "auto"
    return value


def _scoped_mode(value: object) -> object:
    """Accept a scope mode in any case; empty means "keep the global mode"."""
    if isinstance(value, str):
        return value.strip().lower() or None
    return value


def _global_policy_id(value: object) -> object:
    """Map an empty global policy id to ``default/v1`` (the contract does it at resolve time)."""
    if isinstance(value, str):
        return value.strip() or DEFAULT_POLICY_ID
    return value


def _replacement_format(value: object) -> object:
    """Map an empty placeholder format to the default one, as the contract does."""
    return value or DEFAULT_REPLACEMENT_FORMAT


def _normalize_body_key(key: str) -> str:
    """Normalize a JSON field name for matching: drop ``-``, ``_`` and spaces; lowercase."""
    return key.replace("-", "").replace("_", "").replace(" ", "").lower()


Selector = Annotated[str | None, BeforeValidator(_trimmed_or_none)]


class _Frozen(BaseModel):
    """Base for every redaction model: unknown keys are errors and instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Stages(_Frozen):
    """Which parts of an exchange the policy processes."""

    request_headers: bool = True
    request_body: bool = True
    response_headers: bool = True
    response_body: bool = True


class Detectors(_Frozen):
    """Which string detectors run.

    They run in the order email, credit_card, ssn, phone, ipv4, provider_key, token_like
    (:mod:`ongoingai.engine.redaction.text` says why). The first four are the contract's;
    credit_card, ipv4 and provider_key are ours, on by default like the others.
    """

    email: bool = True
    phone: bool = True
    ssn: bool = True
    token_like: bool = True
    credit_card: bool = True
    ipv4: bool = True
    provider_key: bool = True


class HeaderRules(_Frozen):
    """Header names whose stored values are replaced by ``[REDACTED]``."""

    denylist: tuple[str, ...] = tuple(sorted(BUILTIN_HEADER_DENYLIST))
    _names: frozenset[str] = PrivateAttr(default=frozenset())

    def model_post_init(self, context: object, /) -> None:
        """Index the configured names once, lowercased (header names are case-insensitive)."""
        self._names = frozenset(name.strip().lower() for name in self.denylist)

    def denies(self, name: str, *, include_configured: bool = True) -> bool:
        """Return whether a header's value must be redacted.

        Args:
            name: The header name, any case.
            include_configured: Whether the configured list applies (the caller passes the
                matching ``stages`` flag); the built-ins always apply.

        Returns:
            ``True`` when the header is denylisted.
        """
        lowered = name.strip().lower()
        return lowered in BUILTIN_HEADER_DENYLIST or (include_configured and lowered in self._names)


class BodyRules(_Frozen):
    """JSON field names whose whole value is replaced by a ``FIELD`` placeholder."""

    key_denylist: tuple[str, ...] = (
        "email",
        "phone",
        "password",
        "token",
        "secret",
        "ssn",
        "api_key",
        "authorization",
    )
    _keys: frozenset[str] = PrivateAttr(default=frozenset())

    def model_post_init(self, context: object, /) -> None:
        """Normalize the denylist once so each lookup is one set membership test."""
        self._keys = frozenset(_normalize_body_key(key) for key in self.key_denylist)

    def denies(self, key: str) -> bool:
        """Return whether a JSON field name is denylisted.

        Matching is exact on the normalized name (SPEC §1.7), so ``api-key`` and ``apiKey`` match
        ``api_key`` but ``max_tokens`` does not match ``token``.
        """
        return _normalize_body_key(key) in self._keys


class Replacement(_Frozen):
    """How a redacted value is rendered: a template plus a salt for the stable hash."""

    format: Annotated[str, BeforeValidator(_replacement_format)] = DEFAULT_REPLACEMENT_FORMAT
    hash_salt: str = ""

    def placeholder(self, kind: str, value: str, workspace_id: str | None) -> str:
        """Render the placeholder for one redacted value (contract §6.3).

        The hash is the first 16 hex characters of SHA-256 over ``<workspace>:<salt>:<value>``:
        stable within a workspace and salt, so equal values stay correlatable, and different
        across workspaces.

        Args:
            kind: The detector type, e.g. ``email`` or ``field``; rendered upper-case.
            value: The original value (its string form).
            workspace_id: The caller's workspace; empty or ``None`` means ``default``.

        Returns:
            The rendered placeholder, e.g. ``[EMAIL_REDACTED:0123456789abcdef]``.
        """
        workspace = (workspace_id or "").strip() or DEFAULT_TENANT
        material = f"{workspace}:{self.hash_salt}:{value}".encode()
        digest = hashlib.sha256(material).hexdigest()[:16]
        return self.format.replace("{type}", kind.upper()).replace("{hash}", digest)


class ScopeMatch(_Frozen):
    """The selectors of a scope; every selector that is set must match."""

    org_id: Selector = None
    workspace_id: Selector = None
    key_id: Selector = None
    provider: Selector = None
    route_prefix: Selector = None

    @model_validator(mode="after")
    def _require_selector(self) -> Self:
        """Reject a scope that would match everything (contract §2.3 rule 6)."""
        if self.specificity == 0:
            raise ValueError(
                "match must set at least one selector: org_id, workspace_id, key_id, "
                "provider, or route_prefix"
            )
        return self

    @property
    def specificity(self) -> int:
        """Return the number of selectors set; the most specific matching scope wins."""
        selectors = (self.org_id, self.workspace_id, self.key_id, self.provider, self.route_prefix)
        return sum(selector is not None for selector in selectors)

    def matches(
        self,
        org_id: str | None,
        workspace_id: str | None,
        key_id: str | None,
        provider: str | None,
        route: str | None,
    ) -> bool:
        """Return whether a request's tenant, provider and path satisfy every set selector."""
        if self.org_id is not None and (org_id or "").strip() != self.org_id:
            return False
        if self.workspace_id is not None and (workspace_id or "").strip() != self.workspace_id:
            return False
        if self.key_id is not None and (key_id or "").strip() != self.key_id:
            return False
        if self.provider is not None and (provider or "").strip().lower() != self.provider.lower():
            return False
        return self.route_prefix is None or has_path_prefix(route or "", self.route_prefix)


class Scope(_Frozen):
    """A scoped override of the global mode and/or policy id."""

    match: ScopeMatch
    mode: Annotated[Mode | None, BeforeValidator(_scoped_mode)] = None
    policy_id: Selector = None


class ResolvedRedaction(_Frozen):
    """The redaction decision for one request: effective mode, policy id and winning scope."""

    mode: Mode
    policy_id: str
    scope_index: int | None = None
    """Index of the winning scope in ``scopes``, or ``None`` when the global policy applied."""


class RedactionPolicy(_Frozen):
    """A ``kind: redaction`` data file (or the contract's ``pii:`` block): one PII policy."""

    kind: Literal["redaction"]
    version: Literal[1]
    description: str | None = None
    mode: Annotated[PolicyMode, BeforeValidator(_policy_mode)] = "auto"
    policy_id: Annotated[str, BeforeValidator(_global_policy_id)] = DEFAULT_POLICY_ID
    stages: Stages = Stages()
    detectors: Detectors = Detectors()
    headers: HeaderRules = HeaderRules()
    body: BodyRules = BodyRules()
    replacement: Replacement = Replacement()
    scopes: tuple[Scope, ...] = ()

    @classmethod
    def from_pii_config(cls, pii: Mapping[str, object]) -> "RedactionPolicy":
        """Build a policy from the contract's ``pii:`` block of ``ongoingai.yaml``.

        Args:
            pii: The ``pii`` mapping as written (keys mode, policy_id, stages, detectors,
                headers, body, replacement, scopes).

        Returns:
            The same policy a ``kind: redaction`` file with those keys would give.
        """
        return cls.model_validate({"kind": "redaction", "version": 1, **pii})

    def effective_mode(self, *, capture_bodies: bool) -> Mode:
        """Resolve ``auto``: redact_storage when bodies are captured, otherwise off (contract)."""
        if self.mode != "auto":
            return self.mode
        return "redact_storage" if capture_bodies else "off"

    def resolve(
        self,
        org_id: str | None,
        workspace_id: str | None,
        key_id: str | None,
        provider: str | None,
        route: str | None,
        *,
        capture_bodies: bool = False,
    ) -> ResolvedRedaction:
        """Pick the mode and policy id for one request (contract §2.4).

        Start from the global mode and policy id; among the scopes whose every set selector
        matches, the one with the most selectors wins, ties going to the earliest declared. The
        winner overrides the mode and/or the policy id it sets.

        Args:
            org_id: The caller's organisation, if known.
            workspace_id: The caller's workspace, if known.
            key_id: The gateway key id, if authenticated.
            provider: The provider name the request is routed to, if any.
            route: The request path.
            capture_bodies: ``tracing.capture_bodies``, which resolves ``mode: auto``.

        Returns:
            The effective mode, policy id and index of the winning scope (``None`` if global).
        """
        winner: int | None = None
        best = 0
        for index, scope in enumerate(self.scopes):
            specificity = scope.match.specificity
            if specificity > best and scope.match.matches(
                org_id, workspace_id, key_id, provider, route
            ):
                winner, best = index, specificity
        mode = self.effective_mode(capture_bodies=capture_bodies)
        if winner is None:
            return ResolvedRedaction(mode=mode, policy_id=self.policy_id)
        scope = self.scopes[winner]
        return ResolvedRedaction(
            mode=scope.mode or mode,
            policy_id=scope.policy_id or self.policy_id,
            scope_index=winner,
        )
