"""The `limit` stage end to end: real gateway processes, the real SDKs, the fake upstream.

Every request sends a 7-word prompt; the fake upstream answers 3 words, so each request uses
10 tokens, and on gpt-4o-mini (0.15 / 0.60 USD per 1M tokens) costs 0.00000285 USD.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
import yaml
from sqlalchemy.engine import make_url

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess
from tests.tcp_relay import TcpRelay

GATEWAY_HEADER = "X-OngoingAI-Gateway-Key"
PROVIDER_KEY = "sk-limits-provider-key-0001"
#: key id -> (token, org, workspace)
KEYS = {
    "key-a": ("tok-limits-key-a-0123456789", "org-a", "ws-a"),
    "key-b": ("tok-limits-key-b-0123456789", "org-a", "ws-a"),
    "key-c": ("tok-limits-key-c-0123456789", "org-a", "ws-c"),
}
PROMPT = "one two three four five six seven"
TOKENS_PER_REQUEST = 10
COST_PER_REQUEST = (7 * Decimal("0.15") + 3 * Decimal("0.60")) / 1_000_000
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}
PIPELINE: list[Any] = [
    "authenticate",
    "authorize",
    {"type": "limit", "with": {"wait_ms": 60000}},
    "route",
    "forward",
    "meter",
    "capture",
    "record",
]


def _config(per_key: dict[str, Any] | None = None, **per_workspace: Any) -> dict[str, Any]:
    keys = [
        {"id": key_id, "token": tok, "role": "developer", "org_id": org, "workspace_id": ws}
        for key_id, (tok, org, ws) in KEYS.items()
    ]
    return {
        "auth": {"enabled": True, "keys": keys},
        "limits": {"per_key": per_key or {}, "per_workspace": per_workspace},
        "pipeline": PIPELINE,
    }


def _start(
    workdir: Path, upstream: FakeUpstream, config: dict[str, Any], env: dict[str, str] | None = None
) -> GatewayProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "ongoingai.yaml").write_text(yaml.safe_dump(config))
    full_env = {
        "ONGOINGAI_OPENAI_UPSTREAM": upstream.url,
        "ONGOINGAI_ANTHROPIC_UPSTREAM": upstream.url,
        "ONGOINGAI_STORAGE_PATH": str(workdir / "data" / "gw.db"),
        **(env or {}),
    }
    return GatewayProcess(workdir, env=full_env).start()


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[list[GatewayProcess]]:
    """Gateways a test started; stopped at the end whatever happens."""
    started: list[GatewayProcess] = []
    yield started
    for gw in started:
        gw.stop()


def _oai(gw: GatewayProcess, key_id: str) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=gw.url + "/openai/v1",
        api_key=PROVIDER_KEY,
        default_headers={GATEWAY_HEADER: KEYS[key_id][0]},
        max_retries=0,
    )


def _claude(gw: GatewayProcess, key_id: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gw.url + "/anthropic",
        api_key=PROVIDER_KEY,
        default_headers={GATEWAY_HEADER: KEYS[key_id][0]},
        max_retries=0,
    )


def _chat(gw: GatewayProcess, key_id: str) -> httpx.Response:
    return httpx.post(
        gw.url + "/openai/v1/chat/completions",
        json=CHAT,
        headers={GATEWAY_HEADER: KEYS[key_id][0], "Authorization": f"Bearer {PROVIDER_KEY}"},
        timeout=30,
    )


def _until_midnight() -> int:
    now = dt.datetime.now(dt.UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    return math.ceil((midnight - now).total_seconds())


def _retry_after(response: httpx.Response) -> int:
    """The Retry-After header, checked against the body's retry_after_seconds."""
    retry = int(response.headers["retry-after"])
    error = response.json()["error"]
    assert error["retry_after_seconds"] == retry
    return retry


# --- request windows ----------------------------------------------------------------------------


def test_the_third_request_in_a_minute_is_refused_in_openai_dialect(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    gw = _start(tmp_path, upstream, _config({"requests_per_minute": 2}))
    gateways.append(gw)
    with _oai(gw, "key-a") as client:
        for _ in range(2):
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(**CHAT)  # type: ignore[call-overload]

    error = refused.value
    assert error.status_code == 429
    assert error.message == "Error code: 429 - request rate limit exceeded for key"
    assert error.code == "KEY_RATE_LIMIT_EXCEEDED"
    body = error.response.json()
    retry = _retry_after(error.response)
    assert body == {
        "error": {
            "message": "request rate limit exceeded for key",
            "type": "rate_limit_error",
            "param": None,
            "code": "KEY_RATE_LIMIT_EXCEEDED",
            "retry_after_seconds": retry,
        }
    }
    assert 1 <= retry <= 60
    assert len(upstream.requests) == 2  # the refused request never reached the provider


def test_the_third_request_in_a_minute_is_refused_in_anthropic_dialect(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    gw = _start(tmp_path, upstream, _config({"requests_per_minute": 2}))
    gateways.append(gw)
    message = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    with _claude(gw, "key-a") as client:
        for _ in range(2):
            client.messages.create(**message)  # type: ignore[arg-type]
        with pytest.raises(anthropic.RateLimitError) as refused:
            client.messages.create(**message)  # type: ignore[arg-type]

    error = refused.value
    assert error.status_code == 429
    assert "request rate limit exceeded for key" in error.message
    retry = _retry_after(error.response)
    assert error.response.json() == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "request rate limit exceeded for key",
            "code": "KEY_RATE_LIMIT_EXCEEDED",
            "retry_after_seconds": retry,
        },
    }
    assert 1 <= retry <= 60


def test_the_workspace_window_counts_every_key_of_the_workspace(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    gw = _start(tmp_path, upstream, _config({"requests_per_minute": 10}, requests_per_minute=3))
    gateways.append(gw)

    statuses = [_chat(gw, key).status_code for key in ("key-a", "key-b", "key-a")]
    refused = _chat(gw, "key-b")

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "WORKSPACE_RATE_LIMIT_EXCEEDED"
    assert refused.json()["error"]["message"] == "request rate limit exceeded for workspace"
    assert 1 <= _retry_after(refused) <= 60
    assert _chat(gw, "key-c").status_code == 200  # another workspace has its own window


def test_without_auth_the_limits_do_not_apply(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    config = _config({"requests_per_minute": 1, "max_tokens_per_day": 1})
    config["auth"]["enabled"] = False
    gw = _start(tmp_path, upstream, config)
    gateways.append(gw)

    statuses = [_chat(gw, "key-a").status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


# --- daily quotas -------------------------------------------------------------------------------


def test_daily_tokens_refuse_once_reached_until_utc_midnight_and_survive_a_restart(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    config = _config({"max_tokens_per_day": 2 * TOKENS_PER_REQUEST})
    gw = _start(tmp_path, upstream, config)
    gateways.append(gw)
    assert [_chat(gw, "key-a").status_code for _ in range(2)] == [200, 200]

    latest = _until_midnight()
    refused = _chat(gw, "key-a")
    earliest = _until_midnight()

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "KEY_DAILY_TOKENS_EXCEEDED"
    assert refused.json()["error"]["message"] == "daily token limit exceeded for key"
    assert earliest <= _retry_after(refused) <= latest
    assert _chat(gw, "key-b").status_code == 200  # the quota is the key's own

    gw.stop()  # a restarted gateway reads the day's usage back from the traces
    gw = _start(tmp_path, upstream, config)
    gateways.append(gw)
    again = _chat(gw, "key-a")
    assert again.status_code == 429
    assert again.json()["error"]["code"] == "KEY_DAILY_TOKENS_EXCEEDED"


def test_daily_workspace_cost_refuses_every_key_of_the_workspace(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    config = _config(max_cost_usd_per_day=float(2 * COST_PER_REQUEST))
    gw = _start(tmp_path, upstream, config)
    gateways.append(gw)
    assert [_chat(gw, key).status_code for key in ("key-a", "key-b")] == [200, 200]

    message = {"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [CHAT["messages"][0]]}
    with _claude(gw, "key-a") as client, pytest.raises(anthropic.RateLimitError) as refused:
        client.messages.create(**message)  # type: ignore[arg-type]

    body = refused.value.response.json()
    assert body["error"]["code"] == "WORKSPACE_DAILY_COST_EXCEEDED"
    assert body["error"]["message"] == "daily cost limit exceeded for workspace"
    assert _retry_after(refused.value.response) >= 1
    assert _chat(gw, "key-c").status_code == 200


def test_daily_workspace_tokens_refuse_every_key_of_the_workspace(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    gw = _start(tmp_path, upstream, _config(max_tokens_per_day=2 * TOKENS_PER_REQUEST))
    gateways.append(gw)
    assert [_chat(gw, key).status_code for key in ("key-a", "key-b")] == [200, 200]

    latest = _until_midnight()
    refused = _chat(gw, "key-b")
    earliest = _until_midnight()

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "WORKSPACE_DAILY_TOKENS_EXCEEDED"
    assert refused.json()["error"]["message"] == "daily token limit exceeded for workspace"
    assert earliest <= _retry_after(refused) <= latest
    assert _chat(gw, "key-c").status_code == 200  # another workspace has its own quota


def test_daily_key_cost_is_checked_after_daily_key_tokens(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    limits = {"max_tokens_per_day": 1000, "max_cost_usd_per_day": float(COST_PER_REQUEST)}
    gw = _start(tmp_path, upstream, _config(limits))
    gateways.append(gw)
    assert _chat(gw, "key-a").status_code == 200

    refused = _chat(gw, "key-a")

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "KEY_DAILY_COST_EXCEEDED"
    assert refused.json()["error"]["message"] == "daily cost limit exceeded for key"


async def _burst(gw: GatewayProcess, key_id: str, count: int) -> list[httpx.Response]:
    headers = {GATEWAY_HEADER: KEYS[key_id][0], "Authorization": f"Bearer {PROVIDER_KEY}"}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=gw.url, limits=limits, timeout=120) as client:
        return await asyncio.gather(
            *(
                client.post("/openai/v1/chat/completions", json=CHAT, headers=headers)
                for _ in range(count)
            )
        )


@pytest.mark.anyio
async def test_a_burst_of_50_admits_no_more_tokens_than_sequential_traffic_would(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    limit = 30 * TOKENS_PER_REQUEST
    gw = _start(tmp_path, upstream, _config({"max_tokens_per_day": limit}))
    gateways.append(gw)

    responses = await _burst(gw, "key-a", 50)

    admitted = [r for r in responses if r.status_code == 200]
    used = sum(r.json()["usage"]["total_tokens"] for r in admitted)
    refused = [r for r in responses if r.status_code != 200]
    # sequentially: admitted while the day's usage is below the limit, i.e. 30 requests
    assert len(admitted) == 30
    assert used < limit + TOKENS_PER_REQUEST
    assert {r.json()["error"]["code"] for r in refused} == {"KEY_DAILY_TOKENS_EXCEEDED"}
    assert len(upstream.requests) == 30


@pytest.mark.anyio
async def test_a_burst_of_50_admits_no_more_cost_than_sequential_traffic_would(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    limit = Decimal("0.0001")  # 35 requests cost 0.00009975, 36 cost 0.0001026
    gw = _start(tmp_path, upstream, _config(max_cost_usd_per_day=float(limit)))
    gateways.append(gw)

    responses = await _burst(gw, "key-a", 50)

    admitted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(admitted) == 36
    assert len(admitted) * COST_PER_REQUEST < limit + COST_PER_REQUEST
    assert {r.json()["error"]["code"] for r in refused} == {"WORKSPACE_DAILY_COST_EXCEEDED"}


# --- replicas on one PostgreSQL -----------------------------------------------------------------


@pytest.mark.postgres
def test_two_gateways_on_one_database_share_the_requests_per_minute(
    tmp_path: Path,
    upstream: FakeUpstream,
    gateways: list[GatewayProcess],
    fresh_postgres_dsn: str,
):
    env = {"ONGOINGAI_STORAGE_DRIVER": "postgres", "ONGOINGAI_STORAGE_DSN": fresh_postgres_dsn}
    config = _config({"requests_per_minute": 5})
    one = _start(tmp_path / "one", upstream, config, env)
    gateways.append(one)
    two = _start(tmp_path / "two", upstream, config, env)
    gateways.append(two)

    responses = [_chat((one, two)[i % 2], "key-a") for i in range(12)]

    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 5
    assert statuses == [200] * 5 + [429] * 7
    assert {r.json()["error"]["code"] for r in responses[5:]} == {"KEY_RATE_LIMIT_EXCEEDED"}
    assert all(1 <= _retry_after(r) <= 60 for r in responses[5:])
    assert len(upstream.requests) == 5


@pytest.mark.postgres
@pytest.mark.anyio
async def test_two_gateways_share_the_window_under_a_concurrent_burst(
    tmp_path: Path,
    upstream: FakeUpstream,
    gateways: list[GatewayProcess],
    postgres_schema_dsn: str,
):
    env = {"ONGOINGAI_STORAGE_DRIVER": "postgres", "ONGOINGAI_STORAGE_DSN": postgres_schema_dsn}
    config = _config({"requests_per_minute": 5})
    one = _start(tmp_path / "one", upstream, config, env)
    gateways.append(one)
    two = _start(tmp_path / "two", upstream, config, env)
    gateways.append(two)

    bursts = await asyncio.gather(_burst(one, "key-a", 10), _burst(two, "key-a", 10))

    statuses = [r.status_code for burst in bursts for r in burst]
    assert statuses.count(200) == 5
    assert statuses.count(429) == 15


@pytest.mark.postgres
def test_the_limit_check_fails_closed_while_the_database_is_down(
    tmp_path: Path,
    upstream: FakeUpstream,
    gateways: list[GatewayProcess],
    postgres_schema_dsn: str,
):
    url = make_url(postgres_schema_dsn)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432).start()
    try:
        dsn = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        env = {"ONGOINGAI_STORAGE_DRIVER": "postgres", "ONGOINGAI_STORAGE_DSN": dsn}
        gw = _start(tmp_path, upstream, _config({"requests_per_minute": 100}), env)
        gateways.append(gw)
        assert _chat(gw, "key-a").status_code == 200

        relay.cut()
        down = _chat(gw, "key-a")
        relay.resume()

        assert down.status_code == 503
        assert down.json()["error"]["code"] == "usage_limit_check_unavailable"
        assert down.json()["error"]["message"] == "gateway usage limit check unavailable"
        assert _chat(gw, "key-a").status_code == 200
    finally:
        for gw in gateways:  # before the relay goes, so no connection is left half-open
            gw.stop()
        relay.close()


# --- reservations are always freed; state outlives a reload ---------------------------------------


def test_a_request_the_upstream_fails_frees_its_reservation(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    config = _config({"max_tokens_per_day": 1000})
    config["pipeline"][2]["with"]["wait_ms"] = 0  # a leaked reservation would refuse at once
    gw = _start(tmp_path, upstream, config)
    gateways.append(gw)
    headers = {GATEWAY_HEADER: KEYS["key-a"][0], "Authorization": f"Bearer {PROVIDER_KEY}"}

    failed = httpx.post(
        gw.url + "/openai/v1/chat/completions",
        json=CHAT,
        headers={**headers, "x-fake-status": "500"},
    )

    assert failed.status_code == 500
    assert _chat(gw, "key-a").status_code == 200


def test_a_client_that_leaves_mid_stream_frees_its_reservation(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    config = _config({"max_tokens_per_day": 1000})
    config["pipeline"][2]["with"]["wait_ms"] = 0
    gw = _start(tmp_path, upstream, config)
    gateways.append(gw)
    headers = {
        GATEWAY_HEADER: KEYS["key-a"][0],
        "Authorization": f"Bearer {PROVIDER_KEY}",
        "x-fake-chunks": "50",
        "x-fake-chunk-delay-ms": "200",
    }

    with httpx.stream(
        "POST",
        gw.url + "/openai/v1/chat/completions",
        json={**CHAT, "stream": True},
        headers=headers,
    ) as stream:
        first = next(stream.iter_lines())
    assert first.startswith("data: ")

    # the stream's reservation (the whole quota: no usage seen yet) is freed once it ends
    deadline = time.monotonic() + 10
    while (response := _chat(gw, "key-a")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert response.status_code == 200


def test_a_request_that_finds_no_room_in_time_is_refused_with_retry_after_one_second(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    config = _config({"max_tokens_per_day": 1000})
    config["pipeline"][2]["with"]["wait_ms"] = 100
    gw = _start(tmp_path, upstream, config)
    gateways.append(gw)
    slow = {GATEWAY_HEADER: KEYS["key-a"][0], "Authorization": f"Bearer {PROVIDER_KEY}"}
    slow["x-fake-response-delay-ms"] = "3000"

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(
            httpx.post, gw.url + "/openai/v1/chat/completions", json=CHAT, headers=slow, timeout=30
        )
        upstream.wait_for_requests(
            1, timeout=10
        )  # the first request of the day is in flight, holding the quota
        refused = _chat(gw, "key-a")
        assert running.result().status_code == 200

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "KEY_DAILY_TOKENS_EXCEEDED"
    assert _retry_after(refused) == 1
    assert _chat(gw, "key-a").status_code == 200


def test_counts_carry_over_a_hot_reload_of_the_limits(
    tmp_path: Path, upstream: FakeUpstream, gateways: list[GatewayProcess]
):
    gw = _start(tmp_path, upstream, _config({"requests_per_minute": 2}))
    gateways.append(gw)
    assert [_chat(gw, "key-a").status_code for _ in range(3)] == [200, 200, 429]
    diagnostics = gw.url + "/api/diagnostics/config"
    key = {GATEWAY_HEADER: KEYS["key-a"][0]}
    revision = httpx.get(diagnostics, headers=key).json()["revision"]

    (tmp_path / "ongoingai.yaml").write_text(yaml.safe_dump(_config({"requests_per_minute": 3})))
    deadline = time.monotonic() + 10
    while httpx.get(diagnostics, headers=key).json()["revision"] == revision:
        assert time.monotonic() < deadline, "the edit was not applied"
        time.sleep(0.05)

    # the two requests admitted before the reload still count: one more fits, then none
    assert [_chat(gw, "key-a").status_code for _ in range(2)] == [200, 429]
