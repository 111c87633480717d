"""OpenAI usage dialects: Chat Completions, Responses and embeddings, bodies and streams."""

from __future__ import annotations

import pytest

from ongoingai.engine.providers import MeterResult, UsageMeter, meter_for
from ongoingai.engine.usage import Usage
from tests.unit.providers.wire_samples import (
    CHAT_BODY,
    CHAT_DONE_EVENT,
    CHAT_REQUEST,
    CHAT_STREAM,
    CHAT_USAGE_EVENT,
    EMBEDDINGS_REQUEST,
    RESPONSES_BODY,
    RESPONSES_REQUEST,
    bytewise,
    chat_chunk,
    chat_stream_events,
    crlf,
    embeddings_body,
    every_single_split,
    random_splits,
    responses_stream_events,
)

CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"

CHAT_STREAM_USAGE = Usage(
    input_tokens=1117,
    output_tokens=46,
    cache_read_input_tokens=1024,
    cache_write_input_tokens=0,
    reasoning_tokens=0,
    reported=True,
)
RESPONSES_USAGE = Usage(
    input_tokens=2037,
    output_tokens=311,
    cache_read_input_tokens=1792,
    reasoning_tokens=256,
    reported=True,
)


def _stream(path: str, chunks: list[bytes], request: bytes | None = None) -> MeterResult:
    meter: UsageMeter = meter_for("openai", path)
    meter.observe_request(request)
    for chunk in chunks:
        meter.observe_chunk(chunk)
    return meter.result()


def _body(path: str, body: bytes, request: bytes | None = None) -> MeterResult:
    meter = meter_for("openai", path)
    meter.observe_request(request)
    meter.observe_body(body)
    return meter.result()


# --------------------------------------------------------------------------- chat


def test_chat_body_counts_prompt_completion_cached_and_reasoning_tokens() -> None:
    result = _body(CHAT, CHAT_BODY)
    assert result.usage == Usage(
        input_tokens=2006,
        output_tokens=300,
        cache_read_input_tokens=1920,
        reasoning_tokens=192,
        reported=True,
    )
    assert result.usage.total_tokens == 2306
    assert result.usage.uncached_input_tokens == 86
    assert result.streaming is False


def test_chat_body_model_falls_back_to_the_response_when_the_request_names_none() -> None:
    assert _body(CHAT, CHAT_BODY).model == "o3-mini-2025-01-31"
    assert _body(CHAT, CHAT_BODY, CHAT_REQUEST).model == "gpt-4o-mini"


def test_chat_stream_takes_usage_from_the_final_usage_only_chunk() -> None:
    result = _stream(CHAT, [CHAT_STREAM], CHAT_REQUEST)
    assert result == MeterResult(CHAT_STREAM_USAGE, "gpt-4o-mini", streaming=True)


def test_chat_stream_without_include_usage_reports_nothing_but_still_names_the_model() -> None:
    events = [e.replace(b',"usage":null', b"") for e in chat_stream_events()]
    events.remove(CHAT_USAGE_EVENT)
    result = _stream(CHAT, [b"".join(events)])
    assert result.usage == Usage()
    assert result.usage.reported is False
    assert result.model == "gpt-4o-mini-2024-07-18"


def test_chat_stream_gives_the_same_result_for_every_single_split_point() -> None:
    stream = b"".join(chat_stream_events(deltas=8))
    expected = _stream(CHAT, [stream])
    assert expected.usage == CHAT_STREAM_USAGE
    for chunks in every_single_split(stream):
        assert _stream(CHAT, chunks) == expected


def test_chat_stream_gives_the_same_result_for_random_and_bytewise_chunking() -> None:
    for stream in (CHAT_STREAM, b"".join(crlf(chat_stream_events()))):
        assert _stream(CHAT, bytewise(stream)).usage == CHAT_STREAM_USAGE
        for seed in range(300):
            result = _stream(CHAT, random_splits(stream, seed))
            assert result == MeterResult(CHAT_STREAM_USAGE, "gpt-4o-mini-2024-07-18", True), seed


def test_chat_usage_chunks_with_null_usage_and_malformed_json_are_ignored() -> None:
    stream = (
        chat_chunk(b"[]", b"null")
        + b'data: {"choices":[],"usage":{"prompt_tokens":\n\n'
        + b"data: not json at all\n\n"
        + b'data: ["usage", {"prompt_tokens": 5}]\n\n'
        + CHAT_USAGE_EVENT
        + CHAT_DONE_EVENT
    )
    assert _stream(CHAT, [stream]).usage == CHAT_STREAM_USAGE


def test_a_later_cumulative_usage_chunk_replaces_an_earlier_one() -> None:
    stream = chat_chunk(b"[]", b'{"prompt_tokens":10,"completion_tokens":1}') + chat_chunk(
        b"[]", b'{"prompt_tokens":10,"completion_tokens":7}'
    )
    assert _stream(CHAT, [stream]).usage == Usage(input_tokens=10, output_tokens=7, reported=True)


def test_compatible_provider_cache_write_and_deepseek_cache_hit_counts_are_read() -> None:
    usage = (
        b'{"prompt_tokens":900,"completion_tokens":20,'
        b'"prompt_tokens_details":{"cached_tokens":100,"cache_write_tokens":300}}'
    )
    assert _body(CHAT, b'{"usage":' + usage + b"}").usage == Usage(
        input_tokens=900,
        output_tokens=20,
        cache_read_input_tokens=100,
        cache_write_input_tokens=300,
        reported=True,
    )
    deepseek = b'{"prompt_tokens":64,"completion_tokens":5,"prompt_cache_hit_tokens":48}'
    assert _body(CHAT, b'{"usage":' + deepseek + b"}").usage.cache_read_input_tokens == 48


def test_non_numeric_negative_and_boolean_counts_are_skipped() -> None:
    usage = b'{"usage":{"prompt_tokens":"12","completion_tokens":-3,"total_tokens":true}}'
    assert _body(CHAT, usage).usage == Usage(reported=True)
    floats = b'{"usage":{"prompt_tokens":12.0,"completion_tokens":2.5}}'
    assert _body(CHAT, floats).usage == Usage(input_tokens=12, reported=True)


def test_a_truncated_chat_body_yields_no_usage() -> None:
    result = _body(CHAT, CHAT_BODY[:-40])
    assert result.usage == Usage()
    assert result.model == "unknown"


def test_chat_body_with_null_usage_is_not_reported() -> None:
    assert _body(CHAT, b'{"model":"gpt-4o","usage":null}').usage.reported is False


# --------------------------------------------------------------------------- responses


def test_responses_body_counts_input_cached_output_and_reasoning_tokens() -> None:
    result = _body(RESPONSES, RESPONSES_BODY)
    assert result == MeterResult(RESPONSES_USAGE, "gpt-4.1-2025-04-14", streaming=False)


def test_responses_stream_takes_usage_from_response_completed() -> None:
    stream = b"".join(responses_stream_events())
    assert _stream(RESPONSES, [stream], RESPONSES_REQUEST) == MeterResult(
        RESPONSES_USAGE, "gpt-4.1", streaming=True
    )


@pytest.mark.parametrize("final", ["response.incomplete", "response.failed"])
def test_responses_stream_also_takes_usage_from_incomplete_and_failed_responses(
    final: str,
) -> None:
    stream = b"".join(responses_stream_events(final))
    assert _stream(RESPONSES, [stream]).usage == RESPONSES_USAGE


def test_responses_stream_model_comes_from_response_model_when_the_request_has_none() -> None:
    stream = b"".join(responses_stream_events())
    assert _stream(RESPONSES, [stream]).model == "gpt-4.1-2025-04-14"


def test_responses_usage_outside_a_terminal_event_is_not_taken() -> None:
    event = b'event: response.in_progress\ndata: {"type":"response.in_progress","response":{"usage":{"input_tokens":5}}}\n\n'
    assert _stream(RESPONSES, [event]).usage == Usage()


def test_responses_stream_gives_the_same_result_for_any_chunking() -> None:
    stream = b"".join(responses_stream_events())
    expected = _stream(RESPONSES, [stream])
    for chunks in every_single_split(stream):
        assert _stream(RESPONSES, chunks) == expected
    for seed in range(200):
        assert _stream(RESPONSES, random_splits(stream, seed)) == expected, seed
    assert _stream(RESPONSES, bytewise(stream)) == expected


# --------------------------------------------------------------------------- embeddings


def test_embeddings_count_prompt_tokens_as_input_and_nothing_as_output() -> None:
    result = _body("/v1/embeddings", embeddings_body(), EMBEDDINGS_REQUEST)
    assert result == MeterResult(
        Usage(input_tokens=8, reported=True), "text-embedding-3-small", streaming=False
    )


def test_embeddings_model_falls_back_to_the_response() -> None:
    assert _body("/v1/embeddings", embeddings_body(items=1)).model == "text-embedding-3-small"


def test_a_truncated_embeddings_body_yields_no_usage() -> None:
    body = embeddings_body(items=3)
    for cut in (10, len(body) // 2, len(body) - 10):
        assert _body("/v1/embeddings", body[:cut]).usage == Usage()


def test_embeddings_with_base64_vectors_are_metered_too() -> None:
    body = (
        b'{"object":"list","data":[{"object":"embedding","index":0,"embedding":"AAAAAAAAgD8="}],'
        b'"model":"text-embedding-3-large","usage":{"prompt_tokens":3,"total_tokens":3}}'
    )
    result = _body("/v1/embeddings", body)
    assert (result.usage.input_tokens, result.model) == (3, "text-embedding-3-large")


# --------------------------------------------------------------------------- request facts


def test_streaming_follows_the_request_until_the_response_shows_its_form() -> None:
    meter = meter_for("openai", CHAT)
    meter.observe_request(CHAT_REQUEST)
    assert meter.result().streaming is True
    meter.observe_body(b'{"error":{"message":"bad","type":"invalid_request_error"}}')
    assert meter.result().streaming is False


def test_a_malformed_or_missing_request_leaves_the_model_to_the_response() -> None:
    for request in (None, b"", b"{not json", b'{"model": 42, "stream": "yes"}', b'["model"]'):
        result = _stream(CHAT, [CHAT_STREAM], request)
        assert result.model == "gpt-4o-mini-2024-07-18"
        assert result.usage == CHAT_STREAM_USAGE


def test_a_request_model_is_trimmed_and_a_blank_one_counts_as_absent() -> None:
    assert _body(CHAT, b"{}", b'{"model": "  gpt-4o  "}').model == "gpt-4o"
    assert _body(CHAT, b"{}", b'{"model": "   "}').model == "unknown"
