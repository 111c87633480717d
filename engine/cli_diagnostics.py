"""`ongoingai diagnostics [trace-pipeline]`: a running gateway's trace-writer health.

Unlike `doctor`, which inspects the configuration on disk, this asks a live gateway over
HTTP (`GET /api/diagnostics/trace-pipeline`, contract §1.8 and §3.3): queue depth and pressure,
drop counters, write failures by class. The gateway address comes from `--base-url` or, as
`shell-init` computes it, from the config; the key header from `--auth-header`, the config's
`auth.header`, or the default. The key is sent only when `--gateway-key` is given, so the
command never guesses at credentials.

Exit codes: 0 printed; 1 the endpoint could not be resolved or read (one line on stderr);
2 usage error (target, format, timeout).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ongoingai.engine.cli_common import CliFailure, normalize_format, run_cli, write_json
from ongoingai.engine.cli_shell import gateway_base_url
from ongoingai.engine.config_probe import probe_config
from ongoingai.engine.durations import format_go_duration, parse_go_duration

if TYPE_CHECKING:
    import httpx

    from ongoingai.engine.config import GatewayConfig

__all__ = ["ReadFailed", "add_parser", "decode_document", "read_limited", "render_text"]

_DEFAULT_CONFIG = "ongoingai.yaml"
_TARGET = "trace-pipeline"
_PATH = "/api/diagnostics/trace-pipeline"
_DEFAULT_BASE = "http://localhost:8080"
_DEFAULT_HEADER = "X-OngoingAI-Gateway-Key"
_BODY_LIMIT = 1 << 20
_NONE = "(none)"
_FAILURE_CLASSES = ("connection", "timeout", "contention", "constraint", "unknown")
_RAW_BODY_CHARS = 300  # an HTML error page must not flood the terminal


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """Register `diagnostics` on the top-level subparsers."""
    parser = sub.add_parser("diagnostics", help="read a running gateway's trace pipeline state")
    parser.add_argument("target", nargs="*", help="what to read: trace-pipeline (the default)")
    parser.add_argument("--config", default=_DEFAULT_CONFIG)
    parser.add_argument("--base-url", default="", help="gateway URL (default: from the config)")
    parser.add_argument("--gateway-key", default="", help="gateway key, when auth is enabled")
    parser.add_argument("--auth-header", default="", help="header carrying the gateway key")
    parser.add_argument("--format", default="text", help="text or json")
    parser.add_argument(
        "--timeout", default=5_000_000_000, type=_duration, help="Go duration (default 5s)"
    )
    parser.set_defaults(run=_run)


def _duration(text: str) -> int:
    """Parse an argparse value: Go duration text → nanoseconds (a syntax error is a usage error)."""
    try:
        return parse_go_duration(text)
    except ValueError:
        msg = f'invalid duration "{text}" (use Go syntax such as 5s, 500ms or 1m)'
        raise argparse.ArgumentTypeError(msg) from None


def _run(args: argparse.Namespace) -> int:
    def body() -> int:
        if len(args.target) > 1:
            raise CliFailure("diagnostics accepts at most one target (trace-pipeline)", 2)
        if args.target and args.target[0] != _TARGET:
            msg = f'unsupported diagnostics target "{args.target[0]}": expected "{_TARGET}"'
            raise CliFailure(msg, 2)
        fmt = normalize_format("diagnostics", args.format)
        if args.timeout <= 0:
            shown = format_go_duration(args.timeout)
            raise CliFailure(f'invalid diagnostics timeout "{shown}": must be greater than 0', 2)
        url, header = _endpoint(Path(args.config), args.base_url.strip(), args.auth_header)
        try:
            document = _fetch(url, header, args.gateway_key, args.timeout / 1e9)
        except ReadFailed as exc:
            raise CliFailure(f"failed to read diagnostics: {exc}") from None
        if fmt == "json":
            write_json(
                {k: document.get(k) for k in ("schema_version", "generated_at")}
                | {"diagnostics": document.get("diagnostics") or {}}
            )
        else:
            sys.stdout.write(render_text(document, url))
        return 0

    return run_cli(body)


def _endpoint(config_path: Path, base_url: str, auth_header: str) -> tuple[str, str]:
    """The diagnostics URL and the key header name (contract §1.8 resolution order)."""
    header = auth_header.strip()
    config: GatewayConfig | None = None
    if not base_url or not header:
        probe = probe_config(config_path)
        if probe.stage == "valid" and probe.loaded is not None:
            config = probe.loaded.config
        elif not base_url:
            stage = "load config" if probe.stage == "load_failed" else "config validation failed"
            raise CliFailure(f"failed to resolve diagnostics endpoint: {stage}: {probe.detail()}")
    if not base_url:
        base_url = gateway_base_url(config.server) if config is not None else _DEFAULT_BASE
    if not header:
        header = (config.auth.header.strip() if config is not None else "") or _DEFAULT_HEADER
    return _clean_base(base_url) + _PATH, header


def _clean_base(raw: str) -> str:
    """http(s)://host[:port][/path] without query, fragment or trailing slash."""
    try:
        parts = urlsplit(raw)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        msg = f'base url must be an http or https URL with a host (got "{raw}")'
        raise CliFailure(f"failed to resolve diagnostics endpoint: {msg}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")).rstrip("/")


class ReadFailed(Exception):
    """The gateway could not be asked, or did not answer with diagnostics."""


def _fetch(url: str, header: str, key: str, timeout_s: float) -> dict[str, Any]:
    """GET the document within `timeout_s` overall, reading at most 1 MiB of body."""
    import httpx  # only this command talks HTTP; keep `ongoingai version` light

    headers = {"Accept": "application/json"}
    if key:
        headers[header] = key
    deadline = time.monotonic() + timeout_s
    try:
        with (
            httpx.Client(timeout=timeout_s) as client,
            client.stream("GET", url, headers=headers) as response,
        ):
            body = read_limited(response, deadline)
    except httpx.TimeoutException:
        shown = format_go_duration(int(timeout_s * 1e9))
        raise ReadFailed(f"GET {url}: timed out after {shown}") from None
    except httpx.HTTPError as exc:
        raise ReadFailed(f"GET {url}: {exc or type(exc).__name__}") from None
    return decode_document(response, body)


def decode_document(response: httpx.Response, body: bytes) -> dict[str, Any]:
    """The diagnostics document from a read response.

    Raises:
        ReadFailed: a status other than 200 (with the API's error message when it sent one),
            a body that is not JSON, or JSON without `schema_version` (not a gateway).
    """
    if response.status_code != 200:
        raise ReadFailed(f"status {response.status_code}: {_error_text(response, body)}")
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise ReadFailed(f"decode diagnostics response: {exc}") from None
    if not isinstance(document, dict) or not document.get("schema_version"):
        raise ReadFailed("diagnostics response is missing schema_version")
    return document


def read_limited(response: httpx.Response, deadline: float) -> bytes:
    """The body, refusing more than 1 MiB: a wrong URL must not make the CLI buffer a download.

    Raises:
        ReadFailed: the body is over the limit, or still arriving at `deadline`.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > _BODY_LIMIT:
        raise ReadFailed(_too_large(int(declared)))
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > _BODY_LIMIT:
            raise ReadFailed(_too_large(len(body)))
        if time.monotonic() > deadline:  # a slow trickle must not outlast the timeout
            raise ReadFailed("timed out reading the response")
    return bytes(body)


def _too_large(size: int) -> str:
    return f"response too large: {size} bytes exceeds {_BODY_LIMIT} byte limit"


def _error_text(response: httpx.Response, body: bytes) -> str:
    """The API's `error` field, else the raw body (shortened), else the status text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str) and parsed["error"]:
        return str(parsed["error"])
    if text:
        flat = " ".join(text.split())
        return flat if len(flat) <= _RAW_BODY_CHARS else flat[: _RAW_BODY_CHARS - 3] + "..."
    return response.reason_phrase or "unknown status"


def render_text(document: dict[str, Any], source: str) -> str:
    """The contract's text layout: a header block, then Queue, Drops, failures, Store."""
    d: dict[str, Any] = document.get("diagnostics") or {}
    blocks = [
        _block(
            "OngoingAI Diagnostics",
            [
                ("Schema version", document.get("schema_version")),
                ("Generated at", document.get("generated_at")),
                ("Source", source),
                ("Queue pressure", str(d.get("queue_pressure_state", "")).upper()),
                (
                    "High watermark pressure",
                    str(d.get("queue_high_watermark_pressure_state", "")).upper(),
                ),
            ],
            indent="",
        ),
        _block(
            "Queue",
            [
                ("Capacity", d.get("queue_capacity")),
                ("Depth", d.get("queue_depth")),
                ("Depth high watermark", d.get("queue_depth_high_watermark")),
                ("Utilization (pct)", d.get("queue_utilization_pct")),
                ("High watermark utilization (pct)", d.get("queue_high_watermark_utilization_pct")),
                ("Enqueue accepted total", d.get("enqueue_accepted_total")),
            ],
        ),
        _block(
            "Drops",
            [
                ("Enqueue dropped total", d.get("enqueue_dropped_total")),
                ("Write dropped total", d.get("write_dropped_total")),
                ("Total dropped", d.get("total_dropped_total")),
                ("Last enqueue drop at", d.get("last_enqueue_drop_at")),
                ("Last write drop at", d.get("last_write_drop_at")),
                ("Last write drop operation", d.get("last_write_drop_operation")),
            ],
        ),
    ]
    failures = d.get("write_failures_by_class") or {}
    present = [(c, failures[c]) for c in _FAILURE_CLASSES if failures.get(c)]
    if present:
        blocks.append(_block("Write Failures by Class", present))
    if d.get("store_driver"):
        blocks.append(_block("Store", [("Driver", d["store_driver"])]))
    return "\n".join(blocks)


def _block(title: str, rows: list[tuple[str, Any]], indent: str = "  ") -> str:
    """A title line and aligned `label: value` rows; missing values read `(none)`."""
    width = max(len(label) for label, _ in rows) + 2
    lines = [title]
    for label, value in rows:
        shown = _NONE if value is None or value == "" else value
        lines.append(f"{indent}{label + ':':<{width}}{shown}")
    return "\n".join(lines) + "\n"
