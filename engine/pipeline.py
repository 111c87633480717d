"""Running a built pipeline: request phase until an answer, then every `on_complete`.

Stage lists per hook are computed once at build time, so the per-request loop only touches
stages that have something to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ongoingai.engine.errors import GatewayError, InternalError
from ongoingai.engine.paths import has_path_prefix
from ongoingai.engine.stage import Continue, Respond, StageSpec, UpstreamResponse, When
from ongoingai.engine.telemetry.labels import GROUP_OF_STAGE

if TYPE_CHECKING:
    from collections.abc import Callable

    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.telemetry.spans import RequestSpans

__all__ = ["BoundStage", "Pipeline"]

log = logging.getLogger("ongoingai.pipeline")


@dataclass(frozen=True, slots=True)
class BoundStage:
    """A stage instance with the declaration that placed it in the pipeline."""

    spec: StageSpec
    stage: Any
    terminal: bool
    fail_open: bool


def applies(when: When, ctx: RequestContext) -> bool:
    """Whether a scoped stage applies to this request."""
    if when.always:
        return True
    if when.method and ctx.method not in when.method:
        return False
    if when.path_prefix and not any(has_path_prefix(ctx.path, p) for p in when.path_prefix):
        return False
    if when.provider and (ctx.route is None or ctx.route.provider.name not in when.provider):
        return False
    return not (when.workspace and ctx.workspace_id not in when.workspace)


class Pipeline:
    """An immutable, ordered list of bound stages."""

    __slots__ = (
        "_after_complete",
        "_before_forward",
        "_chunk",
        "_complete",
        "_end",
        "_request",
        "stages",
    )

    def __init__(self, stages: tuple[BoundStage, ...]) -> None:
        self.stages = stages
        end = next((i for i, b in enumerate(stages) if b.terminal), len(stages) - 1)
        self._request = stages[: end + 1]
        # Observers placed after the terminal stage (meter, capture) may prepare the upstream
        # request (stream-usage injection, request-body tee) right before it is sent.
        self._before_forward = tuple(
            b for b in stages[end + 1 :] if hasattr(b.stage, "before_forward")
        )
        self._complete = tuple(b for b in stages if hasattr(b.stage, "on_complete"))
        # A request-phase stage (limit) settles what observers after `forward` measured (meter's
        # usage and cost), which exists only once every `on_complete` has run.
        self._after_complete = tuple(b for b in stages if hasattr(b.stage, "after_complete"))
        self._chunk: tuple[tuple[When, Callable[[RequestContext, bytes], bytes]], ...] = tuple(
            (b.spec.when, b.stage.on_chunk) for b in stages if hasattr(b.stage, "on_chunk")
        )
        self._end: tuple[tuple[When, Callable[[RequestContext], bytes]], ...] = tuple(
            (b.spec.when, b.stage.on_stream_end)
            for b in stages
            if hasattr(b.stage, "on_stream_end")
        )

    @property
    def observes_chunks(self) -> bool:
        """Whether any stage looks at streamed response chunks."""
        return bool(self._chunk)

    async def run(self, ctx: RequestContext) -> Respond | UpstreamResponse:
        """Run request-phase stages in order until one answers."""
        spans = ctx.otel
        if spans is not None:
            return await self._run_traced(ctx, spans)
        for bound in self._request:
            if not applies(bound.spec.when, ctx):
                continue
            answer = await self._step(bound, ctx)
            if answer is not None:
                return answer
        return _no_answer(ctx)

    async def _run_traced(
        self, ctx: RequestContext, spans: RequestSpans
    ) -> Respond | UpstreamResponse:
        """`run`, with `gateway.auth` / `gateway.route` spans around their stages.

        A separate loop so that the untraced path does not even look up stage groups.
        """
        for bound in self._request:
            if not applies(bound.spec.when, ctx):
                continue
            spans.enter_group(GROUP_OF_STAGE.get(getattr(bound.stage, "type_name", "")), ctx)
            answer = await self._step(bound, ctx)
            if answer is not None:
                spans.leave_group(ctx, answer.status if isinstance(answer, Respond) else None)
                return answer
        spans.leave_group(ctx, None)
        return _no_answer(ctx)

    async def _step(
        self, bound: BoundStage, ctx: RequestContext
    ) -> Respond | UpstreamResponse | None:
        """Run one stage's `on_request`; its answer, or None to go on with the next stage."""
        if bound.terminal and self._before_forward:
            await self._prepare_forward(ctx)
        try:
            outcome = await bound.stage.on_request(ctx)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a reply or is skipped
            outcome = _failure(bound, exc, ctx)
            if outcome is None:
                return None
        if isinstance(outcome, Continue):
            return None
        if isinstance(outcome, Respond):
            ctx.outcome = outcome
            return outcome
        if isinstance(outcome, UpstreamResponse):
            return outcome
        raise TypeError(f"stage {bound.spec.id} returned {outcome!r}")

    async def _prepare_forward(self, ctx: RequestContext) -> None:
        """Run `before_forward` hooks; a failing observer never blocks the request."""
        for bound in self._before_forward:
            if not applies(bound.spec.when, ctx):
                continue
            try:
                await bound.stage.before_forward(ctx)
            except Exception:
                ctx.stage_errors.append(f"{bound.spec.id}:before_forward")
                log.exception(
                    "stage before_forward failed",
                    extra={"stage": bound.spec.id, "request_id": ctx.request_id},
                )

    def on_stream_end(self, ctx: RequestContext) -> bytes:
        """Bytes observers held back (e.g. a partial SSE event), released at stream end."""
        out = b""
        for when, hook in self._end:
            if applies(when, ctx):
                out = out + hook(ctx)
        return out

    def on_chunk(self, ctx: RequestContext, chunk: bytes) -> bytes:
        """Pass one response chunk through every chunk observer, in declared order."""
        for when, hook in self._chunk:
            if chunk and applies(when, ctx):
                chunk = hook(ctx, chunk)
        return chunk

    async def complete(self, ctx: RequestContext) -> None:
        """Run every `on_complete`, then every `after_complete`, in declared order.

        Failures are logged, never raised, and never keep a later hook from running.
        """
        for bound in self._complete:
            await _run_hook(bound, ctx, "on_complete")
        for bound in self._after_complete:
            await _run_hook(bound, ctx, "after_complete")


def _no_answer(ctx: RequestContext) -> Respond:
    reply = Respond(500, "internal_error", "pipeline ended without a response")
    ctx.outcome = reply
    return reply


async def _run_hook(bound: BoundStage, ctx: RequestContext, hook: str) -> None:
    if not applies(bound.spec.when, ctx):
        return
    try:
        await getattr(bound.stage, hook)(ctx)
    except Exception:
        log.exception(
            f"stage {hook} failed", extra={"stage": bound.spec.id, "request_id": ctx.request_id}
        )


def _failure(bound: BoundStage, exc: Exception, ctx: RequestContext) -> Respond | None:
    """Turn a stage failure into a reply (fail closed) or None (fail open: skip the stage)."""
    error = exc if isinstance(exc, GatewayError) else None
    if error is None:
        log.error(
            "stage failed",
            exc_info=exc,
            extra={"stage": bound.spec.id, "request_id": ctx.request_id},
        )
        error = InternalError("internal gateway error")
    if bound.fail_open and not bound.terminal:
        ctx.stage_errors.append(f"{bound.spec.id}:{error.code}")
        log.warning(
            "stage failed open",
            extra={"stage": bound.spec.id, "code": error.code, "request_id": ctx.request_id},
        )
        return None
    return Respond(error.status, error.code, error.message, error.headers)
