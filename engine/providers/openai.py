"""OpenAI usage dialects: Chat Completions, the Responses API and embeddings.

All three share one usage vocabulary, only spelt two ways (Chat's `prompt_tokens` family and
Responses' `input_tokens` family), so one normalizer reads both; the meters differ in where the
usage object travels. OpenAI's `prompt_tokens` already includes cached tokens, so it is the
normalized input as is (SPEC §7.5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ongoingai.engine.providers.base import EventMeter
from ongoingai.engine.providers.jsonvalues import (
    JsonObject,
    count,
    first_count,
    loads_object,
    mapping,
    nested,
    tail_value,
)
from ongoingai.engine.usage import Usage

if TYPE_CHECKING:
    from ongoingai.engine.providers.sse import SseEvent

__all__ = ["ChatCompletionsMeter", "EmbeddingsMeter", "ResponsesMeter", "openai_usage"]

_RESPONSE_DONE = frozenset({"response.completed", "response.incomplete", "response.failed"})


def openai_usage(usage: JsonObject) -> Usage:
    """Normalize an OpenAI usage object of either spelling.

    `prompt_tokens_details.cache_write_tokens` is not sent by OpenAI itself, but some compatible
    providers send it; DeepSeek reports cache hits as `prompt_cache_hit_tokens` instead of the
    details object. Both are read so those providers' caches are priced at their own rates.
    """
    prompt = mapping(usage.get("prompt_tokens_details")) or mapping(
        usage.get("input_tokens_details")
    )
    completion = mapping(usage.get("completion_tokens_details")) or mapping(
        usage.get("output_tokens_details")
    )
    cache_read = count(prompt, "cached_tokens")
    if cache_read is None:
        cache_read = count(usage, "prompt_cache_hit_tokens")
    return Usage(
        input_tokens=first_count(usage, "prompt_tokens", "input_tokens") or 0,
        output_tokens=first_count(usage, "completion_tokens", "output_tokens") or 0,
        cache_read_input_tokens=cache_read or 0,
        cache_write_input_tokens=count(prompt, "cache_write_tokens") or 0,
        reasoning_tokens=count(completion, "reasoning_tokens") or 0,
        reported=True,
    )


class ChatCompletionsMeter(EventMeter):
    """`/v1/chat/completions` (and legacy `/v1/completions`).

    A stream carries usage only in its final `choices: []` chunk, and only when
    `stream_options.include_usage` was set; the other chunks say `"usage": null` and are skipped
    unparsed. A later usage object replaces an earlier one, which is right for the compatible
    servers that repeat cumulative usage on every chunk.
    """

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        super().__init__()
        self._counts = Usage()

    def _absorb(self, usage: JsonObject) -> None:
        self._counts = openai_usage(usage)

    def _usage(self) -> Usage:
        return self._counts


class ResponsesMeter(ChatCompletionsMeter):
    """`/v1/responses`: usage sits in `response.usage` of the terminal stream event.

    `response.created` and `response.in_progress` carry `"usage": null`; `response.completed`,
    `response.incomplete` and `response.failed` carry the final counts.
    """

    __slots__ = ()

    def _usage_object(self, obj: JsonObject, event: SseEvent | None) -> JsonObject | None:
        if event is None:
            return mapping(obj.get("usage"))
        kind = obj.get("type")
        if not isinstance(kind, str):
            kind = event.event
        if kind not in _RESPONSE_DONE:
            return None
        return nested(obj, "response", "usage")


class EmbeddingsMeter(ChatCompletionsMeter):
    """`/v1/embeddings`: `usage.prompt_tokens` is the input; there is no output.

    The body is megabytes of floats followed by `model` and `usage`, so only those two trailing
    values are decoded (a body cut short before them yields no usage, like any truncated JSON).
    """

    __slots__ = ()

    def _parse(self, payload: bytes, event: SseEvent | None) -> JsonObject | None:
        if event is not None:
            return loads_object(payload)
        # Only the end is looked at: stripping a multi-megabyte body would copy all of it.
        if not payload[-256:].rstrip().endswith(b"}"):
            return None
        parsed: JsonObject = {}
        for key in ("model", "usage"):
            value = tail_value(payload, key)
            if value is not None:
                parsed[key] = value
        return parsed
