"""meter: exact token usage and Decimal cost of every proxied request.

Usage is read incrementally from the response as it streams (never a whole-stream buffer) by
the provider dialect's meter (engine.providers). For OpenAI-dialect chat streams where the
client did not ask for usage, the meter asks upstream for it (`stream_options.include_usage`)
and removes the usage-only chunk before it reaches the client (SPEC §3, §7.7), when the
provider enables `inject_stream_usage`. Cost comes from the provider's pricing table; an
unknown model costs 0 and is marked `unpriced` (SPEC §3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ongoingai.engine.models.pricing import PriceMatch, PricingCatalog
from ongoingai.engine.providers import UsageChunkFilter, meter_for, plan_injection

if TYPE_CHECKING:
    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.models.provider import Provider
    from ongoingai.engine.providers import UsageMeter
    from ongoingai.engine.stage import OnError

__all__ = ["Meter"]

_MAX_MEMO = 4096


class MeterConfig(BaseModel):
    """Options of the meter stage (`schemas/stages/meter.schema.json`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_response_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_request_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    inject_stream_usage: bool = True


@dataclass(slots=True)
class _MeterState:
    meter: UsageMeter
    filter: UsageChunkFilter | None
    body: bytearray = field(default_factory=bytearray)
    collect: bool | None = None  # keep a non-streaming body? only JSON can carry usage


def _small_json_body(ctx: RequestContext, limit: int) -> bool:
    """A JSON request body of declared length within `limit` (uploads stay streamed)."""
    if ctx.body_stream is None or "json" not in (ctx.headers.get("content-type") or ""):
        return False
    length = ctx.headers.get("content-length") or ""
    return length.isdigit() and int(length) <= limit


class Meter:
    """Observer stage (after forward): usage, model and cost onto the request context."""

    type_name: ClassVar[str] = "meter"
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "complete"
    default_on_error: ClassVar[OnError] = "fail_open"
    Config = MeterConfig

    def __init__(self, config: MeterConfig, services: Any) -> None:
        del services
        self._max_body = config.max_response_bytes
        self._max_request = config.max_request_bytes
        self._inject = config.inject_stream_usage
        self._catalogs: dict[str, PricingCatalog] = {}  # per provider; this stage is per snapshot
        self._prices: dict[tuple[str, str], PriceMatch | None] = {}

    async def before_forward(self, ctx: RequestContext) -> None:
        """Pick the dialect meter, note the requested model, and plan usage injection."""
        route = ctx.route
        if route is None:
            return
        provider = route.provider
        meter = meter_for(provider.dialect, route.upstream_path)
        if ctx.body is None and _small_json_body(ctx, self._max_request):
            # A long prompt arrives in several socket reads; the model and the usage
            # injection need the whole (bounded) JSON body, as the upstream itself does.
            await ctx.read_body(self._max_request)
        meter.observe_request(ctx.body)
        chunk_filter = None
        if ctx.body is not None and self._wants_injection(ctx, provider):
            body, injected = plan_injection(ctx.body)
            if injected:
                ctx.body = body
                ctx.usage_injected = True
                chunk_filter = UsageChunkFilter()
        ctx.metering = _MeterState(meter, chunk_filter)

    def _wants_injection(self, ctx: RequestContext, provider: Provider) -> bool:
        path = ctx.route.upstream_path if ctx.route else ""
        return (
            self._inject
            and provider.inject_stream_usage
            and provider.dialect == "openai"
            and ctx.method == "POST"
            and path.rstrip("/").endswith("/chat/completions")
        )

    def on_chunk(self, ctx: RequestContext, chunk: bytes) -> bytes:
        """Feed the meter; drop the injected usage-only chunk; relay everything else as is."""
        state = ctx.metering
        if not isinstance(state, _MeterState):
            return chunk
        if ctx.streaming:
            state.meter.observe_chunk(chunk)
            return state.filter.feed(chunk) if state.filter is not None else chunk
        if state.collect is None:
            state.collect = any(
                k.lower() == b"content-type" and b"json" in v.lower()
                for k, v in ctx.response_headers
            )
        room = self._max_body - len(state.body)
        if state.collect and room > 0:
            state.body += chunk[:room]
        return chunk

    def on_stream_end(self, ctx: RequestContext) -> bytes:
        """Release bytes the usage filter held back (an incomplete trailing event)."""
        state = ctx.metering
        if isinstance(state, _MeterState) and state.filter is not None:
            return state.filter.flush()
        return b""

    async def on_complete(self, ctx: RequestContext) -> None:
        """Settle usage, model and cost (also for failed, cut or denied requests)."""
        state = ctx.metering
        if not isinstance(state, _MeterState):
            return
        if not ctx.streaming and state.body:
            state.meter.observe_body(bytes(state.body))
        result = state.meter.result()
        ctx.usage = result.usage
        ctx.model = result.model or "unknown"
        ctx.cost = Decimal(0)
        ctx.pricing_label = "unpriced"
        if ctx.route is None:
            return
        match = self._price(ctx.route.provider, ctx)
        if match is None:
            return
        usage = result.usage
        ctx.pricing_label = match.label
        ctx.cost = match.price.cost(
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_input_tokens,
            usage.cache_write_input_tokens,
            reasoning_tokens=usage.reasoning_tokens,
        )

    def _price(self, provider: Provider, ctx: RequestContext) -> PriceMatch | None:
        """Price lookup, memoized per (provider, model): tables are frozen per snapshot."""
        key = (provider.name, ctx.model)
        if key in self._prices:
            return self._prices[key]
        match = self._catalog(provider, ctx).lookup(ctx.model)
        if len(self._prices) < _MAX_MEMO:  # bounded: model names come from clients
            self._prices[key] = match
        return match

    def _catalog(self, provider: Provider, ctx: RequestContext) -> PricingCatalog:
        """The provider's own pricing tables (a gpt-4o on groq is not priced as OpenAI's)."""
        found = self._catalogs.get(provider.name)
        if found is None:
            tables = [t for t in ctx.snapshot.pricing.tables if t.id == provider.pricing]
            found = PricingCatalog(tables)
            self._catalogs[provider.name] = found
        return found
