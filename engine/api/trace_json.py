"""Traces as the API shows them: TraceSummary, TraceDetail and replay checkpoints (§3.2).

Field names are the original's (snake_case), plus the token kinds it did not have
(`cache_read_input_tokens`, `cache_write_input_tokens`, `reasoning_tokens`). Empty optional
values are omitted, never sent as empty strings or zero timestamps (SPEC §1.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ongoingai.engine.lineage import Lineage, lineage_of
from ongoingai.engine.timefmt import format_rfc3339

if TYPE_CHECKING:
    from ongoingai.engine.trace import TraceRecord

__all__ = ["checkpoint_json", "detail_json", "key_sorted", "summary_json"]


def _created_at(record: TraceRecord) -> str:
    return format_rfc3339(record.created_at or record.timestamp)


def _identity(record: TraceRecord) -> dict[str, Any]:
    """What every trace view starts with: which request it was and how it ended."""
    return {
        "id": record.id,
        "timestamp": format_rfc3339(record.timestamp),
        "provider": record.provider,
        "model": record.model,
        "request_method": record.request_method,
        "request_path": record.request_path,
        "response_status": record.response_status,
    }


def summary_json(record: TraceRecord) -> dict[str, Any]:
    """TraceSummary: what a list row needs, without bodies or headers."""
    body = _identity(record)
    body |= {
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "total_tokens": record.total_tokens,
        "cache_read_input_tokens": record.cache_read_input_tokens,
        "cache_write_input_tokens": record.cache_write_input_tokens,
        "reasoning_tokens": record.reasoning_tokens,
        "latency_ms": record.latency_ms,
        "time_to_first_token_ms": record.time_to_first_token_ms,
        "time_to_first_token_us": record.time_to_first_token_us,
        "estimated_cost_usd": float(record.estimated_cost_usd),
        "created_at": _created_at(record),
    }
    if record.api_key_hash:
        body["api_key_hash"] = record.api_key_hash
    return body


def detail_json(record: TraceRecord) -> dict[str, Any]:
    """TraceDetail: the summary plus tenant, lineage, headers, bodies and metadata."""
    body = summary_json(record)
    body["org_id"] = record.org_id
    body["workspace_id"] = record.workspace_id
    if record.gateway_key_id:
        body["gateway_key_id"] = record.gateway_key_id
    if record.trace_group_id:
        body["trace_group_id"] = record.trace_group_id
    body["lineage"] = lineage_of(record).as_json()
    for key in ("request_headers", "request_body", "response_headers", "response_body"):
        if value := getattr(record, key):
            body[key] = key_sorted(value)
    if record.metadata:
        body["metadata"] = key_sorted(record.metadata)
    return body


def key_sorted(value: Any) -> Any:
    """Objects with sorted keys, as the original marshals them.

    PostgreSQL's JSONB returns keys in its own storage order and SQLite's text returns them
    as written; sorting makes both backends (and every read) give the same bytes.
    """
    if isinstance(value, dict):
        return {key: key_sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [key_sorted(item) for item in value]
    return value


def checkpoint_json(record: TraceRecord, lineage: Lineage | None = None) -> dict[str, Any]:
    """One replay checkpoint: the trace's identity, outcome and lineage."""
    return _identity(record) | {
        "total_tokens": record.total_tokens,
        "latency_ms": record.latency_ms,
        "created_at": _created_at(record),
        "lineage": (lineage or lineage_of(record)).as_json(),
    }
