"""authenticate: who is calling — the gateway key in `auth.header` becomes `ctx.identity`.

Runs only while `auth.enabled` (so it can sit in the default pipeline at no cost). The route's
rbac rule is looked up first: a public rule needs no key, and an unmapped request is left for
`authorize` to refuse as `action_unmapped` (contract §5.2: the map is evaluated before keys).
The key header itself is never forwarded upstream (the forward stage drops it) and is always
redacted from stored headers (the capture stage).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict

from ongoingai.engine.auth.access import Denial, audit_denial, identify, rule_for
from ongoingai.engine.stage import CONTINUE, OnError, Outcome, Respond

if TYPE_CHECKING:
    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.services import Services

__all__ = ["Authenticate"]


class AuthenticateConfig(BaseModel):
    """Options of the authenticate stage (`schemas/stages/authenticate.schema.json`): none."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Authenticate:
    """Sets `ctx.identity` from the gateway key, or answers 401/503."""

    type_name: ClassVar[str] = "authenticate"
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "request"
    default_on_error: ClassVar[OnError] = "fail_closed"
    Config = AuthenticateConfig

    def __init__(self, config: AuthenticateConfig, services: Services) -> None:
        self._services = services

    async def on_request(self, ctx: RequestContext) -> Outcome:
        """Identify the caller when the route needs a key."""
        if not ctx.snapshot.config.auth.enabled:
            return CONTINUE
        rule = ctx.access_rule = rule_for(ctx.snapshot, ctx.method, ctx.path)
        if rule is None or rule.public:
            return CONTINUE
        found = await identify(ctx.snapshot, ctx.headers, self._services.keys)
        if isinstance(found, Denial):
            provider = ctx.snapshot.providers.match(ctx.path)
            audit_denial(
                found,
                correlation_id=ctx.request_id,
                path=ctx.path,
                rule=rule,
                identity=None,
                provider=provider[1].name if provider else "",
            )
            return Respond(found.status, found.code, found.message)
        ctx.identity = found
        return CONTINUE
