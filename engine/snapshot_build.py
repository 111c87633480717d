"""Build a complete PolicySnapshot from `ongoingai.yaml` and the policy files, or fail.

Layering: the packaged policy set first, then the directory named by `policies:`; entries are
keyed by identity (provider `name`, pricing `id`, redaction `policy_id`), so a user file with
the same identity replaces the packaged one. `rbac` and `pipeline` files replace the packaged
ones whole, and `pipeline:` in `ongoingai.yaml` replaces any pipeline file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic

from ongoingai.engine.auth.keyring import KeyRing, entry_from_config
from ongoingai.engine.build import PipelineBuildFailed, build_pipeline
from ongoingai.engine.config_load import LoadedConfig, load_config_lenient
from ongoingai.engine.models.pricing import PricingCatalog, PricingTable
from ongoingai.engine.models.provider import ProviderTable
from ongoingai.engine.models.rbac import RbacPolicy
from ongoingai.engine.models.redaction import RedactionPolicy
from ongoingai.engine.policy_files import (
    PolicyFile,
    discover,
    load_policy_files,
    packaged_policy_dir,
)
from ongoingai.engine.problems import Problem
from ongoingai.engine.providers_merge import merge_providers
from ongoingai.engine.redaction.policies import PolicySet
from ongoingai.engine.snapshot import PolicySnapshot

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ongoingai.engine.pipeline import Pipeline
    from ongoingai.engine.registry import StageRegistry
    from ongoingai.engine.schemas import SchemaSet

__all__ = ["BuildInputs", "SnapshotInvalid", "build_snapshot", "user_policy_dir"]

_M = TypeVar("_M", bound=pydantic.BaseModel)


class SnapshotInvalid(Exception):
    """The inputs do not make a valid snapshot; carries every problem and the files read."""

    def __init__(self, problems: list[Problem], sources: tuple[str, ...]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems
        self.sources = sources


@dataclass(frozen=True, slots=True)
class BuildInputs:
    """What a build needs besides the files: schemas, stage registry, services, environment."""

    schemas: SchemaSet
    registry: StageRegistry
    services: Any
    environ: Mapping[str, str]


def user_policy_dir(config_path: Path, policies: str | None) -> Path | None:
    """The `policies:` directory, resolved relative to the config file."""
    if not policies:
        return None
    path = Path(policies).expanduser()
    return path if path.is_absolute() else config_path.parent / path


def build_snapshot(config_path: Path, inputs: BuildInputs) -> PolicySnapshot:
    """Read every input and build a snapshot.

    Raises:
        SnapshotInvalid: with every problem found in the config and all policy files.
    """
    loaded, problems = load_config_lenient(config_path, inputs.schemas, inputs.environ)
    policies_dir = user_policy_dir(config_path, loaded.config.policies) if loaded else None
    if policies_dir is not None and not policies_dir.is_dir() and loaded is not None:
        message = f"policies directory {policies_dir} does not exist"
        problems.append(loaded.document.problem("/policies", message))
    paths = [(p, True) for p in discover(packaged_policy_dir())]
    paths += [(p, False) for p in discover(policies_dir)] if policies_dir else []
    files, file_problems = load_policy_files(paths, inputs.schemas)
    problems.extend(file_problems)
    sources = tuple(
        ([str(config_path)] if loaded is None or loaded.exists else [])
        + [str(f.path) for f in files if not f.packaged]
    )
    if loaded is None:
        raise SnapshotInvalid(problems, sources)
    # Assemble even when problems were found, to report the later stages' problems too.
    snapshot = _assemble(loaded, files, inputs, sources, problems)
    if snapshot is None or problems:
        raise SnapshotInvalid(problems, sources)
    return snapshot


def _assemble(
    loaded: LoadedConfig,
    files: list[PolicyFile],
    inputs: BuildInputs,
    sources: tuple[str, ...],
    problems: list[Problem],
) -> PolicySnapshot | None:
    by_kind: dict[str, list[PolicyFile]] = {}
    for f in files:
        by_kind.setdefault(f.kind, []).append(f)
    providers = merge_providers(by_kind.get("provider", []), loaded, problems)
    tables = [
        t
        for f in _layer(by_kind.get("pricing", []), "id")
        if (t := _parse(PricingTable, f, problems)) is not None
    ]
    pricing = PricingCatalog(tables)
    known_tables = {t.id for t in tables}
    for provider in providers or ():
        if provider.pricing and provider.pricing not in known_tables:
            msg = f'provider "{provider.name}" names unknown pricing table "{provider.pricing}"'
            problems.append(Problem(str(loaded.path), 1, 1, f"/providers/{provider.name}", msg))
    rbac = _parse(RbacPolicy, _last(by_kind.get("rbac", [])), problems)
    redaction = tuple(
        r
        for f in _layer(by_kind.get("redaction", []), "policy_id", "default/v1")
        if (r := _parse(RedactionPolicy, f, problems)) is not None
    )
    pipeline = _pipeline(loaded, by_kind.get("pipeline", []), inputs, problems)
    if problems or providers is None or pipeline is None or rbac is None:
        return None
    return PolicySnapshot(
        revision=_revision(loaded, files),
        loaded_at=dt.datetime.now(dt.UTC),
        sources=sources,
        config=loaded.config,
        providers=ProviderTable(providers),
        pricing=pricing,
        rbac=rbac,
        redaction=redaction,
        pipeline=pipeline,
        keys=KeyRing(entry_from_config(key) for key in loaded.config.auth.keys),
        pii=PolicySet.build(loaded.config.pii, redaction),
    )


def _pipeline(
    loaded: LoadedConfig,
    files: list[PolicyFile],
    inputs: BuildInputs,
    problems: list[Problem],
) -> Pipeline | None:
    user_files = [f for f in files if not f.packaged]
    for extra in user_files[1:]:
        msg = f"only one pipeline file is allowed (also {user_files[0].path})"
        problems.append(extra.document.problem("/kind", msg))
    if loaded.config.pipeline is not None:
        doc, entries, base = loaded.document, list(loaded.config.pipeline), "/pipeline"
    else:
        chosen = _last(files)
        doc, entries, base = chosen.document, chosen.data["stages"], "/stages"
    try:
        return build_pipeline(doc, entries, base, inputs.registry, inputs.schemas, inputs.services)
    except PipelineBuildFailed as exc:
        problems.extend(exc.problems)
        return None


def _layer(files: list[PolicyFile], key: str, default: str = "") -> list[PolicyFile]:
    """Keep the last file per identity `key`, in first-seen order."""
    chosen: dict[str, PolicyFile] = {}
    for f in files:
        chosen[str(f.data.get(key, default))] = f
    return list(chosen.values())


def _parse(cls: type[_M], f: PolicyFile, problems: list[Problem]) -> _M | None:
    """Schema-valid data → frozen model; cross-field rule violations become located problems."""
    try:
        return cls.model_validate(f.data)
    except pydantic.ValidationError as exc:
        for err in exc.errors():
            pointer = "".join(f"/{part}" for part in err["loc"])
            problems.append(f.document.problem(pointer, err["msg"]))
        return None


def _last(files: list[PolicyFile]) -> PolicyFile:
    """The user's file if any, else the packaged one (packaged files come first)."""
    return files[-1]


def _revision(loaded: LoadedConfig, files: list[PolicyFile]) -> str:
    digest = hashlib.sha256()
    packaged = packaged_policy_dir()
    items = [("config", loaded.raw)] + [
        (
            "packaged:" + f.path.relative_to(packaged).as_posix() if f.packaged else str(f.path),
            f.raw,
        )
        for f in files
    ]
    for name, raw in sorted(items):
        digest.update(name.encode() + b"\0" + hashlib.sha256(raw).digest())
    for var, value in sorted(loaded.env_applied):
        digest.update(f"env:{var}={value}".encode() + b"\0")
    return digest.hexdigest()[:16]
