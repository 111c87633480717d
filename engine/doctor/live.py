"""Checks that talk to storage: trace-store connectivity, and the gateway-key posture.

Each opens the configured store the way `serve` does (migrations included) under its own
5 s budget, so a blackholed database makes doctor report, not hang.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from ongoingai.engine.cli_common import CliFailure, open_storage
from ongoingai.engine.doctor.result import CheckResult

if TYPE_CHECKING:
    from ongoingai.engine.config import GatewayConfig
    from ongoingai.engine.models.rbac import RbacPolicy

__all__ = ["TIMEOUT_S", "check_auth_posture", "check_storage"]

TIMEOUT_S = 5.0
#: Headers that carry the caller's own provider key: a gateway key there would be forwarded.
_PROVIDER_HEADERS = ("authorization", "x-api-key")


async def check_storage(config: GatewayConfig) -> CheckResult:
    """Open the trace store and read one trace, within 5 s."""
    from ongoingai.engine.storage import TraceReader, redact_dsn

    storage = config.storage
    driver = storage.driver.strip()
    phase = "open"
    try:
        async with asyncio.timeout(TIMEOUT_S):
            async with open_storage(config) as engine:
                phase = "query"
                await TraceReader(engine).list_recent(1)
                phase = "close"
    except CliFailure as exc:
        return CheckResult("storage", "fail", "failed to initialize trace storage", (str(exc),))
    except Exception as exc:  # noqa: BLE001 - any driver error is the verdict, not a crash
        reason = f"timed out after {TIMEOUT_S:g}s" if isinstance(exc, TimeoutError) else _line(exc)
        if phase == "open":
            summary = "failed to initialize trace storage"
        elif phase == "query":
            summary = "trace storage connectivity check failed"
        else:
            return CheckResult("storage", "warn", "trace storage did not close cleanly", (reason,))
        return CheckResult("storage", "fail", summary, (reason,))
    if driver == "sqlite":
        # The original prints filepath.Abs: lexical, not resolved through symlinks.
        path = os.path.abspath(os.path.expanduser(storage.path))  # noqa: PTH100, PTH111
        summary = "connected to sqlite trace storage"
        return CheckResult("storage", "pass", summary, (f"path: {path}",))
    detail = f"dsn: {redact_dsn(storage.dsn)}"
    return CheckResult("storage", "pass", "connected to postgres trace storage", (detail,))


async def check_auth_posture(config: GatewayConfig, rbac: RbacPolicy | None) -> CheckResult:
    """Is the gateway key header safe, is auth on, and can anyone authenticate?"""
    auth = config.auth
    header = auth.header.strip()
    if header.lower() in _PROVIDER_HEADERS:
        detail = f'auth.header="{auth.header}" conflicts with Authorization/X-API-Key'
        summary = "auth header conflicts with provider credential headers"
        return CheckResult("auth_posture", "fail", summary, (detail,))
    protected = _protected_rules(rbac)
    if not auth.enabled:
        bypassed = (
            f"{protected} protected authorization rules are bypassed"
            if protected is not None
            else "protected authorization rules are bypassed (the rbac policy is invalid)"
        )
        off = (f"auth.enabled=false (header: {header})", bypassed)
        return CheckResult("auth_posture", "warn", "gateway auth is disabled", off)
    try:
        stored = await _stored_key_count(config)
    except Exception as exc:  # noqa: BLE001 - any storage error is the verdict, not a crash
        reason = f"timed out after {TIMEOUT_S:g}s" if isinstance(exc, TimeoutError) else _line(exc)
        return CheckResult("auth_posture", "fail", "failed to load gateway keys", (reason,))
    active = len(auth.keys) + stored
    if active == 0:
        detail = "auth is enabled but no gateway keys are configured"
        return CheckResult("auth_posture", "fail", "failed to initialize gateway auth", (detail,))
    rules = str(protected) if protected is not None else "unknown (the rbac policy is invalid)"
    details = (
        f"auth header: {header}",
        f"active gateway keys: {active}",
        f"protected authorization rules: {rules}",
    )
    return CheckResult("auth_posture", "pass", "gateway auth posture is healthy", details)


def _protected_rules(rbac: RbacPolicy | None) -> int | None:
    """Route rules that need a permission: what auth protects, and what disabling it opens."""
    return None if rbac is None else sum(not rule.public for rule in rbac.routes)


async def _stored_key_count(config: GatewayConfig) -> int:
    from ongoingai.engine.storage.gateway_keys import GatewayKeyStore

    async with asyncio.timeout(TIMEOUT_S), open_storage(config) as engine:
        return len(await GatewayKeyStore(engine).active_keys())


def _line(exc: BaseException) -> str:
    """The driver's own message, first line (SQLAlchemy appends the statement after it)."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
