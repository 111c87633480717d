"""capture: what a trace stores of the exchange — headers always, bodies when opted in.

Headers are stored with credentials redacted (contract §6.4: `authorization`, `cookie`,
`set-cookie`, `x-api-key`, the gateway-key header, plus the policy's header denylist), so a
provider key never reaches storage. Bodies are teed up to `tracing.body_max_size` each, only
with `tracing.capture_bodies`; the tee copies bytes as they pass and never delays delivery.

Stored bodies are redacted by the request's PII policy (any mode but `off`) once the response
has ended — so a stream reaches the client untouched and unhurried, and a secret split across
chunks is still seen whole. Storage redaction never affects traffic: if a body cannot be
processed, both stored bodies are dropped and the trace says so (contract §6.5).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ongoingai.stages.redact import RedactionDecision, decision_for, redact_off_loop

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.models.redaction import RedactionPolicy
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
    storage_drop: bool = False  # bodies could not be redacted, so none were stored

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
        # Header deny lists per (policy, gateway-key header); policies are frozen per snapshot.
        self._deny: dict[tuple[int, str], tuple[Any, frozenset[bytes], frozenset[bytes]]] = {}

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
        decision = decision_for(ctx)
        request_deny, response_deny = self._deny_lists(ctx, decision.resolution.policy)
        state.request_headers, n_req = _redacted(ctx.headers.raw, request_deny)
        state.response_headers, n_resp = _redacted(ctx.response_headers, response_deny)
        state.redacted_headers = n_req + n_resp
        if state.enabled and decision.resolution.mode != "off":
            await _redact_bodies(ctx, state, decision)

    def _deny_lists(
        self, ctx: RequestContext, policy: RedactionPolicy
    ) -> tuple[frozenset[bytes], frozenset[bytes]]:
        header = ctx.snapshot.config.auth.header.strip().lower()
        key = (id(policy), header)
        cached = self._deny.get(key)
        if cached is None or cached[0] is not policy:
            request, response = _deny_lists(policy, header)
            cached = (policy, request, response)
            self._deny[key] = cached
        return cached[1], cached[2]


def _deny_lists(
    policy: RedactionPolicy, gateway_header: str
) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """Lower-cased header names redacted on each side (the gateway key always, contract §6.4)."""
    extra = {h.strip().lower() for h in policy.headers.denylist}
    request = (
        _ALWAYS_REDACTED | {gateway_header} | (extra if policy.stages.request_headers else set())
    )
    response = _ALWAYS_REDACTED | (extra if policy.stages.response_headers else set())
    return (
        frozenset(n.encode("latin-1") for n in request),
        frozenset(n.encode("latin-1") for n in response),
    )


async def _redact_bodies(
    ctx: RequestContext, state: CaptureState, decision: RedactionDecision
) -> None:
    """Redact the stored bodies by the request's policy; drop both if either cannot be."""
    resolution = decision.resolution
    stages = resolution.policy.stages
    workspace = ctx.workspace_id
    try:
        if stages.request_body and state.request_body:
            body = _whole_text(state.request_body, state.request_truncated)
            redacted = await redact_off_loop(resolution, body, workspace)
            state.request_body = bytearray(redacted.body)
            decision.add(redacted.counts)
        if stages.response_body and state.response_body:
            body = _whole_text(state.response_body, state.response_truncated)
            redacted = await redact_off_loop(resolution, body, workspace)
            state.response_body = bytearray(redacted.body)
            decision.add(redacted.counts)
    except Exception:  # noqa: BLE001 - storage redaction must never affect traffic
        state.request_body = bytearray()
        state.response_body = bytearray()
        state.storage_drop = True


#: Bytes a truncated body may lose at its end: the word the cap cut through.
_PARTIAL_WORD_MAX = 256
_WORD_END = frozenset(b" \t\r\n\"',:;<>()[]{}")


def _whole_text(data: bytearray, truncated: bool) -> bytes:
    """The captured bytes, minus what the cap cut in half when it truncated them.

    A cut can split a UTF-8 character (which would make the text invalid) or a secret (which
    no detector would then recognise): the partial word at the end is dropped, not stored.
    """
    body = bytes(data)
    if not truncated:
        return body
    tail = body[-_PARTIAL_WORD_MAX:]
    cut = max((i for i, b in enumerate(tail) if b in _WORD_END), default=-1)
    return body[: len(body) - len(tail) + cut + 1]


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
