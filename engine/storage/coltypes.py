"""Column types that store the same Python values the same way on SQLite and PostgreSQL.

SQLite has no date or JSON types: timestamps are stored as fixed-width UTC text (so that text
comparison is time comparison, which the `timestamp`/`created_at` indexes rely on) and JSON as
text. PostgreSQL gets TIMESTAMPTZ and JSONB, as in the original's schema.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import DateTime, TypeDecorator, TypeEngine

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect

__all__ = ["JsonObject", "UtcDateTime", "format_utc", "parse_utc"]

_SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f+00:00"
# Text written by other SQLite clients: the original (modernc) writes nanoseconds and offsets.
_LEGACY = re.compile(r"^(\S+)[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?\s*(Z|[+-]\d{2}:?\d{2})?")


def format_utc(value: dt.datetime) -> str:
    """Fixed-width UTC text (microseconds always present), so text order is time order."""
    return as_utc(value).strftime(_SQLITE_FORMAT)


def as_utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def parse_utc(text: str) -> dt.datetime:
    """Parse what SQLite holds: ours, `CURRENT_TIMESTAMP`, or the original's nanosecond text."""
    match = _LEGACY.match(text.strip())
    if match is None:
        raise ValueError(f"unrecognised timestamp {text!r}")
    day, clock, fraction, offset = match.groups()
    micros = (fraction or "").ljust(6, "0")[:6]
    zone = "+00:00" if offset in (None, "Z") else offset
    return as_utc(dt.datetime.fromisoformat(f"{day}T{clock}.{micros}{zone}"))


class UtcDateTime(TypeDecorator[dt.datetime]):
    """TIMESTAMPTZ on PostgreSQL, fixed-width UTC text on SQLite; always aware UTC in Python."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Pick the storage type per dialect."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(DateTime(timezone=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        """Aware UTC for PostgreSQL, sortable text for SQLite."""
        if value is None:
            return None
        return as_utc(value) if dialect.name == "postgresql" else format_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        """Back to an aware UTC datetime whatever the stored form."""
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return as_utc(value)
        return parse_utc(str(value))


def _json_default(value: object) -> object:
    """Serialize what metadata may carry beyond JSON: exact decimals as text, times as ISO."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def dumps(value: object) -> str:
    """Compact JSON with sorted keys (as the original marshals), never failing on odd values."""
    return json.dumps(value, default=_json_default, sort_keys=True, separators=(",", ":"))


class JsonObject(TypeDecorator[dict[str, Any]]):
    """A JSON object: JSONB on PostgreSQL, text on SQLite; `{}` for NULL or unreadable text."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Pick the storage type per dialect."""
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB(none_as_null=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Dialect) -> Any:
        """Text for SQLite; for JSONB a plain JSON structure (the dialect serializes it)."""
        if value is None:
            return None
        text = dumps(value)
        return json.loads(text) if dialect.name == "postgresql" else text

    def process_result_value(self, value: Any, dialect: Dialect) -> dict[str, Any] | None:
        """Decode tolerantly: rows written by other clients may hold empty or non-JSON text."""
        if value is None or isinstance(value, dict):
            return value
        try:
            decoded = json.loads(value)
        except (TypeError, ValueError):
            return {}
        return decoded if isinstance(decoded, dict) else {}
