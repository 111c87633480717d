"""The stage contract: what every pipeline step implements and what it may answer.

A stage answers `CONTINUE` to pass the request on, a `Respond` to short-circuit with a local
reply (expected denials are values, not exceptions), and the one terminal stage answers an
`UpstreamResponse` whose body streams back to the client. `on_complete` (Envoy's
`onStreamComplete`) runs for every stage after the response ends or the chain short-circuits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from ongoingai.engine.context import RequestContext

__all__ = [
    "CONTINUE",
    "Continue",
    "OnError",
    "Outcome",
    "Respond",
    "Stage",
    "StageSpec",
    "UpstreamResponse",
]

OnError = Literal["fail_closed", "fail_open"]


class Continue:
    """Marker outcome: pass the request to the next stage."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "CONTINUE"


CONTINUE: Final = Continue()


@dataclass(frozen=True, slots=True)
class Respond:
    """A local reply that ends the request phase (deny, block, limit, not found).

    `extra` adds fields to the error object of the body (e.g. a limit's `retry_after_seconds`).
    """

    status: int
    code: str
    message: str
    headers: tuple[tuple[str, str], ...] = ()
    extra: tuple[tuple[str, int | str], ...] = ()


@dataclass(slots=True)
class UpstreamResponse:
    """The terminal stage's answer: status, headers and a body streamed chunk by chunk.

    `close` releases the upstream connection; it is awaited exactly once, also when the client
    goes away mid-stream. `at_eof` tells whether the chunk just yielded was the last one, so the
    relay can mark it final instead of sending an extra empty frame.
    """

    status: int
    headers: list[tuple[bytes, bytes]]
    body: AsyncIterator[bytes]
    close: Callable[[], Awaitable[None]]
    at_eof: Callable[[], bool] = field(default=lambda: False)


Outcome = Continue | Respond | UpstreamResponse


@dataclass(frozen=True, slots=True)
class When:
    """Scope of a stage: all given conditions must hold (empty tuples mean any)."""

    path_prefix: tuple[str, ...] = ()
    provider: tuple[str, ...] = ()
    workspace: tuple[str, ...] = ()
    method: tuple[str, ...] = ()

    @property
    def always(self) -> bool:
        """True when the stage is not scoped at all."""
        return not (self.path_prefix or self.provider or self.workspace or self.method)


@dataclass(frozen=True, slots=True)
class StageSpec:
    """One parsed pipeline entry, before its type is resolved."""

    index: int
    type: str
    id: str
    options: dict[str, Any]
    when: When
    on_error: OnError | None
    pointer: str


@runtime_checkable
class Stage(Protocol):
    """A request-phase pipeline step, built once per snapshot; stateless per request.

    `phase` is `"request"` for stages that run before and as the terminal stage (they implement
    `on_request`), or `"complete"` for observers placed after it (meter, capture, record), which
    implement only hooks. Optional hooks, discovered at build time:
    `async before_forward(ctx)` (observers only: just before the upstream request is sent),
    `on_chunk(ctx, chunk) -> bytes` (observe or rewrite each response chunk; b"" drops it),
    `on_stream_end(ctx) -> bytes` (release held-back bytes), `async on_complete(ctx)`, and
    `async after_complete(ctx)`, run once every stage's `on_complete` is done: for request-phase
    stages that account for what observers placed after `forward` measured (usage, cost).
    """

    type_name: ClassVar[str]
    terminal: ClassVar[bool]
    phase: ClassVar[str]
    default_on_error: ClassVar[OnError]

    async def on_request(self, ctx: RequestContext) -> Outcome:
        """Inspect or change the request; return CONTINUE, a Respond, or (terminal) a response."""
        ...
