"""Anthropic Messages usage: cache counts folded into input, stream start and delta merged."""

from __future__ import annotations

from ongoingai.engine.providers import MeterResult, meter_for
from ongoingai.engine.usage import Usage
from tests.unit.providers.wire_samples import (
    MESSAGES_BODY,
    MESSAGES_REQUEST,
    bytewise,
    crlf,
    every_single_split,
    messages_stream_events,
    random_splits,
)

MESSAGES = "/v1/messages"
CACHED = Usage(
    input_tokens=2600,
    output_tokens=15,
    cache_read_input_tokens=2000,
    cache_write_input_tokens=500,
    reported=True,
)


def _stream(chunks: list[bytes], request: bytes | None = None) -> MeterResult:
    meter = meter_for("anthropic", MESSAGES)
    meter.observe_request(request)
    for chunk in chunks:
        meter.observe_chunk(chunk)
    return meter.result()


def _body(body: bytes, request: bytes | None = None) -> MeterResult:
    meter = meter_for("anthropic", MESSAGES)
    meter.observe_request(request)
    meter.observe_body(body)
    return meter.result()


def test_body_input_is_uncached_plus_cache_read_plus_cache_write() -> None:
    result = _body(MESSAGES_BODY)
    assert result.usage == Usage(
        input_tokens=2600,
        output_tokens=50,
        cache_read_input_tokens=2000,
        cache_write_input_tokens=500,
        reported=True,
    )
    assert result.usage.uncached_input_tokens == 100
    assert result.usage.total_tokens == 2650
    assert result.model == "claude-sonnet-4-20250514"
    assert result.streaming is False


def test_body_without_cache_fields_counts_plain_input() -> None:
    body = b'{"type":"message","model":"claude-3-5-haiku-latest","usage":{"input_tokens":12,"output_tokens":6}}'
    assert _body(body).usage == Usage(input_tokens=12, output_tokens=6, reported=True)


def test_stream_merges_message_start_counts_with_the_cumulative_message_delta_output() -> None:
    stream = b"".join(messages_stream_events())
    assert _stream([stream], MESSAGES_REQUEST) == MeterResult(
        CACHED, "claude-sonnet-4-20250514", streaming=True
    )


def test_counts_a_message_delta_carries_replace_those_of_message_start() -> None:
    delta = b'{"input_tokens": 120, "cache_read_input_tokens": 0, "output_tokens": 40}'
    stream = b"".join(messages_stream_events(delta_usage=delta))
    assert _stream([stream]).usage == Usage(
        input_tokens=620,
        output_tokens=40,
        cache_read_input_tokens=0,
        cache_write_input_tokens=500,
        reported=True,
    )


def test_stream_model_comes_from_message_start_when_the_request_names_none() -> None:
    assert _stream([b"".join(messages_stream_events())]).model == "claude-sonnet-4-20250514"


def test_a_text_delta_quoting_usage_json_does_not_count() -> None:
    events = messages_stream_events()
    content_only = b"".join(e for e in events if b"content_block" in e)
    assert b"output_tokens" in content_only
    assert _stream([content_only]).usage == Usage()


def test_stream_gives_the_same_result_for_any_chunking_and_crlf_endings() -> None:
    for events in (messages_stream_events(), crlf(messages_stream_events())):
        stream = b"".join(events)
        for chunks in every_single_split(stream):
            assert _stream(chunks).usage == CACHED
        for seed in range(200):
            assert _stream(random_splits(stream, seed)).usage == CACHED, seed
        assert _stream(bytewise(stream)).usage == CACHED


def test_malformed_ping_error_and_unknown_events_are_ignored() -> None:
    events = messages_stream_events()
    noise = [
        b'event: message_delta\ndata: {"type": "message_delta", "usage": {"output_tokens": \n\n',
        b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n',
        b"event: future_thing\ndata: <html>\n\n",
        b"event: ping\n\n",
    ]
    stream = b"".join([events[0], *noise, *events[1:]])
    assert _stream([stream]).usage == CACHED


def test_thinking_tokens_are_read_when_a_usage_reports_them_and_zero_otherwise() -> None:
    body = (
        b'{"model":"claude-opus-4-1","usage":{"input_tokens":10,"output_tokens":900,'
        b'"output_tokens_details":{"thinking_tokens":700}}}'
    )
    assert _body(body).usage.reasoning_tokens == 700
    assert _body(MESSAGES_BODY).usage.reasoning_tokens == 0


def test_a_truncated_body_yields_no_usage() -> None:
    assert _body(MESSAGES_BODY[:200]).usage == Usage()


def test_an_error_body_is_not_usage() -> None:
    body = b'{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}'
    result = _body(body, MESSAGES_REQUEST)
    assert result == MeterResult(Usage(), "claude-sonnet-4-20250514", streaming=False)
