"""The packaged JSON Schemas, loaded once, and validation that reports every problem.

Schemas live in `ongoingai.schemas` (the repository's `schemas/`), one per data kind plus one per
built-in stage's `with:` block (`stages/<type>.schema.json`) and one for `ongoingai.yaml`.
Cross-file `$ref`s resolve through a `referencing.Registry` keyed by each schema's `$id`.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import referencing

from ongoingai.engine.problems import Problem, join_pointer

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from jsonschema.exceptions import ValidationError

    from ongoingai.engine.yaml_source import YamlDocument

__all__ = ["SchemaSet", "schema_dir"]

_SUFFIX = ".schema.json"


def schema_dir() -> Path:
    """Directory holding the packaged schemas (package data, a real directory once installed)."""
    return Path(str(files("ongoingai.schemas")))


@dataclass(frozen=True, slots=True)
class _Located:
    pointer: str
    message: str


class SchemaSet:
    """All packaged schemas by name (`config`, `pipeline`, `stages/route`, ...)."""

    def __init__(self, root: Path | None = None) -> None:
        root = root or schema_dir()
        self._schemas: dict[str, dict[str, Any]] = {}
        for path in sorted(root.rglob("*" + _SUFFIX)):
            name = path.relative_to(root).as_posix()[: -len(_SUFFIX)]
            self._schemas[name] = json.loads(path.read_text(encoding="utf-8"))
        resources = [
            (s["$id"], referencing.Resource.from_contents(s))
            for s in self._schemas.values()
            if "$id" in s
        ]
        registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources)
        self._validators = {
            name: jsonschema.Draft202012Validator(
                schema, registry=registry, format_checker=jsonschema.FormatChecker()
            )
            for name, schema in self._schemas.items()
        }

    @property
    def names(self) -> tuple[str, ...]:
        """Every schema name, sorted."""
        return tuple(sorted(self._schemas))

    def schema(self, name: str) -> dict[str, Any]:
        """The raw schema document called `name`."""
        return self._schemas[name]

    def has(self, name: str) -> bool:
        """Whether a schema called `name` is packaged."""
        return name in self._schemas

    def validate(
        self, name: str, doc: YamlDocument, instance: Any, base: str = ""
    ) -> list[Problem]:
        """Validate `instance` and return all problems, sorted by position.

        `base` is the JSON pointer of `instance` inside `doc`, so positions and pointers point
        into the file the operator edits.
        """
        validator = self._validators[name]
        found = {
            (item.pointer, item.message)
            for error in validator.iter_errors(instance)
            for item in _explain(error, base)
        }
        problems = [doc.problem(pointer, message) for pointer, message in found]
        return sorted(problems, key=lambda p: (p.line, p.column, p.pointer, p.message))


def _explain(error: ValidationError, base: str) -> Iterator[_Located]:
    """Turn one jsonschema error into messages that point at the offending key itself."""
    pointer = join_pointer(base, *error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    expected: Any = error.validator_value
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(schema.get("properties", {}))
        for key in _extra_keys(error.instance, schema):
            yield _Located(join_pointer(pointer, key), _unknown_key(key, allowed))
        return
    if error.validator == "required" and isinstance(error.instance, dict):
        for key in expected:
            if key not in error.instance:
                yield _Located(pointer, f'missing required key "{key}"')
        return
    if error.validator in ("oneOf", "anyOf") and error.context:
        yield from _explain_branches(error, base)
        return
    if error.validator == "enum":
        choices = ", ".join(json.dumps(c) for c in expected)
        yield _Located(pointer, f"must be one of {choices} (got {json.dumps(error.instance)})")
        return
    if error.validator == "type":
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        got = json.dumps(error.instance, default=str)
        yield _Located(pointer, f"expected {expected}, got {_json_type(error.instance)} {got}")
        return
    if error.validator == "pattern" and "description" in schema:
        got = json.dumps(error.instance)
        yield _Located(
            pointer, f"{got} is not valid: expected {_lower_first(schema['description'])}"
        )
        return
    yield _Located(pointer, error.message)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _explain_branches(error: ValidationError, base: str) -> Iterator[_Located]:
    """For a failed oneOf/anyOf, report the branch meant for this kind of value.

    A branch whose errors include a type mismatch at the value itself was not meant for it;
    the first remaining branch explains the problem. If every branch is a type mismatch the
    value has the wrong shape altogether.
    """
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(int(sub.schema_path[0]), []).append(sub)
    for subs in branches.values():
        if not any(s.validator == "type" and not s.relative_path for s in subs):
            for sub in subs:
                yield from _explain(sub, base)
            return
    branch_schemas: Any = error.validator_value
    shapes = sorted({_schema_shape(s) for s in branch_schemas})
    pointer = join_pointer(base, *error.absolute_path)
    got = _json_type(error.instance)
    yield _Located(pointer, f"expected {' or '.join(shapes)}, got {got}")


def _schema_shape(schema: Any) -> str:
    if isinstance(schema, dict) and "type" in schema:
        t = schema["type"]
        return " or ".join(t) if isinstance(t, list) else str(t)
    return "a valid value"


def _extra_keys(instance: dict[str, Any], schema: dict[str, Any]) -> Iterable[str]:
    props = schema.get("properties", {})
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    return [k for k in instance if k not in props and not any(p.search(k) for p in patterns)]


def _unknown_key(key: str, allowed: list[str]) -> str:
    message = f"field {key} not found (unknown key)"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f'{message}; did you mean "{close[0]}"?'
    if allowed:
        return f"{message}; allowed keys: {', '.join(sorted(allowed))}"
    return message


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
