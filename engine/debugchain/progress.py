"""A progress line on stderr for long chain reads, only when a person is watching.

Reading 500 traces with their bodies from a remote PostgreSQL can take a while; a terminal
user should see that it is moving. Scripts and CI capture stderr, where a stream of
carriage-return updates would be noise, so nothing is written unless stderr is a terminal,
and nothing for reads that finish before the first update is due.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import TextIO

__all__ = ["Progress"]

_DELAY_S = 0.3


class Progress:
    """`update(n)` shows `reading debug chain: n traces`; `done()` clears the line."""

    def __init__(
        self, stream: TextIO, *, enabled: bool | None = None, delay_s: float = _DELAY_S
    ) -> None:
        self._stream = stream
        self._enabled = _is_terminal(stream) if enabled is None else enabled
        self._delay_s = delay_s
        self._started = time.monotonic()
        self._shown = False

    def update(self, count: int) -> None:
        """Report the running count (throttled: not before the read has taken a moment)."""
        if not self._enabled or time.monotonic() - self._started < self._delay_s:
            return
        self._stream.write(f"\rreading debug chain: {count} traces")
        self._stream.flush()
        self._shown = True

    def done(self) -> None:
        """Erase the progress line, if one was drawn, so later output starts clean."""
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._shown = False


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):  # closed or detached
        return False
