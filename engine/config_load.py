"""Read `ongoingai.yaml`: file, then schema, then env overrides, then semantic checks.

All problems from every step are collected and returned together (located by file, line,
column and JSON pointer), because an operator fixing a config in CI wants the whole list at once.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

__all__ = ["ConfigInvalid", "LoadedConfig", "load_config", "load_config_lenient", "prune"]


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
    loaded, problems = load_config_lenient(path, schemas, environ)
    if problems or loaded is None:
        raise ConfigInvalid(problems)
    return loaded


def load_config_lenient(
    path: Path, schemas: SchemaSet, environ: Mapping[str, str] | None = None
) -> tuple[LoadedConfig | None, list[Problem]]:
    """Load the config and return it with every problem found.

    When parts of the file are invalid, those parts are dropped (defaults take their place) so
    the rest can still be checked: one run of `ongoingai validate` reports everything. The
    config returned alongside problems is for checking only, never for serving.
    """
    environ = os.environ if environ is None else environ
    display = str(path)
    try:
        raw = path.read_bytes()
        exists = True
    except FileNotFoundError:
        raw, exists = b"", False
    except OSError as exc:
        return None, [Problem(display, 1, 1, "", f'read config "{display}": {exc}')]
    try:
        doc = parse_yaml(display, raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return None, [Problem(display, 1, 1, "", f"not UTF-8 text: {exc}")]
    except YamlError as exc:
        return None, exc.problems
    problems = schemas.validate("config", doc, doc.data)
    data = doc.data if isinstance(doc.data, dict) else {}
    data = prune(data, [p.pointer for p in problems])
    env = apply_env_overrides(data, environ)
    problems.extend(env.problems)
    try:
        config = GatewayConfig.model_validate(env.data)
    except pydantic.ValidationError as exc:
        return None, problems + [_from_pydantic(doc, err) for err in exc.errors()]
    for pointer, message in check_config(config):
        var = env.sources.get(pointer)
        problems.append(
            Problem(f"${var}", 1, 1, pointer, message) if var else doc.problem(pointer, message)
        )
    return LoadedConfig(path, exists, raw, config, doc, env.applied), problems


def prune(data: dict[str, Any], pointers: list[str]) -> dict[str, Any]:
    """A copy of `data` without the values at `pointers` (the parts found invalid).

    A problem inside a list removes the whole list, so the indexes of the entries that remain
    never shift under later messages.
    """
    out: dict[str, Any] = copy.deepcopy(data)
    for pointer in pointers:
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
        parent: Any = out
        for depth, token in enumerate(tokens):
            if not isinstance(parent, dict) or token not in parent:
                break
            child = parent[token]
            if depth == len(tokens) - 1 or isinstance(child, list):
                del parent[token]
                break
            parent = child
        else:
            if not tokens:
                return {}
    return out


def _from_pydantic(doc: YamlDocument, err: object) -> Problem:
    """Last-resort mapping for a model error the schema did not already catch."""
    detail = err if isinstance(err, dict) else {}
    loc = detail.get("loc", ())
    pointer = "".join(f"/{part}" for part in loc)
    return doc.problem(pointer, str(detail.get("msg", "invalid value")))
