"""Meters for endpoints without a dedicated dialect: the contract's generic rules, and zero.

An unknown path (a compatible provider's own endpoint, a new API) still gets the original
gateway's best effort (contract §4.3): input and output from whichever common spelling is
present, cache and reasoning unknown. Token-counting and model-listing calls cost nothing and are
traced with zero tokens (SPEC §7.6), whatever numbers their responses contain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ongoingai.engine.providers.base import EventMeter
from ongoingai.engine.providers.jsonvalues import JsonObject, first_count, mapping, nested
from ongoingai.engine.usage import Usage

if TYPE_CHECKING:
    from ongoingai.engine.providers.sse import SseEvent

__all__ = ["GenericMeter", "NoUsageMeter"]


class GenericMeter(EventMeter):
    """Contract §4.3 on any payload: the common spellings of input and output, nothing more.

    The usage object is `usage` or `message.usage`; input is `prompt_tokens` or `input_tokens`,
    output `completion_tokens` or `output_tokens`.
    The first present key wins within one object (a present 0 included); across stream payloads
    each later positive value replaces the running one, so mixed shapes from one stream combine.
    """

    __slots__ = ("_input", "_output")

    def __init__(self) -> None:
        super().__init__()
        self._input = 0
        self._output = 0

    def _usage_object(self, obj: JsonObject, event: SseEvent | None) -> JsonObject | None:
        return mapping(obj.get("usage")) or nested(obj, "message", "usage")

    def _absorb(self, usage: JsonObject) -> None:
        found_in = first_count(usage, "prompt_tokens", "input_tokens")
        if found_in:
            self._input = found_in
        found_out = first_count(usage, "completion_tokens", "output_tokens")
        if found_out:
            self._output = found_out

    def _usage(self) -> Usage:
        return Usage(input_tokens=self._input, output_tokens=self._output, reported=self._reported)


class NoUsageMeter(EventMeter):
    """`/v1/messages/count_tokens` and `/v1/models`: zero tokens, but the model is still known.

    A count_tokens reply (`{"input_tokens": N}`) measures a prompt nobody was billed for, so it
    must not be read as usage.
    """

    __slots__ = ()

    def _usage_object(self, obj: JsonObject, event: SseEvent | None) -> JsonObject | None:
        return None

    def _absorb(self, usage: JsonObject) -> None:
        return

    def _usage(self) -> Usage:
        return Usage()
