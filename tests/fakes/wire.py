"""Builders of the OpenAI and Anthropic wire payloads (JSON bodies and SSE frames).

Everything here is pure: given a :class:`Reply` (what the fake "model" says and how many
tokens it costs) the functions return the exact JSON objects and Server-Sent-Event frames the
real providers document, in the shapes the official ``openai`` and ``anthropic`` SDKs parse.

Token rules (see :class:`TokenCounts`):

* fresh input tokens = number of whitespace-separated words in the request's text fields
  (``messages``/``system``/``input``/``instructions``; each pre-tokenised integer counts one);
* the reply is ``"Hello from <name>"`` padded with ``"more"`` up to the requested number of
  deltas, and output tokens = words of the reply text + reasoning tokens;
* OpenAI prompt tokens = fresh + cached + cache-write tokens (cached tokens are *part of* the
  prompt); Anthropic reports them apart: ``input_tokens`` = fresh,
  ``cache_read_input_tokens`` = cached, ``cache_creation_input_tokens`` = cache-write.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

JSON = dict[str, Any]

REPLY_WORDS = ("Hello", "from")
"""The reply starts with these words, followed by the upstream name."""
FILLER_WORD = "more"
"""Word appended to the reply when more deltas than reply words are requested."""
TEXT_KEYS = ("text", "content", "input", "output")
"""Keys whose values count as prompt text when counting input words."""
DEFAULT_EMBEDDING_DIMENSIONS = 8
OPENAI_MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")
ANTHROPIC_MODELS = ("claude-sonnet-4-5", "claude-haiku-4-5")
MODEL_CREATED = 1_700_000_000
MODEL_CREATED_AT = "2025-01-01T00:00:00Z"
SYSTEM_FINGERPRINT = "fp_fake_upstream"
DONE_FRAME = b"data: [DONE]\n\n"
"""The terminator of an OpenAI Chat Completions stream."""

OPENAI_ERRORS: Mapping[int, tuple[str, str | None]] = MappingProxyType(
    {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("invalid_request_error", "unsupported_country_region_territory"),
        404: ("invalid_request_error", None),
        429: ("requests", "rate_limit_exceeded"),
    }
)
"""OpenAI error ``type`` and default ``code`` per status (others: invalid_request/server_error)."""
ANTHROPIC_ERRORS: Mapping[int, str] = MappingProxyType(
    {
        400: "invalid_request_error",
        401: "authentication_error",
        402: "billing_error",
        403: "permission_error",
        404: "not_found_error",
        413: "request_too_large",
        429: "rate_limit_error",
        500: "api_error",
        504: "timeout_error",
        529: "overloaded_error",
    }
)
"""Anthropic error ``type`` per status (others: invalid_request_error/api_error)."""


@dataclass(frozen=True)
class TokenCounts:
    """The deterministic token usage of one fake exchange."""

    input_words: int
    output_words: int
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0

    @property
    def prompt_total(self) -> int:
        """OpenAI-style prompt tokens: fresh input plus cached and cache-write tokens."""
        return self.input_words + self.cached + self.cache_write

    @property
    def output_total(self) -> int:
        """Output tokens: reply words plus reasoning tokens."""
        return self.output_words + self.reasoning

    def openai_chat_usage(self) -> JSON:
        """Return the Chat Completions ``usage`` object."""
        return {
            "prompt_tokens": self.prompt_total,
            "completion_tokens": self.output_total,
            "total_tokens": self.prompt_total + self.output_total,
            "prompt_tokens_details": {
                "cached_tokens": self.cached,
                "cache_write_tokens": self.cache_write,
                "audio_tokens": 0,
            },
            "completion_tokens_details": {
                "reasoning_tokens": self.reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def openai_responses_usage(self) -> JSON:
        """Return the Responses API ``usage`` object."""
        return {
            "input_tokens": self.prompt_total,
            "input_tokens_details": {
                "cached_tokens": self.cached,
                "cache_write_tokens": self.cache_write,
            },
            "output_tokens": self.output_total,
            "output_tokens_details": {"reasoning_tokens": self.reasoning},
            "total_tokens": self.prompt_total + self.output_total,
        }

    def anthropic_usage(self, *, output_tokens: int | None = None) -> JSON:
        """Return the Messages API ``usage`` object (``output_tokens`` may be overridden)."""
        usage: JSON = {
            "input_tokens": self.input_words,
            "cache_creation_input_tokens": self.cache_write,
            "cache_read_input_tokens": self.cached,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_write,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": self.output_total if output_tokens is None else output_tokens,
            "service_tier": "standard",
        }
        if self.reasoning:
            usage["output_tokens_details"] = {"thinking_tokens": self.reasoning}
        return usage


@dataclass(frozen=True)
class Reply:
    """What the fake model answers to one request."""

    response_id: str
    model: str
    created: int
    deltas: tuple[str, ...]
    counts: TokenCounts

    @property
    def text(self) -> str:
        """The whole reply text (the concatenation of the deltas)."""
        return "".join(self.deltas)

    @property
    def item_id(self) -> str:
        """The id of the Responses API output message derived from the response id."""
        return "msg_" + self.response_id.removeprefix("resp_")


def reply_deltas(name: str, chunks: int) -> tuple[str, ...]:
    """Split ``"Hello from <name>"`` (padded with filler words) into ``chunks`` deltas.

    Zero chunks yield an empty reply; fewer chunks than words merge neighbouring words.
    """
    if chunks <= 0:
        return ()
    words = [*REPLY_WORDS, name]
    words += [FILLER_WORD] * max(0, chunks - len(words))
    groups = [
        words[i * len(words) // chunks : (i + 1) * len(words) // chunks] for i in range(chunks)
    ]
    texts = [" ".join(group) for group in groups]
    return tuple(text if index == 0 else " " + text for index, text in enumerate(texts))


def count_words(value: object) -> int:
    """Count prompt "tokens": words of strings, one per integer, recursing into text keys."""
    if isinstance(value, str):
        return len(value.split())
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return 1
    if isinstance(value, list):
        return sum(count_words(item) for item in value)
    if isinstance(value, dict):
        return sum(count_words(value[key]) for key in TEXT_KEYS if key in value)
    return 0


def _dumps(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"))


def sse_data(payload: object) -> bytes:
    """Encode an unnamed SSE frame (``data: {...}``), as OpenAI Chat Completions sends."""
    return f"data: {_dumps(payload)}\n\n".encode()


def sse_event(event: str, payload: object) -> bytes:
    """Encode a named SSE frame (``event: X`` + ``data: {...}``)."""
    return f"event: {event}\ndata: {_dumps(payload)}\n\n".encode()


# --------------------------------------------------------------------------- errors


def openai_error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> JSON:
    """Return OpenAI's error body ``{"error": {message, type, param, code}}``."""
    default_type = "server_error" if status >= 500 else "invalid_request_error"
    error_type, default_code = OPENAI_ERRORS.get(status, (default_type, None))
    return {
        "error": {
            "message": message,
            "type": error_type,
            "param": param,
            "code": code if code is not None else default_code,
        }
    }


def anthropic_error(status: int, message: str, *, request_id: str) -> JSON:
    """Return Anthropic's error body ``{"type": "error", "error": {type, message}}``."""
    default_type = "api_error" if status >= 500 else "invalid_request_error"
    return {
        "type": "error",
        "error": {"type": ANTHROPIC_ERRORS.get(status, default_type), "message": message},
        "request_id": request_id,
    }


# --------------------------------------------------------------------------- OpenAI chat


def chat_completion(reply: Reply) -> JSON:
    """Return a non-streamed ``chat.completion`` object."""
    message: JSON = {"role": "assistant", "content": reply.text, "refusal": None, "annotations": []}
    return {
        "id": reply.response_id,
        "object": "chat.completion",
        "created": reply.created,
        "model": reply.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": reply.counts.openai_chat_usage(),
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def _chat_chunk(reply: Reply, choices: list[JSON], *, include_usage: bool) -> JSON:
    chunk: JSON = {
        "id": reply.response_id,
        "object": "chat.completion.chunk",
        "created": reply.created,
        "model": reply.model,
        "service_tier": "default",
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "choices": choices,
    }
    if include_usage:
        chunk["usage"] = None
    return chunk


def _chat_choice(delta: JSON, finish_reason: str | None = None) -> JSON:
    return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}


def chat_stream_frames(reply: Reply, *, include_usage: bool) -> list[bytes]:
    """Return the SSE frames of a streamed chat completion, ending with ``data: [DONE]``.

    The frames are: a role chunk, one chunk per content delta, a finishing chunk and, only when
    ``include_usage`` is set, a final ``choices: []`` chunk carrying ``usage``.
    """
    first = _chat_choice({"role": "assistant", "content": "", "refusal": None})
    chunks = [_chat_chunk(reply, [first], include_usage=include_usage)]
    chunks += [
        _chat_chunk(reply, [_chat_choice({"content": delta})], include_usage=include_usage)
        for delta in reply.deltas
    ]
    chunks.append(_chat_chunk(reply, [_chat_choice({}, "stop")], include_usage=include_usage))
    if include_usage:
        usage_chunk = _chat_chunk(reply, [], include_usage=True)
        usage_chunk["usage"] = reply.counts.openai_chat_usage()
        chunks.append(usage_chunk)
    return [*(sse_data(chunk) for chunk in chunks), DONE_FRAME]


# --------------------------------------------------------------------------- OpenAI responses


def _output_text(text: str) -> JSON:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _output_message(reply: Reply, *, done: bool) -> JSON:
    return {
        "id": reply.item_id,
        "type": "message",
        "status": "completed" if done else "in_progress",
        "role": "assistant",
        "content": [_output_text(reply.text)] if done else [],
    }


def response_object(reply: Reply, *, done: bool, instructions: object = None) -> JSON:
    """Return a Responses API ``response`` object, finished (with usage) or in progress."""
    return {
        "id": reply.response_id,
        "object": "response",
        "created_at": reply.created,
        "completed_at": reply.created if done else None,
        "status": "completed" if done else "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": instructions,
        "max_output_tokens": None,
        "metadata": {},
        "model": reply.model,
        "output": [_output_message(reply, done=True)] if done else [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": reply.counts.openai_responses_usage() if done else None,
        "user": None,
    }


def _response_text_events(reply: Reply) -> list[JSON]:
    where = {"item_id": reply.item_id, "output_index": 0, "content_index": 0}
    events: list[JSON] = [
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": _output_message(reply, done=False),
        },
        {"type": "response.content_part.added", **where, "part": _output_text("")},
    ]
    events += [
        {"type": "response.output_text.delta", **where, "delta": delta, "logprobs": []}
        for delta in reply.deltas
    ]
    return [
        *events,
        {"type": "response.output_text.done", **where, "text": reply.text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": _output_text(reply.text)},
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": _output_message(reply, done=True),
        },
    ]


def response_stream_frames(reply: Reply, *, instructions: object = None) -> list[bytes]:
    """Return the documented Responses API SSE sequence with increasing ``sequence_number``."""
    pending = response_object(reply, done=False, instructions=instructions)
    events = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
        *_response_text_events(reply),
        {
            "type": "response.completed",
            "response": response_object(reply, done=True, instructions=instructions),
        },
    ]
    return [
        sse_event(event["type"], {**event, "sequence_number": seq})
        for seq, event in enumerate(events)
    ]


# --------------------------------------------------------------------------- OpenAI misc


def embedding_vector(item: object, dimensions: int) -> list[float]:
    """Return a deterministic vector for one input (exactly representable as float32)."""
    digest = hashlib.sha256(_dumps(item).encode()).digest()
    return [(digest[i % len(digest)] - 128) / 128 for i in range(dimensions)]


def embedding_items(value: object) -> list[object]:
    """Split an embeddings ``input`` into its items (a string, a token list, or lists of them)."""
    if isinstance(value, list) and value and all(isinstance(item, (str, list)) for item in value):
        return list(value)
    return [value]


def embeddings_list(
    model: str, items: list[object], *, dimensions: int, base64_encoded: bool
) -> JSON:
    """Return the ``list`` object of embeddings with ``usage`` (prompt_tokens, total_tokens)."""
    data = []
    for index, item in enumerate(items):
        vector = embedding_vector(item, dimensions)
        encoded: object = vector
        if base64_encoded:
            encoded = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = count_words(items)
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def openai_model(model_id: str) -> JSON:
    """Return an OpenAI ``model`` object."""
    return {"id": model_id, "object": "model", "created": MODEL_CREATED, "owned_by": "system"}


def openai_models() -> JSON:
    """Return the OpenAI model list."""
    return {"object": "list", "data": [openai_model(model_id) for model_id in OPENAI_MODELS]}


# --------------------------------------------------------------------------- Anthropic


def anthropic_message(reply: Reply) -> JSON:
    """Return a non-streamed Messages API ``message`` object."""
    return {
        "id": reply.response_id,
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": [{"type": "text", "text": reply.text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": reply.counts.anthropic_usage(),
    }


def anthropic_stream_frames(reply: Reply) -> list[bytes]:
    """Return the documented Messages SSE sequence.

    ``message_start`` (input usage, ``output_tokens: 1``), ``content_block_start``, ``ping``,
    ``content_block_delta`` (``text_delta``) per delta, ``content_block_stop``,
    ``message_delta`` (cumulative ``output_tokens``, ``stop_reason``) and ``message_stop``.
    """
    start = {
        **anthropic_message(reply),
        "content": [],
        "stop_reason": None,
        "usage": reply.counts.anthropic_usage(output_tokens=1),
    }
    delta_usage: JSON = {"output_tokens": reply.counts.output_total}
    if reply.counts.reasoning:
        delta_usage["output_tokens_details"] = {"thinking_tokens": reply.counts.reasoning}
    events: list[JSON] = [
        {"type": "message_start", "message": start},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "ping"},
        *(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": delta},
            }
            for delta in reply.deltas
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": delta_usage,
        },
        {"type": "message_stop"},
    ]
    return [sse_event(event["type"], event) for event in events]


def anthropic_model(model_id: str) -> JSON:
    """Return an Anthropic ``model`` object."""
    return {
        "type": "model",
        "id": model_id,
        "display_name": model_id,
        "created_at": MODEL_CREATED_AT,
        "lifecycle": "active",
    }


def anthropic_models() -> JSON:
    """Return the Anthropic model page."""
    return {
        "data": [anthropic_model(model_id) for model_id in ANTHROPIC_MODELS],
        "has_more": False,
        "first_id": ANTHROPIC_MODELS[0],
        "last_id": ANTHROPIC_MODELS[-1],
    }
