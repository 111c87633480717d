"""limit: per-key and per-workspace request rates and daily token and cost quotas.

Runs after `authorize`, on provider routes, for authenticated callers only (`ctx.identity`);
without auth, or with no quota in `limits:`, it does nothing and costs two attribute reads.
The quotas come from the contract's `limits.per_key` / `limits.per_workspace`; this stage's
`with:` only says how long a request may wait for room in a daily quota.

Refusals are 429 in the provider's dialect with the contract's codes and messages, a
`Retry-After` header and `retry_after_seconds` in the error object (rate windows: until the
oldest request in the window is a minute old; daily quotas: until the next UTC midnight).
When the limit state cannot be read the stage fails closed: 503
`usage_limit_check_unavailable`.

Daily quotas hold under concurrency (`engine.limits.ledger`): usage admitted in a day stays
below `limit + one request's usage` (what strictly sequential traffic gives) as long as no
request uses more than the largest single request seen before it that day; requests that
cannot be given room yet wait for requests in flight (`wait_ms`) instead of all getting in.
Each request's usage is counted in `after_complete`, once `meter` has measured it, and its
reservation is freed then, whatever the outcome (errors and disconnects included).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ongoingai.engine.errors import DependencyUnavailable
from ongoingai.engine.limits import Admission, Limiter, LimitPlan, LimitStoreUnavailable
from ongoingai.engine.stage import CONTINUE, OnError, Outcome, Respond

if TYPE_CHECKING:
    from ongoingai.engine.config import GatewayConfig
    from ongoingai.engine.context import RequestContext

__all__ = ["Limit"]

log = logging.getLogger("ongoingai.limits")

UNAVAILABLE = "gateway usage limit check unavailable"


class LimitConfig(BaseModel):
    """Options of the limit stage (`schemas/stages/limit.schema.json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wait_ms: int = Field(default=10_000, ge=0, le=600_000)


class Limit:
    """Request-phase stage: admit, refuse (429) or hold a request against the quotas."""

    type_name: ClassVar[str] = "limit"
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "request"
    default_on_error: ClassVar[OnError] = "fail_closed"
    Config = LimitConfig

    def __init__(self, config: LimitConfig, services: Any) -> None:
        self._services = services
        self._wait_s = config.wait_ms / 1000
        # The quotas of this stage's snapshot, resolved on first use (the config is frozen).
        self._plan: tuple[GatewayConfig, LimitPlan | None] | None = None

    async def on_request(self, ctx: RequestContext) -> Outcome:
        """Admit the request, or answer 429 with when to retry."""
        identity = ctx.identity
        if identity is None:
            return CONTINUE
        plan = self._plan_for(ctx.snapshot.config)
        if plan is None:
            return CONTINUE
        try:
            verdict = await self._limiter().admit(identity, plan, self._wait_s)
        except LimitStoreUnavailable as exc:
            log.warning(
                "usage limit check unavailable",
                extra={"request_id": ctx.request_id, "key_id": identity.key_id, "error": str(exc)},
            )
            raise DependencyUnavailable(UNAVAILABLE, "usage_limit_check_unavailable") from exc
        if isinstance(verdict, Admission):
            ctx.limit_release = verdict
            return CONTINUE
        retry = verdict.retry_after_seconds
        log.info(
            "usage limit exceeded",
            extra={"request_id": ctx.request_id, "key_id": identity.key_id, "code": verdict.code},
        )
        return Respond(
            429,
            verdict.code,
            verdict.message,
            headers=(("Retry-After", str(retry)),),
            extra=(("retry_after_seconds", retry),),
        )

    async def after_complete(self, ctx: RequestContext) -> None:
        """Count the request's usage (set by `meter`) and free its reservation."""
        admission = ctx.limit_release
        if not isinstance(admission, Admission):
            return
        ctx.limit_release = None
        tokens = ctx.usage.total_tokens if ctx.usage is not None else 0
        admission.settle(tokens, ctx.cost if ctx.cost is not None else Decimal(0))

    def _plan_for(self, config: GatewayConfig) -> LimitPlan | None:
        cached = self._plan
        if cached is not None and cached[0] is config:
            return cached[1]
        plan = LimitPlan.from_config(config.limits) if config.auth.enabled else None
        self._plan = (config, plan)
        return plan

    def _limiter(self) -> Limiter:
        """The process-wide limiter, created on first use from the open storage."""
        limiter: Limiter | None = self._services.limiter
        if limiter is None:
            persistence = self._services.persistence
            limiter = Limiter.for_storage(persistence.engine if persistence is not None else None)
            self._services.limiter = limiter
        return limiter
