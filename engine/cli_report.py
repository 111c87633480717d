"""`ongoingai report`: usage, cost, models, keys and recent traces, straight from storage.

Contract §1.5. No gateway needs to run: the command opens the storage `ongoingai.yaml` names
(env overrides included; opening SQLite creates the file and migrates it, as the original
does), reads every tenant's traces, and prints `report.v1` as text or JSON.

Exit codes: 0 printed; 2 usage (flags, positional arguments, format, limit, times, range);
1 config, storage, query or output failure. One line on stderr, never a traceback. While the
reads run, a terminal's stderr shows a status line that is cleared before anything is printed;
piped output stays silent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ongoingai.engine.cli_common import (
    CliFailure,
    ellipsis_for,
    first_line,
    load_validated_config,
    normalize_format,
    open_storage,
    run_cli,
    write_output,
)
from ongoingai.engine.cli_report_build import (
    ReportData,
    ReportOptions,
    build_report,
    parse_bound,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.ext.asyncio import AsyncEngine

    from ongoingai.engine.cli_report_build import Report
    from ongoingai.engine.config import GatewayConfig

__all__ = ["add_parser", "run_report"]

_DEFAULT_CONFIG = "ongoingai.yaml"
_DEFAULT_LIMIT = 10
_MAX_LIMIT = 200
_CLEAR_LINE = "\r\x1b[K"


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register `report` on the top-level subparsers."""
    parser = sub.add_parser("report", help="print usage, cost and recent traces from storage")
    parser.set_defaults(run=run_report)
    parser.add_argument("--config", default=_DEFAULT_CONFIG, metavar="PATH")
    parser.add_argument("--format", default="text", help="text (default) or json")
    parser.add_argument(
        "--from", dest="start", default="", metavar="TIME", help="RFC3339 or YYYY-MM-DD"
    )
    parser.add_argument(
        "--to", dest="end", default="", metavar="TIME", help="RFC3339 or YYYY-MM-DD (whole day)"
    )
    parser.add_argument("--provider", default="", help="only this provider")
    parser.add_argument("--model", default="", help="only this model")
    parser.add_argument(
        "--limit", type=int, default=_DEFAULT_LIMIT, metavar="N", help="recent traces (1-200)"
    )
    # Caught to answer with the contract's message instead of argparse's.
    parser.add_argument("positional", nargs="*", help=argparse.SUPPRESS)


def run_report(args: argparse.Namespace) -> int:
    """Run `ongoingai report`; returns the exit code."""
    return run_cli(lambda: _report(args))


def _report(args: argparse.Namespace) -> int:
    """Validate in the contract's order (usage errors first), then read and print."""
    if args.positional:
        raise CliFailure("report does not accept positional arguments", 2)
    fmt = normalize_format("report", args.format)
    if not 1 <= args.limit <= _MAX_LIMIT:
        raise CliFailure(f"limit must be between 1 and {_MAX_LIMIT}", 2)
    try:
        start = parse_bound(args.start, "from", end_of_day=False)
        end = parse_bound(args.end, "to", end_of_day=True)
    except ValueError as exc:
        raise CliFailure(str(exc), 2) from None
    if start is not None and end is not None and end < start:
        raise CliFailure("invalid range: to must be greater than or equal to from", 2)
    config = load_validated_config(Path(args.config))
    driver = config.storage.driver.strip()
    options = ReportOptions(
        driver=driver,
        path=config.storage.path if driver == "sqlite" else "",
        provider=args.provider.strip(),
        model=args.model.strip(),
        start=start,
        end=end,
        limit=args.limit,
    )
    with _status(sys.stderr, f"reading traces{ellipsis_for(sys.stderr)}"):
        report = asyncio.run(_read(config, options))
    _write(report, fmt)
    return 0


async def _read(config: GatewayConfig, options: ReportOptions) -> Report:
    async with open_storage(config) as engine:
        data = await _query(engine, options)
    return build_report(options, data, dt.datetime.now(dt.UTC))


async def _query(engine: AsyncEngine, options: ReportOptions) -> ReportData:
    """The seven reads, concurrently; the first failure cancels the rest.

    A TaskGroup rather than `gather`: it keeps each result's type, and a failed read does not
    leave the others running against an engine that is being disposed.
    """
    from sqlalchemy.exc import SQLAlchemyError  # storage is imported only by storage commands

    from ongoingai.engine.storage.analytics import AnalyticsQueries
    from ongoingai.engine.storage.trace_queries import TraceQueries

    f = options.trace_filter()
    analytics = AnalyticsQueries(engine)
    try:
        async with asyncio.TaskGroup() as group:
            usage = group.create_task(analytics.usage_summary(f))
            cost = group.create_task(analytics.cost_summary(f))
            models = group.create_task(analytics.models(f))
            keys = group.create_task(analytics.keys(f))
            usage_series = group.create_task(analytics.usage_series(f, "provider", "day"))
            cost_series = group.create_task(analytics.cost_series(f, "provider", "day"))
            recent = group.create_task(TraceQueries(engine).page(f, options.limit))
    except* (SQLAlchemyError, OSError) as failed:
        raise CliFailure(f"failed to build report: {first_line(failed.exceptions[0])}") from None
    return ReportData(
        usage=usage.result(),
        cost_nanousd=cost.result(),
        models=models.result(),
        keys=keys.result(),
        usage_series=usage_series.result(),
        cost_series=cost_series.result(),
        recent=recent.result().items,
    )


def _write(report: Report, fmt: str) -> None:
    """Print the report; a closed or full stdout is the contract's write failure (exit 1)."""
    from ongoingai.engine.cli_report_text import render_text

    if fmt == "json":
        write_output(lambda _: json.dumps(report, indent=2) + "\n", "report")
    else:
        write_output(lambda ellipsis: render_text(report, ellipsis=ellipsis), "report")


@contextlib.contextmanager
def _status(stream: TextIO, message: str) -> Iterator[None]:
    """Show `message` on a terminal while the block runs, then erase it; silent when piped."""
    shown = _is_terminal(stream)
    if shown:
        stream.write(message)
        stream.flush()
    try:
        yield
    finally:
        if shown:
            stream.write(_CLEAR_LINE)
            stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):  # closed or detached
        return False
