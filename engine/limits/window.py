"""One-minute sliding request windows kept in process memory (one gateway process).

A window holds the admission times of the last minute per scope (a gateway key or a
workspace). A request is refused when a scope already holds `limit` admissions in the last
60 s, with `Retry-After` = ceil(oldest + 60 s - now), at least 1 (contract §7.1).

Unlike the original, every scope of one request is checked before any is recorded: a request
the workspace window refuses does not use up a slot of its key's window.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .verdicts import Refusal

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["SWEEP_EVERY_S", "WINDOW_S", "MemoryWindow", "WindowCheck", "WindowStore"]

#: Length of a rate window: limits are requests per minute.
WINDOW_S = 60.0
#: Scopes that went quiet are forgotten at most this often (contract: every 2 minutes).
SWEEP_EVERY_S = 120.0


@dataclass(frozen=True, slots=True)
class WindowCheck:
    """One window a request must fit in, and what the refusal says when it does not."""

    scope: str
    limit: int
    code: str
    message: str


class WindowStore(Protocol):
    """Where windows live: this process (`MemoryWindow`) or the shared database."""

    async def admit(self, checks: Sequence[WindowCheck]) -> Refusal | None:
        """Record the request in every window, or refuse it (then nothing is recorded).

        Raises:
            LimitStoreUnavailable: the windows could not be read.
        """
        ...


def retry_after(oldest: float, now: float) -> int:
    """Seconds until the oldest admission leaves the window, at least 1."""
    return max(1, math.ceil(oldest + WINDOW_S - now))


class MemoryWindow:
    """Sliding windows in memory: exact for one process, free of any I/O.

    Each scope keeps at most `limit` admission times (a refused request adds none), so memory
    is bounded by the number of active keys and workspaces times their limits.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._swept_at = clock()

    @property
    def scope_count(self) -> int:
        """How many scopes hold state (swept ones are gone)."""
        return len(self._hits)

    async def admit(self, checks: Sequence[WindowCheck]) -> Refusal | None:
        """See `WindowStore.admit`; never suspends, so check-then-record is atomic."""
        return self.admit_now(checks)

    def admit_now(self, checks: Sequence[WindowCheck]) -> Refusal | None:
        """The synchronous core of `admit`."""
        now = self._clock()
        self._sweep(now)
        for check in checks:
            hits = self._hits.get(check.scope)
            if hits is None:
                continue
            _prune(hits, now)
            if len(hits) >= check.limit:
                return Refusal(check.code, check.message, retry_after(hits[0], now))
        for check in checks:
            self._hits.setdefault(check.scope, deque()).append(now)
        return None

    def _sweep(self, now: float) -> None:
        """Forget scopes with no admission in the last minute (keys that stopped sending)."""
        if now - self._swept_at < SWEEP_EVERY_S:
            return
        self._swept_at = now
        horizon = now - WINDOW_S
        stale = [scope for scope, hits in self._hits.items() if not hits or hits[-1] <= horizon]
        for scope in stale:
            del self._hits[scope]


def _prune(hits: deque[float], now: float) -> None:
    """Drop admissions older than the window (a request exactly 60 s old no longer counts)."""
    horizon = now - WINDOW_S
    while hits and hits[0] <= horizon:
        hits.popleft()
