"""Stream usage injection for OpenAI Chat Completions (SPEC §3, §7.7).

OpenAI streams carry token counts only when the client set `stream_options.include_usage`. The
gateway may set it on the client's behalf so the trace gets exact tokens, and must then remove
the one usage-only chunk that answer adds, so the client sees exactly the stream it asked for.
Both halves touch nothing else: the request keeps every other byte, and every other response
byte is relayed unchanged, in order, in the same call it arrived in whenever it can be.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ongoingai.engine.providers.jsonvalues import USAGE_OBJECT, loads_object
from ongoingai.engine.providers.sse import SCAN_BACK, find_boundary, parse_event

__all__ = ["UsageChunkFilter", "plan_injection"]

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()  # stateless, like json's own module-level default decoder
_INCLUDE_USAGE = '{"include_usage":true}'

_DATA = b"data:"
_CHOICES_EMPTY = re.compile(rb'"choices"\s*:\s*\[\s*\]')
_CHOICES_NOT_EMPTY = re.compile(rb'"choices"\s*:\s*\[\s*[^\]\s]')
_MAX_USAGE_EVENT = 64 * 1024
"""A usage-only chunk is a few hundred bytes; a bigger partial event is relayed, not held."""


@dataclass(frozen=True, slots=True)
class _Member:
    """One top-level member of a JSON object: its value and where that value sits in the text."""

    value: object
    start: int
    end: int


def plan_injection(request_body: bytes) -> tuple[bytes, bool]:
    """Ask upstream for stream usage when a Chat Completions stream request does not.

    The body is edited in place rather than re-serialized, so every other field keeps its exact
    bytes (number spelling, key order, whitespace, escapes): only `stream_options` is added, or
    its `include_usage` set, keeping its other keys.

    Args:
        request_body: The client's request body.

    Returns:
        The body to send upstream and whether usage was injected; the body unchanged and False
        when it is not a JSON object with `"stream": true`, or already asks for usage.
    """
    if b'"stream"' not in request_body:
        return request_body, False
    try:
        text = request_body.decode("utf-8")
    except UnicodeDecodeError:
        return request_body, False
    scanned = _top_level_members(text)
    if scanned is None:
        return request_body, False
    members, last_end = scanned
    stream = members.get("stream")
    if stream is None or stream.value is not True:
        return request_body, False
    edited = _with_include_usage(text, members.get("stream_options"), last_end)
    if edited is None:
        return request_body, False
    return edited.encode("utf-8"), True


def _with_include_usage(text: str, options: _Member | None, last_end: int) -> str | None:
    """`text` with `stream_options.include_usage` true; None when no (or no safe) edit applies."""
    if options is None:
        return f'{text[:last_end]},"stream_options":{_INCLUDE_USAGE}{text[last_end:]}'
    if options.value is None:
        return text[: options.start] + _INCLUDE_USAGE + text[options.end :]
    if not isinstance(options.value, dict) or options.value.get("include_usage") is True:
        return None
    merged = json.dumps(
        {**options.value, "include_usage": True}, ensure_ascii=False, separators=(",", ":")
    )
    return text[: options.start] + merged + text[options.end :]


def _top_level_members(text: str) -> tuple[dict[str, _Member], int] | None:
    """The members of a top-level JSON object with their value spans, and where the last ends.

    A later duplicate key replaces an earlier one, as JSON parsers (OpenAI's included) read it.
    Returns None for anything that is not exactly one valid JSON object.
    """
    pos = _skip_ws(text, 0)
    if not text.startswith("{", pos):
        return None
    members: dict[str, _Member] = {}
    pos = _skip_ws(text, pos + 1)
    last_end = pos
    while not text.startswith("}", pos):
        if members and not text.startswith(",", pos):
            return None
        if members:
            pos = _skip_ws(text, pos + 1)
        parsed = _member(text, pos)
        if parsed is None:
            return None
        key, member, pos = parsed
        members[key] = member
        last_end = member.end
    if _skip_ws(text, pos + 1) != len(text):
        return None
    return members, last_end


def _skip_ws(text: str, pos: int) -> int:
    """The first position at or after `pos` that is not JSON whitespace."""
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _member(text: str, pos: int) -> tuple[str, _Member, int] | None:
    """Parse `"key": value` at `pos`; returns the key, the value span, and the position after."""
    try:
        key, pos = _DECODER.raw_decode(text, pos)
        if not isinstance(key, str):
            return None
        pos = _skip_ws(text, pos)
        if not text.startswith(":", pos):
            return None
        start = _skip_ws(text, pos + 1)
        value, end = _DECODER.raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    after = _skip_ws(text, end)
    return key, _Member(value, start, end), after


def _is_usage_event(block: bytes) -> bool:
    """True for the usage-only chunk: `data:` holding an object with `choices: []` and a usage."""
    if _CHOICES_EMPTY.search(block) is None or USAGE_OBJECT.search(block) is None:
        return False
    event = parse_event(block)
    if event is None:
        return False
    obj = loads_object(event.data)
    return obj is not None and obj.get("choices") == [] and isinstance(obj.get("usage"), dict)


def _could_be_usage(partial: bytes) -> bool:
    """Whether an incomplete event may still turn out to be the usage-only chunk.

    Only `data: {...` can be, and not once a non-empty `choices` list has shown up; everything
    else (content deltas, `[DONE]`, comments and keep-alives) is relayed without waiting.
    """
    if len(partial) > _MAX_USAGE_EVENT:
        return False
    head = partial.lstrip(b"\r\n")
    if len(head) < len(_DATA):
        return _DATA.startswith(head)
    if not head.startswith(_DATA):
        return False
    payload = head[len(_DATA) :].lstrip(b" ")
    if payload and not payload.startswith(b"{"):
        return False
    return _CHOICES_NOT_EMPTY.search(payload) is None


class UsageChunkFilter:
    """Removes the usage-only chunk from a Chat Completions stream, relaying all else unchanged.

    Bytes of complete events go out in the call that completed them. Only a trailing partial
    event that may still be the usage chunk is held, and it goes out as soon as its end (or
    proof that it is an ordinary chunk) arrives. Other partial events are relayed at once, while
    their last few bytes are remembered to spot an event boundary split across chunks.

    Attributes:
        removed: How many usage-only events were removed (normally 0 or 1).
    """

    __slots__ = ("_pending", "_relaying", "removed")

    def __init__(self) -> None:
        # Held mode: the partial event so far. Relaying mode: its last bytes, already sent.
        self._pending = b""
        self._relaying = False
        self.removed = 0

    def feed(self, chunk: bytes) -> bytes:
        """Filter the next upstream chunk.

        Args:
            chunk: Bytes as received from upstream.

        Returns:
            The bytes to relay to the client now (possibly empty).
        """
        pending = self._pending
        buf = pending + chunk if pending else chunk
        out: list[bytes] = []
        sent = len(pending) if self._relaying else 0  # first byte not yet relayed or dropped
        start = 0  # first byte of the current event
        end_of_block, after = find_boundary(buf, max(0, len(pending) - SCAN_BACK))
        while after >= 0:
            is_relayed = start == 0 and self._relaying
            if not is_relayed and _is_usage_event(buf[start:end_of_block]):
                out.append(buf[sent:start])
                sent = after
                self.removed += 1
            start = after
            self._relaying = False
            end_of_block, after = find_boundary(buf, after)
        rest = buf[start:]
        if rest and not self._relaying and _could_be_usage(rest):
            out.append(buf[sent:start])
            self._pending = rest
        else:
            out.append(buf[sent:])
            self._relaying = bool(rest)
            self._pending = rest[-SCAN_BACK:]
        return b"".join(out)

    def flush(self) -> bytes:
        """At stream end, release a held partial event (dropped if it is the usage chunk)."""
        held = b"" if self._relaying else self._pending
        self._pending = b""
        self._relaying = False
        if held and _is_usage_event(held):
            self.removed += 1
            return b""
        return held
