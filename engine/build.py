"""Pipeline declaration (YAML entries) → built `Pipeline`, with every problem located.

Done once per snapshot, never per request: resolve each type through the registry, validate its
`with:` block against `schemas/stages/<type>.schema.json`, parse it into the stage's frozen
`Config`, instantiate, then run the structural checks (Envoy's terminal-filter rule and friends).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pydantic

from ongoingai.engine.errors import ConfigError, PipelineInvalid, UnknownStageType
from ongoingai.engine.pipeline import BoundStage, Pipeline
from ongoingai.engine.problems import Problem, join_pointer
from ongoingai.engine.stage import StageSpec, When

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from ongoingai.engine.registry import StageRegistry
    from ongoingai.engine.schemas import SchemaSet
    from ongoingai.engine.yaml_source import YamlDocument

__all__ = ["PipelineBuildFailed", "build_pipeline", "parse_specs"]


class PipelineBuildFailed(Exception):
    """The pipeline declaration has problems; all of them are attached."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} pipeline problem(s)")
        self.problems = problems


def parse_specs(entries: Sequence[Any], base: str) -> list[StageSpec]:
    """Schema-valid entries (`- forward` or `{type, id?, with?, when?, on_error?}`) → specs."""
    specs = []
    for index, entry in enumerate(entries):
        item: dict[str, Any] = {"type": entry} if isinstance(entry, str) else dict(entry)
        when: dict[str, Any] = item.get("when") or {}
        specs.append(
            StageSpec(
                index=index,
                type=item["type"],
                id=item.get("id", item["type"]),
                options=item.get("with") or {},
                when=When(
                    path_prefix=tuple(when.get("path_prefix", ())),
                    provider=tuple(when.get("provider", ())),
                    workspace=tuple(when.get("workspace", ())),
                    method=tuple(when.get("method", ())),
                ),
                on_error=item.get("on_error"),
                pointer=join_pointer(base, index),
            )
        )
    return specs


def build_pipeline(
    doc: YamlDocument,
    entries: Sequence[Any],
    base: str,
    registry: StageRegistry,
    schemas: SchemaSet,
    services: Any,
) -> Pipeline:
    """Build the pipeline declared at `base` in `doc`.

    Raises:
        PipelineBuildFailed: with every problem (unknown types, bad `with:`, structure).
    """
    specs = parse_specs(entries, base)
    problems: list[Problem] = []
    bound: list[BoundStage] = []
    for spec in specs:
        stage = _build_stage(spec, doc, registry, schemas, services, problems)
        if stage is not None:
            bound.append(stage)
    if bound or not specs:  # check the structure of what did build: one run reports everything
        for error in _structural_errors(bound):
            pointer = specs[error.index].pointer if specs else base
            problems.append(doc.problem(pointer, error.message))
    if problems:
        raise PipelineBuildFailed(problems)
    return Pipeline(tuple(bound))


def _build_stage(
    spec: StageSpec,
    doc: YamlDocument,
    registry: StageRegistry,
    schemas: SchemaSet,
    services: Any,
    problems: list[Problem],
) -> BoundStage | None:
    type_pointer = join_pointer(spec.pointer, "type")
    if type_pointer not in doc.positions:  # a bare `- name` entry
        type_pointer = spec.pointer
    try:
        cls = registry.resolve(spec.type)
    except UnknownStageType as exc:
        problems.append(doc.problem(type_pointer, exc.message))
        return None
    with_pointer = join_pointer(spec.pointer, "with")
    schema_name = f"stages/{spec.type}"
    if schemas.has(schema_name):
        found = schemas.validate(schema_name, doc, spec.options, with_pointer)
        if found:
            problems.extend(found)
            return None
    try:
        config = cls.Config.model_validate(spec.options)
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            pointer = join_pointer(with_pointer, *err["loc"])
            problems.append(doc.problem(pointer, err["msg"]))
        return None
    try:
        stage = cls(config, services)
    except ConfigError as exc:  # a stage rejecting its options: located, not a crash
        problems.append(doc.problem(with_pointer if spec.options else spec.pointer, exc.message))
        return None
    on_error = spec.on_error or cls.default_on_error
    return BoundStage(spec, stage, bool(cls.terminal), on_error == "fail_open")


def _structural_errors(bound: list[BoundStage]) -> Iterator[PipelineInvalid]:
    """Envoy-style structure rules, each failure naming the offending entry's index."""
    terminals = [b for b in bound if b.terminal]
    if not terminals:
        last = bound[-1].spec.index if bound else 0
        yield PipelineInvalid(last, "pipeline has no terminal stage: add a forward stage")
    for extra in terminals[1:]:
        msg = (
            f'pipeline must have exactly one terminal stage; "{extra.spec.id}" repeats '
            f'"{terminals[0].spec.id}" (entry {terminals[0].spec.index})'
        )
        yield PipelineInvalid(extra.spec.index, msg)
    yield from _order_errors(bound)
    yield from _id_errors(bound)
    yield from _scope_errors(bound, terminals[0] if terminals else None)


def _order_errors(bound: list[BoundStage]) -> Iterator[PipelineInvalid]:
    first: dict[str, int] = {}
    for b in bound:
        first.setdefault(b.spec.type, b.spec.index)
    for before, after in (("authenticate", "authorize"), ("route", "forward")):
        if after not in first:
            continue
        if before not in first or first[before] > first[after]:
            msg = f'"{before}" must come before "{after}" in the pipeline'
            yield PipelineInvalid(first[after], msg)


def _id_errors(bound: list[BoundStage]) -> Iterator[PipelineInvalid]:
    seen: dict[str, int] = {}
    for b in bound:
        if b.spec.id in seen:
            msg = (
                f'duplicate stage id "{b.spec.id}" (also entry {seen[b.spec.id]}); '
                "give each stage a unique id"
            )
            yield PipelineInvalid(b.spec.index, msg)
        else:
            seen[b.spec.id] = b.spec.index


def _scope_errors(
    bound: list[BoundStage], terminal: BoundStage | None
) -> Iterator[PipelineInvalid]:
    route_at = next((b.spec.index for b in bound if b.spec.type == "route"), None)
    for b in bound:
        phase = getattr(b.stage, "phase", "request")
        if terminal is not None and b.spec.index > terminal.spec.index and phase == "request":
            msg = f'request-phase stage "{b.spec.id}" cannot come after the terminal stage'
            yield PipelineInvalid(b.spec.index, msg)
        if terminal is not None and b.spec.index < terminal.spec.index and phase == "complete":
            msg = f'observer stage "{b.spec.id}" must come after the terminal stage (forward)'
            yield PipelineInvalid(b.spec.index, msg)
        if b.terminal and not b.spec.when.always:
            yield PipelineInvalid(b.spec.index, "the terminal stage cannot be scoped with when:")
        if b.terminal and b.fail_open:
            yield PipelineInvalid(b.spec.index, "the terminal stage cannot use on_error: fail_open")
        if b.spec.when.provider and (route_at is None or route_at >= b.spec.index):
            msg = "when.provider needs a route stage earlier in the pipeline"
            yield PipelineInvalid(b.spec.index, msg)
