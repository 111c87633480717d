"""The stored gateway keys a replica accepts, kept fresh by polling the database.

Every replica polls the active keys about once a second (`auth.key_refresh_ms`), so a key
created, rotated or revoked through any replica (or the CLI) takes effect on all of them within
one refresh interval plus one query. If the database stops answering, the last good set keeps
serving until it is older than `auth.key_max_staleness_ms`; after that requests fail closed
(503 `verification_unavailable`) instead of honouring keys that may have been revoked.

`last_used_at` is noted in memory and written in batches by the same loop: a key lookup never
waits for a database write.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Protocol

from ongoingai.engine.auth.keyring import KeyRing, StoredKeyFields, entry_from_store

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ongoingai.engine.config import AuthConfig

__all__ = ["DirectoryUnavailable", "KeyDirectory", "KeySource"]

log = logging.getLogger("ongoingai.auth")


class KeySource(Protocol):
    """The stored keys (`storage.gateway_keys.GatewayKeyStore`)."""

    async def active_keys(self) -> Sequence[StoredKeyFields]:
        """Every key not revoked, all tenants."""
        ...

    async def touch_last_used(self, used: Mapping[str, dt.datetime]) -> None:
        """Record when keys were last used."""
        ...


class DirectoryUnavailable(Exception):
    """The stored keys are older than the staleness bound and cannot be refreshed."""


class KeyDirectory:
    """This replica's view of the stored keys (YAML keys live in the snapshot, not here)."""

    def __init__(
        self,
        source: KeySource | None,
        settings: Callable[[], AuthConfig],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._settings = settings
        self._clock = clock
        self._ring = KeyRing()
        self._refreshed_at: float | None = None
        self._used: dict[str, dt.datetime] = {}
        self._refresh_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._failing = False

    @property
    def has_store(self) -> bool:
        """Whether stored keys exist at all (storage is open)."""
        return self._source is not None

    async def ring(self) -> KeyRing:
        """The stored keys, refreshed now if the last refresh is too old.

        Raises:
            DirectoryUnavailable: when the keys are stale and the database does not answer.
        """
        if self._source is None:
            return self._ring
        if self._is_stale():
            await self._refresh_once_shared()
            if self._is_stale():
                raise DirectoryUnavailable("gateway key store did not answer")
        return self._ring

    def note_used(self, key_id: str) -> None:
        """Remember that `key_id` was just used; written with the next batch."""
        self._used[key_id] = dt.datetime.now(dt.UTC)

    def _is_stale(self) -> bool:
        if self._refreshed_at is None:
            return True
        max_age = self._settings().key_max_staleness_ms / 1000
        return self._clock() - self._refreshed_at > max_age

    async def _refresh_once_shared(self) -> None:
        """One refresh for every request that found the keys stale at the same time."""
        started = self._clock()
        async with self._refresh_lock:
            if self._refreshed_at is not None and self._refreshed_at >= started:
                return
            await self.refresh()

    async def refresh(self) -> bool:
        """Reload the active keys; on failure keep the previous set. True on success."""
        if self._source is None:
            return True
        began = self._clock()
        try:
            stored = await self._source.active_keys()
        except Exception as exc:  # noqa: BLE001 - any store failure keeps the last good set
            if not self._failing:
                log.warning("gateway key refresh failed", extra={"error_kind": type(exc).__name__})
            self._failing = True
            return False
        self._ring = KeyRing(entry_from_store(key) for key in stored)
        self._refreshed_at = began
        if self._failing:
            log.info("gateway key refresh recovered", extra={"keys": len(self._ring)})
        self._failing = False
        return True

    async def flush_last_used(self) -> None:
        """Write the noted last-use times; a failure drops them (they are advisory)."""
        if self._source is None or not self._used:
            return
        batch, self._used = self._used, {}
        try:
            await self._source.touch_last_used(batch)
        except Exception as exc:  # noqa: BLE001 - last_used_at must never fail a request
            log.warning(
                "failed to update gateway key last_used_at",
                extra={"error_kind": type(exc).__name__},
            )

    def start(self) -> None:
        """Start the refresh loop (idempotent)."""
        if self._source is not None and self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="gateway-key-refresh")

    async def stop(self) -> None:
        """Stop the loop and write pending last-use times."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush_last_used()

    async def _run(self) -> None:
        while not self._stop.is_set():
            settings = self._settings()
            if settings.enabled:
                await self.refresh()
                await self.flush_last_used()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), settings.key_refresh_ms / 1000)
