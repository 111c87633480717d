"""redact: the PII policy on the request path — block, redact upstream, or just watch (shadow).

The policy in force is resolved once per request from the snapshot's redaction policy set
(global `pii:` block, scopes by org / workspace / key / provider / route prefix, the most
specific winning) and kept on the context as a `RedactionDecision`, which the capture stage
uses to redact what is stored and the record stage writes into every trace's metadata.

On the request path (modes `redact_upstream`, `block`, `shadow`; only when the policy's
`stages.request_body` is on):
- `block`: a request body in which any detector or denylisted field matches is refused with
  403 `pii_blocked` in the provider's dialect; nothing is sent upstream.
- `redact_upstream`: the upstream receives the redacted body instead (numbers such as
  `max_tokens` are never touched); responses are not changed.
- `shadow`: evaluated as `block`, but nothing is refused or rewritten; the would-be decision
  and its counts are recorded, so a team can try a policy on live traffic first.
`block` and `redact_upstream` fail closed: a body that cannot be evaluated (over
`tracing.body_max_size`, a content type other than JSON or text, invalid UTF-8) is refused
with 503 `policy_evaluation_failed`. Bodies over 64 KiB are scanned off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ongoingai.engine.errors import PayloadTooLarge
from ongoingai.engine.redaction import RedactionFailed
from ongoingai.engine.stage import CONTINUE, OnError, Outcome, Respond

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.redaction import Redacted
    from ongoingai.engine.redaction.policies import Resolution

__all__ = ["Redact", "RedactionDecision", "decision_for", "redact_off_loop"]

log = logging.getLogger("ongoingai.pii")

BLOCKED = "request blocked by pii policy"
UNCERTAIN = "request denied by pii guardrail policy uncertainty"
#: Bodies larger than this are redacted in a worker thread, so the event loop keeps serving.
OFF_LOOP_BYTES = 64 * 1024
_ENFORCING = frozenset({"redact_upstream", "block", "shadow"})


@dataclass(slots=True)
class RedactionDecision:
    """What the policy decided for one request, for storage and the trace's metadata."""

    resolution: Resolution
    counts: dict[str, int] = field(default_factory=dict)
    shadow_decision: str | None = None  # shadow mode: "block", "allow" or "fail_closed"
    shadow_counts: dict[str, int] = field(default_factory=dict)
    evaluation_error: str | None = None

    def add(self, counts: Mapping[str, int]) -> None:
        """Count matches of one redaction pass."""
        for kind, n in counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n


def decision_for(ctx: RequestContext) -> RedactionDecision:
    """The request's decision; resolved here when no redact stage ran (it is optional)."""
    decision = ctx.redaction
    if isinstance(decision, RedactionDecision):
        return decision
    identity = ctx.identity
    resolution = ctx.snapshot.pii.resolve(
        org_id=identity.org_id if identity else "default",
        workspace_id=ctx.workspace_id,
        key_id=identity.key_id if identity else "",
        provider=ctx.route.provider.name if ctx.route is not None else _provider_of(ctx),
        route=ctx.path,
        capture_bodies=ctx.snapshot.config.tracing.capture_bodies,
    )
    decision = RedactionDecision(resolution)
    ctx.redaction = decision
    return decision


def _provider_of(ctx: RequestContext) -> str:
    match = ctx.snapshot.providers.match(ctx.path)
    return match[1].name if match else ""


async def redact_off_loop(resolution: Resolution, body: bytes, workspace_id: str) -> Redacted:
    """Redact `body`; large bodies in a worker thread (the redactor is thread-safe)."""
    redactor = resolution.redactor
    if len(body) > OFF_LOOP_BYTES:
        result: Redacted = await asyncio.to_thread(redactor.redact, body, workspace_id=workspace_id)
        return result
    return redactor.redact(body, workspace_id=workspace_id)


class RedactConfig(BaseModel):
    """The redact stage has no options: the `redaction` data and `pii:` drive it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Redact:
    """Request-phase stage: resolve the PII policy and enforce it on the request body."""

    type_name: ClassVar[str] = "redact"
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "request"
    default_on_error: ClassVar[OnError] = "fail_closed"
    Config = RedactConfig

    def __init__(self, config: RedactConfig, services: Any) -> None:
        del config, services

    async def on_request(self, ctx: RequestContext) -> Outcome:
        """Block, rewrite or watch the request body as the resolved policy says."""
        decision = decision_for(ctx)
        resolution = decision.resolution
        if resolution.mode not in _ENFORCING or not resolution.policy.stages.request_body:
            return CONTINUE
        shadow = resolution.mode == "shadow"
        try:
            redacted = await self._evaluate(ctx, resolution)
        except RedactionFailed as exc:
            decision.evaluation_error = str(exc)
            if shadow:
                decision.shadow_decision = "fail_closed"
                return CONTINUE
            self._log_denial(ctx, resolution.mode, "policy_evaluation_failed", error=str(exc))
            return Respond(503, "policy_evaluation_failed", UNCERTAIN)
        if redacted is None or not redacted.changed:
            if shadow:
                decision.shadow_decision = "allow"
            return CONTINUE
        counts = dict(redacted.counts)
        if shadow:
            decision.shadow_decision = "block"
            decision.shadow_counts = counts
            return CONTINUE
        if resolution.mode == "block":
            decision.add(counts)
            self._log_denial(ctx, "block", "pii_detected", counts=counts)
            return Respond(403, "pii_blocked", BLOCKED)
        decision.add(counts)  # redact_upstream: the upstream gets the redacted body
        ctx.body = redacted.body
        return CONTINUE

    async def _evaluate(self, ctx: RequestContext, resolution: Resolution) -> Redacted | None:
        """The redacted request body; None when there is none to look at."""
        limit = ctx.snapshot.config.tracing.effective_body_max_size
        body = await _read_capped(ctx, limit)
        if not body:
            return None
        content_type = (ctx.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type and not _inspectable(content_type):
            raise RedactionFailed(f"content type {content_type} cannot be inspected")
        return await redact_off_loop(resolution, body, ctx.workspace_id)

    def _log_denial(
        self,
        ctx: RequestContext,
        mode: str,
        reason: str,
        *,
        counts: Mapping[str, int] | None = None,
        error: str | None = None,
    ) -> None:
        identity = ctx.identity
        extra: dict[str, Any] = {
            "correlation_id": ctx.request_id,
            "mode": mode,
            "reason": reason,
            "method": ctx.method,
            "path": ctx.path,
        }
        if identity is not None:
            extra |= {
                "org_id": identity.org_id,
                "workspace_id": identity.workspace_id,
                "key_id": identity.key_id,
            }
        if counts:
            extra["redaction_counts"] = dict(counts)
        if error:
            extra["error"] = error
        log.warning("pii guardrail denied request", extra=extra)


def _inspectable(content_type: str) -> bool:
    """JSON, any `+json`, and any `text/*` can be evaluated (contract §6.2)."""
    return (
        content_type == "application/json"
        or content_type.endswith("+json")
        or content_type.startswith("text/")
    )


async def _read_capped(ctx: RequestContext, limit: int) -> bytes:
    """The whole request body, or RedactionFailed when it exceeds `limit` (fail closed)."""
    try:
        body = await ctx.read_body(limit)
    except PayloadTooLarge:
        raise RedactionFailed(f"request body exceeds {limit} bytes") from None
    if len(body) > limit:
        raise RedactionFailed(f"request body exceeds {limit} bytes")
    return body
