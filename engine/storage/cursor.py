"""Keyset cursors for the trace list (contract §3.2).

A cursor is base64url without padding of `<created_at RFC3339Nano UTC>|<id>`: the position of
the last trace of a page in the list's `created_at DESC, id DESC` order. Walking by position
rather than by offset is what keeps pages free of duplicates and gaps while traces are being
written (new traces sort before every cursor, so they never shift a later page).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ongoingai.engine.timefmt import format_rfc3339, parse_rfc3339

if TYPE_CHECKING:
    import datetime as dt

__all__ = ["Cursor", "InvalidCursor"]


class InvalidCursor(ValueError):
    """The client sent a cursor this gateway did not make; the message says which part."""


@dataclass(frozen=True, slots=True)
class Cursor:
    """The list position just after the trace (`created_at`, `id`)."""

    created_at: dt.datetime
    id: str

    def encode(self) -> str:
        """The opaque text handed to clients as `next_cursor`."""
        raw = f"{format_rfc3339(self.created_at)}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a client's cursor.

        Raises:
            InvalidCursor: `trace cursor is invalid: decode base64 cursor` (or `: missing id`,
                `: parse created_at`), the original's messages.
        """
        try:
            padded = text + "=" * (-len(text) % 4)
            raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidCursor("trace cursor is invalid: decode base64 cursor") from None
        stamp, sep, trace_id = raw.partition("|")
        if not sep or not trace_id.strip():
            raise InvalidCursor("trace cursor is invalid: missing id")
        try:
            created_at = parse_rfc3339(stamp.strip())
        except ValueError:
            raise InvalidCursor("trace cursor is invalid: parse created_at") from None
        return cls(created_at, trace_id.strip())
