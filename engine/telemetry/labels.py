"""Label values shared by spans and metrics: route patterns, scope attributes, GenAI operation.

Labels come from the configured providers (SPEC §1.9): a provider mounted at `/llm/openai`
reports route `/llm/openai/*` and its configured name, never a hard-coded table and never a
raw path (raw paths would explode metric cardinality).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ongoingai.engine.paths import has_path_prefix
from ongoingai.engine.telemetry.scrub import scrub_or_unknown
from ongoingai.engine.telemetry.sinks import Exchange, ScopeAttrs

if TYPE_CHECKING:
    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.models.provider import ProviderTable

__all__ = [
    "GROUP_OF_STAGE",
    "exchange_of",
    "genai_operation",
    "route_pattern",
    "scope_of",
    "status_of",
]

#: Stage type -> the span that groups it (authenticate + authorize share `gateway.auth`).
GROUP_OF_STAGE = {
    "authenticate": "gateway.auth",
    "authorize": "gateway.auth",
    "route": "gateway.route",
}

# Path suffix -> GenAI semantic-convention operation name (gen_ai.operation.name).
_OPERATIONS = (
    ("/chat/completions", "chat"),
    ("/responses", "chat"),
    ("/messages", "chat"),
    ("/completions", "text_completion"),
    ("/embeddings", "embeddings"),
)


def route_pattern(providers: ProviderTable, path: str) -> str:
    """`<configured prefix>/*` for provider paths, `/api/*` for the admin API, else `/other`."""
    match = providers.match(path)
    if match is not None:
        prefix = match[0].rstrip("/")
        return f"{prefix}/*"
    if has_path_prefix(path, "/api"):
        return "/api/*"
    return "/other"


def genai_operation(path: str) -> str:
    """The GenAI operation a provider path performs; "" when it is not a model call."""
    trimmed = path.rstrip("/")
    for suffix, operation in _OPERATIONS:
        if trimmed.endswith(suffix) and not trimmed.endswith("/count_tokens"):
            return operation
    return ""


def status_of(ctx: RequestContext) -> int:
    """The status the client saw: the local reply's, else the upstream's (200 if unknown)."""
    if ctx.outcome is not None:
        return ctx.outcome.status
    return ctx.response_status or 200


def scope_of(ctx: RequestContext) -> ScopeAttrs:
    """The request's scope attributes, trimmed, scrubbed and `unknown` when empty."""
    if ctx.route is not None:
        provider = ctx.route.provider.name
    else:
        match = ctx.snapshot.providers.match(ctx.path)
        provider = match[1].name if match else ""
    identity = ctx.identity
    return ScopeAttrs(
        provider=scrub_or_unknown(provider),
        model=scrub_or_unknown(ctx.model),
        org_id=scrub_or_unknown(identity.org_id if identity else "default"),
        workspace_id=scrub_or_unknown(identity.workspace_id if identity else "default"),
        route=route_pattern(ctx.snapshot.providers, ctx.path),
    )


def exchange_of(ctx: RequestContext, scope: ScopeAttrs) -> Exchange:
    """The finished exchange as metrics see it (duration = the trace's latency)."""
    usage = ctx.usage
    ttft = None
    if ctx.streaming and ctx.first_byte_ns:
        ttft = max(0, ctx.first_byte_ns - ctx.received_at_ns) / 1e9
    # The upstream path (prefix stripped) names the operation; the gateway path is the fallback.
    path = ctx.route.upstream_path if ctx.route is not None else ctx.path
    return Exchange(
        scope=scope,
        status_code=status_of(ctx),
        duration_s=max(0, ctx.completed_ns - ctx.received_at_ns) / 1e9,
        operation=genai_operation(path.split("?", 1)[0]),
        input_tokens=usage.input_tokens if usage else 0,
        output_tokens=usage.output_tokens if usage else 0,
        ttft_s=ttft,
    )
