"""Typed RBAC policy: roles grant permissions, ordered route rules say which permission is needed.

The role matrix and the route map are data (``policies/rbac/roles.yaml``, schema
``schemas/rbac.schema.json``), so what is enforced and what is documented are one source.
Deny by default: :meth:`RbacPolicy.match` returns ``None`` for an unmapped request.
"""

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, PrivateAttr, model_validator

from ongoingai.engine.paths import has_path_prefix, normalize_path_prefix

__all__ = [
    "HttpMethod",
    "RbacPolicy",
    "RouteRule",
    "has_path_prefix",
    "normalize_path_prefix",
]

HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "*"]
_DECISION_CACHE_SIZE = 4096
_PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}")


def _compile_path(template: str) -> re.Pattern[str]:
    """Compile a route path template into a full-match regular expression.

    ``{name}`` matches exactly one non-empty segment; a final ``/**`` matches the prefix itself
    and anything below it (the same result as :func:`has_path_prefix`).
    """
    segments = template.split("/")[1:]
    tail = ""
    if segments and segments[-1] == "**":
        segments, tail = segments[:-1], "(?:/.*)?"
    body = "".join(
        "/" + ("[^/]+" if _PLACEHOLDER.fullmatch(segment) else re.escape(segment))
        for segment in segments
    )
    return re.compile(body + tail)


class RouteRule(BaseModel):
    """One route rule: which requests it covers and what they need.

    A rule covers either a ``path`` template or, with ``provider=True``, every path under the
    provider prefixes the caller passes to :meth:`RbacPolicy.match` (providers are data, so their
    prefixes are not repeated in the RBAC file). It requires either a ``permission`` or nothing
    (``public=True``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str | None = None
    methods: tuple[HttpMethod, ...]
    path: str | None = None
    provider: bool = False
    resource: str
    action: str
    permission: str | None = None
    public: bool = False
    _regex: re.Pattern[str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check_and_compile(self) -> Self:
        """Enforce the either/or fields and compile the path template once.

        Raises:
            ValueError: When both or neither of path/provider or permission/public are set.
        """
        if (self.path is None) == (not self.provider):
            raise ValueError("a route sets exactly one of `path` or `provider: true`")
        if (self.permission is None) == (not self.public):
            raise ValueError("a route sets exactly one of `permission` or `public: true`")
        if self.path is not None:
            self._regex = _compile_path(self.path)
        return self

    def allows_method(self, method: str) -> bool:
        """Return whether ``method`` is covered; ``HEAD`` is covered wherever ``GET`` is."""
        verb = method.strip().upper()
        methods = self.methods
        return "*" in methods or verb in methods or (verb == "HEAD" and "GET" in methods)

    def matches(self, method: str, path: str, provider_prefixes: Iterable[str] = ()) -> bool:
        """Return whether this rule covers the request.

        Args:
            method: The HTTP method, any case.
            path: The request path without query string.
            provider_prefixes: The configured provider prefixes, for ``provider`` rules.

        Returns:
            ``True`` when both the method and the path are covered.
        """
        if not self.allows_method(method):
            return False
        if self._regex is not None:
            return self._regex.fullmatch(path) is not None
        return any(has_path_prefix(path, prefix) for prefix in provider_prefixes)


def _freeze_roles(roles: Mapping[str, frozenset[str]]) -> Mapping[str, frozenset[str]]:
    """Return a read-only view of the role map so a shared snapshot cannot be mutated."""
    return MappingProxyType(dict(roles))


class RbacPolicy(BaseModel):
    """A ``kind: rbac`` data file: the role -> permission matrix and the ordered route rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["rbac"]
    version: Literal[1]
    description: str | None = None
    roles: Annotated[Mapping[str, frozenset[str]], AfterValidator(_freeze_roles)]
    routes: tuple[RouteRule, ...]
    # Decisions per (method, path, prefixes): every request asks, and most ask the same few
    # questions. Bounded: cleared when full, so odd paths (trace ids) cannot grow it forever.
    _decisions: dict[tuple[str, str, tuple[str, ...]], RouteRule | None] = PrivateAttr(
        default_factory=dict
    )

    def permissions_for(self, role: str | None) -> frozenset[str]:
        """Return the permissions a role grants.

        A missing, empty or unknown role grants nothing (SPEC §1.5: no implicit developer role).

        Args:
            role: The key's role; compared trimmed and lowercased, as keys store it.

        Returns:
            The granted permissions, possibly empty.
        """
        if role is None:
            return frozenset()
        return self.roles.get(role.strip().lower(), frozenset())

    def match(
        self, method: str, path: str, provider_prefixes: Iterable[str] = ()
    ) -> RouteRule | None:
        """Find the rule that governs a request: the first matching rule in declared order.

        Args:
            method: The HTTP method, any case.
            path: The request path without query string.
            provider_prefixes: The configured provider prefixes (e.g. ``/openai``), which
                ``provider: true`` rules match against.

        Returns:
            The governing rule, or ``None`` when the request is unmapped and must be refused.
        """
        prefixes = tuple(provider_prefixes)
        key = (method, path, prefixes)
        try:
            return self._decisions[key]
        except KeyError:
            pass
        found = next((rule for rule in self.routes if rule.matches(method, path, prefixes)), None)
        if len(self._decisions) >= _DECISION_CACHE_SIZE:
            self._decisions.clear()
        self._decisions[key] = found
        return found
