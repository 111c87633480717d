"""Providers as data: an upstream API reachable under a path prefix (`kind: provider`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from ongoingai.engine.paths import is_under, normalize_path_prefix

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Provider", "ProviderTable"]


class Provider(BaseModel):
    """One upstream API, validated from its data file plus `ongoingai.yaml` overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    prefix: str
    upstream: str
    dialect: Literal["openai", "anthropic"]
    credential_headers: tuple[str, ...] = ()
    pricing: str | None = None
    inject_stream_usage: bool = False
    description: str = ""

    @property
    def upstream_base(self) -> str:
        """Upstream URL without a trailing slash, ready to have a path appended."""
        return self.upstream.rstrip("/")


class ProviderTable:
    """Providers ordered for longest-prefix matching, built once per snapshot."""

    __slots__ = ("_by_name", "_ordered", "prefixes")

    def __init__(self, providers: tuple[Provider, ...]) -> None:
        self._by_name = {p.name: p for p in providers}
        self._ordered = tuple(
            sorted(
                ((normalize_path_prefix(p.prefix), p) for p in providers),
                key=lambda item: len(item[0]),
                reverse=True,
            )
        )
        #: Every normalized prefix (for `provider: true` RBAC rules).
        self.prefixes: tuple[str, ...] = tuple(prefix for prefix, _ in self._ordered)

    def match(self, path: str) -> tuple[str, Provider] | None:
        """The provider with the longest prefix containing `path`, with that prefix."""
        for prefix, provider in self._ordered:
            if is_under(path, prefix):
                return prefix, provider
        return None

    def get(self, name: str) -> Provider | None:
        """Provider by name."""
        return self._by_name.get(name)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)
