"""What every operator command shares: failures with exit codes, formats, config, storage.

Contract §1: usage errors exit 2, everything else that fails exits 1, with one line on stderr
and never a traceback. `--format` is trimmed and lowercased, empty meaning `text`. Config is
loaded and validated in two stages with their own messages. Commands that read traces open the
configured storage directly (the server need not run), applying migrations as the server would.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from ongoingai.engine.config_load import load_config_lenient
from ongoingai.engine.schemas import SchemaSet

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncEngine

    from ongoingai.engine.config import GatewayConfig

__all__ = [
    "CliFailure",
    "ellipsis_for",
    "first_line",
    "load_validated_config",
    "normalize_format",
    "open_storage",
    "run_cli",
    "write_json",
    "write_output",
]


class CliFailure(Exception):
    """A command cannot complete: print the message on stderr, exit with `code` (1 or 2)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def run_cli(body: Callable[[], int]) -> int:
    """Run a command body; a CliFailure becomes its message on stderr and its exit code."""
    try:
        return body()
    except CliFailure as exc:
        sys.stderr.write(f"{exc}\n")
        return exc.code


def normalize_format(command: str, raw: str) -> str:
    """`text` or `json` (trimmed, lowercased, empty = text); anything else is a usage error."""
    value = (raw or "").strip().lower() or "text"
    if value not in ("text", "json"):
        raise CliFailure(f'invalid {command} format "{raw}": expected text or json', 2)
    return value


def load_validated_config(path: Path) -> GatewayConfig:
    """The config at `path` with env overrides, or CliFailure(1) naming the failing stage.

    A file that cannot be read or parsed is a load failure (`failed to load config: ...`);
    one that parses but breaks a rule is a validation failure (`config is invalid: ...`).
    """
    loaded, problems = load_config_lenient(path, SchemaSet(), os.environ)
    if problems:
        first = problems[0]
        stage = (
            "failed to load config"
            if loaded is None and _is_load_problem(first.message)
            else ("config is invalid")
        )
        detail = "; ".join(p.render() for p in problems)
        raise CliFailure(f"{stage}: {detail}")
    assert loaded is not None  # noqa: S101 - no problems means a config was loaded
    return loaded.config


def _is_load_problem(message: str) -> bool:
    return message.startswith(("parse yaml", "read config", "multiple yaml documents"))


@contextlib.asynccontextmanager
async def open_storage(config: GatewayConfig) -> AsyncIterator[AsyncEngine]:
    """The configured trace store, migrated; CliFailure(1) when it cannot be opened.

    Imported lazily: commands that never touch storage should not pay for SQLAlchemy.
    """
    from ongoingai.engine.storage import apply_migrations, create_engine_for, redact_dsn

    storage = config.storage
    driver = storage.driver.strip()
    target = storage.path if driver == "sqlite" else redact_dsn(storage.dsn)
    try:
        engine = create_engine_for(driver, storage.path, storage.dsn)
    except Exception as exc:  # noqa: BLE001 - reported as the contract's one line
        raise CliFailure(f"failed to initialize trace store ({target}): {exc}") from None
    try:
        try:
            await apply_migrations(engine)
        except Exception as exc:  # noqa: BLE001 - reported as the contract's one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CliFailure(f"failed to initialize trace store ({target}): {first}") from None
        yield engine
    finally:
        await engine.dispose()


def write_json(document: Any) -> None:
    """2-space indented JSON and a newline on stdout (contract §1)."""
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def first_line(exc: BaseException) -> str:
    """The driver's own message, first line (SQLAlchemy appends the statement after it)."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__


def ellipsis_for(stream: TextIO) -> str:
    """`…` where the stream can encode it, `...` where it cannot (a latin-1 console)."""
    try:
        "…".encode(stream.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return "..."
    return "…"


def write_output(render: Callable[[str], str], what: str) -> None:
    """Write `render(ellipsis)` to stdout; a closed or broken stdout is CliFailure(1).

    Stored text may be any Unicode, so what the console cannot encode is escaped rather than
    failing half-way. After a failed write stdout points at /dev/null, so the interpreter's
    final flush cannot fail again with its own traceback-like warning.
    """
    stream = sys.stdout
    try:
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
        stream.write(render(ellipsis_for(stream)))
        stream.flush()
    except OSError as exc:
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)
        raise CliFailure(f"failed to write {what}: {first_line(exc)}") from None
