"""Stage type names → stage classes, resolved lazily and failing loudly.

Built-ins are `"module:Class"` import strings (uvicorn's `import_from_string` shape), so the
engine never imports `stages` at module level. Names that are planned but not shipped yet get a
message saying so instead of a confusing "unknown".
"""

from __future__ import annotations

import difflib
import importlib
from typing import TYPE_CHECKING, Any

from ongoingai.engine.errors import UnknownStageType

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["StageRegistry", "builtin_registry"]


class StageRegistry:
    """Maps stage type names to factories (classes taking `(config, services)`)."""

    def __init__(
        self, builtins: Mapping[str, str] | None = None, planned: frozenset[str] = frozenset()
    ) -> None:
        self._strings: dict[str, str] = dict(builtins or {})
        self._resolved: dict[str, type[Any]] = {}
        self._planned = planned

    @property
    def names(self) -> tuple[str, ...]:
        """Every registered type name, sorted."""
        return tuple(sorted({*self._strings, *self._resolved}))

    def register(self, name: str, factory: type[Any], *, replace: bool = False) -> None:
        """Add a stage type; a duplicate name raises unless `replace` is set."""
        if not replace and (name in self._strings or name in self._resolved):
            raise ValueError(f'stage type "{name}" is already registered')
        self._strings.pop(name, None)
        self._resolved[name] = factory

    def resolve(self, name: str) -> type[Any]:
        """The stage class for `name`.

        Raises:
            UnknownStageType: with the known names and the closest match.
        """
        found = self._resolved.get(name)
        if found is not None:
            return found
        target = self._strings.get(name)
        if target is None:
            raise UnknownStageType(self._unknown_message(name))
        cls = _import_from_string(target)
        self._resolved[name] = cls
        return cls

    def _unknown_message(self, name: str) -> str:
        known = ", ".join(self.names)
        if name in self._planned:
            return (
                f'stage type "{name}" is not available in this version yet; '
                f"available stage types: {known}"
            )
        close = difflib.get_close_matches(name, [*self.names, *self._planned], n=1)
        hint = f'; did you mean "{close[0]}"?' if close else ""
        return f'unknown stage type "{name}" (known stage types: {known}){hint}'


def _import_from_string(target: str) -> type[Any]:
    """Import `"package.module:Class"` with precise errors (never a bare traceback)."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise UnknownStageType(f'import string "{target}" must be in format "<module>:<attribute>"')
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UnknownStageType(f'could not import module "{module_name}"') from None
    try:
        value = getattr(module, attr)
    except AttributeError:
        raise UnknownStageType(f'attribute "{attr}" not found in module "{module_name}"') from None
    if not isinstance(value, type):
        raise UnknownStageType(f'"{target}" is not a class')
    return value


def builtin_registry() -> StageRegistry:
    """A registry of the built-in stages declared in `ongoingai.stages.BUILTIN_STAGES`."""
    stages = importlib.import_module("ongoingai.stages")
    return StageRegistry(stages.BUILTIN_STAGES, frozenset(stages.PLANNED_STAGES))
