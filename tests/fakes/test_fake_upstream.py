"""Tests of the fake upstream itself, driven by the real ``openai`` and ``anthropic`` SDKs."""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import TYPE_CHECKING, Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from . import (
    HEADER_CACHE_WRITE_TOKENS,
    HEADER_CACHED_TOKENS,
    HEADER_CHUNK_DELAY_MS,
    HEADER_CHUNKS,
    HEADER_DIE_AFTER,
    HEADER_REASONING_TOKENS,
    HEADER_STATUS,
    HEADER_UPSTREAM,
    FakeUpstream,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from anthropic.types import MessageParam
    from openai.types.chat import ChatCompletionMessageParam

PROMPT = "say hello to me"  # 4 words
USER: list[ChatCompletionMessageParam] = [{"role": "user", "content": PROMPT}]
CLAUDE_USER: list[MessageParam] = [{"role": "user", "content": PROMPT}]
CHAT_MODEL = "gpt-4o-mini"
CLAUDE = "claude-sonnet-4-5"


@pytest.fixture
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream("alpha") as upstream:
        yield upstream


@pytest.fixture
def oai(fake: FakeUpstream) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.url + "/v1", api_key="sk-test", max_retries=0) as client:
        yield client


@pytest.fixture
def ant(fake: FakeUpstream) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=fake.url, api_key="sk-ant-test", max_retries=0) as client:
        yield client


@pytest.fixture
def http(fake: FakeUpstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fake.url, timeout=10) as client:
        yield client


def sse_events(raw: bytes) -> list[tuple[str | None, str]]:
    """Split a raw SSE body into (event name, data) pairs."""
    events = []
    for block in raw.decode().split("\n\n"):
        if not block:
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((fields.get("event"), fields["data"]))
    return events


# --------------------------------------------------------------------------- OpenAI chat


def test_non_streamed_chat_echoes_model_and_counts_prompt_words(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(model=CHAT_MODEL, messages=USER)

    assert completion.object == "chat.completion"
    assert completion.model == CHAT_MODEL
    assert completion.choices[0].message.content == "Hello from alpha"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (4, 3)
    assert completion.usage.total_tokens == 7


def test_token_kind_headers_show_up_in_chat_usage_details(oai: openai.OpenAI) -> None:
    headers = {
        HEADER_CACHED_TOKENS: "10",
        HEADER_REASONING_TOKENS: "5",
        HEADER_CACHE_WRITE_TOKENS: "2",
    }
    completion = oai.chat.completions.create(
        model=CHAT_MODEL,
        messages=USER,
        extra_headers=headers,
    )

    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == 4 + 10 + 2
    assert usage.completion_tokens == 3 + 5
    assert usage.total_tokens == 16 + 8
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 10
    assert usage.prompt_tokens_details.cache_write_tokens == 2
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 5


def test_streamed_chat_without_include_usage_sends_no_usage(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(model=CHAT_MODEL, messages=USER, stream=True)
    chunks = list(stream)

    assert all(chunk.object == "chat.completion.chunk" for chunk in chunks)
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == "Hello from alpha"
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_streamed_chat_with_include_usage_ends_with_usage_only_chunk(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model=CHAT_MODEL,
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (4, 3)
    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"


def test_raw_chat_stream_is_data_lines_ending_with_done(http: httpx.Client) -> None:
    body = {"model": CHAT_MODEL, "messages": USER, "stream": True}
    response = http.post("/v1/chat/completions", json=body, headers={HEADER_CHUNKS: "2"})

    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.content)
    assert all(name is None for name, _ in events)
    assert events[-1] == (None, "[DONE]")
    deltas = [json.loads(data)["choices"][0]["delta"].get("content") for _, data in events[:-1]]
    assert deltas == ["", "Hello", " from alpha", None]
    assert "usage" not in json.loads(events[0][1])


def test_chunk_header_sets_number_of_content_deltas(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model=CHAT_MODEL,
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
        extra_headers={HEADER_CHUNKS: "5"},
    )
    chunks = list(stream)

    contents = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert contents == ["Hello", " from", " alpha", " more", " more"]
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5


def test_stream_options_without_stream_is_rejected_like_openai(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(
            model=CHAT_MODEL,
            messages=USER,
            stream_options={"include_usage": True},
        )

    assert caught.value.param == "stream_options"


# --------------------------------------------------------------------------- OpenAI responses


def test_responses_create_returns_completed_response_with_usage(oai: openai.OpenAI) -> None:
    response = oai.responses.create(
        model="gpt-4o",
        input="what is up",
        instructions="be brief",
        extra_headers={HEADER_CACHED_TOKENS: "3", HEADER_REASONING_TOKENS: "2"},
    )

    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == "gpt-4o"
    assert response.output_text == "Hello from alpha"
    assert response.usage is not None
    assert response.usage.input_tokens == 5 + 3
    assert response.usage.input_tokens_details.cached_tokens == 3
    assert response.usage.output_tokens == 3 + 2
    assert response.usage.output_tokens_details.reasoning_tokens == 2
    assert response.usage.total_tokens == 13


def test_streamed_responses_follow_documented_event_sequence(oai: openai.OpenAI) -> None:
    events = list(oai.responses.create(model="gpt-4o", input="hi", stream=True))

    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 3,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.usage is not None
    assert completed.response.usage.input_tokens == 1
    assert completed.response.output_text == "Hello from alpha"


def test_responses_stream_helper_accumulates_final_response(oai: openai.OpenAI) -> None:
    with oai.responses.stream(model="gpt-4o", input="hi there") as stream:
        final = stream.get_final_response()

    assert final.output_text == "Hello from alpha"
    assert final.usage is not None
    assert final.usage.input_tokens == 2


def test_raw_responses_stream_names_each_event(http: httpx.Client) -> None:
    body = {"model": "gpt-4o", "input": "hi", "stream": True}
    events = sse_events(http.post("/v1/responses", json=body).content)

    assert all(name == json.loads(data)["type"] for name, data in events)


# --------------------------------------------------------------------------- OpenAI misc


def test_embeddings_honour_float_and_default_base64_encoding(
    oai: openai.OpenAI, fake: FakeUpstream
) -> None:
    as_float = oai.embeddings.create(
        model="text-embedding-3-small", input=["one two", "three"], encoding_format="float"
    )
    default = oai.embeddings.create(model="text-embedding-3-small", input=["one two", "three"])

    assert [item.index for item in as_float.data] == [0, 1]
    assert len(as_float.data[0].embedding) == 8
    assert as_float.usage.prompt_tokens == as_float.usage.total_tokens == 3
    assert [item.embedding for item in default.data] == [item.embedding for item in as_float.data]
    raw_default = fake.requests[-1]
    assert raw_default.json is not None
    assert raw_default.json["encoding_format"] == "base64"


def test_models_list_and_retrieve_speak_openai_format(oai: openai.OpenAI) -> None:
    models = [model.id for model in oai.models.list()]
    model = oai.models.retrieve("ft:gpt-4o-mini:acme")

    assert "gpt-4o-mini" in models
    assert model.id == "ft:gpt-4o-mini:acme"
    assert model.object == "model"


# --------------------------------------------------------------------------- Anthropic


def test_anthropic_message_reports_usage_with_cache_kinds(ant: anthropic.Anthropic) -> None:
    headers = {HEADER_CACHED_TOKENS: "7", HEADER_CACHE_WRITE_TOKENS: "4"}
    message = ant.messages.create(
        model=CLAUDE,
        max_tokens=64,
        system="you are terse",
        messages=CLAUDE_USER,
        extra_headers=headers,
    )

    assert message.type == "message"
    assert message.model == CLAUDE
    assert message.stop_reason == "end_turn"
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == "Hello from alpha"  # type: ignore[union-attr]
    assert message.usage.input_tokens == 3 + 4
    assert message.usage.output_tokens == 3
    assert message.usage.cache_read_input_tokens == 7
    assert message.usage.cache_creation_input_tokens == 4


def test_anthropic_stream_helper_final_message_has_usage(ant: anthropic.Anthropic) -> None:
    with ant.messages.stream(
        model=CLAUDE,
        max_tokens=64,
        messages=CLAUDE_USER,
        extra_headers={HEADER_REASONING_TOKENS: "6", HEADER_CHUNKS: "4"},
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == "Hello from alpha more"
    assert final.content[0].text == text  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 4
    assert final.usage.output_tokens == 4 + 6


def test_anthropic_raw_stream_uses_documented_named_events(http: httpx.Client) -> None:
    body = {"model": CLAUDE, "max_tokens": 8, "messages": CLAUDE_USER, "stream": True}
    response = http.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"})
    events = sse_events(response.content)

    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 3,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert all(name == json.loads(data)["type"] for name, data in events)
    start = json.loads(events[0][1])["message"]["usage"]
    delta = json.loads(events[-2][1])
    assert start["input_tokens"] == 4
    assert delta["usage"]["output_tokens"] == 3
    assert delta["delta"]["stop_reason"] == "end_turn"


def test_count_tokens_counts_system_and_message_words(ant: anthropic.Anthropic) -> None:
    counted = ant.messages.count_tokens(model=CLAUDE, system="be kind", messages=CLAUDE_USER)

    assert counted.input_tokens == 2 + 4


def test_anthropic_models_list_speaks_anthropic_format(ant: anthropic.Anthropic) -> None:
    models = list(ant.models.list())
    model = ant.models.retrieve("claude-haiku-4-5")

    assert [m.type for m in models] == ["model"] * len(models)
    assert CLAUDE in [m.id for m in models]
    assert model.id == "claude-haiku-4-5"


# --------------------------------------------------------------------------- errors


def test_status_header_surfaces_as_openai_rate_limit_error(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        oai.chat.completions.create(
            model=CHAT_MODEL,
            messages=USER,
            stream=True,
            extra_headers={HEADER_STATUS: "429"},
        )

    assert caught.value.status_code == 429
    assert caught.value.code == "rate_limit_exceeded"
    assert isinstance(caught.value.body, dict)
    assert set(caught.value.body) == {"message", "type", "param", "code"}


def test_status_header_surfaces_as_openai_server_error(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        oai.responses.create(model="gpt-4o", input="hi", extra_headers={HEADER_STATUS: "503"})

    assert caught.value.type == "server_error"


def test_status_header_surfaces_as_anthropic_status_error(ant: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIStatusError) as caught:
        ant.messages.create(
            model=CLAUDE,
            max_tokens=8,
            messages=CLAUDE_USER,
            extra_headers={HEADER_STATUS: "429"},
        )

    assert isinstance(caught.value, anthropic.RateLimitError)
    assert caught.value.type == "rate_limit_error"
    assert caught.value.request_id is not None
    assert caught.value.request_id.startswith("req_")


def test_unknown_paths_answer_404_in_each_provider_format(http: httpx.Client) -> None:
    as_openai = http.post("/v1/nope", json={})
    as_anthropic = http.get("/v1/nope", headers={"anthropic-version": "2023-06-01"})
    wrong_method = http.get("/v1/chat/completions")

    assert as_openai.status_code == wrong_method.status_code == as_anthropic.status_code == 404
    assert as_openai.json()["error"]["type"] == "invalid_request_error"
    assert as_openai.json()["error"]["message"] == "Invalid URL (POST /v1/nope)"
    assert as_anthropic.json()["type"] == "error"
    assert as_anthropic.json()["error"]["type"] == "not_found_error"


def test_missing_or_non_json_body_answers_400(http: httpx.Client) -> None:
    empty = http.post("/v1/chat/completions")
    garbage = http.post(
        "/v1/messages", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert empty.status_code == garbage.status_code == 400
    assert set(empty.json()["error"]) == {"message", "type", "param", "code"}
    assert garbage.json()["error"]["type"] == "invalid_request_error"


def test_missing_required_field_answers_400_naming_it(http: httpx.Client) -> None:
    no_model = http.post("/v1/chat/completions", json={"messages": USER})
    no_max_tokens = http.post("/v1/messages", json={"model": CLAUDE, "messages": CLAUDE_USER})

    assert no_model.status_code == no_max_tokens.status_code == 400
    assert no_model.json()["error"]["param"] == "model"
    assert no_max_tokens.json()["error"]["message"] == "max_tokens: Field required"


def test_malformed_control_header_answers_400(http: httpx.Client) -> None:
    body = {"model": CHAT_MODEL, "messages": USER}
    response = http.post("/v1/chat/completions", json=body, headers={HEADER_CHUNKS: "many"})

    assert response.status_code == 400
    assert HEADER_CHUNKS in response.json()["error"]["message"]


# --------------------------------------------------------------------------- recording and tagging


def test_recorded_requests_contain_sent_headers_and_body(
    fake: FakeUpstream, oai: openai.OpenAI, ant: anthropic.Anthropic
) -> None:
    oai.chat.completions.create(model=CHAT_MODEL, messages=USER)
    ant.messages.create(model=CLAUDE, max_tokens=8, messages=CLAUDE_USER)

    first, second = fake.requests
    assert (first.method, first.path) == ("POST", "/v1/chat/completions")
    assert first.headers["authorization"] == "Bearer sk-test"
    assert first.json == json.loads(first.body)
    assert first.json["model"] == CHAT_MODEL
    assert second.path == "/v1/messages"
    credentials = second.headers.get("x-api-key", "") + second.headers.get("authorization", "")
    assert "sk-ant-test" in credentials
    assert second.headers["anthropic-version"]
    fake.clear()
    assert fake.requests == []


def test_recorded_request_keeps_query_string(fake: FakeUpstream, http: httpx.Client) -> None:
    http.get("/v1/models", params={"limit": "2"})

    assert fake.wait_for_requests(1)[0].query_string == "limit=2"


def test_every_response_names_the_upstream_that_answered(http: httpx.Client) -> None:
    ok = http.get("/v1/models")
    failed = http.post("/v1/chat/completions", json={}, headers={HEADER_STATUS: "500"})
    unknown = http.get("/elsewhere")

    assert {r.headers[HEADER_UPSTREAM] for r in (ok, failed, unknown)} == {"alpha"}


def test_two_upstreams_are_told_apart_by_their_header() -> None:
    with FakeUpstream("one") as one, FakeUpstream("two") as two, httpx.Client() as client:
        names = [client.get(f.url + "/v1/models").headers[HEADER_UPSTREAM] for f in (one, two)]
        assert one.port != two.port

    assert names == ["one", "two"]


# --------------------------------------------------------------------------- timing and failures


def test_chunk_delay_spaces_stream_events(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model=CHAT_MODEL,
        messages=USER,
        stream=True,
        extra_headers={HEADER_CHUNK_DELAY_MS: "150"},
    )
    arrivals = [time.monotonic() for _ in stream]

    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(gaps) == 4  # role, 3 deltas, finish (the [DONE] frame is not yielded)
    assert min(gaps) > 0.075
    assert arrivals[-1] - arrivals[0] > 0.45


def test_die_after_makes_openai_stream_raise(oai: openai.OpenAI) -> None:
    received: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        stream = oai.chat.completions.create(
            model=CHAT_MODEL,
            messages=USER,
            stream=True,
            extra_headers={HEADER_DIE_AFTER: "2"},
        )
        received.extend(stream)

    assert [chunk.choices[0].delta.content for chunk in received] == ["", "Hello"]


def test_die_after_makes_anthropic_stream_raise(ant: anthropic.Anthropic) -> None:
    received: list[str] = []
    with (
        pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)),
        ant.messages.stream(
            model=CLAUDE,
            max_tokens=8,
            messages=CLAUDE_USER,
            extra_headers={HEADER_DIE_AFTER: "4"},
        ) as stream,
    ):
        received.extend(stream.text_stream)

    assert received == ["Hello"]


def test_die_after_on_non_streaming_request_drops_connection(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(
            model=CHAT_MODEL,
            messages=USER,
            extra_headers={HEADER_DIE_AFTER: "0"},
        )


# --------------------------------------------------------------------------- lifecycle


def test_stop_is_idempotent_and_url_needs_a_running_server() -> None:
    upstream = FakeUpstream("idle")
    with pytest.raises(RuntimeError):
        _ = upstream.url
    upstream.start()
    upstream.stop()
    upstream.stop()

    with pytest.raises(RuntimeError):
        _ = upstream.url


def test_stop_does_not_wait_for_a_slow_open_stream(oai: openai.OpenAI, fake: FakeUpstream) -> None:
    stream = oai.chat.completions.create(
        model=CHAT_MODEL,
        messages=USER,
        stream=True,
        extra_headers={HEADER_CHUNK_DELAY_MS: "60000"},
    )
    with stream:
        next(iter(stream))
        started = time.monotonic()
        fake.stop()
        elapsed = time.monotonic() - started

    assert elapsed < 5


def test_wait_for_requests_times_out_when_too_few_arrive(fake: FakeUpstream) -> None:
    waiter_errors: list[BaseException] = []

    def wait() -> None:
        try:
            fake.wait_for_requests(1, timeout=0.05)
        except TimeoutError as exc:
            waiter_errors.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    thread.join()

    assert len(waiter_errors) == 1
