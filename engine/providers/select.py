"""Choosing a meter from the provider's dialect and the upstream path.

The endpoint, more than the provider, decides the wire format: a compatible provider's
`/chat/completions` speaks OpenAI Chat whatever its base path (Gemini's sits under
`/v1beta/openai`), so paths are matched by their trailing segments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ongoingai.engine.providers.anthropic import MessagesMeter
from ongoingai.engine.providers.generic import GenericMeter, NoUsageMeter
from ongoingai.engine.providers.openai import (
    ChatCompletionsMeter,
    EmbeddingsMeter,
    ResponsesMeter,
)

if TYPE_CHECKING:
    from ongoingai.engine.providers.base import EventMeter, UsageMeter

__all__ = ["endpoint_of", "meter_for", "usage_injectable"]

_OPENAI: tuple[tuple[str, type[EventMeter]], ...] = (
    ("/chat/completions", ChatCompletionsMeter),
    ("/completions", ChatCompletionsMeter),
    ("/responses", ResponsesMeter),
    ("/embeddings", EmbeddingsMeter),
    ("/models", NoUsageMeter),
)
_ANTHROPIC: tuple[tuple[str, type[EventMeter]], ...] = (
    ("/messages/count_tokens", NoUsageMeter),
    ("/messages", MessagesMeter),
    ("/models", NoUsageMeter),
    # Anthropic's OpenAI SDK compatibility layer answers in the Chat Completions format.
    ("/chat/completions", ChatCompletionsMeter),
)


def endpoint_of(upstream_path: str) -> str:
    """The path without query, fragment or trailing slash; `/models/<id>` becomes `/models`.

    A model id never contains `:` or `/` in the listing API, which keeps Gemini-style
    `/models/<id>:generateContent` calls out of the zero-token bucket.
    """
    path = upstream_path.partition("?")[0].partition("#")[0].rstrip("/")
    head, _, last = path.rpartition("/")
    if head.endswith("/models") and last and ":" not in last:
        return head
    return path


def _meter_class(dialect: str, upstream_path: str) -> type[EventMeter]:
    """The first table entry whose tail ends the path; the generic meter when none does."""
    table = _ANTHROPIC if dialect == "anthropic" else _OPENAI if dialect == "openai" else ()
    path = endpoint_of(upstream_path)
    for tail, meter in table:
        if path.endswith(tail):
            return meter
    return GenericMeter


def usage_injectable(dialect: str, upstream_path: str) -> bool:
    """Whether `plan_injection` and `UsageChunkFilter` apply: OpenAI-dialect Chat Completions.

    Legacy `/v1/completions` streams take `stream_options` and end with the same `choices: []`
    usage chunk. Other dialects' compatibility layers are left alone: whether they honour
    `stream_options` is not documented well enough to rewrite a client's request for it.
    """
    return dialect == "openai" and _meter_class(dialect, upstream_path) is ChatCompletionsMeter


def meter_for(dialect: str, upstream_path: str) -> UsageMeter:
    """A fresh meter for one exchange.

    Args:
        dialect: The provider's dialect, "openai" or "anthropic"; anything else gets the
            generic meter.
        upstream_path: The request path with the provider prefix stripped, such as
            `/v1/chat/completions`.

    Returns:
        The dialect's meter for that endpoint, or the contract's generic meter.
    """
    return _meter_class(dialect, upstream_path)()
