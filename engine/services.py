"""Long-lived services injected into stages at build time (never module globals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ongoingai.engine.upstream import UpstreamPool

__all__ = ["Services"]


@dataclass(slots=True)
class Services:
    """What stages may use beyond their own config; owned by the app lifespan."""

    upstream: UpstreamPool = field(default_factory=UpstreamPool)
