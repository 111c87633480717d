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
from typing import TYPE_CHECKING, Any

from ongoingai.engine.build import PipelineBuildFailed, build_pipeline
from ongoingai.engine.config_load import ConfigInvalid, LoadedConfig, load_config
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
from ongoingai.engine.snapshot import PolicySnapshot

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ongoingai.engine.pipeline import Pipeline
    from ongoingai.engine.registry import StageRegistry
    from ongoingai.engine.schemas import SchemaSet

__all__ = ["BuildInputs", "SnapshotInvalid", "build_snapshot", "user_policy_dir"]


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
    return path if path.is_absolute() else config_path.resolve().parent / path


def build_snapshot(config_path: Path, inputs: BuildInputs) -> PolicySnapshot:
    """Read every input and build a snapshot.

    Raises:
        SnapshotInvalid: with every problem found in the config and all policy files.
    """
    problems: list[Problem] = []
    loaded: LoadedConfig | None = None
    try:
        loaded = load_config(config_path, inputs.schemas, inputs.environ)
    except ConfigInvalid as exc:
        problems.extend(exc.problems)
    policies_dir = user_policy_dir(config_path, _policies_key(config_path, loaded))
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
    if problems or loaded is None:
        raise SnapshotInvalid(problems, sources)
    snapshot = _assemble(loaded, files, inputs, sources, problems)
    if snapshot is None:
        raise SnapshotInvalid(problems, sources)
    return snapshot


def _policies_key(config_path: Path, loaded: LoadedConfig | None) -> str | None:
    """The `policies:` value, even from a config that failed validation (to check it too)."""
    if loaded is not None:
        return loaded.config.policies
    try:
        from ongoingai.engine.yaml_source import parse_yaml

        data = parse_yaml(str(config_path), config_path.read_text(encoding="utf-8")).data
    except Exception:  # noqa: BLE001 - the config's own problems are already reported
        return None
    value = data.get("policies") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


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
    tables = _layer(by_kind.get("pricing", []), "id")
    pricing = PricingCatalog(PricingTable.model_validate(f.data) for f in tables)
    known_tables = {t.id for t in pricing.tables}
    for provider in providers or ():
        if provider.pricing and provider.pricing not in known_tables:
            msg = f'provider "{provider.name}" names unknown pricing table "{provider.pricing}"'
            problems.append(Problem(str(loaded.path), 1, 1, f"/providers/{provider.name}", msg))
    rbac = RbacPolicy.model_validate(_last(by_kind.get("rbac", [])).data)
    redaction = tuple(
        RedactionPolicy.model_validate(f.data)
        for f in _layer(by_kind.get("redaction", []), "policy_id")
    )
    pipeline = _pipeline(loaded, by_kind.get("pipeline", []), inputs, problems)
    if problems or providers is None or pipeline is None:
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


def _layer(files: list[PolicyFile], key: str) -> list[PolicyFile]:
    """Keep the last file per identity `key`, in first-seen order."""
    chosen: dict[str, PolicyFile] = {}
    for f in files:
        chosen[str(f.data.get(key))] = f
    return list(chosen.values())


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
