"""Built-in pipeline stages, named for the registry as lazy import strings."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["BUILTIN_STAGES", "PLANNED_STAGES"]

#: Stage type name → "module:Class". The engine resolves these lazily (see engine.registry).
BUILTIN_STAGES: Mapping[str, str] = MappingProxyType(
    {
        "authenticate": "ongoingai.stages.authenticate:Authenticate",
        "authorize": "ongoingai.stages.authorize:Authorize",
        "limit": "ongoingai.stages.limit:Limit",
        "route": "ongoingai.stages.route:Route",
        "forward": "ongoingai.stages.forward:Forward",
        "meter": "ongoingai.stages.meter:Meter",
        "capture": "ongoingai.stages.capture:Capture",
        "record": "ongoingai.stages.record:Record",
        "redact": "ongoingai.stages.redact:Redact",
    }
)

#: Stage types of the full pipeline that later releases add; naming one today is a clear error.
PLANNED_STAGES: frozenset[str] = frozenset()
