"""Stage registry: built-ins as lazy import strings, loud unknowns and duplicates."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, ClassVar

import pytest

from ongoingai.engine.errors import ConfigError, UnknownStageType
from ongoingai.engine.registry import StageRegistry, builtin_registry
from ongoingai.stages import BUILTIN_STAGES, PLANNED_STAGES
from ongoingai.stages.forward import Forward
from ongoingai.stages.route import Route

if TYPE_CHECKING:
    from pathlib import Path

CORE = {"route": "ongoingai.stages.route:Route", "forward": "ongoingai.stages.forward:Forward"}


class Probe:
    """A minimal third-party stage class."""

    type_name: ClassVar[str] = "probe"
    terminal: ClassVar[bool] = False

    def __init__(self, config: Any, services: Any) -> None:
        self.config = config


class OtherProbe(Probe):
    """A replacement for Probe."""


def _unknown(registry: StageRegistry, name: str) -> str:
    with pytest.raises(UnknownStageType) as info:
        registry.resolve(name)
    assert isinstance(info.value, ConfigError)
    return info.value.message


@pytest.mark.parametrize(
    ("name", "cls", "terminal"),
    [("route", Route, False), ("forward", Forward, True)],
    ids=["route", "forward"],
)
def test_the_builtin_registry_resolves_the_shipped_stages(
    name: str, cls: type[Any], terminal: bool
) -> None:
    registry = builtin_registry()

    resolved = registry.resolve(name)

    assert resolved is cls
    assert resolved.terminal is terminal
    assert resolved.type_name == name
    assert name in registry.names


def test_the_builtin_registry_knows_exactly_the_declared_builtin_stages() -> None:
    assert builtin_registry().names == tuple(sorted(BUILTIN_STAGES))


@pytest.mark.parametrize("name", sorted(BUILTIN_STAGES))
def test_every_declared_builtin_import_string_resolves_to_a_stage_class(name: str) -> None:
    cls = builtin_registry().resolve(name)

    assert isinstance(cls, type)
    if cls.phase == "request":
        assert callable(cls.on_request)
    else:  # observers run after the terminal stage and only hook the response side
        assert cls.phase == "complete"
        assert not hasattr(cls, "on_request")
        assert any(hasattr(cls, hook) for hook in ("on_complete", "on_chunk", "before_forward"))
    assert cls.default_on_error in ("fail_closed", "fail_open")
    assert hasattr(cls, "Config")


def test_resolving_twice_returns_the_same_class() -> None:
    registry = StageRegistry(CORE)

    assert registry.resolve("route") is registry.resolve("route")


def test_names_are_sorted_and_include_registered_factories() -> None:
    registry = StageRegistry(CORE)
    registry.register("probe", Probe)

    assert registry.names == ("forward", "probe", "route")


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [("rout", "route"), ("fowrard", "forward"), ("Route", "route"), ("forwards", "forward")],
    ids=["rout", "fowrard", "capitalised", "plural"],
)
def test_an_unknown_name_lists_the_known_names_and_the_closest_match(
    name: str, suggestion: str
) -> None:
    message = _unknown(StageRegistry(CORE), name)

    assert f'unknown stage type "{name}"' in message
    assert "known stage types: forward, route" in message
    assert message.endswith(f'did you mean "{suggestion}"?')


def test_an_unknown_name_with_nothing_close_has_no_suggestion() -> None:
    message = _unknown(StageRegistry(CORE), "zzzzzz")

    assert message == 'unknown stage type "zzzzzz" (known stage types: forward, route)'


def test_a_close_match_may_be_a_planned_stage() -> None:
    message = _unknown(StageRegistry(CORE, frozenset({"authenticate"})), "authenticat")

    assert message.endswith('did you mean "authenticate"?')


def test_a_planned_stage_says_it_is_not_available_in_this_version_yet() -> None:
    registry = StageRegistry(CORE, frozenset({"meter", "record"}))

    message = _unknown(registry, "meter")

    assert message == (
        'stage type "meter" is not available in this version yet; '
        "available stage types: forward, route"
    )


def test_the_builtin_registry_explains_every_planned_stage() -> None:
    registry = builtin_registry()

    for name in sorted(PLANNED_STAGES - set(BUILTIN_STAGES)):
        assert "not available in this version yet" in _unknown(registry, name)


def test_a_planned_stage_becomes_available_once_registered() -> None:
    registry = StageRegistry(CORE, frozenset({"meter"}))

    registry.register("meter", Probe)

    assert registry.resolve("meter") is Probe


@pytest.mark.parametrize("name", ["route", "probe"], ids=["builtin-string", "registered-class"])
def test_registering_a_duplicate_name_raises(name: str) -> None:
    registry = StageRegistry(CORE)
    registry.register("probe", Probe)

    with pytest.raises(ValueError, match=f'stage type "{name}" is already registered'):
        registry.register(name, OtherProbe)
    assert registry.resolve("probe") is Probe


@pytest.mark.parametrize("name", ["route", "probe"], ids=["builtin-string", "registered-class"])
def test_registering_with_replace_swaps_the_factory(name: str) -> None:
    registry = StageRegistry(CORE)
    registry.register("probe", Probe)

    registry.register(name, OtherProbe, replace=True)

    assert registry.resolve(name) is OtherProbe
    assert registry.names.count(name) == 1


def test_replacing_a_builtin_does_not_import_its_module_string() -> None:
    registry = StageRegistry({"broken": "no_such_module_for_replace_test:X"})

    registry.register("broken", Probe, replace=True)

    assert registry.resolve("broken") is Probe


def test_import_strings_resolve_lazily() -> None:
    registry = StageRegistry({"later": "no_such_module_for_lazy_test:Stage"})

    assert registry.names == ("later",)
    with pytest.raises(UnknownStageType):
        registry.resolve("later")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("nocolon", 'import string "nocolon" must be in format "<module>:<attribute>"'),
        (":Stage", 'import string ":Stage" must be in format "<module>:<attribute>"'),
        ("json:", 'import string "json:" must be in format "<module>:<attribute>"'),
        ("no_such_module_xyz:Stage", 'could not import module "no_such_module_xyz"'),
        ("ongoingai.no_such_stage:Stage", 'could not import module "ongoingai.no_such_stage"'),
        ("json:NoSuchThing", 'attribute "NoSuchThing" not found in module "json"'),
        ("json:dumps", '"json:dumps" is not a class'),
    ],
    ids=[
        "no-colon",
        "no-module",
        "no-attribute",
        "missing-module",
        "missing-submodule",
        "missing-attribute",
        "not-a-class",
    ],
)
def test_a_bad_import_string_gives_a_precise_error(target: str, message: str) -> None:
    assert _unknown(StageRegistry({"x": target}), "x") == message


def test_a_stage_module_with_a_missing_dependency_names_the_dependency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"stage_with_missing_dep_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text("import definitely_missing_dependency_zz\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises((ModuleNotFoundError, UnknownStageType)) as info:
        StageRegistry({"x": f"{module}:Stage"}).resolve("x")

    assert "definitely_missing_dependency_zz" in str(info.value)
    assert f'could not import module "{module}"' not in str(info.value)


def test_a_third_party_stage_importable_by_string_resolves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = f"third_party_stage_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text("class Audit:\n    terminal = False\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    cls = StageRegistry({"audit": f"{module}:Audit"}).resolve("audit")

    assert cls.__name__ == "Audit"
    assert cls.__module__ == module
