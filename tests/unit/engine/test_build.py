"""Pipeline build: every declaration problem is located, and structural rules hold."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from ongoingai.engine.build import PipelineBuildFailed, build_pipeline, parse_specs
from ongoingai.engine.errors import ConfigError
from ongoingai.engine.pipeline import Pipeline
from ongoingai.engine.problems import Problem
from ongoingai.engine.registry import StageRegistry
from ongoingai.engine.schemas import SchemaSet
from ongoingai.engine.services import Services
from ongoingai.engine.stage import CONTINUE, OnError, Outcome, When
from ongoingai.engine.yaml_source import parse_yaml
from ongoingai.stages.forward import Forward
from ongoingai.stages.route import Route

SCHEMAS = SchemaSet()
FILE = "ongoingai.yaml"


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    level: int = 0


class _TestStage:
    type_name: ClassVar[str] = "test"
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "request"
    default_on_error: ClassVar[OnError] = "fail_closed"
    Config = _Options

    def __init__(self, config: _Options, services: Any) -> None:
        self.config = config
        self.services = services

    async def on_request(self, ctx: Any) -> Outcome:
        return CONTINUE


class Authenticate(_TestStage):
    type_name = "authenticate"


class Authorize(_TestStage):
    type_name = "authorize"


class Probe(_TestStage):
    type_name = "probe"


class Meter(_TestStage):
    """Complete-phase stage: allowed after the terminal stage; fails open by default."""

    type_name = "meter"
    phase = "complete"
    default_on_error: ClassVar[OnError] = "fail_open"

    async def on_complete(self, ctx: Any) -> None:
        return None


class Echo(_TestStage):
    """A second terminal stage type."""

    type_name = "echo"
    terminal = True


class Picky(_TestStage):
    """Rejects its options in the constructor, as STYLE asks (ConfigError, not assert)."""

    type_name = "picky"

    def __init__(self, config: _Options, services: Any) -> None:
        if config.level % 2:
            raise ConfigError("level must be even")
        super().__init__(config, services)


def _registry() -> StageRegistry:
    registry = StageRegistry(
        {"route": "ongoingai.stages.route:Route", "forward": "ongoingai.stages.forward:Forward"},
        planned=frozenset({"record"}),
    )
    for cls in (Authenticate, Authorize, Probe, Meter, Echo, Picky):
        registry.register(cls.type_name, cls)
    return registry


def _build(text: str, base: str = "/pipeline") -> Pipeline:
    doc = parse_yaml(FILE, text)
    entries = doc.data[base.strip("/")]
    return build_pipeline(doc, entries, base, _registry(), SCHEMAS, Services())


def _problems(text: str, base: str = "/pipeline") -> list[Problem]:
    with pytest.raises(PipelineBuildFailed) as info:
        _build(text, base)
    assert info.value.problems
    return info.value.problems


def _yaml(*entries: str) -> str:
    return "pipeline:\n" + "".join(f"  - {e}\n" for e in entries)


# --- valid pipelines --------------------------------------------------------------------------


def test_a_valid_pipeline_builds_stages_in_declared_order() -> None:
    text = _yaml("authenticate", "authorize", "route", "forward", "meter")

    pipeline = _build(text)

    assert [b.spec.id for b in pipeline.stages] == [
        "authenticate",
        "authorize",
        "route",
        "forward",
        "meter",
    ]
    assert [type(b.stage) for b in pipeline.stages] == [
        Authenticate,
        Authorize,
        Route,
        Forward,
        Meter,
    ]
    assert [b.terminal for b in pipeline.stages] == [False, False, False, True, False]
    assert [b.spec.pointer for b in pipeline.stages] == [f"/pipeline/{i}" for i in range(5)]


def test_the_default_packaged_pipeline_shape_builds() -> None:
    text = "kind: pipeline\nversion: 1\nstages:\n  - route\n  - forward\n"

    pipeline = _build(text, "/stages")

    assert [b.spec.type for b in pipeline.stages] == ["route", "forward"]
    assert pipeline.stages[1].spec.pointer == "/stages/1"


def test_mapping_entries_carry_id_options_scope_and_error_policy() -> None:
    text = (
        "pipeline:\n"
        "  - type: probe\n"
        "    id: checker\n"
        "    with:\n"
        "      level: 3\n"
        "    when:\n"
        "      path_prefix: [/openai]\n"
        "      method: [POST]\n"
        "    on_error: fail_open\n"
        "  - route\n"
        "  - type: forward\n"
        "    with:\n"
        "      connect_timeout_ms: 50\n"
    )

    probe = _build(text).stages[0]

    assert probe.spec.id == "checker"
    assert probe.spec.type == "probe"
    assert probe.stage.config == _Options(level=3)
    assert probe.spec.when == When(path_prefix=("/openai",), method=("POST",))
    assert probe.fail_open is True


def test_stages_receive_the_services_they_were_built_with() -> None:
    doc = parse_yaml(FILE, _yaml("probe", "route", "forward"))
    services = Services()

    pipeline = build_pipeline(
        doc, doc.data["pipeline"], "/pipeline", _registry(), SCHEMAS, services
    )

    assert pipeline.stages[0].stage.services is services


@pytest.mark.parametrize(
    ("text", "fail_open"),
    [
        (_yaml("probe", "route", "forward"), False),
        (_yaml("route", "forward", "meter"), True),
        (_yaml("{type: probe, on_error: fail_open}", "route", "forward"), True),
        (_yaml("route", "forward", "{type: meter, on_error: fail_closed}"), False),
    ],
    ids=["default-closed", "default-open", "override-open", "override-closed"],
)
def test_on_error_defaults_to_the_stage_class_and_can_be_overridden(
    text: str, fail_open: bool
) -> None:
    pipeline = _build(text)

    [bound] = [b for b in pipeline.stages if b.spec.type in ("probe", "meter")]
    assert bound.fail_open is fail_open


def test_several_stages_of_one_type_build_when_ids_differ() -> None:
    text = _yaml("{type: probe, id: first}", "{type: probe, id: second}", "route", "forward")

    assert [b.spec.id for b in _build(text).stages][:2] == ["first", "second"]


def test_a_complete_phase_stage_may_follow_the_terminal_stage() -> None:
    assert _build(_yaml("route", "forward", "meter")).stages[-1].spec.type == "meter"


def test_parse_specs_defaults_id_to_type_and_with_to_empty() -> None:
    [bare, mapping] = parse_specs(["route", {"type": "forward", "with": None}], "/stages")

    assert (bare.index, bare.id, bare.options, bare.on_error, bare.pointer) == (
        0,
        "route",
        {},
        None,
        "/stages/0",
    )
    assert bare.when.always
    assert (mapping.id, mapping.options, mapping.pointer) == ("forward", {}, "/stages/1")


# --- structural errors ------------------------------------------------------------------------

STRUCTURAL = [
    pytest.param(
        _yaml("authenticate", "route"),
        1,
        "pipeline has no terminal stage: add a forward stage",
        id="no-terminal",
    ),
    pytest.param(
        _yaml("route", "forward", "{type: forward, id: again}"),
        2,
        'pipeline must have exactly one terminal stage; "again" repeats "forward" (entry 1)',
        id="two-forwards",
    ),
    pytest.param(
        _yaml("route", "forward", "echo"),
        2,
        'pipeline must have exactly one terminal stage; "echo" repeats "forward" (entry 1)',
        id="two-terminal-types",
    ),
    pytest.param(
        _yaml("authorize", "authenticate", "route", "forward"),
        0,
        '"authenticate" must come before "authorize" in the pipeline',
        id="authorize-before-authenticate",
    ),
    pytest.param(
        _yaml("route", "authorize", "forward"),
        1,
        '"authenticate" must come before "authorize" in the pipeline',
        id="authorize-without-authenticate",
    ),
    pytest.param(
        _yaml("forward", "route"),
        0,
        '"route" must come before "forward" in the pipeline',
        id="route-after-forward",
    ),
    pytest.param(
        _yaml("probe", "forward"),
        1,
        '"route" must come before "forward" in the pipeline',
        id="forward-without-route",
    ),
    pytest.param(
        _yaml("route", "{type: probe, id: route}", "forward"),
        1,
        'duplicate stage id "route" (also entry 0); give each stage a unique id',
        id="duplicate-ids",
    ),
    pytest.param(
        _yaml("probe", "route", "probe", "forward"),
        2,
        'duplicate stage id "probe" (also entry 0); give each stage a unique id',
        id="duplicate-implicit-ids",
    ),
    pytest.param(
        _yaml("route", "forward", "probe"),
        2,
        'request-phase stage "probe" cannot come after the terminal stage',
        id="request-stage-after-forward",
    ),
    pytest.param(
        _yaml("route", "{type: forward, when: {path_prefix: [/openai]}}"),
        1,
        "the terminal stage cannot be scoped with when:",
        id="when-on-forward",
    ),
    pytest.param(
        _yaml("route", "{type: forward, on_error: fail_open}"),
        1,
        "the terminal stage cannot use on_error: fail_open",
        id="fail-open-on-forward",
    ),
    pytest.param(
        _yaml("{type: probe, when: {provider: [openai]}}", "route", "forward"),
        0,
        "when.provider needs a route stage earlier in the pipeline",
        id="when-provider-before-route",
    ),
    pytest.param(
        _yaml("{type: route, when: {provider: [openai]}}", "forward"),
        0,
        "when.provider needs a route stage earlier in the pipeline",
        id="when-provider-on-route-itself",
    ),
]


@pytest.mark.parametrize(("text", "index", "message"), STRUCTURAL)
def test_a_structural_error_names_the_offending_entry_and_its_line(
    text: str, index: int, message: str
) -> None:
    problems = _problems(text)

    matching = [p for p in problems if p.message == message]
    assert matching, f"{message!r} not in {[p.message for p in problems]}"
    [problem] = matching
    assert problem.pointer == f"/pipeline/{index}"
    assert (problem.file, problem.line, problem.column) == (FILE, index + 2, 5)


def test_every_structural_error_is_reported_at_once() -> None:
    text = _yaml("authorize", "forward", "route", "{type: probe, id: forward}")

    messages = {(p.pointer, p.message) for p in _problems(text)}

    assert (
        "/pipeline/0",
        '"authenticate" must come before "authorize" in the pipeline',
    ) in messages
    assert ("/pipeline/1", '"route" must come before "forward" in the pipeline') in messages
    assert (
        "/pipeline/3",
        'duplicate stage id "forward" (also entry 1); give each stage a unique id',
    ) in messages
    assert (
        "/pipeline/2",
        'request-phase stage "route" cannot come after the terminal stage',
    ) in messages


def test_a_when_provider_stage_after_route_is_accepted() -> None:
    pipeline = _build(_yaml("route", "{type: probe, when: {provider: [openai]}}", "forward"))

    assert pipeline.stages[1].spec.when.provider == ("openai",)


def test_an_empty_stage_list_is_reported_as_having_no_terminal_stage() -> None:
    [problem] = _problems("pipeline: []\n")

    assert problem.message == "pipeline has no terminal stage: add a forward stage"
    assert problem.pointer.startswith("/pipeline")
    assert problem.line == 1


# --- type resolution and `with:` --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pointer", "line", "column", "fragment"),
    [
        (_yaml("route", "rout", "forward"), "/pipeline/1", 3, 5, 'did you mean "route"?'),
        (
            _yaml("route", "{type: forwad}", "forward"),
            "/pipeline/1/type",
            3,
            6,
            'did you mean "forward"?',
        ),
        (
            "pipeline:\n  - route\n  - id: x\n    type: nothing_like_it\n  - forward\n",
            "/pipeline/1/type",
            4,
            5,
            'unknown stage type "nothing_like_it"',
        ),
        (
            _yaml("record", "route", "forward"),
            "/pipeline/0",
            2,
            5,
            "not available in this version yet",
        ),
    ],
    ids=["bare-name", "mapping-type", "type-on-second-line", "planned"],
)
def test_an_unknown_stage_type_is_located_at_its_type(
    text: str, pointer: str, line: int, column: int, fragment: str
) -> None:
    [problem] = _problems(text)

    assert problem.pointer == pointer
    assert (problem.line, problem.column) == (line, column)
    assert fragment in problem.message
    assert "known stage types" in problem.message or "available stage types" in problem.message


def test_every_unknown_type_is_reported_at_once() -> None:
    problems = _problems(_yaml("rout", "route", "fwd", "forward"))

    assert [p.pointer for p in problems] == ["/pipeline/0", "/pipeline/2"]


def test_structural_errors_are_reported_together_with_unknown_types() -> None:
    text = _yaml("route", "fwd", "forward", "{type: forward, id: again}")

    problems = {(p.pointer, p.message.split(" (")[0]) for p in _problems(text)}

    assert ("/pipeline/1", 'unknown stage type "fwd"') in problems
    assert any(
        pointer == "/pipeline/3" and message.startswith("pipeline must have exactly one terminal")
        for pointer, message in problems
    )


@pytest.mark.parametrize(
    ("text", "pointer", "line", "column", "fragment"),
    [
        (
            "pipeline:\n  - type: route\n    with:\n      bogus: 1\n  - forward\n",
            "/pipeline/0/with/bogus",
            4,
            7,
            "field bogus not found",
        ),
        (
            "pipeline:\n  - type: route\n    with:\n      provders: [openai]\n  - forward\n",
            "/pipeline/0/with/provders",
            4,
            7,
            'did you mean "providers"?',
        ),
        (
            "pipeline:\n  - route\n  - type: forward\n    with:\n      connect_timeout_ms: 0\n",
            "/pipeline/1/with/connect_timeout_ms",
            5,
            7,
            "minimum",
        ),
        (
            "pipeline:\n  - route\n  - type: forward\n    with:\n      read_timeout_ms: soon\n",
            "/pipeline/1/with/read_timeout_ms",
            5,
            7,
            "expected integer",
        ),
        (
            "pipeline:\n  - type: route\n    with:\n      providers: [OpenAI]\n  - forward\n",
            "/pipeline/0/with/providers/0",
            4,
            19,
            "OpenAI",
        ),
    ],
    ids=["unknown-key", "misspelt-key", "below-minimum", "wrong-type", "bad-item"],
)
def test_a_bad_with_block_is_a_schema_problem_at_the_offending_key(
    text: str, pointer: str, line: int, column: int, fragment: str
) -> None:
    problem = next(p for p in _problems(text) if p.pointer == pointer)

    assert (problem.line, problem.column) == (line, column)
    assert fragment in problem.message


def test_a_stage_without_a_schema_has_its_with_block_checked_by_its_config_model() -> None:
    text = "pipeline:\n  - type: probe\n    with:\n      level: high\n      extra: 1\n  - route\n  - forward\n"

    problems = {p.pointer: p for p in _problems(text)}

    assert set(problems) == {"/pipeline/0/with/level", "/pipeline/0/with/extra"}
    assert (problems["/pipeline/0/with/level"].line, problems["/pipeline/0/with/level"].column) == (
        4,
        7,
    )
    assert (problems["/pipeline/0/with/extra"].line, problems["/pipeline/0/with/extra"].column) == (
        5,
        7,
    )


def test_with_problems_in_several_stages_are_all_reported() -> None:
    text = (
        "pipeline:\n"
        "  - type: route\n    with: {bogus: 1}\n"
        "  - type: probe\n    with: {level: x}\n"
        "  - type: forward\n    with: {connect_timeout_ms: -1}\n"
    )

    pointers = {p.pointer for p in _problems(text)}

    assert pointers == {
        "/pipeline/0/with/bogus",
        "/pipeline/1/with/level",
        "/pipeline/2/with/connect_timeout_ms",
    }


def test_a_stage_constructor_rejecting_its_options_is_a_located_problem() -> None:
    text = "pipeline:\n  - type: picky\n    with:\n      level: 3\n  - route\n  - forward\n"

    [problem] = _problems(text)

    assert problem.pointer.startswith("/pipeline/0")
    assert "level must be even" in problem.message
    assert problem.line in (2, 3)
