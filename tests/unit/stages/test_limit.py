"""The limit stage on its own: when it does nothing, what it answers, and what it settles."""

from __future__ import annotations

import types
from decimal import Decimal
from typing import Any

import pytest

from ongoingai.engine.auth.identity import Identity
from ongoingai.engine.config import GatewayConfig
from ongoingai.engine.context import Headers, RequestContext
from ongoingai.engine.errors import DependencyUnavailable
from ongoingai.engine.limits import DailyLedger, Limiter, LimitStoreUnavailable, MemoryWindow
from ongoingai.engine.services import Services
from ongoingai.engine.stage import CONTINUE, Respond
from ongoingai.engine.usage import Usage
from ongoingai.stages.limit import Limit, LimitConfig

pytestmark = pytest.mark.anyio

CALLER = Identity("key-a", "org-a", "ws-a", "ws-a", "developer", frozenset({"proxy:write"}))


def _config(auth: bool = True, **per_key: Any) -> GatewayConfig:
    return GatewayConfig.model_validate({"auth": {"enabled": auth}, "limits": {"per_key": per_key}})


def _ctx(config: GatewayConfig, identity: Identity | None = CALLER) -> RequestContext:
    snapshot: Any = types.SimpleNamespace(config=config)
    return RequestContext(
        request_id="req-1",
        received_at_ns=0,
        method="POST",
        path="/openai/v1/chat/completions",
        raw_path="/openai/v1/chat/completions",
        query="",
        headers=Headers([]),
        client_host="127.0.0.1",
        snapshot=snapshot,
        identity=identity,
    )


@pytest.mark.parametrize(
    ("config", "identity"),
    [
        (_config(requests_per_minute=1), None),
        (_config(auth=False, requests_per_minute=1), CALLER),
        (_config(), CALLER),
    ],
    ids=["anonymous caller", "auth disabled", "no limit set"],
)
async def test_the_stage_does_nothing_and_builds_no_limiter(config, identity):
    services = Services()
    stage = Limit(LimitConfig(), services)

    for _ in range(3):
        assert await stage.on_request(_ctx(config, identity)) is CONTINUE

    assert services.limiter is None


async def test_a_refusal_is_a_429_with_retry_after_in_header_and_body():
    stage = Limit(LimitConfig(), Services())
    config = _config(requests_per_minute=1)
    assert await stage.on_request(_ctx(config)) is CONTINUE

    reply = await stage.on_request(_ctx(config))

    assert isinstance(reply, Respond)
    assert (reply.status, reply.code, reply.message) == (
        429,
        "KEY_RATE_LIMIT_EXCEEDED",
        "request rate limit exceeded for key",
    )
    ((name, value),) = reply.headers
    assert name == "Retry-After" and 1 <= int(value) <= 60
    assert reply.extra == (("retry_after_seconds", int(value)),)


async def test_the_usage_meter_measured_is_counted_after_completion():
    stage = Limit(LimitConfig(wait_ms=0), Services())
    config = _config(max_tokens_per_day=100)
    first = _ctx(config)
    assert await stage.on_request(first) is CONTINUE
    first.usage = Usage(input_tokens=60, output_tokens=40, reported=True)
    first.cost = Decimal("0.01")

    await stage.after_complete(first)
    await stage.after_complete(first)  # settling is once only

    reply = await stage.on_request(_ctx(config))
    assert isinstance(reply, Respond) and reply.code == "KEY_DAILY_TOKENS_EXCEEDED"


async def test_a_limit_state_failure_fails_closed_with_503():
    class DownWindow(MemoryWindow):  # the shared window's database is down
        async def admit(self, checks):  # type: ignore[no-untyped-def]
            raise LimitStoreUnavailable("connection refused")

    services = Services(limiter=Limiter(DownWindow(), DailyLedger(None)))
    stage = Limit(LimitConfig(), services)

    with pytest.raises(DependencyUnavailable) as failed:
        await stage.on_request(_ctx(_config(requests_per_minute=5)))

    assert failed.value.code == "usage_limit_check_unavailable"
    assert failed.value.status == 503
    assert failed.value.message == "gateway usage limit check unavailable"
