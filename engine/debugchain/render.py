"""The text form of a debug chain: the original's layout, readable in 80 columns.

Same sections and labels as the original (`OngoingAI Debug Chain`, an aligned key/value
block, one `Step N: <id>` block per checkpoint, the `Diffs` table and per-edge metadata key
blocks), so an operator who knows one knows the other. Values that would run past 80
columns are wrapped under their value column: plain values between words, JSON objects
(metadata, headers) between top-level members and inside a member longer than a line, so
concatenating the lines gives back the exact compact JSON and nothing is abbreviated away.
The diff table folds its rows over several indented lines (`text_table`, as the report
does), since the contract's column names alone are 140 characters. Only what cannot be split
without changing it (a word longer than a line, a stored body) runs longer.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from ongoingai.engine.lineage import lineage_of
from ongoingai.engine.text_table import Column, printable, render_table

from .document import SCHEMA_VERSION

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from ongoingai.engine.trace import TraceRecord

    from .diff import Edge
    from .document import DebugDocument
    from .model import ChainItem

__all__ = ["WIDTH", "json_pieces", "kv_block", "render_text"]

WIDTH = 80
_GAP = 2
_DIFF_COLUMNS = (
    # Never shortened: they are what `--trace-id` takes.
    Column("FROM"),
    Column("TO"),
    Column("TOTAL_TOKENS_DELTA", right=True),
    Column("LATENCY_DELTA_MS", right=True),
    Column("PATH_CHANGED"),
    Column("MODEL_CHANGED"),
    Column("STATUS_CHANGED"),
    Column("REQUEST_BODY_CHANGED"),
    Column("RESPONSE_BODY_CHANGED"),
    Column("METADATA_KEYS_CHANGED", right=True),
)

#: A value to print: plain text (wrapped between words) or pieces to pack as they are.
Value = str | list[str]


def _seconds(moment: dt.datetime) -> str:
    """RFC 3339 to the second, as the original's text output prints times."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _or(value: str, fallback: str) -> str:
    return value.strip() or fallback


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _compact(value: Any, ascii_only: bool) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=ascii_only, default=str
    )


def json_pieces(obj: Mapping[str, Any], *, ascii_only: bool = False) -> list[str]:
    """Compact sorted JSON of `obj` cut after each top-level member's comma."""
    members = [
        f"{_compact(key, ascii_only)}:{_compact(obj[key], ascii_only)}" for key in sorted(obj)
    ]
    if not members:
        return ["{}"]
    pieces = [member + "," for member in members[:-1]] + [members[-1]]
    pieces[0] = "{" + pieces[0]
    pieces[-1] += "}"
    return pieces


def _pack(pieces: Sequence[str], joiner: str, width: int) -> list[str]:
    """Greedily fill lines of at most `width` characters.

    JSON pieces (joined with "") longer than a line are cut into line-sized chunks, since
    concatenating the lines still gives the exact JSON; a word (joined with " ") is never
    cut, as that would change the text, so one longer than a line gets a line of its own.
    """
    lines: list[str] = []
    current = ""
    for piece in pieces:
        candidate = current + joiner + piece if current else piece
        if current and len(candidate) > width:
            lines.append(current)
            candidate = piece
        while not joiner and len(candidate) > width:
            lines.append(candidate[:width])
            candidate = candidate[width:]
        current = candidate
    return [*lines, current]


def kv_block(rows: Iterable[tuple[str, Value]], width: int = WIDTH) -> list[str]:
    """Keys padded to one column (longest + 2), values wrapped under their column."""
    table = list(rows)
    column = max(len(key) for key, _ in table) + _GAP
    room = max(width - column, 20)
    lines: list[str] = []
    for key, value in table:
        if isinstance(value, str):
            pieces, joiner = printable(value).split(" "), " "
        else:
            pieces, joiner = [printable(piece) for piece in value], ""
        packed = _pack(pieces, joiner, room)
        lines.append((key.ljust(column) + packed[0]).rstrip())
        lines += [" " * column + rest for rest in packed[1:]]
    return lines


def _header(doc: DebugDocument) -> list[str]:
    sel, opts, src, chain = doc.selection, doc.options, doc.source.record, doc.chain
    return kv_block(
        [
            ("Schema version", SCHEMA_VERSION),
            ("Generated at", _seconds(doc.generated_at)),
            ("Filter trace_id", _or(sel.trace_id, "(latest)")),
            ("Filter trace_group_id", _or(sel.trace_group_id, "(none)")),
            ("Filter thread_id", _or(sel.thread_id, "(none)")),
            ("Filter run_id", _or(sel.run_id, "(none)")),
            ("Option limit", str(opts.limit)),
            ("Option include_diff", _flag(opts.include_diff)),
            ("Option include_headers", _flag(opts.include_headers)),
            ("Option include_bodies", _flag(opts.include_bodies)),
            ("Source trace", src.id),
            ("Source time", _seconds(doc.source_time)),
            ("Source provider", _or(src.provider, "(unknown)")),
            ("Source model", _or(src.model, "(unknown)")),
            ("Source path", _or(src.request_path, "(unknown)")),
            ("Source status", str(src.response_status)),
            ("Chain identifier", _or(chain.lineage_identifier, "(single trace)")),
            ("Chain group_id", _or(chain.group_id, "(none)")),
            ("Chain thread_id", _or(chain.thread_id, "(none)")),
            ("Chain run_id", _or(chain.run_id, "(none)")),
            ("Chain checkpoints", str(len(chain.items))),
            ("Truncated", _flag(chain.truncated)),
        ]
    )


def _tokens(record: TraceRecord) -> str:
    text = f"input={record.input_tokens} output={record.output_tokens} total={record.total_tokens}"
    extra = (
        record.cache_read_input_tokens,
        record.cache_write_input_tokens,
        record.reasoning_tokens,
    )
    if any(extra):
        text += " cache_read={} cache_write={} reasoning={}".format(*extra)
    return text


def _step(step: int, item: ChainItem, doc: DebugDocument) -> list[str]:
    record = item.record
    lineage = lineage_of(record)
    rows: list[tuple[str, Value]] = [
        ("time", _seconds(record.created_at or record.timestamp)),
        ("provider", _or(record.provider, "(unknown)")),
        ("model", _or(record.model, "(unknown)")),
        (
            "request",
            f"{_or(record.request_method, 'UNKNOWN')} {_or(record.request_path, '(unknown)')}",
        ),
        ("response_status", str(record.response_status)),
        ("tokens", _tokens(record)),
        ("estimated_cost_usd", f"{record.estimated_cost_usd:.6f}"),
        ("latency_ms", str(record.latency_ms)),
        ("ttft_ms", str(record.time_to_first_token_ms)),
        (
            "lineage",
            f"checkpoint={_or(lineage.checkpoint_id, '(none)')} "
            f"parent={_or(lineage.parent_checkpoint_id, '(none)')} "
            f"seq={lineage.checkpoint_seq} immutable={_flag(lineage.immutable)}",
        ),
    ]
    if record.metadata:
        rows.append(("metadata", json_pieces(record.metadata)))
    lines = ["", printable(f"Step {step}: {record.id}"), *kv_block(rows)]
    return lines + _content(item, doc)


def _content(item: ChainItem, doc: DebugDocument) -> list[str]:
    """Headers (wrapped between members) and bodies (as stored) when asked for."""
    lines: list[str] = []
    if doc.options.include_headers:
        for name, blob in (
            ("request_headers", item.request_headers),
            ("response_headers", item.response_headers),
        ):
            if blob.text and blob.text.strip():
                pieces = _header_pieces(blob.text) or [blob.text]
                lines += _hanging(f"{name}: ", pieces)
    if doc.options.include_bodies:
        for name, blob in (
            ("request_body", item.request_body),
            ("response_body", item.response_body),
        ):
            if blob.text and blob.text.strip():
                # Line breaks stay (a stored stream is one event per line); other control
                # characters could drive the terminal, so they are replaced.
                body = "\n".join(printable(line) for line in blob.text.split("\n"))
                lines.append(f"{name}: {body}")
    return lines


def _header_pieces(text: str) -> list[str] | None:
    """Split stored header JSON between members; None when it is not a JSON object."""
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    if not isinstance(decoded, dict):
        return None
    pieces = json_pieces(decoded, ascii_only=True)
    # Wrapping must not change the text an operator copies: split only if it rejoins exactly.
    return pieces if "".join(pieces) == text else None


def _hanging(label: str, pieces: list[str]) -> list[str]:
    packed = _pack([printable(piece) for piece in pieces], "", max(WIDTH - len(label), 20))
    return [label + packed[0], *(" " * len(label) + rest for rest in packed[1:])]


def _diffs(edges: Sequence[Edge], ellipsis: str) -> list[str]:
    lines = ["", "Diffs"]
    if not edges:
        return [*lines, "(no checkpoint diffs)"]
    rows = [
        [
            edge.from_checkpoint_id,
            edge.to_checkpoint_id,
            str(edge.total_tokens_delta),
            str(edge.latency_delta_ms),
            _flag(edge.request_path_changed),
            _flag(edge.model_changed),
            _flag(edge.response_status_changed),
            _flag(edge.request_body_changed),
            _flag(edge.response_body_changed),
            str(len(edge.metadata_keys_changed)),
        ]
        for edge in edges
    ]
    # The contract's column names alone are 140 characters: rows fold as the report's do.
    lines += render_table(_DIFF_COLUMNS, rows, ellipsis=ellipsis)
    for edge in edges:
        keys = (edge.metadata_keys_added, edge.metadata_keys_removed, edge.metadata_keys_changed)
        if not any(keys):
            continue
        title = f"Diff {edge.from_checkpoint_id} -> {edge.to_checkpoint_id} metadata keys"
        lines += ["", printable(title)]
        lines += kv_block(
            (label, [key + "," for key in names[:-1]] + list(names[-1:]))
            for label, names in zip(("added", "removed", "changed"), keys, strict=True)
        )
    return lines


def render_text(doc: DebugDocument, *, ellipsis: str = "…") -> str:
    """The whole text output, ending with a newline.

    Stored values may come from clients (a model name, a path, metadata), so control
    characters are replaced before anything reaches the terminal. `ellipsis` marks a value
    cut to fit the diff table (only one too long for a whole line is ever cut).
    """
    lines = ["OngoingAI Debug Chain", *_header(doc)]
    for step, item in enumerate(doc.chain.items, start=1):
        lines += _step(step, item, doc)
    if doc.options.include_diff:
        lines += _diffs(doc.diffs, ellipsis)
    return "\n".join(lines) + "\n"
