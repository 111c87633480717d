"""SQL expressions that each backend spells differently, compiled per dialect.

Both backends must give the same answers for the same data (the API is tested for it), so the
few places where SQLite and PostgreSQL differ (reading a key out of the JSON metadata, cutting
a timestamp into an hour/day/week bucket) are one construct each, compiled to each dialect's
own functions and producing identical text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

if TYPE_CHECKING:
    from sqlalchemy.sql.compiler import SQLCompiler

__all__ = ["Bucket", "metadata_text", "time_bucket"]

Bucket = Literal["hour", "day", "week"]
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz_")


class metadata_text(ColumnElement[str]):
    """The text value of a top-level key of `traces.metadata` (NULL when absent)."""

    type = Text()
    inherit_cache = True

    def __init__(self, key: str) -> None:
        if not key or not set(key) <= _KEY_CHARS:
            raise ValueError(f"metadata key must be lowercase letters and _: {key!r}")
        self.key = key
        super().__init__()


@compiles(metadata_text, "sqlite")
def _metadata_sqlite(element: metadata_text, compiler: SQLCompiler, **kw: Any) -> str:
    # json_extract raises on malformed text, which rows from other clients may hold.
    return (
        f"CASE WHEN json_valid(traces.metadata) "
        f"THEN json_extract(traces.metadata, '$.{element.key}') END"
    )


@compiles(metadata_text, "postgresql")
def _metadata_postgres(element: metadata_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(traces.metadata ->> '{element.key}')"


class time_bucket(ColumnElement[str]):
    """The start of the UTC hour/day/week (weeks start Monday) of `traces.timestamp`.

    As text `YYYY-MM-DDTHH:00:00Z` (the API's `bucket_start`), identical on both backends.
    """

    type = Text()
    inherit_cache = True

    def __init__(self, bucket: Bucket) -> None:
        if bucket not in ("hour", "day", "week"):
            raise ValueError(f"unknown bucket {bucket!r}")
        self.bucket = bucket
        super().__init__()


@compiles(time_bucket, "sqlite")
def _bucket_sqlite(element: time_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    # Stored text is `YYYY-MM-DD HH:MM:SS.ffffff+00:00` (or the original's `...T...Z`).
    day = "substr(traces.timestamp, 1, 10)"
    if element.bucket == "hour":
        return f"({day} || 'T' || substr(traces.timestamp, 12, 2) || ':00:00Z')"
    if element.bucket == "week":
        return f"(date({day}, '-6 days', 'weekday 1') || 'T00:00:00Z')"
    return f"({day} || 'T00:00:00Z')"


@compiles(time_bucket, "postgresql")
def _bucket_postgres(element: time_bucket, compiler: SQLCompiler, **kw: Any) -> str:
    return (
        f"to_char(date_trunc('{element.bucket}', traces.timestamp AT TIME ZONE 'UTC'), "
        '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\')'
    )
