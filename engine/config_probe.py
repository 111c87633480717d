"""How far `ongoingai.yaml` got: not loadable, loaded but invalid, or valid.

The original's operator commands word the first two differently (`failed to load config` vs
`config is invalid`, `load config:` vs `config validation failed:`), and `doctor` skips its
later checks with a different summary for each, so the distinction is made once, here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ongoingai.engine.config_load import load_config_lenient
from ongoingai.engine.schemas import SchemaSet

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from ongoingai.engine.config_load import LoadedConfig
    from ongoingai.engine.problems import Problem

__all__ = ["ConfigProbe", "probe_config"]

#: Messages of a file that could not be read or parsed at all (config_load, yaml_source).
_LOAD_MESSAGES = ("parse yaml", "read config", "multiple yaml documents", "not UTF-8 text")


@dataclass(frozen=True, slots=True)
class ConfigProbe:
    """A config read leniently, with every problem found and the stage that failed."""

    loaded: LoadedConfig | None
    problems: tuple[Problem, ...]

    @property
    def stage(self) -> Literal["valid", "load_failed", "invalid"]:
        """`load_failed` when the file cannot be read or parsed, `invalid` when it breaks rules."""
        if not self.problems and self.loaded is not None:
            return "valid"
        if self.loaded is None and any(
            p.message.startswith(_LOAD_MESSAGES) for p in self.problems[:1]
        ):
            return "load_failed"
        return "invalid"

    def detail(self) -> str:
        """Every problem as `file:line:column: /pointer: message`, joined on one line."""
        return "; ".join(p.render() for p in self.problems)


def probe_config(path: Path, environ: Mapping[str, str] | None = None) -> ConfigProbe:
    """Load the config at `path` (env overrides from `environ`, default the process's)."""
    loaded, problems = load_config_lenient(
        path, SchemaSet(), os.environ if environ is None else environ
    )
    return ConfigProbe(loaded, tuple(problems))
