"""The trace record: one proxied request as it is stored (contract §4.1-§4.5 plus token kinds).

Built by the `record` stage after the response ends; written by the asynchronous TraceWriter;
read back by the API. Money is Decimal here and exact in storage (`cost_nanousd`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt

__all__ = ["NANOS_PER_USD", "TraceRecord"]

#: Exact money in storage: integer nano-USD (every packaged price is a whole number of them).
NANOS_PER_USD = Decimal(1_000_000_000)


@dataclass(frozen=True, slots=True)
class TraceRecord:
    """One stored trace. Field names are the contract's column names."""

    id: str
    timestamp: dt.datetime
    provider: str
    model: str
    request_method: str
    request_path: str
    response_status: int
    org_id: str = "default"
    workspace_id: str = "default"
    trace_group_id: str = ""
    gateway_key_id: str = ""
    request_headers: dict[str, list[str]] = field(default_factory=dict)
    request_body: str = ""
    response_headers: dict[str, list[str]] = field(default_factory=dict)
    response_body: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_write_input_tokens: int = 0
    reasoning_tokens: int = 0
    latency_ms: int = 0
    time_to_first_token_ms: int = 0
    time_to_first_token_us: int = 0
    api_key_hash: str = ""
    estimated_cost_usd: Decimal = Decimal(0)
    metadata: dict[str, Any] = field(default_factory=dict)
    #: When the row was stored; set on reads only (writes store `timestamp` there).
    created_at: dt.datetime | None = field(default=None, compare=False)

    @property
    def cost_nanousd(self) -> int:
        """The exact cost as integer nano-USD (rounded half-even below a nano-dollar)."""
        return int((self.estimated_cost_usd * NANOS_PER_USD).to_integral_value())
