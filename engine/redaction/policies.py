"""Which redaction rules and mode apply to a request: the global policy, scopes and policy files.

Built once per snapshot by :meth:`PolicySet.build`, from the contract's ``pii:`` block of
``ongoingai.yaml`` and the ``kind: redaction`` files (keyed by ``policy_id``). It is immutable,
and :meth:`PolicySet.resolve` is cheap enough to call on every request.

Semantics:

1. **Global policy.** Its rules (stages, detectors, header and body denylists, replacement) come
   from the redaction file named by ``pii.policy_id`` (empty means ``default/v1``, the packaged
   ``policies/redaction/default.yaml``, whose rules are the contract defaults). Every key the
   ``pii:`` block writes explicitly overrides the file's value, key by key
   (``pii.detectors.email: false`` turns off email and leaves the rest of the file's detectors).
   When ``pii.policy_id`` names no file, the rules are the ``pii:`` block's with the contract
   defaults, as in the contract. The global mode is ``pii.mode`` when set, otherwise the named
   file's ``mode``. ``auto`` (the contract's empty mode) means redact_storage when
   ``tracing.capture_bodies`` is true, otherwise off.
2. **Scopes.** The candidates are ``pii.scopes`` followed by the ``scopes`` of every redaction
   file, in the order given. A scope matches when every selector it sets matches: org_id,
   workspace_id and key_id exactly after trimming, provider case-insensitively, route_prefix by
   path prefix (``/openai/v1`` covers ``/openai/v1/chat``, not ``/openai/v1x``). Among the
   matching scopes the one with the most selectors wins, and ties go to the first declared. No
   match means the global policy applies.
3. **A scope's policy id.** A scope's ``policy_id`` defaults to the global one for ``pii.scopes``,
   and to its own file's for a scope declared in a file. So a file's scopes say where that file
   applies, and :attr:`PolicySet.scopes` holds every scope with that default filled in.
4. **A winning scope's rules.** If the scope's policy id names a redaction file other than the
   global policy id, that file's rules apply. The mode is the scope's ``mode`` when set,
   otherwise the file's; if that is ``auto``, the global effective mode. A policy id naming no
   file, or the global one, keeps the global rules, with the scope's mode when set (the
   contract's behaviour: a scope overrides mode and/or policy id).

Mode names are trimmed and lowercased by the models.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ongoingai.engine.models.redaction import DEFAULT_POLICY_ID, RedactionPolicy, Scope
from ongoingai.engine.redaction.body import BodyRedactor, redactor_for

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ongoingai.engine.config import PiiConfig
    from ongoingai.engine.models.redaction import Mode

__all__ = ["PolicySet", "Resolution"]

_RULES = ("stages", "detectors", "headers", "body", "replacement")
"""The keys of a policy that are its rules (as opposed to mode, policy_id and scopes)."""
_WINNER_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Resolution:
    """The redaction decision for one request."""

    mode: Mode
    """The effective mode (``auto`` already resolved)."""
    policy_id: str
    """The policy id recorded with the trace."""
    policy: RedactionPolicy
    """The rules in effect: stages, detectors, header and body denylists, replacement."""
    redactor: BodyRedactor
    """The compiled body redactor of ``policy``."""
    scope_index: int | None
    """The winning scope's index in :attr:`PolicySet.scopes`; ``None`` for the global policy."""


def _global_policy(pii: PiiConfig, files: dict[str, RedactionPolicy]) -> RedactionPolicy:
    """The ``pii:`` block as a policy, layered over the file its ``policy_id`` names (rule 1)."""
    policy_id = pii.policy_id.strip() or DEFAULT_POLICY_ID
    base = files.get(policy_id)
    data: dict[str, Any] = pii.model_dump()
    if base is not None:
        written = pii.model_dump(exclude_unset=True)
        rules = base.model_dump(include=set(_RULES))
        for key in _RULES:
            rules[key].update(written.get(key, {}))
        data |= rules
        data["mode"] = pii.mode.strip() or base.mode
    data["policy_id"] = policy_id
    return RedactionPolicy.from_pii_config(data)


def _scopes(global_policy: RedactionPolicy, files: Sequence[RedactionPolicy]) -> tuple[Scope, ...]:
    """``pii.scopes`` then every file's scopes, a file's own policy id filled in (rule 3)."""
    scopes = list(global_policy.scopes)
    for file in files:
        scopes.extend(
            scope if scope.policy_id else scope.model_copy(update={"policy_id": file.policy_id})
            for scope in file.scopes
        )
    return tuple(scopes)


class PolicySet:
    """The global redaction policy, every scope and the policy files of one snapshot."""

    __slots__ = ("_global", "_scoped", "_specificity", "_winner", "scopes")

    scopes: tuple[Scope, ...]
    """Every scope in precedence order for ties: ``pii.scopes``, then each file's."""

    def __init__(
        self,
        scopes: tuple[Scope, ...],
        global_resolutions: tuple[Resolution, Resolution],
        scoped_resolutions: tuple[tuple[Resolution, Resolution], ...],
    ) -> None:
        """Store precomputed decisions; use :meth:`build`.

        Args:
            scopes: Every scope, in declaration order.
            global_resolutions: The global decision without and with body capture.
            scoped_resolutions: The same, for each scope winning.
        """
        self.scopes = scopes
        self._global = global_resolutions
        self._scoped = scoped_resolutions
        self._specificity = tuple(scope.match.specificity for scope in scopes)
        self._winner: Callable[[str, str, str, str, str], int | None] = functools.lru_cache(
            maxsize=_WINNER_CACHE_SIZE
        )(self._find_winner)

    @classmethod
    def build(cls, pii: PiiConfig, files: Sequence[RedactionPolicy]) -> PolicySet:
        """Build the set once per snapshot; every decision is precomputed.

        Args:
            pii: The contract's ``pii:`` block.
            files: The redaction files (later ones win on a repeated ``policy_id``).

        Returns:
            The policy set.

        Raises:
            pydantic.ValidationError: The ``pii:`` block holds an invalid mode or an empty scope
                (config validation reports both first, with their contract messages).
        """
        by_id = {file.policy_id: file for file in files}
        global_policy = _global_policy(pii, by_id)
        global_resolutions = (
            _resolution(global_policy, global_policy, capture=False),
            _resolution(global_policy, global_policy, capture=True),
        )
        scopes = _scopes(global_policy, files)
        scoped = []
        for index, scope in enumerate(scopes):
            policy_id = scope.policy_id or global_policy.policy_id
            file = by_id.get(policy_id) if policy_id != global_policy.policy_id else None
            scoped.append(
                tuple(
                    _resolution(
                        file or global_policy,
                        global_policy,
                        capture=capture,
                        scope=scope,
                        scope_index=index,
                    )
                    for capture in (False, True)
                )
            )
        return cls(scopes, global_resolutions, tuple(scoped))  # type: ignore[arg-type]

    def resolve(
        self,
        *,
        org_id: str,
        workspace_id: str,
        key_id: str,
        provider: str,
        route: str,
        capture_bodies: bool,
    ) -> Resolution:
        """Return the decision for one request (see the module docstring).

        Args:
            org_id: The caller's organisation.
            workspace_id: The caller's workspace.
            key_id: The gateway key id ("" when unauthenticated).
            provider: The provider the request is routed to ("" when none).
            route: The request path.
            capture_bodies: ``tracing.capture_bodies``, which resolves ``auto`` modes.

        Returns:
            The effective mode, policy id, rules, compiled redactor and winning scope.
        """
        if not self.scopes:
            return self._global[capture_bodies]
        winner = self._winner(org_id, workspace_id, key_id, provider, route)
        if winner is None:
            return self._global[capture_bodies]
        return self._scoped[winner][capture_bodies]

    def _find_winner(
        self, org_id: str, workspace_id: str, key_id: str, provider: str, route: str
    ) -> int | None:
        """The most specific matching scope, the first declared on a tie (cached by arguments)."""
        winner: int | None = None
        best = 0
        for index, scope in enumerate(self.scopes):
            specificity = self._specificity[index]
            if specificity > best and scope.match.matches(
                org_id, workspace_id, key_id, provider, route
            ):
                winner, best = index, specificity
        return winner


def _resolution(
    policy: RedactionPolicy,
    global_policy: RedactionPolicy,
    *,
    capture: bool,
    scope: Scope | None = None,
    scope_index: int | None = None,
) -> Resolution:
    """The decision when ``policy``'s rules apply, optionally through a winning scope (rule 4)."""
    global_mode = global_policy.effective_mode(capture_bodies=capture)
    if scope is None:
        return Resolution(global_mode, global_policy.policy_id, policy, redactor_for(policy), None)
    file_mode = policy.mode if policy is not global_policy and policy.mode != "auto" else None
    return Resolution(
        mode=scope.mode or file_mode or global_mode,
        policy_id=scope.policy_id or global_policy.policy_id,
        policy=policy,
        redactor=redactor_for(policy),
        scope_index=scope_index,
    )
