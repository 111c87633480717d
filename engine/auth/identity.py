"""The caller a gateway key identifies: tenant, role and effective permissions."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["IDENTITY_SCOPE_KEY", "Identity"]

#: Where the admin API finds the authenticated caller in the ASGI scope.
IDENTITY_SCOPE_KEY = "ongoingai.identity"


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller. Frozen, so every request holds an independent value.

    `permissions` is what the role grants (from the `rbac` data file) plus the key's explicit
    permissions; `team` is the key's team, or its workspace when it has none (contract §5.1).
    """

    key_id: str
    org_id: str
    workspace_id: str
    team: str
    role: str
    permissions: frozenset[str]

    def allows(self, permission: str) -> bool:
        """Whether this caller holds `permission`."""
        return permission in self.permissions
