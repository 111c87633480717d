"""Postgres DSNs as users of the original write them, turned into asyncpg connect arguments.

The original (pgx) takes a plain `postgres://` or `postgresql://` URL with libpq query
parameters such as `sslmode`. asyncpg takes neither the scheme SQLAlchemy needs nor those
parameters as keywords, so they are translated here, once, at engine creation.
"""

from __future__ import annotations

import logging
import shlex
import ssl
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = ["DEFAULT_CONNECT_TIMEOUT_S", "PostgresTarget", "postgres_target", "redact_dsn"]

_log = logging.getLogger(__name__)

#: asyncpg waits 60 s by default; a blackholed database must not stall the writer that long.
DEFAULT_CONNECT_TIMEOUT_S = 10.0

_SCHEMES = ("postgres", "postgresql")
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


@dataclass(frozen=True, slots=True)
class PostgresTarget:
    """Where and how to connect: a SQLAlchemy URL plus asyncpg keyword arguments."""

    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)


def postgres_target(dsn: str) -> PostgresTarget:
    """Translate a `postgres://` / `postgresql://` DSN into a `postgresql+asyncpg` target.

    `sslmode` becomes asyncpg's `ssl` argument (an `SSLContext` when `sslrootcert` names a CA
    file for the verifying modes), `connect_timeout` becomes `timeout`, `application_name` and
    the `-c name=value` settings of `options` (e.g. `search_path`) become server settings.
    Other libpq/pgx parameters (for example `pool_max_conns`) have no asyncpg meaning; they are
    dropped with a warning naming them, so an existing DSN still works.

    Raises:
        ValueError: the DSN is not a Postgres URL, or `sslmode`, `connect_timeout` or `options`
            cannot be translated. The message never contains the password.
    """
    url = _parse(dsn)
    query = {key: _last(value) for key, value in url.query.items()}
    connect_args: dict[str, Any] = {"timeout": DEFAULT_CONNECT_TIMEOUT_S}
    ssl_arg = _ssl_arg(query.pop("sslmode", ""), query.pop("sslrootcert", ""))
    if ssl_arg is not None:
        connect_args["ssl"] = ssl_arg
    timeout = query.pop("connect_timeout", "")
    if timeout.strip():
        connect_args["timeout"] = _positive_seconds(timeout)
    settings = _server_settings(query.pop("options", ""))
    app_name = query.pop("application_name", "")
    if app_name:
        settings["application_name"] = app_name
    if settings:
        connect_args["server_settings"] = settings
    if query:
        _log.warning(
            "ignoring postgres dsn parameters asyncpg does not understand: %s", sorted(query)
        )
    target_url = url.set(drivername="postgresql+asyncpg", query={})
    return PostgresTarget(url=target_url, connect_args=connect_args)


def redact_dsn(dsn: str) -> str:
    """The DSN with its password masked, fit for logs and error messages."""
    try:
        return make_url(dsn).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable dsn>"


def _parse(dsn: str) -> URL:
    try:
        url = make_url(dsn.strip())
    except ArgumentError:
        raise ValueError("storage.dsn must be a postgres:// or postgresql:// URL") from None
    if url.drivername not in _SCHEMES:
        msg = f"storage.dsn must be a postgres:// or postgresql:// URL (got {url.drivername}://)"
        raise ValueError(msg)
    return url


def _last(value: str | tuple[str, ...]) -> str:
    """Libpq keeps the last of repeated parameters."""
    return value[-1] if isinstance(value, tuple) else value


def _ssl_arg(mode: str, root_cert: str) -> ssl.SSLContext | str | bool | None:
    """Asyncpg's `ssl` argument for a libpq `sslmode` (None: leave asyncpg's `prefer` default)."""
    mode = mode.strip().lower()
    if not mode:
        return None
    if mode not in _SSL_MODES:
        msg = f"storage.dsn sslmode must be one of {', '.join(_SSL_MODES)} (got {mode!r})"
        raise ValueError(msg)
    if mode == "disable":
        return False
    if root_cert and mode in ("verify-ca", "verify-full"):
        context = ssl.create_default_context(cafile=root_cert)
        context.check_hostname = mode == "verify-full"
        return context
    return mode


def _positive_seconds(raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"storage.dsn connect_timeout must be a number (got {raw!r})") from None
    # libpq treats 0 (and negatives) as "wait forever"; keep asyncpg's own bound instead.
    return seconds if seconds > 0 else DEFAULT_CONNECT_TIMEOUT_S


def _server_settings(options: str) -> dict[str, str]:
    """Settings from libpq `options` (`-c name=value`, `-cname=value` or `--name=value`)."""
    settings: dict[str, str] = {}
    words = shlex.split(options)
    while words:
        word = words.pop(0)
        if word == "-c" and words:
            word = words.pop(0)
        elif word.startswith(("-c", "--")):
            word = word[2:]
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise ValueError(f"storage.dsn options must be -c name=value settings (got {word!r})")
        settings[name.replace("-", "_")] = value
    return settings
