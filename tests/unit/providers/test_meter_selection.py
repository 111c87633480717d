"""Which meter a dialect and path get; zero-token endpoints; the contract's generic rules."""

from __future__ import annotations

import pytest

from ongoingai.engine.providers import MeterResult, UsageMeter, meter_for, usage_injectable
from ongoingai.engine.providers.anthropic import MessagesMeter
from ongoingai.engine.providers.generic import GenericMeter, NoUsageMeter
from ongoingai.engine.providers.openai import (
    ChatCompletionsMeter,
    EmbeddingsMeter,
    ResponsesMeter,
)
from ongoingai.engine.usage import Usage
from tests.unit.providers.wire_samples import (
    CHAT_BODY,
    CHAT_STREAM,
    MESSAGES_BODY,
    every_single_split,
    messages_stream_events,
    random_splits,
)


@pytest.mark.parametrize(
    ("dialect", "path", "meter"),
    [
        ("openai", "/v1/chat/completions", ChatCompletionsMeter),
        ("openai", "/v1/chat/completions?stream=true", ChatCompletionsMeter),
        ("openai", "/v1/chat/completions/", ChatCompletionsMeter),
        ("openai", "/v1beta/openai/chat/completions", ChatCompletionsMeter),
        ("openai", "/chat/completions", ChatCompletionsMeter),
        ("openai", "/v1/completions", ChatCompletionsMeter),
        ("openai", "/v1/responses", ResponsesMeter),
        ("openai", "/v1/embeddings", EmbeddingsMeter),
        ("openai", "/v1/models", NoUsageMeter),
        ("openai", "/v1/models/gpt-4o-mini", NoUsageMeter),
        ("openai", "/v1/audio/speech", GenericMeter),
        ("openai", "/v1/messages", GenericMeter),
        ("openai", "/v1beta/models/gemini-2.0-flash:generateContent", GenericMeter),
        ("anthropic", "/v1/messages", MessagesMeter),
        ("anthropic", "/v1/messages/count_tokens", NoUsageMeter),
        ("anthropic", "/v1/models", NoUsageMeter),
        ("anthropic", "/v1/models/claude-sonnet-4-20250514", NoUsageMeter),
        ("anthropic", "/v1/chat/completions", ChatCompletionsMeter),
        ("anthropic", "/v1/messages/batches", GenericMeter),
        ("anthropic", "/v1/complete", GenericMeter),
        ("bedrock", "/v1/chat/completions", GenericMeter),
        ("openai", "", GenericMeter),
    ],
)
def test_the_meter_follows_dialect_and_endpoint(dialect: str, path: str, meter: type) -> None:
    assert type(meter_for(dialect, path)) is meter


@pytest.mark.parametrize(
    ("dialect", "path", "injectable"),
    [
        ("openai", "/v1/chat/completions", True),
        ("openai", "/v1beta/openai/chat/completions?x=1", True),
        ("openai", "/v1/completions", True),
        ("openai", "/v1/responses", False),
        ("openai", "/v1/embeddings", False),
        ("openai", "/v1/models", False),
        ("anthropic", "/v1/chat/completions", False),
        ("anthropic", "/v1/messages", False),
        ("openai", "/v1/unknown", False),
    ],
)
def test_usage_injection_applies_to_openai_chat_completions_only(
    dialect: str, path: str, injectable: bool
) -> None:
    assert usage_injectable(dialect, path) is injectable


def test_each_call_gets_a_fresh_meter() -> None:
    assert meter_for("openai", "/v1/chat/completions") is not meter_for(
        "openai", "/v1/chat/completions"
    )


def test_count_tokens_is_traced_with_zero_tokens_and_the_requested_model() -> None:
    meter = meter_for("anthropic", "/v1/messages/count_tokens")
    meter.observe_request(
        b'{"model":"claude-sonnet-4-20250514","messages":[{"role":"user","content":"Hello"}]}'
    )
    meter.observe_body(b'{"input_tokens":2095}')
    assert meter.result() == MeterResult(Usage(), "claude-sonnet-4-20250514", streaming=False)


def test_model_listing_is_traced_with_zero_tokens_and_unknown_model() -> None:
    meter = meter_for("openai", "/v1/models")
    meter.observe_request(None)
    meter.observe_body(
        b'{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1686935002,'
        b'"owned_by":"openai","usage":{"input_tokens":1}}]}'
    )
    assert meter.result() == MeterResult(Usage(), "unknown", streaming=False)


# --------------------------------------------------------------------------- generic (contract §4.3)


def _generic_stream(payloads: list[bytes], chunks: list[bytes] | None = None) -> MeterResult:
    meter: UsageMeter = meter_for("openai", "/v1/some/new/endpoint")
    stream = b"".join(b"data: " + p + b"\n\n" for p in payloads)
    for chunk in chunks or [stream]:
        meter.observe_chunk(chunk)
    return meter.result()


def _generic_body(body: bytes) -> MeterResult:
    meter = meter_for("anthropic", "/v1/unknown")
    meter.observe_body(body)
    return meter.result()


def test_generic_anthropic_stream_gives_input_output_and_model() -> None:
    result = _generic_stream(
        [
            b'{"type":"message_start","message":{"model":"claude-sonnet-4-latest","usage":{"input_tokens":9}}}',
            b'{"type":"message_delta","usage":{"output_tokens":6}}',
        ]
    )
    assert result == MeterResult(
        Usage(input_tokens=9, output_tokens=6, reported=True), "claude-sonnet-4-latest", True
    )
    assert result.usage.total_tokens == 15


def test_generic_stream_mixed_shapes_take_each_later_positive_value() -> None:
    result = _generic_stream(
        [
            b'{"usage":{"prompt_tokens":11}}',
            b'{"message":{"usage":{"input_tokens":13}}}',
            b'{"usage":{"output_tokens":5}}',
            b'{"usage":{"input_tokens":0,"output_tokens":0}}',
        ]
    )
    assert result.usage == Usage(input_tokens=13, output_tokens=5, reported=True)


def test_generic_stream_ignores_malformed_payloads_and_done() -> None:
    result = _generic_stream(
        [
            b'{"usage":{"prompt_tokens":2}}',
            b'{"usage":{"completion_tokens":',
            b"[DONE]",
            b"",
            b'{"usage":{"completion_tokens":1}}',
        ]
    )
    assert result.usage == Usage(input_tokens=2, output_tokens=1, reported=True)


def test_generic_body_takes_the_first_present_key_even_when_it_is_zero() -> None:
    body = (
        b'{"usage":{"prompt_tokens":0,"input_tokens":7,"completion_tokens":"x","output_tokens":3}}'
    )
    assert _generic_body(body).usage == Usage(input_tokens=0, output_tokens=3, reported=True)


def test_generic_body_reads_message_usage_and_ignores_cache_counts() -> None:
    body = b'{"message":{"model":"m-1","usage":{"input_tokens":4,"cache_read_input_tokens":99,"output_tokens":2}}}'
    assert _generic_body(body) == MeterResult(
        Usage(input_tokens=4, output_tokens=2, reported=True), "m-1", False
    )


def test_generic_stream_gives_the_same_result_for_any_chunking() -> None:
    stream = b"".join(messages_stream_events())
    expected = _generic_stream([], [stream])
    assert expected.usage == Usage(input_tokens=100, output_tokens=15, reported=True)
    for chunks in every_single_split(stream):
        assert _generic_stream([], chunks) == expected
    for seed in range(100):
        assert _generic_stream([], random_splits(stream, seed)) == expected


def test_generic_meter_reads_real_openai_and_anthropic_bodies() -> None:
    assert _generic_body(CHAT_BODY).usage == Usage(2006, 300, reported=True)
    assert _generic_body(MESSAGES_BODY).usage == Usage(100, 50, reported=True)
    assert _generic_stream([], [CHAT_STREAM]).usage == Usage(1117, 46, reported=True)


def test_no_meter_ever_raises_on_garbage() -> None:
    garbage = [
        b"\xff\xfe\x00",
        b"data: \xff\n\n",
        b'{"usage": {"prompt_tokens": 1e999}}',
        b"[" * 100_000,
    ]
    paths = [
        ("openai", "/v1/chat/completions"),
        ("openai", "/v1/responses"),
        ("openai", "/v1/embeddings"),
        ("anthropic", "/v1/messages"),
        ("anthropic", "/v1/messages/count_tokens"),
        ("openai", "/other"),
    ]
    for dialect, path in paths:
        meter = meter_for(dialect, path)
        for junk in garbage:
            meter.observe_request(junk)
            meter.observe_chunk(junk)
            meter.observe_chunk(b'data: {"usage": {"x": ' + junk + b"}}\n\n")
            meter.observe_body(junk)
            meter.observe_body(b'{"model": "m", "usage": ' + junk + b"}")
        assert meter.result().usage.total_tokens == 0
