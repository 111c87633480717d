"""Long-lived services injected into stages at build time (never module globals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ongoingai.engine.upstream import UpstreamPool

if TYPE_CHECKING:
    from ongoingai.engine.auth.directory import KeyDirectory
    from ongoingai.engine.limits import Limiter
    from ongoingai.engine.persistence import Persistence
    from ongoingai.engine.storage import TraceWriter
    from ongoingai.engine.telemetry.setup import Telemetry

__all__ = ["Services"]


@dataclass(slots=True)
class Services:
    """What stages may use beyond their own config; owned by the app lifespan.

    `persistence` is None until the lifespan opens storage (and stays None for `validate`).
    """

    upstream: UpstreamPool = field(default_factory=UpstreamPool)
    persistence: Persistence | None = None
    keys: KeyDirectory | None = None  # stored gateway keys, opened with storage
    # Rate windows and daily ledgers: created by the `limit` stage on first use, kept here so
    # they outlive the stage instances a hot reload replaces.
    limiter: Limiter | None = None
    # OpenTelemetry providers and metrics sinks; None when `observability.otel` is off.
    telemetry: Telemetry | None = None

    @property
    def trace_writer(self) -> TraceWriter | None:
        """The asynchronous trace writer, when storage is open."""
        return self.persistence.writer if self.persistence is not None else None
