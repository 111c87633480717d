"""TraceRecord <-> table row, with the contract's write normalization and read defaults.

Writes fill what the original fills (§4.1): unknown provider/model, default tenants, method
`UNKNOWN`, path `/`, total = input + output, both TTFT units, gateway key id from metadata.
Reads apply the TTFT back-fill and default tenants again, for rows other clients wrote.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ongoingai.engine.trace import NANOS_PER_USD, TraceRecord

from .coltypes import as_utc

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Mapping

__all__ = [
    "backfill_ttft",
    "normalize_for_write",
    "record_from_row",
    "row_for_write",
    "row_from_record",
]

DEFAULT_TENANT = "default"
_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(TraceRecord)
    if f.name not in ("estimated_cost_usd", "created_at")
)


def backfill_ttft(ms: int, us: int) -> tuple[int, int]:
    """Fill the missing TTFT unit: ms = ceil(us / 1000) or us = ms * 1000 (42123 us -> 43 ms)."""
    if us > 0 and ms <= 0:
        return (us + 999) // 1000, us
    if ms > 0 and us <= 0:
        return ms, ms * 1000
    return ms, us


def _normalized(record: TraceRecord, now: dt.datetime) -> dict[str, Any]:
    """The fields the write normalization fills or fixes (contract §4.1), and their values."""
    ttft_ms, ttft_us = backfill_ttft(record.time_to_first_token_ms, record.time_to_first_token_us)
    return {
        "timestamp": now if record.timestamp.year <= 1 else as_utc(record.timestamp),
        "provider": record.provider.strip() or "unknown",
        "model": record.model.strip() or "unknown",
        "org_id": record.org_id.strip() or DEFAULT_TENANT,
        "workspace_id": record.workspace_id.strip() or DEFAULT_TENANT,
        "request_method": record.request_method.strip() or "UNKNOWN",
        "request_path": record.request_path.strip() or "/",
        "total_tokens": record.total_tokens or record.input_tokens + record.output_tokens,
        "time_to_first_token_ms": ttft_ms,
        "time_to_first_token_us": ttft_us,
        "gateway_key_id": record.gateway_key_id
        or _metadata_text(record.metadata, "gateway_key_id"),
    }


def normalize_for_write(record: TraceRecord, now: dt.datetime) -> TraceRecord:
    """The record as stored: every empty field the original fills, filled the same way."""
    return dataclasses.replace(record, **_normalized(record, now))


def row_for_write(record: TraceRecord, now: dt.datetime) -> dict[str, Any]:
    """`row_from_record(normalize_for_write(record, now))` without building a second record.

    This runs for every trace on the gateway's event loop; copying a 30-field frozen
    dataclass only to read it back into a dict was a measurable share of it.
    """
    row = row_from_record(record)
    fields = _normalized(record, now)
    row.update(fields, created_at=fields["timestamp"])
    return row


def row_from_record(record: TraceRecord) -> dict[str, Any]:
    """Column values for an already normalized record (created_at = timestamp, as built)."""
    row = {name: getattr(record, name) for name in _FIELDS}
    row["trace_group_id"] = record.trace_group_id or None
    row["metadata"] = record.metadata or None
    row["created_at"] = record.timestamp
    row["cost_nanousd"] = record.cost_nanousd
    # The float column stays for the original's schema; it is never read back.
    row["estimated_cost_usd"] = float(record.estimated_cost_usd)
    return row


def record_from_row(row: Mapping[Any, Any]) -> TraceRecord:
    """Rebuild a TraceRecord from a `traces` row: exact Decimal cost, decoded JSON, defaults."""
    ttft_ms, ttft_us = backfill_ttft(
        int(row["time_to_first_token_ms"] or 0), int(row["time_to_first_token_us"] or 0)
    )
    return TraceRecord(
        id=row["id"],
        timestamp=row["timestamp"],
        provider=row["provider"] or "",
        model=row["model"] or "",
        request_method=row["request_method"] or "",
        request_path=row["request_path"] or "",
        response_status=int(row["response_status"] or 0),
        org_id=row["org_id"] or DEFAULT_TENANT,
        workspace_id=row["workspace_id"] or DEFAULT_TENANT,
        trace_group_id=row["trace_group_id"] or "",
        gateway_key_id=row["gateway_key_id"] or "",
        request_headers=row.get("request_headers") or {},
        request_body=row.get("request_body") or "",
        response_headers=row.get("response_headers") or {},
        response_body=row.get("response_body") or "",
        input_tokens=int(row["input_tokens"] or 0),
        output_tokens=int(row["output_tokens"] or 0),
        total_tokens=int(row["total_tokens"] or 0),
        cache_read_input_tokens=int(row["cache_read_input_tokens"] or 0),
        cache_write_input_tokens=int(row["cache_write_input_tokens"] or 0),
        reasoning_tokens=int(row["reasoning_tokens"] or 0),
        latency_ms=int(row["latency_ms"] or 0),
        time_to_first_token_ms=ttft_ms,
        time_to_first_token_us=ttft_us,
        api_key_hash=row["api_key_hash"] or "",
        estimated_cost_usd=Decimal(int(row["cost_nanousd"] or 0)) / NANOS_PER_USD,
        metadata=row["metadata"] or {},
        created_at=row["created_at"],
    )


def _metadata_text(metadata: Mapping[str, Any], key: str) -> str:
    value = metadata.get(key)
    return value.strip() if isinstance(value, str) else ""
