"""`ongoingai doctor [--config PATH] [--format text|json]`: is this gateway set up right?

Reads the config and the policy files it brings in, builds the pipeline, opens storage and
looks at route wiring and auth posture, then prints one verdict per check (contract §1.7;
`engine.doctor`). Runs without a gateway: it is what an operator runs before starting one,
or after a hot reload was refused. JSON carries `schema_version: "doctor.v1"` (SPEC §1.11).

Exit codes: 0 when nothing failed (warnings included), 1 when a check failed or the report
could not be written, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ongoingai.engine.cli_common import CliFailure, normalize_format, run_cli
from ongoingai.engine.doctor import run_checks
from ongoingai.engine.doctor.render import render_text

__all__ = ["add_parser"]

_DEFAULT_CONFIG = "ongoingai.yaml"


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register `doctor` on the top-level subparsers."""
    parser = sub.add_parser("doctor", help="check config, policies, pipeline, storage and auth")
    parser.add_argument("--config", default=_DEFAULT_CONFIG)
    parser.add_argument("--format", default="text", help="text or json")
    parser.add_argument("extra", nargs="*", help=argparse.SUPPRESS)
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    def body() -> int:
        if args.extra:
            raise CliFailure("doctor does not accept positional arguments", 2)
        fmt = normalize_format("doctor", args.format)
        report = run_checks(Path(args.config))
        if fmt == "json":
            output = json.dumps(report.as_json(), indent=2) + "\n"
        else:
            output = render_text(report, sys.stdout.encoding)
        try:
            sys.stdout.write(output)
            sys.stdout.flush()
        except (OSError, UnicodeEncodeError) as exc:
            raise CliFailure(f"failed to write doctor report: {exc}") from None
        return 1 if report.overall == "fail" else 0

    return run_cli(body)
