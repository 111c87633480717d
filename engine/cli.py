"""The `ongoingai` command line: serve, version, validate (and `config validate`), keys.

Exit codes: 0 success, 1 invalid config or startup failure, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ongoingai.engine import (
    cli_debug,
    cli_diagnostics,
    cli_doctor,
    cli_keys,
    cli_report,
    cli_shell,
)
from ongoingai.engine.registry import builtin_registry
from ongoingai.engine.schemas import SchemaSet
from ongoingai.engine.services import Services
from ongoingai.engine.snapshot_build import BuildInputs, SnapshotInvalid, build_snapshot
from ongoingai.engine.version import version_string

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ongoingai.engine.problems import Problem

__all__ = ["main"]

_DEFAULT_CONFIG = "ongoingai.yaml"


class _Command(Protocol):
    """A command module: registers its parser with `set_defaults(run=...)`."""

    def add_parser(self, sub: argparse._SubParsersAction[Any]) -> None:
        """Add the command's parser to the top-level subparsers."""
        ...


#: Commands that live in their own modules (each sets `run` on its parser).
_COMMANDS: tuple[_Command, ...] = (
    cli_keys,
    cli_report,
    cli_shell,
    cli_diagnostics,
    cli_doctor,
    cli_debug,
)


class _Parser(argparse.ArgumentParser):
    """argparse with exit code 2 and the contract's stderr usage on any usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: {message}\n")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ongoingai", description="OngoingAI Gateway")
    parser.add_argument("--version", "-v", action="store_true", help="print the version")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", default=_DEFAULT_CONFIG)
    # The original ignores extra positional arguments to `serve`; scripts may pass some.
    serve.add_argument("ignored", nargs="*", help=argparse.SUPPRESS)
    sub.add_parser("version", help="print the version")
    validate = sub.add_parser("validate", help="validate ongoingai.yaml and its policy files")
    _validate_args(validate)
    config = sub.add_parser("config", help="configuration commands")
    config_sub = config.add_subparsers(dest="config_command", parser_class=_Parser)
    _validate_args(config_sub.add_parser("validate", help="same as `ongoingai validate`"))
    for command in _COMMANDS:
        command.add_parser(sub)
    return parser


def _validate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=_DEFAULT_CONFIG)
    parser.add_argument("--format", default="text", help="text or json")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.version or args.command == "version":
        sys.stdout.write(version_string() + "\n")
        return 0
    if args.command == "validate":
        return validate(Path(args.config), args.format)
    if args.command == "config":
        if args.config_command != "validate":
            sys.stderr.write("Usage:\n  ongoingai config validate [--config ongoingai.yaml]\n")
            return 2
        return validate(Path(args.config), args.format)
    run: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
    if run is not None:
        return run(args)
    from ongoingai.engine.serve import serve  # heavy imports only when serving

    return serve(Path(getattr(args, "config", _DEFAULT_CONFIG)))


def build_inputs() -> BuildInputs:
    """Schemas, registry and (unstarted) services for building snapshots."""
    return BuildInputs(SchemaSet(), builtin_registry(), Services(), dict(os.environ))


def validate(config_path: Path, fmt: str) -> int:
    """Check the config and every policy file; print all problems; 0 valid, 1 invalid."""
    fmt = fmt.strip().lower() or "text"
    if fmt not in ("text", "json"):
        sys.stderr.write(f'invalid validate format "{fmt}": expected text or json\n')
        return 2
    try:
        snapshot = build_snapshot(config_path, build_inputs())
    except SnapshotInvalid as exc:
        _report(config_path, fmt, list(exc.sources), exc.problems)
        return 1
    _report(config_path, fmt, list(snapshot.sources), [])
    return 0


def _report(config_path: Path, fmt: str, files: list[str], problems: list[Problem]) -> None:
    if fmt == "json":
        doc = {
            "schema_version": "validate.v1",
            "valid": not problems,
            "files": files,
            "errors": [p.as_dict() for p in problems],
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    if not problems:
        sys.stdout.write(f"config is valid: {config_path}\n")
        return
    noun = "problem" if len(problems) == 1 else "problems"
    sys.stderr.write(f"config is invalid: {len(problems)} {noun}\n")
    for problem in problems:
        sys.stderr.write(problem.render() + "\n")
