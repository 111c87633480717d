"""Running a pipeline: order, short-circuit, on_complete always, failure policy, scoping, chunks."""

from __future__ import annotations

import logging
import types
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from ongoingai.engine.build import build_pipeline
from ongoingai.engine.config import GatewayConfig
from ongoingai.engine.context import Headers, RequestContext, Route
from ongoingai.engine.errors import (
    DependencyUnavailable,
    GatewayError,
    PermissionDenied,
    RateLimited,
    UpstreamTimeout,
)
from ongoingai.engine.models.provider import Provider, ProviderTable
from ongoingai.engine.pipeline import BoundStage, Pipeline
from ongoingai.engine.registry import StageRegistry
from ongoingai.engine.schemas import SchemaSet
from ongoingai.engine.stage import CONTINUE, Outcome, Respond, StageSpec, UpstreamResponse, When
from ongoingai.engine.yaml_source import parse_yaml


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


OPENAI = Provider(
    name="openai", prefix="/openai", upstream="https://api.openai.com", dialect="openai"
)
ANTHROPIC = Provider(
    name="anthropic", prefix="/anthropic", upstream="https://api.anthropic.com", dialect="anthropic"
)
DENY = Respond(403, "permission_denied", "forbidden", (("x-reason", "role"),))


def _ctx(path: str = "/openai/v1/chat/completions", method: str = "POST") -> RequestContext:
    snapshot: Any = types.SimpleNamespace(
        config=GatewayConfig(), providers=ProviderTable((OPENAI, ANTHROPIC))
    )
    return RequestContext(
        request_id="req-1",
        received_at_ns=0,
        method=method,
        path=path,
        raw_path=path,
        query="",
        headers=Headers([(b"content-type", b"application/json")]),
        client_host="127.0.0.1",
        snapshot=snapshot,
    )


async def _empty_body() -> AsyncIterator[bytes]:
    yield b"ok"


async def _close() -> None:
    return None


class Probe:
    """A request-phase stage that records what it did into a shared log."""

    terminal = False

    def __init__(
        self,
        log: list[str],
        name: str,
        answer: Outcome = CONTINUE,
        raises: BaseException | None = None,
    ) -> None:
        self.log = log
        self.name = name
        self.answer = answer
        self.raises = raises

    async def on_request(self, ctx: RequestContext) -> Outcome:
        self.log.append(f"{self.name}.request")
        if self.raises is not None:
            raise self.raises
        return self.answer


class Hooked(Probe):
    """A stage that also has on_complete (optionally failing)."""

    def __init__(
        self, log: list[str], name: str, complete_raises: Exception | None = None, **kw: Any
    ) -> None:
        super().__init__(log, name, **kw)
        self.complete_raises = complete_raises

    async def on_complete(self, ctx: RequestContext) -> None:
        self.log.append(f"{self.name}.complete")
        if self.complete_raises is not None:
            raise self.complete_raises


class Terminal(Hooked):
    """Answers with an upstream response."""

    terminal = True

    def __init__(self, log: list[str], name: str = "forward", **kw: Any) -> None:
        super().__init__(log, name, **kw)
        self.answer = UpstreamResponse(200, [], _empty_body(), _close)


class CompleteOnly:
    """A complete-phase stage (meter/record style) with no request work."""

    terminal = False

    def __init__(self, log: list[str], name: str, fail: Exception | None = None) -> None:
        self.log = log
        self.name = name
        self.fail = fail

    async def on_request(self, ctx: RequestContext) -> Outcome:
        self.log.append(f"{self.name}.request")
        return CONTINUE

    async def on_complete(self, ctx: RequestContext) -> None:
        self.log.append(f"{self.name}.complete")
        if self.fail is not None:
            raise self.fail


class Chunker:
    """Rewrites streamed chunks; records each chunk it saw."""

    terminal = False

    def __init__(self, log: list[str], name: str, rewrite: Any) -> None:
        self.log = log
        self.name = name
        self.rewrite = rewrite

    async def on_request(self, ctx: RequestContext) -> Outcome:
        return CONTINUE

    def on_chunk(self, ctx: RequestContext, chunk: bytes) -> bytes:
        self.log.append(f"{self.name}:{chunk.decode()}")
        result: bytes = self.rewrite(chunk)
        return result


def _bind(
    stage: Any, index: int, *, when: When | None = None, fail_open: bool = False
) -> BoundStage:
    name = getattr(stage, "name", f"s{index}")
    spec = StageSpec(
        index=index,
        type=name,
        id=name,
        options={},
        when=when or When(),
        on_error="fail_open" if fail_open else None,
        pointer=f"/pipeline/{index}",
    )
    return BoundStage(spec, stage, bool(stage.terminal), fail_open)


def _pipeline(*stages: Any, **overrides: dict[str, Any]) -> Pipeline:
    return Pipeline(
        tuple(
            _bind(s, i, **overrides.get(getattr(s, "name", ""), {})) for i, s in enumerate(stages)
        )
    )


# --- order and short-circuit ------------------------------------------------------------------


@pytest.mark.anyio
async def test_request_stages_run_in_declared_order_until_the_terminal_stage() -> None:
    log: list[str] = []
    pipeline = _pipeline(Probe(log, "a"), Probe(log, "b"), Probe(log, "c"), Terminal(log))
    ctx = _ctx()

    result = await pipeline.run(ctx)

    assert isinstance(result, UpstreamResponse)
    assert result.status == 200
    assert log == ["a.request", "b.request", "c.request", "forward.request"]
    assert ctx.outcome is None


@pytest.mark.anyio
async def test_a_respond_short_circuits_and_is_kept_as_the_outcome() -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Probe(log, "a"), Probe(log, "deny", answer=DENY), Probe(log, "c"), Terminal(log)
    )
    ctx = _ctx()

    result = await pipeline.run(ctx)

    assert result is DENY
    assert ctx.outcome is DENY
    assert log == ["a.request", "deny.request"]


@pytest.mark.anyio
async def test_stages_after_the_terminal_stage_never_run_in_the_request_phase() -> None:
    log: list[str] = []
    pipeline = _pipeline(Probe(log, "a"), Terminal(log), CompleteOnly(log, "meter"))

    await pipeline.run(_ctx())

    assert log == ["a.request", "forward.request"]


@pytest.mark.anyio
async def test_a_pipeline_that_never_answers_replies_500() -> None:
    log: list[str] = []
    ctx = _ctx()

    result = await _pipeline(Probe(log, "a"), Probe(log, "b")).run(ctx)

    assert isinstance(result, Respond)
    assert (result.status, result.code) == (500, "internal_error")
    assert ctx.outcome is result


@pytest.mark.anyio
async def test_complete_runs_every_on_complete_in_declared_order() -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Hooked(log, "a"),
        Probe(log, "plain"),
        Hooked(log, "b"),
        Terminal(log),
        CompleteOnly(log, "meter"),
    )
    ctx = _ctx()
    await pipeline.run(ctx)
    log.clear()

    await pipeline.complete(ctx)

    assert log == ["a.complete", "b.complete", "forward.complete", "meter.complete"]


@pytest.mark.anyio
async def test_complete_runs_for_every_stage_even_after_a_short_circuit() -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Hooked(log, "auth"),
        Hooked(log, "deny", answer=DENY),
        Hooked(log, "later"),
        Terminal(log),
        CompleteOnly(log, "record"),
    )
    ctx = _ctx()

    await pipeline.run(ctx)
    await pipeline.complete(ctx)

    assert log == [
        "auth.request",
        "deny.request",
        "auth.complete",
        "deny.complete",
        "later.complete",
        "forward.complete",
        "record.complete",
    ]
    assert ctx.outcome is DENY


class Settler(Probe):
    """A request-phase stage that settles in after_complete what observers measured."""

    def __init__(self, log: list[str], name: str, fail: Exception | None = None) -> None:
        super().__init__(log, name)
        self.fail = fail

    async def after_complete(self, ctx: RequestContext) -> None:
        self.log.append(f"{self.name}.after_complete")
        if self.fail is not None:
            raise self.fail


@pytest.mark.anyio
async def test_after_complete_runs_once_every_on_complete_is_done() -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Settler(log, "limit", fail=RuntimeError("bug")),
        Hooked(log, "a"),
        Terminal(log),
        CompleteOnly(log, "meter"),
        Settler(log, "late"),
    )
    ctx = _ctx()

    await pipeline.complete(ctx)

    assert log == [
        "a.complete",
        "forward.complete",
        "meter.complete",
        "limit.after_complete",
        "late.after_complete",
    ]


@pytest.mark.anyio
async def test_an_on_complete_failure_is_logged_and_later_hooks_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Hooked(log, "a", complete_raises=RuntimeError("disk full")),
        Terminal(log),
        CompleteOnly(log, "meter", fail=DependencyUnavailable("store down")),
        CompleteOnly(log, "record"),
    )
    ctx = _ctx()

    with caplog.at_level(logging.ERROR, logger="ongoingai.pipeline"):
        await pipeline.complete(ctx)

    assert log == ["a.complete", "forward.complete", "meter.complete", "record.complete"]
    failures = [r for r in caplog.records if r.name == "ongoingai.pipeline"]
    assert [getattr(r, "stage", None) for r in failures] == ["a", "meter"]
    assert all(r.exc_info is not None for r in failures)
    assert all(getattr(r, "request_id", None) == "req-1" for r in failures)


# --- failure policy ---------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("error", "status", "code", "message", "headers"),
    [
        (
            PermissionDenied("role lacks proxy:write"),
            403,
            "permission_denied",
            "role lacks proxy:write",
            (),
        ),
        (
            DependencyUnavailable("key store down"),
            503,
            "verification_unavailable",
            "key store down",
            (),
        ),
        (
            DependencyUnavailable("policy broke", code="policy_evaluation_failed"),
            503,
            "policy_evaluation_failed",
            "policy broke",
            (),
        ),
        (
            RateLimited("slow down", headers=(("Retry-After", "7"),)),
            429,
            "KEY_RATE_LIMIT_EXCEEDED",
            "slow down",
            (("Retry-After", "7"),),
        ),
        (UpstreamTimeout("too slow"), 504, "upstream_timeout", "too slow", ()),
        (GatewayError("generic"), 500, "internal_error", "generic", ()),
    ],
    ids=[
        "permission",
        "dependency",
        "custom-code",
        "rate-limit-headers",
        "upstream-timeout",
        "base",
    ],
)
async def test_fail_closed_turns_a_gateway_error_into_its_reply(
    error: GatewayError, status: int, code: str, message: str, headers: tuple[tuple[str, str], ...]
) -> None:
    log: list[str] = []
    pipeline = _pipeline(Probe(log, "boom", raises=error), Probe(log, "after"), Terminal(log))
    ctx = _ctx()

    result = await pipeline.run(ctx)

    assert result == Respond(status, code, message, headers)
    assert ctx.outcome == result
    assert log == ["boom.request"]
    assert ctx.stage_errors == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    "error",
    [RuntimeError("secret-detail-1"), KeyError("secret-detail-2"), ValueError("secret-detail-3")],
    ids=["runtime", "key", "value"],
)
async def test_fail_closed_turns_any_other_exception_into_a_500_internal_error(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    pipeline = _pipeline(Probe(log, "boom", raises=error), Terminal(log))
    ctx = _ctx()

    with caplog.at_level(logging.ERROR, logger="ongoingai.pipeline"):
        result = await pipeline.run(ctx)

    assert isinstance(result, Respond)
    assert (result.status, result.code) == (500, "internal_error")
    assert "secret-detail" not in result.message
    assert ctx.outcome == result
    assert any(r.exc_info and r.exc_info[1] is error for r in caplog.records)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("error", "recorded"),
    [
        (DependencyUnavailable("store down"), "meter:verification_unavailable"),
        (RuntimeError("bug"), "meter:internal_error"),
    ],
    ids=["gateway-error", "other-exception"],
)
async def test_fail_open_skips_the_failed_stage_and_records_its_code(
    error: Exception, recorded: str
) -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Probe(log, "meter", raises=error),
        Probe(log, "after"),
        Terminal(log),
        meter={"fail_open": True},
    )
    ctx = _ctx()

    result = await pipeline.run(ctx)

    assert isinstance(result, UpstreamResponse)
    assert log == ["meter.request", "after.request", "forward.request"]
    assert ctx.stage_errors == [recorded]
    assert ctx.outcome is None


@pytest.mark.anyio
async def test_a_terminal_stage_failure_is_never_skipped_even_if_marked_fail_open() -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Terminal(log, raises=UpstreamTimeout("upstream request timed out")),
        forward={"fail_open": True},
    )
    ctx = _ctx()

    result = await pipeline.run(ctx)

    assert result == Respond(504, "upstream_timeout", "upstream request timed out")
    assert ctx.stage_errors == []


@pytest.mark.anyio
async def test_a_stage_returning_something_that_is_not_an_outcome_is_a_bug() -> None:
    log: list[str] = []
    pipeline = _pipeline(Probe(log, "odd", answer="yes"), Terminal(log))  # type: ignore[arg-type]

    with pytest.raises(TypeError, match="odd"):
        await pipeline.run(_ctx())


# --- when: scoping ----------------------------------------------------------------------------

SCOPES = [
    pytest.param(
        When(path_prefix=("/openai",)), "/openai/v1/chat", "POST", None, True, id="prefix-below"
    ),
    pytest.param(When(path_prefix=("/openai",)), "/openai", "POST", None, True, id="prefix-exact"),
    pytest.param(
        When(path_prefix=("/openai",)),
        "/openaiish/v1",
        "POST",
        None,
        False,
        id="prefix-not-a-segment",
    ),
    pytest.param(
        When(path_prefix=("/openai",)), "/anthropic/v1", "POST", None, False, id="prefix-other"
    ),
    pytest.param(
        When(path_prefix=("/anthropic", "/openai")),
        "/openai/v1",
        "POST",
        None,
        True,
        id="prefix-any-of",
    ),
    pytest.param(
        When(path_prefix=("/openai/",)),
        "/openai/v1/chat",
        "POST",
        None,
        True,
        id="prefix-trailing-slash",
    ),
    pytest.param(When(path_prefix=("/",)), "/anything", "GET", None, True, id="prefix-root"),
    pytest.param(When(method=("POST",)), "/openai/v1", "POST", None, True, id="method-match"),
    pytest.param(When(method=("POST",)), "/openai/v1", "GET", None, False, id="method-other"),
    pytest.param(
        When(provider=("openai",)), "/openai/v1", "POST", OPENAI, True, id="provider-match"
    ),
    pytest.param(
        When(provider=("openai",)), "/anthropic/v1", "POST", ANTHROPIC, False, id="provider-other"
    ),
    pytest.param(
        When(provider=("openai",)), "/openai/v1", "POST", None, False, id="provider-unrouted"
    ),
    pytest.param(
        When(workspace=("default",)), "/openai/v1", "POST", None, True, id="workspace-default"
    ),
    pytest.param(
        When(workspace=("team-a",)), "/openai/v1", "POST", None, False, id="workspace-other"
    ),
    pytest.param(
        When(path_prefix=("/openai",), method=("GET",)),
        "/openai/v1",
        "POST",
        None,
        False,
        id="all-must-hold",
    ),
]


def _scoped_ctx(path: str, method: str, provider: Provider | None) -> RequestContext:
    ctx = _ctx(path, method)
    if provider is not None:
        ctx.route = Route(provider, provider.upstream + "/v1", "/v1")
    return ctx


@pytest.mark.anyio
@pytest.mark.parametrize(("when", "path", "method", "provider", "runs"), SCOPES)
async def test_when_scopes_the_request_hook(
    when: When, path: str, method: str, provider: Provider | None, runs: bool
) -> None:
    log: list[str] = []
    pipeline = _pipeline(Hooked(log, "scoped"), Terminal(log), scoped={"when": when})

    await pipeline.run(_scoped_ctx(path, method, provider))

    assert ("scoped.request" in log) is runs
    assert "forward.request" in log


@pytest.mark.anyio
@pytest.mark.parametrize(("when", "path", "method", "provider", "runs"), SCOPES)
async def test_when_scopes_the_complete_hook(
    when: When, path: str, method: str, provider: Provider | None, runs: bool
) -> None:
    log: list[str] = []
    pipeline = _pipeline(Terminal(log), CompleteOnly(log, "scoped"), scoped={"when": when})

    await pipeline.complete(_scoped_ctx(path, method, provider))

    assert ("scoped.complete" in log) is runs
    assert "forward.complete" in log


@pytest.mark.anyio
async def test_a_provider_scoped_stage_sees_the_route_set_earlier_in_the_same_request() -> None:
    log: list[str] = []

    class SetsRoute(Probe):
        async def on_request(self, ctx: RequestContext) -> Outcome:
            ctx.route = Route(OPENAI, "https://api.openai.com/v1", "/v1")
            return await super().on_request(ctx)

    pipeline = _pipeline(
        SetsRoute(log, "route"),
        Hooked(log, "openai_only"),
        Hooked(log, "anthropic_only"),
        Terminal(log),
        openai_only={"when": When(provider=("openai",))},
        anthropic_only={"when": When(provider=("anthropic",))},
    )
    ctx = _ctx()

    await pipeline.run(ctx)
    await pipeline.complete(ctx)

    assert log == [
        "route.request",
        "openai_only.request",
        "forward.request",
        "openai_only.complete",
        "forward.complete",
    ]


# --- streamed chunks --------------------------------------------------------------------------


def test_chunk_hooks_run_in_declared_order_on_the_rewritten_chunk() -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Chunker(log, "upper", bytes.upper),
        Terminal(log),
        Chunker(log, "wrap", lambda c: b"[" + c + b"]"),
    )

    out = pipeline.on_chunk(_ctx(), b"data")

    assert out == b"[DATA]"
    assert log == ["upper:data", "wrap:DATA"]
    assert pipeline.observes_chunks is True


def test_a_chunk_hook_can_drop_a_chunk_and_later_hooks_do_not_see_it() -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Chunker(log, "drop_usage", lambda c: b"" if b"usage" in c else c),
        Terminal(log),
        Chunker(log, "observer", lambda c: c),
    )
    ctx = _ctx()

    assert pipeline.on_chunk(ctx, b"usage-only") == b""
    assert pipeline.on_chunk(ctx, b"content") == b"content"
    assert log == ["drop_usage:usage-only", "drop_usage:content", "observer:content"]


def test_chunk_hooks_honour_when() -> None:
    log: list[str] = []
    pipeline = _pipeline(
        Chunker(log, "anthropic_only", bytes.upper),
        Terminal(log),
        anthropic_only={"when": When(path_prefix=("/anthropic",))},
    )

    assert pipeline.on_chunk(_ctx("/openai/v1"), b"x") == b"x"
    assert log == []


def test_a_pipeline_without_chunk_hooks_does_not_observe_chunks() -> None:
    log: list[str] = []
    pipeline = _pipeline(Probe(log, "a"), Terminal(log))

    assert pipeline.observes_chunks is False
    assert pipeline.on_chunk(_ctx(), b"abc") == b"abc"


# --- through build_pipeline -------------------------------------------------------------------


class _Opts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    deny: bool = False


class _Built:
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "request"
    default_on_error: ClassVar[str] = "fail_closed"
    Config = _Opts

    def __init__(self, config: _Opts, services: list[str]) -> None:
        self.deny = config.deny
        self.log = services
        self.name = type(self).__name__.lower()

    async def on_request(self, ctx: RequestContext) -> Outcome:
        self.log.append(f"{self.name}.request")
        return DENY if self.deny else CONTINUE

    async def on_complete(self, ctx: RequestContext) -> None:
        self.log.append(f"{self.name}.complete")


class Gate(_Built):
    pass


class Answer(_Built):
    terminal = True

    async def on_request(self, ctx: RequestContext) -> Outcome:
        self.log.append(f"{self.name}.request")
        return UpstreamResponse(200, [], _empty_body(), _close)


class Record(_Built):
    phase = "complete"
    default_on_error = "fail_open"


def _built(text: str, log: list[str]) -> Pipeline:
    registry = StageRegistry()
    for cls in (Gate, Answer, Record):
        registry.register(cls.__name__.lower(), cls)
    doc = parse_yaml("ongoingai.yaml", text)
    return build_pipeline(doc, doc.data["pipeline"], "/pipeline", registry, SchemaSet(), log)


@pytest.mark.anyio
async def test_a_built_pipeline_short_circuits_and_still_completes_every_stage() -> None:
    log: list[str] = []
    text = "pipeline:\n  - type: gate\n    with: {deny: true}\n  - answer\n  - record\n"
    pipeline = _built(text, log)
    ctx = _ctx()

    result = await pipeline.run(ctx)
    await pipeline.complete(ctx)

    assert result is DENY
    assert log == ["gate.request", "gate.complete", "answer.complete", "record.complete"]


@pytest.mark.anyio
async def test_a_when_block_from_yaml_scopes_the_built_stage() -> None:
    log: list[str] = []
    text = (
        "pipeline:\n"
        "  - type: gate\n"
        "    with: {deny: true}\n"
        "    when:\n"
        "      path_prefix: [/anthropic]\n"
        "      method: [POST]\n"
        "  - answer\n"
    )
    pipeline = _built(text, log)

    openai = await pipeline.run(_ctx("/openai/v1/chat/completions"))
    anthropic_get = await pipeline.run(_ctx("/anthropic/v1/models", "GET"))
    anthropic_post = await pipeline.run(_ctx("/anthropic/v1/messages"))

    assert isinstance(openai, UpstreamResponse)
    assert isinstance(anthropic_get, UpstreamResponse)
    assert anthropic_post is DENY
