"""Policy data files: discover, parse with positions, pick the schema by `kind`, validate.

Every problem in every file is collected (file, line, column, JSON pointer) so that
`ongoingai validate` and hot reload report the whole list at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ongoingai.engine.problems import Problem
from ongoingai.engine.yaml_source import YamlDocument, YamlError, parse_yaml

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ongoingai.engine.schemas import SchemaSet

__all__ = ["KINDS", "PolicyFile", "discover", "load_policy_files", "packaged_policy_dir"]

#: Data kinds, each validated by `schemas/<kind>.schema.json`.
KINDS = ("pipeline", "provider", "pricing", "rbac", "redaction")
_SUFFIXES = (".yaml", ".yml")


def packaged_policy_dir() -> Path:
    """The default policy set shipped in the package (`ongoingai.policies`)."""
    return Path(str(files("ongoingai.policies")))


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One schema-valid data file."""

    path: Path
    raw: bytes
    document: YamlDocument
    packaged: bool

    @property
    def kind(self) -> str:
        """The file's `kind:`."""
        return str(self.document.data["kind"])

    @property
    def data(self) -> dict[str, Any]:
        """The validated data."""
        value: dict[str, Any] = self.document.data
        return value


def discover(directory: Path) -> list[Path]:
    """Every YAML file under `directory`, in a stable order."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.rglob("*") if p.suffix in _SUFFIXES and p.is_file())


def load_policy_files(
    paths: Iterable[tuple[Path, bool]], schemas: SchemaSet
) -> tuple[list[PolicyFile], list[Problem]]:
    """Parse and validate each `(path, packaged)`; return the valid files and all problems."""
    loaded: list[PolicyFile] = []
    problems: list[Problem] = []
    for path, packaged in paths:
        found = _load_one(path, packaged, schemas)
        if isinstance(found, PolicyFile):
            loaded.append(found)
        else:
            problems.extend(found)
    return loaded, problems


def _load_one(path: Path, packaged: bool, schemas: SchemaSet) -> PolicyFile | list[Problem]:
    display = str(path)
    try:
        raw = path.read_bytes()
        doc = parse_yaml(display, raw.decode("utf-8"))
    except OSError as exc:
        return [Problem(display, 1, 1, "", f"cannot read policy file: {exc.strerror or exc}")]
    except UnicodeDecodeError as exc:
        return [Problem(display, 1, 1, "", f"not UTF-8 text: {exc}")]
    except YamlError as exc:
        return exc.problems
    if not isinstance(doc.data, dict):
        return [doc.problem("", "a policy file must be a mapping starting with kind: and version:")]
    kind = doc.data.get("kind")
    if kind is None:
        return [doc.problem("", f'missing required key "kind" (one of {", ".join(KINDS)})')]
    if kind not in KINDS:
        return [doc.problem("/kind", f'unknown kind "{kind}" (known kinds: {", ".join(KINDS)})')]
    found = schemas.validate(str(kind), doc, doc.data)
    return found or PolicyFile(path, raw, doc, packaged)
