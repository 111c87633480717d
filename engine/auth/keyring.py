"""The gateway keys a request may present: a token-hash index over YAML and stored keys.

Entries keep the key's role and explicit permissions, not resolved permissions: the role
matrix is policy data that hot-reloads, so permissions are resolved against the snapshot the
request pinned (`KeyEntry.identity`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ongoingai.engine.auth.identity import Identity
from ongoingai.engine.auth.tokens import hash_token, same_hash

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ongoingai.engine.config import GatewayKeyConfig
    from ongoingai.engine.models.rbac import RbacPolicy

__all__ = ["KeyEntry", "KeyRing", "StoredKeyFields", "entry_from_config", "entry_from_store"]


class StoredKeyFields(Protocol):
    """What the key directory reads of a stored key (`storage.gateway_keys.StoredKey`)."""

    @property
    def id(self) -> str:
        """Key id."""
        ...

    @property
    def token_hash(self) -> str:
        """SHA-256 hex of the token."""
        ...

    @property
    def org_id(self) -> str:
        """Organization."""
        ...

    @property
    def workspace_id(self) -> str:
        """Workspace."""
        ...

    @property
    def role(self) -> str:
        """Role name."""
        ...

    @property
    def permissions(self) -> tuple[str, ...]:
        """Explicit permissions."""
        ...


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One accepted key, by the SHA-256 of its token (the token itself is never held)."""

    token_hash: str
    key_id: str
    org_id: str
    workspace_id: str
    team: str
    role: str
    permissions: frozenset[str]
    source: str  # "config" or "database"

    def identity(self, rbac: RbacPolicy) -> Identity:
        """The caller this key identifies, with the role's permissions from `rbac`."""
        return Identity(
            key_id=self.key_id,
            org_id=self.org_id,
            workspace_id=self.workspace_id,
            team=self.team,
            role=self.role,
            permissions=rbac.permissions_for(self.role) | self.permissions,
        )


def _clean(values: Iterable[str]) -> frozenset[str]:
    return frozenset(p.strip().lower() for p in values if p.strip())


def entry_from_config(key: GatewayKeyConfig) -> KeyEntry:
    """A YAML key: tenant defaults `default`, workspace falls back to `team` (contract §5.1)."""
    workspace = key.workspace_id.strip() or key.team.strip() or "default"
    return KeyEntry(
        token_hash=key.token_hash.strip().lower() or hash_token(key.token),
        key_id=key.id.strip(),
        org_id=key.org_id.strip() or "default",
        workspace_id=workspace,
        team=key.team.strip() or workspace,
        role=key.role.strip().lower(),
        permissions=_clean(key.permissions),
        source="config",
    )


def entry_from_store(key: StoredKeyFields) -> KeyEntry:
    """A key created through the API or CLI."""
    return KeyEntry(
        token_hash=key.token_hash.strip().lower(),
        key_id=key.id,
        org_id=key.org_id or "default",
        workspace_id=key.workspace_id or "default",
        team=key.workspace_id or "default",
        role=key.role.strip().lower(),
        permissions=_clean(key.permissions),
        source="database",
    )


class KeyRing:
    """An immutable token-hash → key index.

    Lookup is a dict probe on the SHA-256 of the presented token: the digest of an attacker's
    guess reveals nothing about stored digests, so no timing channel leaks a token; the hit is
    then confirmed with a constant-time compare.
    """

    __slots__ = ("_by_hash",)

    def __init__(self, entries: Iterable[KeyEntry] = ()) -> None:
        self._by_hash: Mapping[str, KeyEntry] = {e.token_hash: e for e in entries}

    def __len__(self) -> int:
        return len(self._by_hash)

    def find(self, token_hash: str) -> KeyEntry | None:
        """The key whose token hashes to `token_hash`, if any."""
        entry = self._by_hash.get(token_hash)
        if entry is None or not same_hash(entry.token_hash, token_hash):
            return None
        return entry

    @property
    def key_ids(self) -> frozenset[str]:
        """Ids of every key in the ring."""
        return frozenset(e.key_id for e in self._by_hash.values())
