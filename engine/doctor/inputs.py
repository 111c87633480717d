"""Everything doctor judges, read once: the config, the policy files, a snapshot attempt.

The snapshot build is the authority on whether the gateway would start (`build_snapshot`
reports every problem of every file). Its problems are split in two so that each check names
what is wrong with its own concern: the pipeline is also built on its own, from the same
declaration the snapshot would use, and the problems that build reports belong to the
`pipeline` check; the rest belong to `policies`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic

from ongoingai.engine.build import PipelineBuildFailed, build_pipeline
from ongoingai.engine.config_probe import ConfigProbe, probe_config
from ongoingai.engine.models.rbac import RbacPolicy
from ongoingai.engine.policy_view import PolicyView, read_policy_view
from ongoingai.engine.registry import builtin_registry
from ongoingai.engine.schemas import SchemaSet
from ongoingai.engine.services import Services
from ongoingai.engine.snapshot_build import BuildInputs, SnapshotInvalid, build_snapshot
from ongoingai.engine.yaml_source import YamlError, parse_yaml

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ongoingai.engine.pipeline import Pipeline
    from ongoingai.engine.problems import Problem
    from ongoingai.engine.snapshot import PolicySnapshot

__all__ = ["DoctorInputs", "PipelineBuild", "gather"]


@dataclass(frozen=True, slots=True)
class PipelineBuild:
    """The pipeline that would run, or why it cannot be built, and where it is declared."""

    source: str
    pipeline: Pipeline | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class DoctorInputs:
    """The config probe, and when the config is valid, what it brings in."""

    config_path: Path
    probe: ConfigProbe
    view: PolicyView | None = None
    snapshot: PolicySnapshot | None = None
    policy_problems: tuple[Problem, ...] = ()
    pipeline: PipelineBuild | None = None

    def rbac(self) -> RbacPolicy | None:
        """The RBAC policy in force: the snapshot's, else the last rbac file that parses."""
        if self.snapshot is not None:
            return self.snapshot.rbac
        if self.view is None:
            return None
        files = self.view.of_kind("rbac")
        try:
            return RbacPolicy.model_validate(files[-1].data) if files else None
        except pydantic.ValidationError:
            return None


def gather(config_path: Path, environ: Mapping[str, str] | None = None) -> DoctorInputs:
    """Read the config and, when it is valid, the policy files, the snapshot and the pipeline."""
    env = dict(os.environ if environ is None else environ)
    probe = probe_config(config_path, env)
    if probe.stage != "valid" or probe.loaded is None:
        return DoctorInputs(config_path, probe)
    build = BuildInputs(SchemaSet(), builtin_registry(), Services(), env)
    view = read_policy_view(probe.loaded, build.schemas)
    snapshot: PolicySnapshot | None = None
    problems: list[Problem] = []
    try:
        snapshot = build_snapshot(config_path, build)
    except SnapshotInvalid as exc:
        problems = exc.problems
    pipeline = _build_pipeline(view, build, problems)
    declared = set(pipeline.problems)
    return DoctorInputs(
        config_path,
        probe,
        view,
        snapshot,
        tuple(p for p in problems if p not in declared),
        pipeline,
    )


def _build_pipeline(
    view: PolicyView, build: BuildInputs, snapshot_problems: list[Problem]
) -> PipelineBuild:
    """Build the declared pipeline alone (the snapshot build's choice of declaration).

    `pipeline:` in `ongoingai.yaml` wins over pipeline files; among files the user's wins over
    the packaged one. A user pipeline file that fails its schema is not among the valid files,
    so the packaged pipeline would be built in its place: its problems are reported as the
    pipeline's instead, since the stage list that would run is then unknown.
    """
    loaded = view.loaded
    if loaded.config.pipeline is not None:
        doc, entries, base = loaded.document, list(loaded.config.pipeline), "/pipeline"
        source = f"{loaded.path} (pipeline:)"
    else:
        broken = _invalid_pipeline_files(view, snapshot_problems)
        if broken:
            return PipelineBuild(str(broken[0].file), None, tuple(broken))
        chosen = view.of_kind("pipeline")[-1]
        doc, entries, base = chosen.document, chosen.data["stages"], "/stages"
        source = "packaged policies/pipeline.yaml" if chosen.packaged else str(chosen.path)
    try:
        built = build_pipeline(doc, entries, base, build.registry, build.schemas, build.services)
    except PipelineBuildFailed as exc:
        return PipelineBuild(source, None, tuple(exc.problems))
    return PipelineBuild(source, built, ())


def _invalid_pipeline_files(view: PolicyView, problems: list[Problem]) -> list[Problem]:
    """Problems of user files that declare `kind: pipeline` but did not pass their schema."""
    valid = {str(f.path) for f in view.files}
    kinds: dict[str, Any] = {}
    found = []
    for problem in problems:
        if problem.file in valid or problem.file == str(view.loaded.path):
            continue
        if problem.file not in kinds:
            kinds[problem.file] = _declared_kind(Path(problem.file))
        if kinds[problem.file] == "pipeline":
            found.append(problem)
    return found


def _declared_kind(path: Path) -> Any:
    """The `kind:` a YAML file declares, or None when it cannot be read as a mapping."""
    try:
        data = parse_yaml(str(path), path.read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, YamlError):
        return None
    return data.get("kind") if isinstance(data, dict) else None
