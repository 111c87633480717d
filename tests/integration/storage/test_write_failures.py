"""Write failures fall into the original's five classes, whatever wraps them."""

from __future__ import annotations

import asyncio
import errno
import socket
import sqlite3

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError, StatementError

from ongoingai.engine.storage import classify_write_error


class _PgError(Exception):
    def __init__(self, sqlstate: str, message: str = "error") -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _wrapped(inner: BaseException) -> BaseException:
    """What SQLAlchemy raises around a driver error."""
    return OperationalError("INSERT INTO traces ...", {}, inner)


def _chained(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("while writing traces") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (None, "unknown"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), "connection"),
        (OSError(errno.ECONNRESET, "reset"), "connection"),
        (socket.gaierror(-2, "Name or service not known"), "connection"),
        (_chained(BrokenPipeError()), "connection"),
        (TimeoutError(), "timeout"),
        (asyncio.CancelledError(), "timeout"),
        (_wrapped(sqlite3.OperationalError("database is locked")), "contention"),
        (
            IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
            "constraint",
        ),
        (_wrapped(_PgError("08006", "connection failure")), "connection"),
        (_wrapped(_PgError("57P01", "terminating connection")), "connection"),
        (_wrapped(_PgError("57014", "canceling statement")), "timeout"),
        (_wrapped(_PgError("40P01", "deadlock detected")), "contention"),
        (_wrapped(_PgError("23503", "fk")), "constraint"),
        (RuntimeError("dial tcp: lookup db: no such host"), "connection"),
        (RuntimeError("context deadline exceeded"), "timeout"),
        (RuntimeError("SQLITE_BUSY"), "contention"),
        (
            RuntimeError('duplicate key value violates unique constraint "traces_pkey"'),
            "constraint",
        ),
        (RuntimeError("something else"), "unknown"),
    ],
    ids=[
        "nil",
        "refused",
        "reset-errno",
        "dns",
        "broken-pipe-in-chain",
        "timeout",
        "cancelled",
        "sqlite-locked",
        "integrity",
        "sqlstate-08",
        "sqlstate-57P01",
        "sqlstate-57014",
        "sqlstate-40P01",
        "sqlstate-23",
        "message-no-such-host",
        "message-deadline",
        "message-sqlite-busy",
        "message-duplicate-key",
        "unmatched",
    ],
)
def test_write_errors_are_classified_like_the_original(error, expected):
    assert classify_write_error(error) == expected


def test_trace_content_quoted_in_a_statement_error_never_decides_the_class():
    error = StatementError(
        "no such table: traces",
        "INSERT INTO traces ...",
        {"request_body": "connection refused timeout database is locked duplicate key"},
        sqlite3.OperationalError("no such table: traces"),
    )

    assert classify_write_error(error) == "unknown"
