"""Gateway keys in the database: create, list, rotate, revoke, and last-use times (SPEC §5).

Both backends run the same SQLAlchemy Core statements, so a key created through one replica's
API is seen by every replica sharing the database. The store never sees a secret: it receives
and keeps only the token's SHA-256 digest, and its `token` column always holds the scrubbed
`redacted:<id>` (the original's column, kept for its readers).

Every mutation is one statement (or one transaction) whose WHERE clause carries the caller's
tenant, so a key of another tenant is "not found" exactly like a missing one, and concurrent
admins cannot interleave a check with a write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from ongoingai.engine.auth.tokens import is_token_hash

from .coltypes import UtcDateTime
from .filters import Tenant
from .key_tables import gateway_keys, organizations, workspaces
from .writes import run_write

if TYPE_CHECKING:
    import builtins
    from collections.abc import Iterable, Mapping

    from sqlalchemy import Table
    from sqlalchemy.engine import RowMapping
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
    from sqlalchemy.sql.expression import ColumnElement

__all__ = [
    "DEFAULT_ROLE",
    "DEFAULT_TENANT",
    "MAX_ID_LENGTH",
    "GatewayKeyStore",
    "InvalidKey",
    "KeyConflict",
    "KeyNotFound",
    "KeyStoreError",
    "NewKey",
    "StoredKey",
    "TokenConflict",
    "normalize_permissions",
    "normalize_role",
    "redacted_token",
    "storable",
]

DEFAULT_TENANT = "default"
DEFAULT_ROLE = "developer"
#: Longest id, org id and workspace id. They are index keys, and PostgreSQL refuses index
#: entries over ~2.7 kB: three such fields of 4-byte UTF-8 characters stay far below it.
MAX_ID_LENGTH = 128

_k = gateway_keys.c
_COLUMNS = (
    _k.id,
    _k.token_hash,
    _k.org_id,
    _k.workspace_id,
    _k.name,
    _k.description,
    _k.created_by,
    _k.role,
    _k.permissions,
    _k.created_at,
    _k.last_used_at,
)
_ORDER = (_k.created_at, _k.id)  # the order of both partial indexes on active keys


class KeyStoreError(Exception):
    """A key operation was refused; `str(exc)` is the contract's message for it."""


class KeyNotFound(KeyStoreError):
    """No active key with that id in the caller's tenant."""

    def __init__(self) -> None:
        super().__init__("gateway key not found")


class KeyConflict(KeyStoreError):
    """The id or the token is already taken (or the tenant rows refused the key)."""

    def __init__(self) -> None:
        super().__init__("gateway key already exists")


class TokenConflict(KeyStoreError):
    """The new token of a rotation is already another key's token."""

    def __init__(self) -> None:
        super().__init__("gateway key token already exists")


class InvalidKey(KeyStoreError, ValueError):
    """A field cannot be stored as given (empty id, malformed hash, NUL characters)."""


@dataclass(frozen=True, slots=True)
class NewKey:
    """What `create` needs: everything but the timestamps, with the token already hashed."""

    id: str
    token_hash: str
    org_id: str = DEFAULT_TENANT
    workspace_id: str = DEFAULT_TENANT
    name: str = ""
    description: str = ""
    created_by: str = ""
    role: str = ""
    permissions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A gateway key as stored (never its token). Datetimes are aware UTC; None is unknown."""

    id: str
    token_hash: str
    org_id: str
    workspace_id: str
    name: str
    description: str
    created_by: str
    role: str
    permissions: tuple[str, ...]
    created_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @property
    def tenant(self) -> Tenant:
        """The org/workspace the key belongs to."""
        return Tenant(self.org_id, self.workspace_id)


def normalize_role(role: str) -> str:
    """Trimmed and lowercased; empty means the contract's default, `developer`."""
    return role.strip().lower() or DEFAULT_ROLE


def normalize_permissions(values: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, lowercased, without blanks or duplicates, in first-seen order."""
    cleaned = (value.strip().lower() for value in values)
    return tuple(dict.fromkeys(value for value in cleaned if value))


def redacted_token(key_id: str) -> str:
    """What the `token` column holds instead of the secret (the original's scrubbed form)."""
    return f"redacted:{key_id}"


def storable(text: str) -> bool:
    """Whether both backends can store `text`: PostgreSQL refuses NUL, drivers need UTF-8."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class GatewayKeyStore:
    """Gateway keys on one engine (SQLite or PostgreSQL), shared by every replica using it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def active_keys(self) -> builtins.list[StoredKey]:
        """Every non-revoked key of every tenant, oldest first.

        The key directory of every replica calls this about once a second: it is a single
        statement read in the order of the partial index on active keys, so it costs one
        index scan over just the active rows however many keys were ever revoked.
        """
        return await self.list(None)

    async def list(self, tenant: Tenant | None) -> builtins.list[StoredKey]:
        """Non-revoked keys of `tenant` (all tenants for None), by `created_at`, then `id`."""
        query = select(*_COLUMNS).where(*_active(tenant)).order_by(*_ORDER)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_stored(row) for row in rows]

    async def create(self, key: NewKey) -> StoredKey:
        """Store a new key, normalized, creating its organization and workspace if needed.

        Raises:
            InvalidKey: empty id, a token hash that is not SHA-256 hex, or unstorable text.
            KeyConflict: the id or the token hash is taken (or the tenant rows refuse it).
        """
        stored = _normalized(key, dt.datetime.now(dt.UTC))
        row: dict[str, Any] = {
            "id": stored.id,
            "token_hash": stored.token_hash,
            "token": redacted_token(stored.id),
            "org_id": stored.org_id,
            "workspace_id": stored.workspace_id,
            "name": stored.name,
            "description": stored.description,
            "created_by": stored.created_by,
            "role": stored.role,
            "permissions": stored.permissions,
            "created_at": stored.created_at,
        }

        async def work(conn: AsyncConnection) -> None:
            await _ensure_tenant(conn, stored.tenant, stored.created_at)
            await conn.execute(gateway_keys.insert().values(row))

        try:
            await run_write(self._engine, work)
        except IntegrityError:
            raise KeyConflict from None
        return stored

    async def revoke(self, key_id: str, tenant: Tenant | None) -> StoredKey:
        """Mark an active key of `tenant` revoked now; return it as it was.

        Raises:
            KeyNotFound: no such key, already revoked, or another tenant's.
        """
        now = dt.datetime.now(dt.UTC)
        return await self._update_one(key_id, tenant, {"revoked_at": now})

    async def rotate(self, key_id: str, token_hash: str, tenant: Tenant | None) -> StoredKey:
        """Replace an active key's token hash; every other field is kept.

        Raises:
            InvalidKey: `token_hash` is not SHA-256 hex.
            KeyNotFound: no such key, revoked, or another tenant's.
            TokenConflict: another key already has this token.
        """
        if not is_token_hash(token_hash):
            raise InvalidKey("token hash must be a SHA-256 hex digest")
        try:
            return await self._update_one(
                key_id, tenant, {"token_hash": token_hash.strip().lower()}
            )
        except IntegrityError:
            raise TokenConflict from None

    async def touch_last_used(self, used: Mapping[str, dt.datetime]) -> None:
        """Record when keys were last used, in one batched statement; never moves backwards.

        The key directory keeps last-use times in memory and flushes them every few seconds,
        off the request path. Several replicas flush the same key: the newest time wins.
        """
        params = [
            {"b_id": key_id, "b_used": moment}
            for key_id, moment in used.items()
            if storable(key_id)
        ]
        if not params:
            return
        moment = bindparam("b_used", type_=UtcDateTime)
        statement = (
            update(gateway_keys)
            .where(_k.id == bindparam("b_id"))
            .where(or_(_k.last_used_at.is_(None), _k.last_used_at < moment))
            .values(last_used_at=moment)
        )

        async def work(conn: AsyncConnection) -> None:
            await conn.execute(statement, params)

        await run_write(self._engine, work)

    async def _update_one(
        self, key_id: str, tenant: Tenant | None, values: dict[str, Any]
    ) -> StoredKey:
        if not storable(key_id) or (tenant is not None and not _storable_tenant(tenant)):
            raise KeyNotFound  # such an id cannot have been stored
        statement = (
            update(gateway_keys)
            .where(_k.id == key_id, *_active(tenant))
            .values(values)
            .returning(*_COLUMNS)
        )

        async def work(conn: AsyncConnection) -> RowMapping | None:
            return (await conn.execute(statement)).mappings().first()

        row = await run_write(self._engine, work)
        if row is None:
            raise KeyNotFound
        return _stored(row)


def _active(tenant: Tenant | None) -> list[ColumnElement[bool]]:
    terms: list[ColumnElement[bool]] = [_k.revoked_at.is_(None)]
    if tenant is not None:
        terms += [_k.org_id == tenant.org_id, _k.workspace_id == tenant.workspace_id]
    return terms


def _storable_tenant(tenant: Tenant) -> bool:
    return storable(tenant.org_id) and storable(tenant.workspace_id)


def _normalized(key: NewKey, now: dt.datetime) -> StoredKey:
    """The key exactly as it will be stored (contract §3.5 normalization)."""
    key_id = key.id.strip()
    if not key_id:
        raise InvalidKey("gateway key id cannot be empty")
    if not is_token_hash(key.token_hash):
        raise InvalidKey("token hash must be a SHA-256 hex digest")
    stored = StoredKey(
        id=key_id,
        token_hash=key.token_hash.strip().lower(),
        org_id=key.org_id.strip() or DEFAULT_TENANT,
        workspace_id=key.workspace_id.strip() or DEFAULT_TENANT,
        name=key.name.strip(),
        description=key.description.strip(),
        created_by=key.created_by.strip(),
        role=normalize_role(key.role),
        permissions=normalize_permissions(key.permissions),
        created_at=now,
        last_used_at=None,
    )
    if max(len(stored.id), len(stored.org_id), len(stored.workspace_id)) > MAX_ID_LENGTH:
        raise InvalidKey(
            f"gateway key id, org_id and workspace_id must be at most {MAX_ID_LENGTH} characters"
        )
    texts = (stored.id, stored.org_id, stored.workspace_id, stored.name, stored.description)
    if not all(storable(text) for text in (*texts, stored.created_by, stored.role)):
        raise InvalidKey("gateway key fields cannot contain NUL or unpaired surrogates")
    if not all(storable(permission) for permission in stored.permissions):
        raise InvalidKey("gateway key fields cannot contain NUL or unpaired surrogates")
    return stored


async def _ensure_tenant(conn: AsyncConnection, tenant: Tenant, now: dt.datetime | None) -> None:
    """Create the key's organization and workspace rows unless they exist (contract §3.5)."""
    org = {"id": tenant.org_id, "name": tenant.org_id, "created_at": now}
    workspace = {
        "id": tenant.workspace_id,
        "org_id": tenant.org_id,
        "name": tenant.workspace_id,
        "created_at": now,
    }
    await conn.execute(_insert_ignoring_duplicates(conn, organizations, org))
    await conn.execute(_insert_ignoring_duplicates(conn, workspaces, workspace))


def _insert_ignoring_duplicates(conn: AsyncConnection, table: Table, values: dict[str, Any]) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING`: the same SQL on both, built by each dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).values(values).on_conflict_do_nothing()


def _stored(row: RowMapping) -> StoredKey:
    return StoredKey(
        id=row["id"],
        token_hash=row["token_hash"],
        org_id=row["org_id"] or DEFAULT_TENANT,
        workspace_id=row["workspace_id"] or DEFAULT_TENANT,
        name=row["name"] or "",
        description=row["description"] or "",
        created_by=row["created_by"] or "",
        role=row["role"] or "",
        permissions=tuple(row["permissions"] or ()),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
    )
