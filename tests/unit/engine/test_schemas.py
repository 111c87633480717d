"""Contract: packaged schemas are valid, every shipped data file validates, defaults agree."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import referencing
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from ongoingai.engine.config import GatewayConfig
from ongoingai.engine.config_load import load_config
from ongoingai.engine.policy_files import KINDS, discover, load_policy_files, packaged_policy_dir
from ongoingai.engine.registry import builtin_registry
from ongoingai.engine.schemas import SchemaSet, schema_dir
from ongoingai.engine.services import Services
from ongoingai.engine.snapshot_build import BuildInputs, build_snapshot
from ongoingai.stages import BUILTIN_STAGES, PLANNED_STAGES

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
SCHEMA_FILES = sorted(schema_dir().rglob("*.schema.json"))
PACKAGED_FILES = discover(packaged_policy_dir())
EXAMPLE_DIRS = sorted(p for p in EXAMPLES.iterdir() if p.is_dir()) if EXAMPLES.is_dir() else []
EXAMPLE_CONFIGS = [d / "ongoingai.yaml" for d in EXAMPLE_DIRS if (d / "ongoingai.yaml").is_file()]
EXAMPLE_DATA = [p for p in discover(EXAMPLES) if p.name not in ("ongoingai.yaml", "ongoingai.yml")]
SCHEMAS = SchemaSet()


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


# --- schemas ----------------------------------------------------------------------------------


def test_the_schema_set_holds_every_packaged_schema_file() -> None:
    root = schema_dir()
    names = {_rel(p, root).removesuffix(".schema.json") for p in SCHEMA_FILES}

    assert set(SCHEMAS.names) == names
    assert {"config", "common", *KINDS} <= names


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: _rel(p, schema_dir()))
def test_every_packaged_schema_is_a_valid_draft_2020_12_schema(path: Path) -> None:
    schema = _load_json(path)

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/" + _rel(path, schema_dir()))


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: _rel(p, schema_dir()))
def test_every_ref_in_a_packaged_schema_resolves(path: Path) -> None:
    resources = [
        (s["$id"], referencing.Resource.from_contents(s))
        for s in (_load_json(p) for p in SCHEMA_FILES)
    ]
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(resources)
    schema = _load_json(path)
    resolver = registry.resolver(base_uri=schema["$id"])

    for ref in _refs(schema):
        assert resolver.lookup(ref).contents is not None, ref


def test_every_builtin_stage_has_a_with_schema_and_every_stage_schema_names_a_stage() -> None:
    stage_schemas = {n.removeprefix("stages/") for n in SCHEMAS.names if n.startswith("stages/")}

    assert set(BUILTIN_STAGES) <= stage_schemas
    assert stage_schemas <= set(BUILTIN_STAGES) | set(PLANNED_STAGES)


# --- shipped data files -----------------------------------------------------------------------


def test_the_packaged_policy_set_covers_every_data_kind() -> None:
    files, problems = load_policy_files([(p, True) for p in PACKAGED_FILES], SCHEMAS)

    assert problems == []
    assert {f.kind for f in files} == set(KINDS)


@pytest.mark.parametrize("path", PACKAGED_FILES, ids=lambda p: _rel(p, packaged_policy_dir()))
def test_every_packaged_policy_file_validates(path: Path) -> None:
    files, problems = load_policy_files([(path, True)], SCHEMAS)

    assert [p.render() for p in problems] == []
    assert [f.path for f in files] == [path]
    assert files[0].kind in KINDS


def test_there_are_examples_to_check() -> None:
    assert EXAMPLE_DIRS, "examples/ must hold at least one runnable example"
    assert all((d / "README.md").is_file() for d in EXAMPLE_DIRS)


@pytest.mark.parametrize("path", EXAMPLE_DATA, ids=lambda p: _rel(p, EXAMPLES))
def test_every_example_policy_file_validates(path: Path) -> None:
    files, problems = load_policy_files([(path, False)], SCHEMAS)

    assert [p.render() for p in problems] == []
    assert [f.path for f in files] == [path]


@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=lambda p: _rel(p, EXAMPLES))
def test_every_example_config_validates(path: Path) -> None:
    loaded = load_config(path, SCHEMAS, environ={})

    assert loaded.exists


@pytest.mark.parametrize("path", EXAMPLE_CONFIGS, ids=lambda p: _rel(p.parent, EXAMPLES))
def test_every_example_builds_a_complete_snapshot(path: Path) -> None:
    inputs = BuildInputs(SCHEMAS, builtin_registry(), Services(), {})

    snapshot = build_snapshot(path, inputs)

    assert snapshot.pipeline.stages
    assert len(snapshot.providers) >= 1


def test_every_example_yaml_file_is_checked_by_some_test() -> None:
    checked = set(EXAMPLE_DATA) | set(EXAMPLE_CONFIGS)

    assert set(discover(EXAMPLES)) == checked


# --- defaults agree between the config schema and the typed config ----------------------------


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        return dict(target)
    return node


def _walk(
    schema: dict[str, Any], node: dict[str, Any], value: Any, pointer: str
) -> list[tuple[str, Any, Any]]:
    """(pointer, schema default, model value) for every schema key with a default."""
    node = _resolve(schema, node)
    found = [(pointer, node["default"], value)] if "default" in node else []
    if isinstance(value, dict):
        for key, sub in node.get("properties", {}).items():
            if key in value:
                found += _walk(schema, sub, value[key], f"{pointer}/{key}")
    return found


def _defaults() -> list[tuple[str, Any, Any]]:
    schema = SCHEMAS.schema("config")
    return _walk(schema, schema, GatewayConfig().model_dump(), "")


def test_the_config_schema_declares_defaults() -> None:
    assert len(_defaults()) >= 30


@pytest.mark.parametrize(
    ("pointer", "schema_default", "model_default"), _defaults(), ids=[d[0] for d in _defaults()]
)
def test_the_config_schema_default_equals_the_typed_default(
    pointer: str, schema_default: Any, model_default: Any
) -> None:
    assert schema_default == model_default
    # `True == 1` in Python: a boolean default must be a boolean on both sides.
    assert isinstance(schema_default, bool) is isinstance(model_default, bool)


def _key_sets(
    schema: dict[str, Any], node: dict[str, Any], value: Any, pointer: str
) -> list[tuple[str, set[str], set[str]]]:
    node = _resolve(schema, node)
    props = node.get("properties")
    if not isinstance(value, dict) or not isinstance(props, dict):
        return []
    found = [(pointer or "/", set(props), set(value))]
    for key, sub in props.items():
        if key in value:
            found += _key_sets(schema, sub, value[key], f"{pointer}/{key}")
    return found


@pytest.mark.parametrize(
    ("pointer", "schema_keys", "model_keys"),
    _key_sets(SCHEMAS.schema("config"), SCHEMAS.schema("config"), GatewayConfig().model_dump(), ""),
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_the_config_schema_and_the_typed_config_accept_the_same_keys(
    pointer: str, schema_keys: set[str], model_keys: set[str]
) -> None:
    assert schema_keys == model_keys


@pytest.mark.parametrize("name", sorted(BUILTIN_STAGES))
def test_a_stage_schema_default_equals_the_stage_config_default(name: str) -> None:
    config_cls: type[BaseModel] = builtin_registry().resolve(name).Config
    schema = SCHEMAS.schema(f"stages/{name}")
    defaults = config_cls().model_dump()

    assert set(schema.get("properties", {})) == set(config_cls.model_fields)
    for key, prop in schema.get("properties", {}).items():
        if "default" in prop:
            assert prop["default"] == defaults[key], key
