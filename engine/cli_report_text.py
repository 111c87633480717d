"""The text form of a `report.v1` document: the original's sections, fitted to 80 columns.

Same header, labels, section titles, column names and placeholders as the original (contract
§1.5), times to the second (Go's `time.RFC3339`), money with 6 decimals and averages with 2.
Unlike the original's one-line-per-row tabwriter, wide tables fold into indented bands and
long values are shortened (`text_table`): key hashes keep 12 characters, paths their tail.
Counters are right-aligned so their magnitudes line up.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ongoingai.engine.text_table import WIDTH, Column, Pair, render_pairs, render_table

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ongoingai.engine.cli_report_build import Report

__all__ = ["render_text"]

TITLE = "OngoingAI Report"
_ALL = "(all)"
_NONE = "(none)"
_UNKNOWN = "(unknown)"
_HASH_CHARS = 12
_PATH_CHARS = 40
_FRACTION = re.compile(r"\.\d+Z$")

_PROVIDER_COLUMNS = (
    Column("PROVIDER"),
    Column("INPUT_TOKENS", right=True),
    Column("OUTPUT_TOKENS", right=True),
    Column("TOTAL_TOKENS", right=True),
    Column("TOTAL_COST_USD", right=True),
)
_MODEL_COLUMNS = (
    Column("MODEL"),
    Column("REQUESTS", right=True),
    Column("TOTAL_TOKENS", right=True),
    Column("TOTAL_COST_USD", right=True),
    Column("AVG_LATENCY_MS", right=True),
    Column("AVG_TTFT_MS", right=True),
)
_KEY_COLUMNS = (
    Column("API_KEY_HASH"),
    Column("REQUESTS", right=True),
    Column("TOTAL_TOKENS", right=True),
    Column("TOTAL_COST_USD", right=True),
    Column("LAST_ACTIVE_AT"),
)
_TRACE_COLUMNS = (
    Column("TIMESTAMP"),
    Column("PROVIDER"),
    Column("MODEL"),
    Column("STATUS", right=True),
    Column("TOTAL_TOKENS", right=True),
    Column("ESTIMATED_COST_USD", right=True),
    Column("LATENCY_MS", right=True),
    Column("REQUEST_PATH", max_width=_PATH_CHARS, keep="tail"),
    # Never shortened: it is what `ongoingai debug --trace-id` takes.
    Column("TRACE_ID"),
)


def render_text(report: Report, *, width: int = WIDTH, ellipsis: str = "…") -> str:
    """The whole report, ending with a newline."""
    hash_column = Column("API_KEY_HASH", max_width=_HASH_CHARS + len(ellipsis))
    key_columns = (hash_column, *_KEY_COLUMNS[1:])
    lines = [
        TITLE,
        *render_pairs(_header_pairs(report), width=width, ellipsis=ellipsis),
        "",
        "Summary",
        *render_pairs(_summary_pairs(report), width=width, ellipsis=ellipsis),
    ]
    sections: Sequence[tuple[str, Sequence[Column], list[list[str]], str]] = (
        ("Providers", _PROVIDER_COLUMNS, _provider_rows(report), "(no provider data)"),
        ("Models", _MODEL_COLUMNS, _model_rows(report), "(no model data)"),
        ("API Keys", key_columns, _key_rows(report), "(no API key data)"),
        ("Recent Traces", _TRACE_COLUMNS, _trace_rows(report), "(no traces)"),
    )
    for title, columns, rows, placeholder in sections:
        lines += ["", title]
        if rows:
            lines += render_table(columns, rows, width=width, ellipsis=ellipsis)
        else:
            lines.append(placeholder)
    return "\n".join(lines) + "\n"


def _seconds(stamp: str | None, fallback: str) -> str:
    """An RFC 3339 UTC time to the second (Go's `time.RFC3339`), or `fallback`."""
    return _FRACTION.sub("Z", stamp) if stamp else fallback


def _or(value: str, fallback: str) -> str:
    return value.strip() or fallback


def _usd(amount: float) -> str:
    return f"{amount:.6f}"


def _header_pairs(report: Report) -> list[Pair]:
    filters = report["filters"]
    storage = report["storage"]
    pairs = [
        Pair("Schema version", report["schema_version"]),
        Pair("Generated at", _seconds(report["generated_at"], _NONE)),
        Pair("Storage driver", storage["driver"]),
    ]
    if storage.get("path", "").strip():
        pairs.append(Pair("Storage path", storage["path"], keep="tail"))
    return [
        *pairs,
        Pair("Filter provider", _or(filters.get("provider", ""), _ALL)),
        Pair("Filter model", _or(filters.get("model", ""), _ALL)),
        Pair("Filter from", _seconds(filters.get("from"), _ALL)),
        Pair("Filter to", _seconds(filters.get("to"), _ALL)),
        Pair("Filter limit", str(filters["limit"])),
    ]


def _summary_pairs(report: Report) -> list[Pair]:
    """The original's lines, each newer token kind right after the total it is part of."""
    s = report["summary"]
    return [
        Pair("Total requests", str(s["total_requests"])),
        Pair("Total input tokens", str(s["total_input_tokens"])),
        Pair("Cached input tokens (read)", str(s["total_cache_read_input_tokens"])),
        Pair("Cache write input tokens", str(s["total_cache_write_input_tokens"])),
        Pair("Total output tokens", str(s["total_output_tokens"])),
        Pair("Reasoning tokens", str(s["total_reasoning_tokens"])),
        Pair("Total tokens", str(s["total_tokens"])),
        Pair("Estimated cost (USD)", _usd(s["total_cost_usd"])),
        Pair("Active API keys", str(s["active_keys"])),
        Pair("Top model", _or(s.get("top_model", ""), _NONE)),
    ]


def _provider_rows(report: Report) -> list[list[str]]:
    return [
        [
            p["provider"],
            str(p["input_tokens"]),
            str(p["output_tokens"]),
            str(p["total_tokens"]),
            _usd(p["total_cost_usd"]),
        ]
        for p in report["providers"]
    ]


def _model_rows(report: Report) -> list[list[str]]:
    return [
        [
            _or(m["model"], _UNKNOWN),
            str(m["request_count"]),
            str(m["total_tokens"]),
            _usd(m["total_cost_usd"]),
            f"{m['avg_latency_ms']:.2f}",
            f"{m['avg_ttft_ms']:.2f}",
        ]
        for m in report["models"]
    ]


def _key_rows(report: Report) -> list[list[str]]:
    return [
        [
            k["api_key_hash"],
            str(k["request_count"]),
            str(k["total_tokens"]),
            _usd(k["total_cost_usd"]),
            _seconds(k.get("last_active_at"), _NONE),
        ]
        for k in report["api_keys"]
    ]


def _trace_rows(report: Report) -> list[list[str]]:
    return [
        [
            _seconds(t.get("timestamp"), _UNKNOWN),
            _or(t["provider"], _UNKNOWN),
            _or(t["model"], _UNKNOWN),
            str(t["response_status"]),
            str(t["total_tokens"]),
            _usd(t["estimated_cost_usd"]),
            str(t["latency_ms"]),
            _or(t["request_path"], _UNKNOWN),
            t["id"],
        ]
        for t in report["recent_traces"]
    ]
