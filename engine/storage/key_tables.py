"""The `organizations`, `workspaces` and `gateway_keys` tables as SQLAlchemy Core objects.

The schema itself is created by the SQL migrations (`sql/*/..._gateway_keys.sql`); these
definitions mirror them column for column, which a test checks on both backends.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from .coltypes import UtcDateTime

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

__all__ = ["JsonStringList", "gateway_keys", "key_metadata", "organizations", "workspaces"]

key_metadata = MetaData()


class JsonStringList(TypeDecorator[tuple[str, ...]]):
    """A JSON array of strings: JSONB on PostgreSQL, text on SQLite; `()` when unreadable.

    Rows written by other clients may hold NULL, non-JSON text or non-string items; a key's
    permissions must still load (its other fields are what authenticates it), so those read
    as "no explicit permissions" instead of failing the whole directory refresh.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Pick the storage type per dialect."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: tuple[str, ...] | None, dialect: Dialect) -> Any:
        """A list for JSONB (the dialect serializes it), compact JSON text for SQLite."""
        items = list(value or ())
        return items if dialect.name == "postgresql" else json.dumps(items, separators=(",", ":"))

    def process_result_value(self, value: Any, dialect: Dialect) -> tuple[str, ...]:
        """Back to a tuple of strings whatever the stored form."""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return ()
        if not isinstance(value, list):
            return ()
        return tuple(item for item in value if isinstance(item, str))


organizations = Table(
    "organizations",
    key_metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

workspaces = Table(
    "workspaces",
    key_metadata,
    Column("id", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

gateway_keys = Table(
    "gateway_keys",
    key_metadata,
    Column("id", Text, primary_key=True),
    Column("token_hash", Text, nullable=False),
    Column("token", Text, nullable=False),
    Column("org_id", Text, nullable=False),
    Column("workspace_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("last_used_at", UtcDateTime),
    Column("role", Text, nullable=False),
    Column("permissions", JsonStringList, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
)
