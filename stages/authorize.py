"""authorize: may this caller do this — the `rbac` data file decides, deny by default.

Runs only while `auth.enabled`. Order after authentication (contract §5.3): the rule's
permission, then on provider routes a provider credential (`Authorization`, `X-API-Key` or the
provider's own credential headers), which the gateway passes through untouched. Each denial is
an audit event. A successful request notes the key's `last_used_at` (written in batches).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from ongoingai.engine.auth.access import (
    MISSING_CREDENTIAL,
    Denial,
    audit_denial,
    has_provider_credential,
    permission_denial,
    rule_for,
)
from ongoingai.engine.stage import CONTINUE, OnError, Outcome, Respond

if TYPE_CHECKING:
    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.services import Services

__all__ = ["Authorize"]


class AuthorizeConfig(BaseModel):
    """Options of the authorize stage (`schemas/stages/authorize.schema.json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    require_provider_credential: bool = True


class Authorize:
    """Answers 403 unless the caller's permissions cover the request."""

    type_name: ClassVar[str] = "authorize"
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "request"
    default_on_error: ClassVar[OnError] = "fail_closed"
    Config = AuthorizeConfig

    def __init__(self, config: AuthorizeConfig, services: Services) -> None:
        self._services = services
        self._require_credential = config.require_provider_credential

    async def on_request(self, ctx: RequestContext) -> Outcome:
        """Check the rule's permission and the provider credential."""
        if not ctx.snapshot.config.auth.enabled:
            return CONTINUE
        rule = ctx.access_rule or rule_for(ctx.snapshot, ctx.method, ctx.path)
        denial = permission_denial(ctx.identity, rule)
        match = ctx.snapshot.providers.match(ctx.path)
        if denial is None and rule is not None and not rule.public and match is not None:
            extra = tuple(h.lower() for h in match[1].credential_headers)
            if self._require_credential and not has_provider_credential(ctx.headers, extra):
                denial = MISSING_CREDENTIAL
        if denial is not None:
            return self._deny(ctx, denial, match[1].name if match else "")
        if ctx.identity is not None and self._services.keys is not None:
            self._services.keys.note_used(ctx.identity.key_id)
        return CONTINUE

    def _deny(self, ctx: RequestContext, denial: Denial, provider: str) -> Respond:
        audit_denial(
            denial,
            correlation_id=ctx.request_id,
            path=ctx.path,
            rule=ctx.access_rule or rule_for(ctx.snapshot, ctx.method, ctx.path),
            identity=ctx.identity,
            provider=provider,
        )
        return Respond(denial.status, denial.code, denial.message)
