"""Provider data files + `providers:` overrides in `ongoingai.yaml` → validated providers.

The contract's checks (§2.3 rule 3) run on the merged result, with the original messages, and
point at the config key when the value came from `ongoingai.yaml` or an env override.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pydantic

from ongoingai.engine.models.provider import Provider
from ongoingai.engine.paths import normalize_path_prefix
from ongoingai.engine.problems import Problem

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ongoingai.engine.config import GatewayConfig
    from ongoingai.engine.config_load import LoadedConfig
    from ongoingai.engine.policy_files import PolicyFile

__all__ = ["layer_providers", "merge_providers"]

_REQUIRED_NEW = ("prefix", "upstream", "dialect")


def layer_providers(
    files: list[PolicyFile], config: GatewayConfig
) -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    """Provider data by name, unchecked: files in order (a later name wins), then overrides.

    The one place the layering rule lives, so the snapshot build and the commands that only
    need addresses (`shell-init`, `wrap`, `doctor`, which must work on a config that does not
    validate) cannot disagree about which prefix and upstream a provider ends up with.

    Returns:
        The merged fields per provider name, and for each provider that only `ongoingai.yaml`
        declares but leaves incomplete, the required fields it is missing (that provider is
        left out of the merged data).
    """
    merged: dict[str, dict[str, Any]] = {}
    for f in files:
        data = {k: v for k, v in f.data.items() if k not in ("kind", "version")}
        merged[data["name"]] = data
    incomplete: dict[str, list[str]] = {}
    for name, override in config.providers.items():
        fields = override.model_dump(exclude_none=True)
        if name not in merged:
            missing = [k for k in _REQUIRED_NEW if k not in fields]
            if missing:
                incomplete[name] = missing
                continue
            merged[name] = {"name": name}
        merged[name].update(fields)
    return merged, incomplete


def merge_providers(
    files: list[PolicyFile], loaded: LoadedConfig, problems: list[Problem]
) -> tuple[Provider, ...] | None:
    """Merge and check providers; append problems and return None when any is invalid."""
    origin = {str(f.data["name"]): f for f in files}
    before = len(problems)
    merged, incomplete = layer_providers(files, loaded.config)
    for name, missing in incomplete.items():
        msg = f'new provider "{name}" must set {", ".join(missing)}'
        problems.append(_locate(loaded, name, None, msg, origin))
    for name, data in merged.items():
        for field, message in _check(name, data):
            problems.append(_locate(loaded, name, field, message, origin))
    problems.extend(_prefix_clashes(merged, loaded, origin))
    if len(problems) > before:
        return None
    try:
        return tuple(Provider.model_validate(data) for data in merged.values())
    except pydantic.ValidationError as exc:
        problems.append(Problem(str(loaded.path), 1, 1, "/providers", str(exc)))
        return None


def _check(name: str, data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    prefix = str(data.get("prefix", "")).strip()
    if not prefix:
        yield "prefix", f"{name}.prefix is required"
    elif not prefix.startswith("/"):
        yield "prefix", f"{name}.prefix must start with '/' (got \"{prefix}\")"
    upstream = str(data.get("upstream", "")).strip()
    if not upstream:
        yield "upstream", f"{name}.upstream is required"
        return
    try:
        parts = urlsplit(upstream)
    except ValueError as exc:
        yield "upstream", f"parse {name}.upstream: {exc}"
        return
    if parts.scheme not in ("http", "https") or not parts.hostname:
        yield "upstream", f'{name}.upstream must include scheme and host (got "{upstream}")'


def _prefix_clashes(
    merged: dict[str, dict[str, Any]], loaded: LoadedConfig, origin: dict[str, PolicyFile]
) -> Iterator[Problem]:
    owner: dict[str, str] = {}
    for name, data in merged.items():
        prefix = normalize_path_prefix(str(data.get("prefix", "")))
        if prefix in owner:
            msg = f'provider prefix "{prefix}" is used by both {owner[prefix]} and {name}'
            yield _locate(loaded, name, "prefix", msg, origin)
        elif prefix in ("/api", "/") or prefix.startswith("/api/"):
            yield _locate(
                loaded, name, "prefix", f'provider prefix "{prefix}" overlaps /api', origin
            )
        owner.setdefault(prefix, name)


def _locate(
    loaded: LoadedConfig,
    name: str,
    field: str | None,
    message: str,
    origin: dict[str, PolicyFile],
) -> Problem:
    """Point at the config key if it set this value, else at the provider's data file."""
    config_pointer = f"/providers/{name}" + (f"/{field}" if field else "")
    env_var = {
        ("openai", "upstream"): "ONGOINGAI_OPENAI_UPSTREAM",
        ("anthropic", "upstream"): "ONGOINGAI_ANTHROPIC_UPSTREAM",
    }.get((name, field or ""))
    if env_var and any(var == env_var for var, _ in loaded.env_applied):
        return Problem(f"${env_var}", 1, 1, config_pointer, message)
    if config_pointer in loaded.document.positions or name not in origin:
        return loaded.document.problem(config_pointer, message)
    return origin[name].document.problem(f"/{field}" if field else "", message)
