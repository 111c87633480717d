"""Long-lived services injected into stages at build time (never module globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ongoingai.engine.upstream import UpstreamPool

if TYPE_CHECKING:
    from ongoingai.engine.persistence import Persistence
    from ongoingai.engine.storage import TraceWriter

__all__ = ["Services"]


@dataclass(slots=True)
class Services:
    """What stages may use beyond their own config; owned by the app lifespan.

    `persistence` is None until the lifespan opens storage (and stays None for `validate`).
    """

    upstream: UpstreamPool = field(default_factory=UpstreamPool)
    persistence: Persistence | None = None

    @property
    def trace_writer(self) -> TraceWriter | None:
        """The asynchronous trace writer, when storage is open."""
        return self.persistence.writer if self.persistence is not None else None
