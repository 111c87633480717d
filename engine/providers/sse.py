"""Incremental Server-Sent Events splitting over the byte chunks an upstream happens to send.

Upstreams cut their streams wherever their TCP writes fall: one chunk may hold several events, and
one event may span several chunks. Meters and the usage-chunk filter need whole events, so this
module reassembles them without ever holding more than the one event still in flight, and gives
up on (and counts) an event that grows past a limit instead of buffering a runaway stream.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "SseEvent", "SseSplitter", "find_boundary", "parse_event"]

DEFAULT_MAX_EVENT_BYTES = 1024 * 1024
"""A partial event larger than this is dropped: no provider sends usage in a 1 MiB event."""

SCAN_BACK = 3
"""A boundary is at most 4 bytes, so a new chunk can complete one starting 3 bytes earlier."""


class SseEvent(NamedTuple):
    """One dispatched event: its `event:` name (None when absent) and its joined `data:` lines.

    `data` stays bytes because `json.loads` takes bytes and substring checks on bytes are what
    keep the hot path from decoding payloads that cannot matter. A named tuple, not a frozen
    dataclass, because one is built per event and tuples are several times cheaper to build.
    """

    event: str | None
    data: bytes


def find_boundary(data: bytes | bytearray, pos: int) -> tuple[int, int]:
    r"""Where the first blank line ending an event at or after `pos` lies: `(start, end)`.

    Returns `(-1, -1)` when there is none yet.

    A boundary is `\n\n`, `\r\n\r\n` or a mix (the regex `\r?\n\r?\n`, leftmost match). It
    is found by jumping from newline to newline with `bytes.find`: a regex without a literal
    prefix tries every byte position and costs several times more on typical chunks.
    """
    while True:
        newline = data.find(b"\n", pos)
        if newline < 0:
            return -1, -1
        after = newline + 1
        if data[after : after + 1] == b"\n":
            end = after + 1
        elif data[after : after + 2] == b"\r\n":
            end = after + 2
        else:
            pos = after
            continue
        start = newline - 1 if newline > 0 and data[newline - 1] == 0x0D else newline
        return start, end


def parse_event(block: bytes) -> SseEvent | None:
    r"""Parse the lines of one event (without its trailing blank line).

    Comments (`:` lines) and fields other than `event` and `data` are ignored; several `data:`
    lines are joined with `\n` as the SSE standard says. A block without data dispatches nothing,
    as in a browser's EventSource.

    Args:
        block: The bytes of the event, lines separated by `\n` or `\r\n`.

    Returns:
        The event, or None when the block carries no `data:` line.
    """
    if block.startswith(b"data: ") and b"\n" not in block:
        return SseEvent(None, block[6:])  # the common one-line event, without the general walk
    name: str | None = None
    data: list[bytes] = []
    for raw in block.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if not line or line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            name = value.decode("utf-8", "replace")
    if not data:
        return None
    return SseEvent(name, data[0] if len(data) == 1 else b"\n".join(data))


class SseSplitter:
    """Turns arbitrary byte chunks into complete events, holding back only the partial tail.

    Attributes:
        dropped: How many oversized partial events were discarded.
    """

    __slots__ = ("_buf", "_discarding", "_limit", "_scan", "dropped")

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        self._buf = bytearray()
        self._scan = 0
        self._limit = max_event_bytes
        self._discarding = False
        self.dropped = 0

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Add the next chunk and return the events it completed, in stream order.

        Args:
            chunk: The bytes as received from upstream.

        Returns:
            Every event whose terminating blank line arrived with this chunk.
        """
        buf = self._buf
        # Scan the chunk itself when nothing is pending (the usual case): no copy at all.
        if buf:
            buf += chunk
        data = buf if buf else chunk
        events: list[SseEvent] = []
        start = 0
        end_of_block, after = find_boundary(data, self._scan)
        while after >= 0:
            if self._discarding:
                self._discarding = False
            else:
                event = parse_event(bytes(data[start:end_of_block]))
                if event is not None:
                    events.append(event)
            start = after
            end_of_block, after = find_boundary(data, after)
        if data is buf:
            del buf[:start]
        elif start < len(chunk):
            buf += chunk[start:]
        if buf:
            self._bound_tail()
        else:
            self._scan = 0
        return events

    def _bound_tail(self) -> None:
        """Drop an oversized partial event, keeping only enough bytes to see its end arrive."""
        buf = self._buf
        if not self._discarding and len(buf) > self._limit:
            self._discarding = True
            self.dropped += 1
        if self._discarding:
            del buf[:-SCAN_BACK]
        self._scan = max(0, len(buf) - SCAN_BACK)
