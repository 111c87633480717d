"""The audit event of a gateway-key mutation (contract §3.5), one per create/revoke/rotate.

Operators reconstruct who issued, rotated or revoked which key from these events alone, so
every outcome is logged, refusals included, with the same fields. Tokens never appear: the
event names keys by id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ongoingai.engine.api.common import caller
from ongoingai.engine.context import Headers
from ongoingai.engine.correlation import correlation_id

if TYPE_CHECKING:
    from fastapi import Request

    from ongoingai.engine.storage.gateway_keys import StoredKey

__all__ = ["AUDIT_MESSAGE", "Action", "KeyAudit"]

AUDIT_MESSAGE = "audit gateway key lifecycle"
Action = Literal["create", "revoke", "rotate"]

audit_log = logging.getLogger("ongoingai.audit")


@dataclass(slots=True)
class KeyAudit:
    """What one mutation is about; filled in as the request reveals it, logged once."""

    action: Action
    correlation_id: str
    actor_key_id: str
    org_id: str
    workspace_id: str
    target_key_id: str = ""

    @classmethod
    def start(cls, request: Request, action: Action, target_key_id: str = "") -> KeyAudit:
        """An event about `target_key_id`, in the caller's tenant until the key is known."""
        identity = caller(request)
        return cls(
            action=action,
            correlation_id=correlation_id(Headers(request.scope["headers"])),
            actor_key_id=identity.key_id if identity else "",
            org_id=identity.org_id if identity else "",
            workspace_id=identity.workspace_id if identity else "",
            target_key_id=target_key_id,
        )

    def about(self, key: StoredKey) -> None:
        """The operation reached `key`: name it and its tenant."""
        self.target_key_id = key.id
        self.org_id = key.org_id
        self.workspace_id = key.workspace_id

    def success(self, status_code: int) -> None:
        """Log the mutation as done."""
        self._log("success", "", status_code)

    def failure(self, status_code: int, reason: str) -> None:
        """Log the mutation as refused or failed, with the contract's reason code."""
        self._log("error", reason, status_code)

    def _log(self, outcome: str, reason: str, status_code: int) -> None:
        audit_log.info(
            AUDIT_MESSAGE,
            extra={
                "correlation_id": self.correlation_id,
                "audit_action": self.action,
                "audit_outcome": outcome,
                "audit_reason": reason,
                "status_code": status_code,
                "actor_key_id": self.actor_key_id,
                "org_id": self.org_id,
                "workspace_id": self.workspace_id,
                "target_key_id": self.target_key_id,
            },
        )
