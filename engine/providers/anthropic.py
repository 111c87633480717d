"""Anthropic Messages usage: cache counts kept apart, then folded into the prompt total.

Anthropic's `input_tokens` counts only the uncached part of the prompt; cache reads and cache
writes are reported beside it. The gateway's `input_tokens` is every prompt token (SPEC §7.5), so
the three are summed, while the cache counts stay visible as subsets for pricing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ongoingai.engine.providers.base import EventMeter
from ongoingai.engine.providers.jsonvalues import JsonObject, count, first_count, mapping, nested
from ongoingai.engine.usage import Usage

if TYPE_CHECKING:
    from ongoingai.engine.providers.sse import SseEvent

__all__ = ["MessagesMeter"]

_FIELDS = (
    ("input", "input_tokens"),
    ("cache_read", "cache_read_input_tokens"),
    ("cache_write", "cache_creation_input_tokens"),
    ("output", "output_tokens"),
)


class MessagesMeter(EventMeter):
    """`/v1/messages`, non-streaming and streaming.

    A stream reports usage twice: `message_start` (`message.usage`: input and cache counts, an
    early output count) and `message_delta` (`usage`: the cumulative output, and in newer API
    versions cumulative input and cache counts too). Each count present in a later object
    replaces the earlier one; absent counts keep theirs.
    """

    __slots__ = ("_raw",)

    def __init__(self) -> None:
        super().__init__()
        self._raw = {"input": 0, "cache_read": 0, "cache_write": 0, "output": 0, "reasoning": 0}

    def _usage_object(self, obj: JsonObject, event: SseEvent | None) -> JsonObject | None:
        return mapping(obj.get("usage")) or nested(obj, "message", "usage")

    def _absorb(self, usage: JsonObject) -> None:
        raw = self._raw
        for name, key in _FIELDS:
            value = count(usage, key)
            if value is not None:
                raw[name] = value
        # Anthropic sends no separate thinking count today; read one if a version ever does.
        reasoning = first_count(
            mapping(usage.get("output_tokens_details")), "thinking_tokens", "reasoning_tokens"
        )
        if reasoning is not None:
            raw["reasoning"] = reasoning

    def _usage(self) -> Usage:
        raw = self._raw
        return Usage(
            input_tokens=raw["input"] + raw["cache_read"] + raw["cache_write"],
            output_tokens=raw["output"],
            cache_read_input_tokens=raw["cache_read"],
            cache_write_input_tokens=raw["cache_write"],
            reasoning_tokens=raw["reasoning"],
            reported=self._reported,
        )
