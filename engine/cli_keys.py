"""`ongoingai keys list|create|rotate|revoke`: the gateway-key lifecycle, straight on storage.

No gateway needs to run: the command opens the storage `ongoingai.yaml` names (env overrides
included), applies the migrations, acts, and exits. Running gateways on the same database
pick the change up within `auth.key_refresh_ms`. The rules are the admin API's (one
`KeyLifecycle`): keys declared in the YAML are listed but read-only, a created or rotated
token is printed once and stored only as its SHA-256.

Exit codes: 0 done; 1 refused or failed (not found, conflict, YAML key, storage or config
problem: one line on stderr, never a traceback); 2 usage error, including a token or id that
no key could have.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ongoingai.engine.cli_common import first_line
from ongoingai.engine.config_load import ConfigInvalid, load_config
from ongoingai.engine.schemas import SchemaSet

if TYPE_CHECKING:
    import argparse
    import datetime as dt

    from ongoingai.engine.auth.lifecycle import IssuedKey, KeyLifecycle, ListedKey
    from ongoingai.engine.config import GatewayConfig
    from ongoingai.engine.storage.gateway_keys import StoredKey

__all__ = ["add_parser", "run_keys"]

_DEFAULT_CONFIG = "ongoingai.yaml"
_WIDTH = 80
_CREATED_BY = "cli"


class _Failed(Exception):
    """The command cannot complete; the message is printed as is, then exit with `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register `keys` and its four subcommands on the top-level subparsers."""
    keys = sub.add_parser("keys", help="manage gateway keys in storage (no server needed)")
    keys.set_defaults(run=run_keys)
    actions = keys.add_subparsers(dest="keys_command", parser_class=type(keys))
    listing = actions.add_parser("list", help="list active keys (YAML ones first)")
    listing.add_argument("--org", default="", help="only keys of this org")
    listing.add_argument("--workspace", default="", help="only keys of this workspace")
    create = actions.add_parser("create", help="create a key and print its token once")
    create.add_argument("--id", default="", help="key id (default gk_ + 16 hex digits)")
    create.add_argument("--org", default="", help="org id (default: default)")
    create.add_argument("--workspace", default="", help="workspace id (default: default)")
    create.add_argument("--name", default="")
    create.add_argument("--description", default="")
    create.add_argument("--role", default="", help="role (default: developer)")
    create.add_argument(
        "--permission", action="append", default=[], help="extra permission (repeatable)"
    )
    _token_arg(create)
    rotate = actions.add_parser("rotate", help="give a key a new token and print it once")
    rotate.add_argument("key_id", metavar="ID")
    _token_arg(rotate)
    revoke = actions.add_parser("revoke", help="revoke a key (refused everywhere after refresh)")
    revoke.add_argument("key_id", metavar="ID")
    for parser in (listing, create, rotate, revoke):
        parser.add_argument("--config", default=_DEFAULT_CONFIG)
        parser.add_argument(
            "--format", default="text", type=_format, choices=("text", "json"), help="text or json"
        )


def _token_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--token",
        default="",
        help="use this token (>= 16 printable ASCII characters) instead of a generated one; "
        "it will be visible in your shell history and process list",
    )


def _format(value: str) -> str:
    return value.strip().lower()


def run_keys(args: argparse.Namespace) -> int:
    """Run one `keys` subcommand; returns the exit code."""
    command = getattr(args, "keys_command", None)
    if command is None:
        sys.stderr.write(
            "Usage:\n  ongoingai keys list|create|rotate|revoke [flags] [--config PATH]\n"
        )
        return 2
    try:
        config = load_config(Path(args.config), SchemaSet(), os.environ).config
        output = asyncio.run(_act(command, args, config))
    except ConfigInvalid as exc:
        sys.stderr.write(f"config is invalid: {len(exc.problems)} problem(s)\n")
        for problem in exc.problems:
            sys.stderr.write(problem.render() + "\n")
        return 1
    except _Failed as exc:
        sys.stderr.write(f"ongoingai keys {command}: {exc}\n")
        return exc.code
    sys.stdout.write(output)
    return 0


async def _act(command: str, args: argparse.Namespace, config: GatewayConfig) -> str:
    """Open storage, run the command, and return what to print.

    Storage and the lifecycle are imported here, not at the top: every other command of the
    CLI (`version` included) would otherwise pay for loading SQLAlchemy and the drivers.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from ongoingai.engine.auth.lifecycle import KeyLifecycle
    from ongoingai.engine.storage import apply_migrations, create_engine_for, redact_dsn
    from ongoingai.engine.storage.gateway_keys import GatewayKeyStore, KeyStoreError

    storage = config.storage
    driver = storage.driver.strip()
    target = storage.path if driver == "sqlite" else redact_dsn(storage.dsn)
    try:
        engine = create_engine_for(driver, storage.path, storage.dsn)
    except ValueError as exc:
        raise _Failed(f"failed to initialize {driver} storage ({target}): {exc}") from None
    try:
        try:
            await apply_migrations(engine)
        except (SQLAlchemyError, OSError) as exc:
            detail = first_line(exc)
            raise _Failed(f"failed to initialize {driver} storage ({target}): {detail}") from None
        lifecycle = KeyLifecycle(GatewayKeyStore(engine), config.auth.keys)
        try:
            return await _dispatch(command, args, lifecycle)
        except KeyStoreError as exc:
            # A value no key could have (a short token, an empty id) is a usage error.
            raise _Failed(str(exc), 2 if isinstance(exc, ValueError) else 1) from None
        except (SQLAlchemyError, OSError) as exc:
            raise _Failed(f"failed to {command} gateway keys: {first_line(exc)}") from None
    finally:
        await engine.dispose()


async def _dispatch(command: str, args: argparse.Namespace, lifecycle: KeyLifecycle) -> str:
    from ongoingai.engine.auth.lifecycle import KeyRequest, ListedKey  # see `_act`

    as_json = args.format == "json"
    if command == "list":
        keys = [
            k
            for k in await lifecycle.list(None)
            if args.org in ("", k.key.org_id) and args.workspace in ("", k.key.workspace_id)
        ]
        return _json({"items": [k.as_json() for k in keys]}) if as_json else _table(keys)
    if command == "create":
        issued = await lifecycle.create(
            KeyRequest(
                id=args.id,
                token=args.token,
                org_id=args.org,
                workspace_id=args.workspace,
                name=args.name,
                description=args.description,
                role=args.role,
                permissions=tuple(args.permission),
                created_by=_CREATED_BY,
            )
        )
        return _json(issued.as_json()) if as_json else _issued("Created", issued)
    if command == "rotate":
        issued = await lifecycle.rotate(args.key_id, args.token, None)
        return _json(issued.as_json()) if as_json else _issued("Rotated", issued)
    revoked = await lifecycle.revoke(args.key_id, None)
    if as_json:
        return _json({**ListedKey(revoked, "database").as_json(), "revoked": True})
    return f"Revoked gateway key {revoked.id} ({_tenant(revoked)}).\n"


def _json(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2) + "\n"


def _tenant(key: StoredKey) -> str:
    return f"{key.org_id}/{key.workspace_id}"


def _issued(verb: str, issued: IssuedKey) -> str:
    """The key's details, then its token set apart so it can be copied cleanly."""
    key = issued.key
    lines = [
        f"{verb} gateway key {key.id}",
        "",
        f"  org/workspace  {_tenant(key)}",
        f"  role           {key.role}",
    ]
    if key.permissions:
        lines.append(f"  permissions    {', '.join(key.permissions)}")
    if key.name:
        lines.append(f"  name           {key.name}")
    lines += [
        "",
        "Token (shown once: it is stored only as a hash and will not be shown again):",
        "",
        f"  {issued.token}",
        "",
    ]
    return "\n".join(lines) + "\n"


def _table(keys: list[ListedKey]) -> str:
    """Aligned columns that fit 80 characters for usual ids; names are cut to fit."""
    if not keys:
        return "No gateway keys.\n"
    header = ("ID", "ORG/WORKSPACE", "ROLE", "CREATED", "LAST USED")
    rows = [
        (
            k.key.id,
            _tenant(k.key),
            k.key.role or "-",
            _day(k.key.created_at) if k.source == "database" else "config",
            _last_use(k),
        )
        for k in keys
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    room = _WIDTH - sum(widths) - 2 * len(widths)
    with_names = room >= len("NAME") and any(k.key.name for k in keys)
    lines = []
    for row, name in zip((header, *rows), ("NAME", *(k.key.name for k in keys)), strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        if with_names:
            cells.append(name if len(name) <= room else name[: room - 1] + "~")
        lines.append("  ".join(cells).rstrip())
    declared = sum(k.source == "config" for k in keys)
    noun = "key" if len(keys) == 1 else "keys"
    footer = f"{len(keys)} {noun}" + (
        f" ({declared} declared in the config, read-only)" if declared else ""
    )
    return "\n".join([*lines, "", footer]) + "\n"


def _last_use(listed: ListedKey) -> str:
    """Stored keys' last use (UTC day); the database keeps none for keys of the config."""
    if listed.source == "config":
        return "-"
    return _day(listed.key.last_used_at) if listed.key.last_used_at else "never"


def _day(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else "-"
