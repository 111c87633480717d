"""capture: what a trace stores of the exchange — headers always, bodies when opted in.

Headers are stored with credentials redacted (contract §6.4: `authorization`, `cookie`,
`set-cookie`, `x-api-key`, the gateway-key header, plus `pii.headers.denylist`), so a provider
key never reaches storage. Bodies are teed up to `tracing.body_max_size` each, only with
`tracing.capture_bodies`; the tee copies bytes as they pass and never delays delivery.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.stage import OnError

__all__ = ["Capture", "CaptureState", "canonical_header"]

REDACTED = "[REDACTED]"
_ALWAYS_REDACTED = frozenset(
    {"authorization", "cookie", "set-cookie", "x-api-key", "x-ongoingai-gateway-key"}
)


@functools.lru_cache(maxsize=1024)
def canonical_header(name: bytes | str) -> str:
    """Go's canonical MIME header form (`x-api-key` → `X-Api-Key`), as the original stores.

    Cached: the same few dozen header names recur on every request.
    """
    text = name.decode("latin-1") if isinstance(name, bytes) else name
    return "-".join(part[:1].upper() + part[1:].lower() for part in text.split("-"))


@dataclass(slots=True)
class CaptureState:
    """Per-request capture buffers and what the record stage stores."""

    cap: int
    enabled: bool
    request_body: bytearray = field(default_factory=bytearray)
    response_body: bytearray = field(default_factory=bytearray)
    request_truncated: bool = False
    response_truncated: bool = False
    request_headers: dict[str, list[str]] = field(default_factory=dict)
    response_headers: dict[str, list[str]] = field(default_factory=dict)
    redacted_headers: int = 0

    def add_request(self, chunk: bytes) -> None:
        """Keep at most `cap` bytes of the request body."""
        self.request_truncated |= _append_capped(self.request_body, chunk, self.cap)

    def add_response(self, chunk: bytes) -> None:
        """Keep at most `cap` bytes of the response the client received."""
        self.response_truncated |= _append_capped(self.response_body, chunk, self.cap)


def _append_capped(buffer: bytearray, chunk: bytes, cap: int) -> bool:
    room = cap - len(buffer)
    if room > 0:
        buffer += chunk[:room]
    return len(chunk) > room


class CaptureConfig(BaseModel):
    """The capture stage has no options of its own: `tracing.*` in ongoingai.yaml drives it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Capture:
    """Observer stage (after forward): tees bodies and snapshots redacted headers."""

    type_name: ClassVar[str] = "capture"
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "complete"
    default_on_error: ClassVar[OnError] = "fail_open"
    Config = CaptureConfig

    def __init__(self, config: CaptureConfig, services: Any) -> None:
        del config, services
        self._deny: tuple[frozenset[bytes], frozenset[bytes]] | None = None

    async def before_forward(self, ctx: RequestContext) -> None:
        """Start the capture; tee a streamed request body instead of buffering it."""
        tracing = ctx.snapshot.config.tracing
        state = CaptureState(cap=tracing.effective_body_max_size, enabled=tracing.capture_bodies)
        ctx.capture = state
        if not state.enabled:
            return
        if ctx.body is not None:
            state.add_request(ctx.body)
        elif ctx.body_stream is not None:
            ctx.body_stream = _tee(ctx.body_stream, state)

    def on_chunk(self, ctx: RequestContext, chunk: bytes) -> bytes:
        """Copy what the client receives, up to the cap."""
        state = ctx.capture
        if isinstance(state, CaptureState) and state.enabled:
            state.add_response(chunk)
        return chunk

    async def on_complete(self, ctx: RequestContext) -> None:
        """Snapshot both header sets with credentials redacted."""
        state = ctx.capture
        if not isinstance(state, CaptureState):
            tracing = ctx.snapshot.config.tracing
            state = CaptureState(cap=tracing.effective_body_max_size, enabled=False)
            ctx.capture = state
        if self._deny is None:  # config is frozen per snapshot, and so is this stage
            self._deny = _deny_lists(ctx)
        request_deny, response_deny = self._deny
        state.request_headers, n_req = _redacted(ctx.headers.raw, request_deny)
        state.response_headers, n_resp = _redacted(ctx.response_headers, response_deny)
        state.redacted_headers = n_req + n_resp


def _deny_lists(ctx: RequestContext) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """Lower-cased header names redacted on each side (the gateway key always, contract §6.4)."""
    config = ctx.snapshot.config
    pii = config.pii
    gateway = {config.auth.header.strip().lower()}
    extra = {h.strip().lower() for h in pii.headers.denylist}
    request = _ALWAYS_REDACTED | gateway | (extra if pii.stages.request_headers else set())
    response = _ALWAYS_REDACTED | (extra if pii.stages.response_headers else set())
    return (
        frozenset(n.encode("latin-1") for n in request),
        frozenset(n.encode("latin-1") for n in response),
    )


def _redacted(
    raw: list[tuple[bytes, bytes]], deny: frozenset[bytes]
) -> tuple[dict[str, list[str]], int]:
    out: dict[str, list[str]] = {}
    count = 0
    for key, value in raw:
        canon = canonical_header(key)
        if key.lower() in deny:
            out[canon] = [REDACTED]
            count += 1
            continue
        out.setdefault(canon, []).append(value.decode("latin-1"))
    return dict(sorted(out.items())), count


async def _tee(source: AsyncIterator[bytes], state: CaptureState) -> AsyncIterator[bytes]:
    async for chunk in source:
        state.add_request(chunk)
        yield chunk
