"""`ongoingai debug [last]`: a trace's lineage chain, straight from storage (contract §1.6).

No gateway needs to run: the command opens the storage `ongoingai.yaml` names (env overrides
included), reads the source trace and its chain across every tenant, and prints it as text
or `debug-chain.v1` JSON, optionally with redaction-safe diffs and a bundle directory.

Exit codes: 0 done; 1 config, storage, lookup or write failure (one line on stderr, never a
traceback); 2 usage error. Checks run in the original's order, so the same bad command line
gets the same message from both gateways.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ongoingai.engine.cli_common import (
    CliFailure,
    first_line,
    load_validated_config,
    normalize_format,
    open_storage,
    run_cli,
    write_output,
)

if TYPE_CHECKING:
    import argparse

    from ongoingai.engine.config import GatewayConfig
    from ongoingai.engine.debugchain import DebugDocument, Options, Selection

__all__ = ["add_parser", "run_debug"]

_DEFAULT_CONFIG = "ongoingai.yaml"
_MAX_LIMIT = 500
_LAST = "last"


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register `debug` on the top-level subparsers."""
    parser = sub.add_parser(
        "debug", help="show a trace's lineage chain from storage (no server needed)"
    )
    parser.set_defaults(run=run_debug)
    parser.add_argument(
        "positional", nargs="*", metavar="last", help='"last": the newest trace (the default)'
    )
    parser.add_argument("--config", default=_DEFAULT_CONFIG, help="path to ongoingai.yaml")
    parser.add_argument("--trace-id", default="", help="trace to debug (default: the latest)")
    parser.add_argument("--trace-group-id", default="", help="chain filter: trace group id")
    parser.add_argument("--thread-id", default="", help="chain filter: lineage thread id")
    parser.add_argument("--run-id", default="", help="chain filter: lineage run id")
    parser.add_argument("--format", default="text", help="text or json")
    parser.add_argument(
        "--limit", type=int, default=200, help=f"most checkpoints to read (1-{_MAX_LIMIT})"
    )
    parser.add_argument("--diff", action="store_true", help="add redaction-safe checkpoint diffs")
    parser.add_argument(
        "--bundle-out", default="", help="also write debug-chain.json + manifest.json here"
    )
    parser.add_argument(
        "--include-headers", action="store_true", help="show stored request/response headers"
    )
    parser.add_argument(
        "--include-bodies", action="store_true", help="show stored request/response bodies"
    )


def run_debug(args: argparse.Namespace) -> int:
    """Run `debug`; returns the exit code."""
    return run_cli(lambda: _debug(args))


def _positional_is_last(positional: list[str]) -> bool:
    """Whether `last` was given; CliFailure(2) for any other positional use.

    The original strips a leading `last` before parsing flags and then allows one trailing
    positional, which must also be `last`.
    """
    words = [word.strip() for word in positional]
    leading = bool(words) and words[0] == _LAST
    rest = words[1:] if leading else words
    if len(rest) > 1:
        raise CliFailure("debug accepts at most one positional argument: last", 2)
    if rest and rest[0] != _LAST:
        raise CliFailure('debug positional argument must be "last"', 2)
    return leading or bool(rest)


def _parse(args: argparse.Namespace) -> tuple[Selection, Options, str]:
    """Validate the command line in the original's order; CliFailure(2) on a usage error."""
    from ongoingai.engine.debugchain import Options, Selection

    last = _positional_is_last(list(args.positional))
    selection = Selection(
        trace_id=args.trace_id.strip(),
        trace_group_id=args.trace_group_id.strip(),
        thread_id=args.thread_id.strip(),
        run_id=args.run_id.strip(),
    )
    if last and (selection.trace_id or selection.has_chain_filter):
        raise CliFailure(
            'debug "last" cannot be combined with --trace-id, --trace-group-id, '
            "--thread-id, or --run-id",
            2,
        )
    if selection.trace_id and selection.has_chain_filter:
        raise CliFailure(
            "trace-id cannot be combined with trace-group-id/thread-id/run-id filters", 2
        )
    fmt = normalize_format("debug", args.format)
    if not 1 <= args.limit <= _MAX_LIMIT:
        raise CliFailure(f"limit must be between 1 and {_MAX_LIMIT}", 2)
    options = Options(
        limit=args.limit,
        include_diff=args.diff,
        include_headers=args.include_headers,
        include_bodies=args.include_bodies,
    )
    return selection, options, fmt


def _debug(args: argparse.Namespace) -> int:
    selection, options, fmt = _parse(args)
    config = load_validated_config(Path(args.config))
    document = asyncio.run(_read(config, selection, options))
    _write_output(document, fmt)
    bundle_dir = args.bundle_out.strip()
    if bundle_dir:
        from ongoingai.engine.debugchain import BundleError, write_bundle

        try:
            manifest_path = write_bundle(Path(bundle_dir), document)
        except BundleError as exc:
            raise CliFailure(f"failed to write debug bundle: {exc}") from None
        sys.stderr.write(f"wrote debug bundle: {manifest_path}\n")
    return 0


async def _read(config: GatewayConfig, selection: Selection, options: Options) -> DebugDocument:
    """Open storage, resolve the source, read its chain and build the document.

    Storage and the chain code are imported here: `ongoingai version` and every other
    command would otherwise pay for loading SQLAlchemy.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from ongoingai.engine.debugchain import (
        NoTraces,
        Progress,
        TraceNotFound,
        build_document,
        read_chain,
        resolve_source,
    )
    from ongoingai.engine.storage.trace_queries import TraceQueries

    # ValueError: a row another client wrote with a timestamp no reader can parse.
    failures = (SQLAlchemyError, OSError, ValueError)
    async with open_storage(config) as engine:
        queries = TraceQueries(engine)
        try:
            source = await resolve_source(queries, selection, options)
        except TraceNotFound:
            raise CliFailure("trace not found") from None
        except NoTraces:
            raise CliFailure("no traces found in storage") from None
        except failures as exc:
            raise CliFailure(f"failed to resolve source trace: {first_line(exc)}") from None
        progress = Progress(sys.stderr)
        try:
            chain = await read_chain(queries, source, selection, options, progress.update)
        except failures as exc:
            raise CliFailure(f"failed to build debug chain: {first_line(exc)}") from None
        finally:
            progress.done()
    return build_document(selection, options, source, chain)


def _write_output(document: DebugDocument, fmt: str) -> None:
    """Print the document; a closed or failing stdout is exit 1, not a traceback."""
    from ongoingai.engine.debugchain import render_text

    if fmt == "json":
        write_output(lambda _: json.dumps(document.as_json(), indent=2) + "\n", "debug output")
    else:
        write_output(lambda ellipsis: render_text(document, ellipsis=ellipsis), "debug output")
