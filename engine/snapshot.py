"""PolicySnapshot: everything one request needs, built completely or not at all.

A snapshot is immutable. Hot reload builds a new one off the request path and swaps the
reference; requests pin the snapshot they started with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import datetime as dt

    from ongoingai.engine.auth.keyring import KeyRing
    from ongoingai.engine.config import GatewayConfig
    from ongoingai.engine.models.pricing import PricingCatalog
    from ongoingai.engine.models.provider import ProviderTable
    from ongoingai.engine.models.rbac import RbacPolicy
    from ongoingai.engine.models.redaction import RedactionPolicy
    from ongoingai.engine.pipeline import Pipeline
    from ongoingai.engine.redaction.policies import PolicySet

__all__ = ["PolicySnapshot"]


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    """One consistent view of config, policy data and the built pipeline.

    `revision` is the SHA-256 of every input (config bytes, policy file bytes, env overrides in
    effect), so equal inputs give equal revisions on every replica.
    """

    revision: str
    loaded_at: dt.datetime
    sources: tuple[str, ...]
    config: GatewayConfig
    providers: ProviderTable
    pricing: PricingCatalog
    rbac: RbacPolicy
    redaction: tuple[RedactionPolicy, ...]
    pipeline: Pipeline
    keys: KeyRing  # the YAML `auth.keys`, indexed by token hash
    pii: PolicySet  # `pii:` plus the redaction files: the policy of each request
