"""Why a trace write failed, in the original's five classes (contract §7.2 ClassifyWriteError).

Drivers wrap errors differently (SQLAlchemy wraps the DBAPI error, which wraps asyncpg's), so the
whole cause chain is inspected: exception types first, then SQLSTATE codes, then the original's
message rules.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import TYPE_CHECKING, Literal

from sqlalchemy.exc import IntegrityError, StatementError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["FAILURE_CLASSES", "FailureClass", "classify_write_error"]

FailureClass = Literal["connection", "timeout", "contention", "constraint", "unknown"]

#: Every class, in the order diagnostics lists them.
FAILURE_CLASSES: tuple[FailureClass, ...] = (
    "connection",
    "timeout",
    "contention",
    "constraint",
    "unknown",
)

_CONNECTION_ERRNOS = frozenset({errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED})
# SQLSTATE classes/codes: 08 connection exception, 57P01-03 server shutting down, 57014 query
# cancelled, 40001/40P01/55P03 serialization, deadlock, lock not available, 23 integrity.
_SQLSTATE_RULES: tuple[tuple[str, FailureClass], ...] = (
    ("08", "connection"),
    ("57P", "connection"),
    ("57014", "timeout"),
    ("40", "contention"),
    ("55P03", "contention"),
    ("23", "constraint"),
)
_MESSAGE_RULES: tuple[tuple[tuple[str, ...], FailureClass], ...] = (
    (("connection refused", "broken pipe", "no such host"), "connection"),
    (("timeout", "deadline exceeded", "timed out"), "timeout"),
    (("sqlite_busy", "database is locked"), "contention"),
    (
        (
            "violates foreign key constraint",
            "violates unique constraint",
            "violates check constraint",
            "duplicate key",
            "unique constraint failed",
            "constraint failed",
        ),
        "constraint",
    ),
)


def classify_write_error(exc: BaseException | None) -> FailureClass:
    """The failure class of a write error (`unknown` when nothing matches, or for None)."""
    if exc is None:
        return "unknown"
    chain = list(_causes(exc))
    for found in (_by_type, _by_sqlstate):
        for link in chain:
            result = found(link)
            if result is not None:
                return result
    # A StatementError's text quotes the SQL and its parameters (trace bodies): skip it, its
    # `orig` is in the chain with the driver's own message.
    text = " ".join(str(link) for link in chain if not isinstance(link, StatementError)).lower()
    for needles, cls in _MESSAGE_RULES:
        if any(needle in text for needle in needles):
            return cls
    return "unknown"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then what it wraps (`orig`, `__cause__`, `__context__`), without loops."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        link = pending.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        orig = getattr(link, "orig", None)
        nested = [orig, link.__cause__, link.__context__]
        pending.extend(e for e in nested if isinstance(e, BaseException))


def _by_type(exc: BaseException) -> FailureClass | None:
    if isinstance(exc, TimeoutError | asyncio.CancelledError):
        return "timeout"
    if isinstance(exc, ConnectionError | socket.gaierror):
        return "connection"
    if isinstance(exc, OSError) and exc.errno in _CONNECTION_ERRNOS:
        return "connection"
    if isinstance(exc, IntegrityError):
        return "constraint"
    return None


def _by_sqlstate(exc: BaseException) -> FailureClass | None:
    code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if not isinstance(code, str):
        return None
    for prefix, cls in _SQLSTATE_RULES:
        if code.startswith(prefix):
            return cls
    return None
