"""Read `ongoingai.yaml`: file, then schema, then env overrides, then semantic checks.

All problems from every step are collected and returned together (located by file, line,
column and JSON pointer), because an operator fixing a config in CI wants the whole list at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pydantic

from ongoingai.engine.config import GatewayConfig
from ongoingai.engine.config_checks import check_config
from ongoingai.engine.env_overrides import apply_env_overrides
from ongoingai.engine.problems import Problem
from ongoingai.engine.yaml_source import YamlDocument, YamlError, parse_yaml

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from ongoingai.engine.schemas import SchemaSet

__all__ = ["ConfigInvalid", "LoadedConfig", "load_config"]


class ConfigInvalid(Exception):
    """`ongoingai.yaml` (or the environment) has problems; all of them are attached."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} configuration problem(s)")
        self.problems = problems


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    """A valid configuration and what it was built from (for revisions and diagnostics)."""

    path: Path
    exists: bool
    raw: bytes
    config: GatewayConfig
    document: YamlDocument
    env_applied: tuple[tuple[str, str], ...]

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in the file (e.g. `policies:`) are relative to."""
        return self.path.resolve().parent


def load_config(
    path: Path, schemas: SchemaSet, environ: Mapping[str, str] | None = None
) -> LoadedConfig:
    """Load and validate the config at `path`; a missing file means all defaults.

    Raises:
        ConfigInvalid: with every problem found.
    """
    environ = os.environ if environ is None else environ
    display = str(path)
    try:
        raw = path.read_bytes()
        exists = True
    except FileNotFoundError:
        raw, exists = b"", False
    except OSError as exc:
        raise ConfigInvalid(
            [Problem(display, 1, 1, "", f'read config "{display}": {exc}')]
        ) from None
    try:
        doc = parse_yaml(display, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigInvalid([Problem(display, 1, 1, "", f"not UTF-8 text: {exc}")]) from None
    except YamlError as exc:
        raise ConfigInvalid(exc.problems) from None
    problems = schemas.validate("config", doc, doc.data)
    data = doc.data if isinstance(doc.data, dict) else {}
    env = apply_env_overrides(data, environ)
    problems.extend(env.problems)
    if problems:
        raise ConfigInvalid(problems)
    try:
        config = GatewayConfig.model_validate(env.data)
    except pydantic.ValidationError as exc:
        raise ConfigInvalid([_from_pydantic(doc, err) for err in exc.errors()]) from None
    for pointer, message in check_config(config):
        var = env.sources.get(pointer)
        problems.append(
            Problem(f"${var}", 1, 1, pointer, message) if var else doc.problem(pointer, message)
        )
    if problems:
        raise ConfigInvalid(problems)
    return LoadedConfig(path, exists, raw, config, doc, env.applied)


def _from_pydantic(doc: YamlDocument, err: object) -> Problem:
    """Last-resort mapping for a model error the schema did not already catch."""
    detail = err if isinstance(err, dict) else {}
    loc = detail.get("loc", ())
    pointer = "".join(f"/{part}" for part in loc)
    return doc.problem(pointer, str(detail.get("msg", "invalid value")))
