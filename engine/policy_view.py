"""The policy files and provider addresses a config points at, read without judging them.

Operator commands such as `shell-init`, `wrap` and `doctor` must answer even when the
config or a policy file does not validate (`doctor` exists to explain exactly that), so they
cannot wait for a complete snapshot. This view keeps every schema-valid file, skips the
others, and layers providers with the snapshot build's own rule (`layer_providers`), so the
addresses it gives are the ones a valid snapshot of the same files would serve.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ongoingai.engine.paths import normalize_path_prefix
from ongoingai.engine.policy_files import discover, load_policy_files, packaged_policy_dir
from ongoingai.engine.providers_merge import layer_providers
from ongoingai.engine.snapshot_build import user_policy_dir

if TYPE_CHECKING:
    from pathlib import Path

    from ongoingai.engine.config_load import LoadedConfig
    from ongoingai.engine.policy_files import PolicyFile
    from ongoingai.engine.schemas import SchemaSet

__all__ = ["PolicyView", "ProviderRoute", "read_policy_view"]


@dataclass(frozen=True, slots=True)
class ProviderRoute:
    """Where a provider is served and where it forwards to (values as configured)."""

    name: str
    prefix: str  # normalized: leading `/`, no trailing `/`, `/` for empty
    upstream: str
    dialect: str


@dataclass(frozen=True, slots=True)
class PolicyView:
    """A loaded config with the schema-valid policy files it brings in (packaged first)."""

    loaded: LoadedConfig
    files: tuple[PolicyFile, ...]
    policies_dir: Path | None

    def of_kind(self, kind: str) -> list[PolicyFile]:
        """The files of one `kind:`, packaged ones first, in discovery order."""
        return [f for f in self.files if f.kind == kind]

    def provider_routes(self) -> list[ProviderRoute]:
        """Every provider the config ends up with, in layering order."""
        merged, _incomplete = layer_providers(self.of_kind("provider"), self.loaded.config)
        return [
            ProviderRoute(
                name=name,
                prefix=normalize_path_prefix(str(data.get("prefix", ""))),
                upstream=str(data.get("upstream", "")).strip(),
                dialect=str(data.get("dialect", "")),
            )
            for name, data in merged.items()
        ]

    def incomplete_providers(self) -> dict[str, list[str]]:
        """Providers only `ongoingai.yaml` declares, with the required fields they lack."""
        return layer_providers(self.of_kind("provider"), self.loaded.config)[1]

    def provider(self, name: str) -> ProviderRoute | None:
        """The provider called `name`, if the config has one."""
        return next((p for p in self.provider_routes() if p.name == name), None)


def read_policy_view(loaded: LoadedConfig, schemas: SchemaSet) -> PolicyView:
    """Read the packaged policy set and the `policies:` directory; invalid files are skipped."""
    policies_dir = user_policy_dir(loaded.path, loaded.config.policies)
    paths = [(p, True) for p in discover(packaged_policy_dir())]
    if policies_dir is not None:
        paths += [(p, False) for p in discover(policies_dir)]
    files, _problems = load_policy_files(paths, schemas)
    return PolicyView(loaded, tuple(files), policies_dir)
