"""route: choose the provider by longest path prefix and build the upstream URL.

The prefix is stripped (the exact prefix becomes `/`), the rest of the raw, still-encoded path
is appended to the provider's upstream URL, and the query string is kept.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from ongoingai.engine.context import RequestContext
from ongoingai.engine.context import Route as RouteTarget
from ongoingai.engine.stage import CONTINUE, OnError, Outcome, Respond

__all__ = ["Route"]


class RouteConfig(BaseModel):
    """Options of the route stage (`schemas/stages/route.schema.json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    providers: tuple[str, ...] | None = None


class Route:
    """Sets `ctx.route`; answers 404 for paths no (allowed) provider serves."""

    type_name: ClassVar[str] = "route"
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "request"
    default_on_error: ClassVar[OnError] = "fail_closed"
    Config = RouteConfig

    def __init__(self, config: RouteConfig, services: Any) -> None:
        self._allowed = frozenset(config.providers) if config.providers else None

    async def on_request(self, ctx: RequestContext) -> Outcome:
        """Resolve the provider and upstream URL for this request."""
        match = ctx.snapshot.providers.match(ctx.path)
        if match is None or (self._allowed is not None and match[1].name not in self._allowed):
            return Respond(404, "not_found", f"no provider route for {ctx.path}")
        prefix, provider = match
        rest = ctx.raw_path if prefix == "/" else ctx.raw_path[len(prefix) :]
        if not rest.startswith("/"):
            rest = "/" + rest
        url = provider.upstream_base + rest
        if ctx.query:
            url = f"{url}?{ctx.query}"
        ctx.route = RouteTarget(provider, url, rest)
        return CONTINUE
