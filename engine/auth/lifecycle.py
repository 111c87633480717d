"""Gateway-key lifecycle (create, list, rotate, revoke) shared by the admin API and the CLI.

Keys come from two places: the database, where this module creates, rotates and revokes them,
and `auth.keys` in `ongoingai.yaml`, which only an edit of the file changes. Both are listed
(each item says its `source`); a mutation of a YAML key is refused with the contract's 501
message, and a new key or token may not reuse a YAML key's id or token, which would make
authentication ambiguous. Secrets leave this module once, in the `IssuedKey` of a create or a
rotation; the store only ever receives their SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ongoingai.engine.auth.tokens import generate_key_id, generate_token, hash_token
from ongoingai.engine.storage.gateway_keys import (
    DEFAULT_TENANT,
    KeyConflict,
    KeyStoreError,
    NewKey,
    StoredKey,
    TokenConflict,
    normalize_permissions,
)
from ongoingai.engine.timefmt import format_rfc3339

if TYPE_CHECKING:
    import builtins
    from collections.abc import Sequence

    from ongoingai.engine.config import GatewayKeyConfig
    from ongoingai.engine.storage.filters import Tenant
    from ongoingai.engine.storage.gateway_keys import GatewayKeyStore

__all__ = [
    "MIN_TOKEN_LENGTH",
    "InvalidToken",
    "IssuedKey",
    "KeyLifecycle",
    "KeyRequest",
    "ListedKey",
    "NotSupported",
    "checked_token",
    "declared_key",
]

#: Shortest caller-chosen token: 16 characters (generated ones have 32).
MIN_TOKEN_LENGTH = 16

Source = Literal["config", "database"]
# What surrounds a pasted token: exactly the blanks the OpenAPI pattern allows around it.
_BLANKS = " \t\n\r"


class NotSupported(KeyStoreError):
    """The key is declared in `ongoingai.yaml`; only an edit of the file changes it."""

    def __init__(self) -> None:
        super().__init__("gateway key mutations are not supported by this config store")


class InvalidToken(KeyStoreError, ValueError):
    """A caller-chosen token that no client could use or that is too easy to guess."""


@dataclass(frozen=True, slots=True)
class KeyRequest:
    """A create request, as given (`create` trims, defaults and normalizes)."""

    id: str = ""
    token: str = ""
    org_id: str = ""
    workspace_id: str = ""
    name: str = ""
    description: str = ""
    role: str = ""
    permissions: tuple[str, ...] = ()
    created_by: str = ""


@dataclass(frozen=True, slots=True)
class ListedKey:
    """A key and where it is declared."""

    key: StoredKey
    source: Source

    def as_json(self) -> dict[str, Any]:
        """The contract's key object (never a token); unknown times and empty fields omitted."""
        key = self.key
        body: dict[str, Any] = {"id": key.id, "org_id": key.org_id}
        body["workspace_id"] = key.workspace_id
        for name, value in (
            ("name", key.name),
            ("description", key.description),
            ("created_by", key.created_by),
            ("role", key.role),
        ):
            if value:
                body[name] = value
        if key.permissions:
            body["permissions"] = list(key.permissions)
        if key.created_at is not None:
            body["created_at"] = format_rfc3339(key.created_at)
        if key.last_used_at is not None:
            body["last_used_at"] = format_rfc3339(key.last_used_at)
        body["source"] = self.source
        return body


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A created or rotated key and its token: the only time the secret is available."""

    key: StoredKey
    token: str

    def as_json(self) -> dict[str, Any]:
        """The key object plus `token` (contract §3.5: 201/200 bodies)."""
        return {**ListedKey(self.key, "database").as_json(), "token": self.token}


def checked_token(token: str) -> str:
    """The caller's token, trimmed, or a fresh one when none (`""`) is given.

    Raises:
        InvalidToken: blank, shorter than 16 characters, or not printable ASCII (a header
            carries only that, so any other token could never authenticate).
    """
    if token == "":
        return generate_token()
    trimmed = token.strip(_BLANKS)
    if not trimmed:
        raise InvalidToken("gateway key token cannot be empty")
    if len(trimmed) < MIN_TOKEN_LENGTH:
        raise InvalidToken(f"gateway key token must be at least {MIN_TOKEN_LENGTH} characters")
    if not all("!" <= char <= "~" for char in trimmed):
        raise InvalidToken("gateway key token must be printable ASCII without spaces")
    return trimmed


def declared_key(config: GatewayKeyConfig) -> StoredKey:
    """A YAML key as the list shows it: workspace falls back to team (contract §5.1)."""
    return StoredKey(
        id=config.id.strip(),
        token_hash=config.token_hash.strip().lower() or hash_token(config.token),
        org_id=config.org_id.strip() or DEFAULT_TENANT,
        workspace_id=config.workspace_id.strip() or config.team.strip() or DEFAULT_TENANT,
        name=config.name,
        description=config.description,
        created_by=config.created_by,
        role=config.role.strip().lower(),
        permissions=normalize_permissions(config.permissions),
        created_at=None,
        last_used_at=None,
    )


class KeyLifecycle:
    """Key operations over the store and the YAML keys of the current config."""

    def __init__(self, store: GatewayKeyStore, declared: Sequence[GatewayKeyConfig]) -> None:
        self._store = store
        self._declared = tuple(declared_key(config) for config in declared)
        self._declared_hashes = frozenset(key.token_hash for key in self._declared)

    async def list(self, tenant: Tenant | None) -> builtins.list[ListedKey]:
        """YAML keys (declaration order) then stored ones (oldest first), in `tenant`."""
        declared = [ListedKey(k, "config") for k in self._declared if _within(k, tenant)]
        stored = [ListedKey(k, "database") for k in await self._store.list(tenant)]
        return declared + stored

    async def create(self, request: KeyRequest) -> IssuedKey:
        """Store a new key; its token is the caller's or a generated one.

        Raises:
            InvalidToken: the caller's token is unusable.
            InvalidKey: a field cannot be stored (see `GatewayKeyStore.create`).
            KeyConflict: the id or token is taken, in the database or in `ongoingai.yaml`.
        """
        token = checked_token(request.token)
        key_id = request.id.strip() or generate_key_id()
        token_hash = hash_token(token)
        if any(k.id == key_id for k in self._declared) or token_hash in self._declared_hashes:
            raise KeyConflict
        key = await self._store.create(
            NewKey(
                id=key_id,
                token_hash=token_hash,
                org_id=request.org_id,
                workspace_id=request.workspace_id,
                name=request.name,
                description=request.description,
                created_by=request.created_by,
                role=request.role,
                permissions=request.permissions,
            )
        )
        return IssuedKey(key, token)

    async def rotate(self, key_id: str, token: str, tenant: Tenant | None) -> IssuedKey:
        """Give a stored key a new token (the caller's, or generated for `""`).

        Raises:
            NotSupported: the key is declared in `ongoingai.yaml`.
            InvalidToken: the caller's token is unusable.
            KeyNotFound: no active stored key with that id in `tenant`.
            TokenConflict: the token is another key's (database or YAML).
        """
        self._refuse_declared(key_id, tenant)
        fresh = checked_token(token)
        token_hash = hash_token(fresh)
        if token_hash in self._declared_hashes:
            raise TokenConflict
        return IssuedKey(await self._store.rotate(key_id, token_hash, tenant), fresh)

    async def revoke(self, key_id: str, tenant: Tenant | None) -> StoredKey:
        """Revoke a stored key; return it as it was.

        Raises:
            NotSupported: the key is declared in `ongoingai.yaml`.
            KeyNotFound: no active stored key with that id in `tenant`.
        """
        self._refuse_declared(key_id, tenant)
        return await self._store.revoke(key_id, tenant)

    def _refuse_declared(self, key_id: str, tenant: Tenant | None) -> None:
        """A YAML key the caller can see is read-only; another tenant's is simply not found."""
        if any(k.id == key_id and _within(k, tenant) for k in self._declared):
            raise NotSupported


def _within(key: StoredKey, tenant: Tenant | None) -> bool:
    return tenant is None or key.tenant == tenant
