"""Per-request state carried through the pipeline (typed slots, no free-form bag)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ongoingai.engine.errors import PayloadTooLarge

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterable
    from decimal import Decimal

    from ongoingai.engine.auth.identity import Identity
    from ongoingai.engine.models.provider import Provider
    from ongoingai.engine.models.rbac import RouteRule
    from ongoingai.engine.snapshot import PolicySnapshot
    from ongoingai.engine.stage import Respond
    from ongoingai.engine.telemetry.spans import RequestSpans
    from ongoingai.engine.usage import Usage

__all__ = ["Headers", "RequestContext", "Route"]


class Headers:
    """Read-only, case-insensitive view of raw ASGI headers (decoded as latin-1)."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Iterable[tuple[bytes, bytes]]) -> None:
        self._raw = list(raw)

    def get(self, name: str, default: str | None = None) -> str | None:
        """First value of header `name` (case-insensitive)."""
        key = name.lower().encode("latin-1")
        for k, v in self._raw:
            if k.lower() == key:
                return v.decode("latin-1")
        return default

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The raw header list, in arrival order."""
        return self._raw


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: the provider and the full upstream URL."""

    provider: Provider
    upstream_url: str
    upstream_path: str


@dataclass(slots=True)
class RequestContext:
    """Everything one request carries through the pipeline.

    The snapshot is pinned when the request starts, so a hot reload never changes the rules
    under a request in flight.
    """

    request_id: str
    received_at_ns: int
    method: str
    path: str
    raw_path: str
    query: str
    headers: Headers
    client_host: str
    snapshot: PolicySnapshot
    body_stream: AsyncIterator[bytes] | None = None
    body: bytes | None = None
    upstream_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    route: Route | None = None
    outcome: Respond | None = None
    identity: Identity | None = None  # set by `authenticate` when auth is enabled
    access_rule: RouteRule | None = None  # the rbac rule `authenticate` found for `authorize`
    limit_release: object | None = None  # the limit stage's per-request reservation
    response_status: int = 0
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    first_byte_ns: int = 0
    completed_ns: int = 0
    client_disconnected: bool = False
    upstream_error: str | None = None
    stage_errors: list[str] = field(default_factory=list)
    # Filled by the forward, meter and capture stages for the record stage.
    streaming: bool = False
    stream_chunks: int = 0
    model: str = "unknown"
    usage: Usage | None = None
    cost: Decimal | None = None
    pricing_label: str = "unpriced"
    usage_injected: bool = False
    metering: object | None = None  # the meter stage's per-request state (its own type)
    capture: object | None = None  # the capture stage's per-request state (its own type)
    redaction: object | None = None  # the redact stage's RedactionDecision (its own type)
    otel: RequestSpans | None = None  # this request's spans; None unless tracing is on

    @property
    def workspace_id(self) -> str:
        """Tenant workspace of the caller; `default` until authentication says otherwise."""
        return self.identity.workspace_id if self.identity is not None else "default"

    async def read_body(self, limit: int) -> bytes:
        """Buffer the request body (at most `limit` bytes) for stages that must inspect it.

        Once read, the forwarded request sends these bytes instead of streaming.
        """
        if self.body is not None:
            return self.body
        chunks: list[bytes] = []
        size = 0
        if self.body_stream is not None:
            async for chunk in self.body_stream:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"request body exceeds {limit} bytes")
                chunks.append(chunk)
        self.body = b"".join(chunks)
        self.body_stream = None
        return self.body
