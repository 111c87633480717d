"""The limiter facade: one config's quotas, checked for one caller, in the contract's order.

Order (contract §7.1): daily tokens of the key, daily cost of the key, daily tokens of the
workspace, daily cost of the workspace; then the key's request window, then the workspace's.
A request is counted in a window only when every window admits it, and it holds its daily
reservations only when it is admitted.

State lives here, not in the `limit` stage: the stage is rebuilt on every hot reload, while
windows, ledgers and the requests in flight must carry over (`Services.limiter`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from .ledger import ZERO, DailyLedger, Quota, Reservation, UsageScope
from .pg_window import PostgresWindow
from .stored_usage import StoredUsage
from .verdicts import Refusal
from .window import MemoryWindow, WindowCheck, WindowStore

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from ongoingai.engine.auth.identity import Identity
    from ongoingai.engine.config import LimitRule, LimitsConfig

__all__ = ["Admission", "LimitPlan", "Limiter", "window_scope"]

_CHECKS_CACHE_SIZE = 10_000


def window_scope(kind: str, *parts: str) -> str:
    """An unambiguous window scope name (ids may contain any character, `|` included)."""
    return json.dumps([kind, *parts], separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class _Rule:
    rpm: int
    tokens: Decimal
    cost: Decimal

    @classmethod
    def of(cls, rule: LimitRule) -> _Rule:
        """Values ≤ 0 disable a quota; keep them as 0."""
        return cls(
            max(0, rule.requests_per_minute),
            Decimal(max(0, rule.max_tokens_per_day)),
            max(ZERO, rule.max_cost_usd_per_day),
        )

    @property
    def daily(self) -> bool:
        return self.tokens > 0 or self.cost > 0


@dataclass(frozen=True, slots=True)
class LimitPlan:
    """The `limits:` of one config, resolved once per snapshot."""

    key: _Rule
    workspace: _Rule
    # The checks of each caller (org, workspace, key), built once: every request asks again.
    _checks: dict[tuple[str, str, str], tuple[list[Quota], list[WindowCheck]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def checks(self, who: Identity) -> tuple[list[Quota], list[WindowCheck]]:
        """The daily quotas and request windows that apply to `who` (shared: do not mutate)."""
        key = (who.org_id, who.workspace_id, who.key_id)
        found = self._checks.get(key)
        if found is None:
            if len(self._checks) >= _CHECKS_CACHE_SIZE:
                self._checks.clear()
            found = self._checks[key] = (self.quotas(who), self.windows(who))
        return found

    @classmethod
    def from_config(cls, limits: LimitsConfig) -> LimitPlan | None:
        """None when no quota is set (the stage then does nothing at all)."""
        plan = cls(_Rule.of(limits.per_key), _Rule.of(limits.per_workspace))
        enabled = plan.key.daily or plan.workspace.daily or plan.key.rpm or plan.workspace.rpm
        return plan if enabled else None

    def quotas(self, who: Identity) -> list[Quota]:
        """The daily quotas that apply, in the contract's order."""
        key = UsageScope(who.org_id, who.workspace_id, who.key_id)
        workspace = UsageScope(who.org_id, who.workspace_id)
        out: list[Quota] = []
        for scope, rule, whose in (
            (key, self.key, "key"),
            (workspace, self.workspace, "workspace"),
        ):
            code = whose.upper()
            if rule.tokens > 0:
                message = f"daily token limit exceeded for {whose}"
                out.append(
                    Quota(scope, "tokens", rule.tokens, f"{code}_DAILY_TOKENS_EXCEEDED", message)
                )
            if rule.cost > 0:
                message = f"daily cost limit exceeded for {whose}"
                out.append(Quota(scope, "cost", rule.cost, f"{code}_DAILY_COST_EXCEEDED", message))
        return out

    def windows(self, who: Identity) -> list[WindowCheck]:
        """The request windows that apply: the key's, then the workspace's."""
        scopes = (
            (window_scope("key", who.org_id, who.workspace_id, who.key_id), self.key, "key"),
            (window_scope("workspace", who.org_id, who.workspace_id), self.workspace, "workspace"),
        )
        return [
            WindowCheck(
                scope,
                rule.rpm,
                f"{whose.upper()}_RATE_LIMIT_EXCEEDED",
                f"request rate limit exceeded for {whose}",
            )
            for scope, rule, whose in scopes
            if rule.rpm > 0
        ]


class Admission:
    """An admitted request; `settle` with its usage when it ends (idempotent)."""

    __slots__ = ("_reservation",)

    def __init__(self, reservation: Reservation | None) -> None:
        self._reservation = reservation

    def settle(self, tokens: int, cost: Decimal) -> None:
        """Count the request's usage and free its daily reservations."""
        if self._reservation is not None:
            self._reservation.settle(Decimal(tokens), cost)


class Limiter:
    """Request windows plus daily ledger, for the life of the process."""

    def __init__(self, window: WindowStore, ledger: DailyLedger) -> None:
        self._window = window
        self._ledger = ledger

    @classmethod
    def for_storage(cls, engine: AsyncEngine | None) -> Limiter:
        """Windows shared through PostgreSQL, or in memory for SQLite (one process) or none.

        The daily ledger is per process on both backends. It learns other replicas' usage
        from the traces table, at most `DEFAULT_REFRESH_S` (5 s) plus their trace flush
        interval late, and never sees their requests in flight: a burst spread over R replicas
        at the same moment can be admitted up to R times the remaining quota.
        """
        if engine is None:
            return cls(MemoryWindow(), DailyLedger(None))
        window: WindowStore = (
            PostgresWindow(engine) if engine.dialect.name == "postgresql" else MemoryWindow()
        )
        return cls(window, DailyLedger(StoredUsage(engine)))

    async def admit(self, who: Identity, plan: LimitPlan, wait_s: float) -> Admission | Refusal:
        """Decide one request: daily quotas first (may wait), then the request windows.

        Raises:
            LimitStoreUnavailable: the windows or today's usage could not be read.
        """
        reservation: Reservation | None = None
        quotas, checks = plan.checks(who)
        if quotas:
            verdict = await self._ledger.admit(quotas, wait_s)
            if isinstance(verdict, Refusal):
                return verdict
            reservation = verdict
        if checks:
            try:
                refusal = await self._window.admit(checks)
            except BaseException:
                if reservation is not None:  # failed or cancelled: hold nothing
                    reservation.release()
                raise
            if refusal is not None:
                if reservation is not None:
                    reservation.release()
                return refusal
        return Admission(reservation)
