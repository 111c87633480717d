"""KeyDirectory: refresh, staleness bound (fail closed), last-used batching."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pytest

from ongoingai.engine.auth.directory import DirectoryUnavailable, KeyDirectory
from ongoingai.engine.auth.tokens import hash_token
from ongoingai.engine.config import AuthConfig

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Stored:
    id: str
    token_hash: str
    org_id: str = "o"
    workspace_id: str = "w"
    role: str = "developer"
    permissions: tuple[str, ...] = ()


@dataclass
class Source:
    """The store's two reads/writes the directory uses, over a list (a unit-test double)."""

    keys: list[Stored] = field(default_factory=list)
    down: bool = False
    reads: int = 0
    touched: list[dict[str, dt.datetime]] = field(default_factory=list)

    async def active_keys(self) -> Sequence[Stored]:
        self.reads += 1
        if self.down:
            raise ConnectionError("database is down")
        return list(self.keys)

    async def touch_last_used(self, used: Mapping[str, dt.datetime]) -> None:
        if self.down:
            raise ConnectionError("database is down")
        self.touched.append(dict(used))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


SETTINGS = AuthConfig(enabled=True, key_refresh_ms=1000, key_max_staleness_ms=30000)


def _directory(source: Source, clock: Clock) -> KeyDirectory:
    return KeyDirectory(source, lambda: SETTINGS, clock)


async def test_first_lookup_reads_the_store_and_finds_keys_by_token_hash():
    source = Source([Stored("k1", hash_token("secret-one"))])
    directory = _directory(source, Clock())
    ring = await directory.ring()
    found = ring.find(hash_token("secret-one"))
    assert found is not None and found.key_id == "k1" and found.source == "database"
    assert ring.find(hash_token("secret-two")) is None


async def test_a_revoked_key_disappears_at_the_next_refresh():
    source = Source([Stored("k1", hash_token("secret-one"))])
    directory = _directory(source, Clock())
    await directory.ring()
    source.keys.clear()
    assert (await directory.ring()).find(hash_token("secret-one")) is not None  # not refreshed yet
    assert await directory.refresh() is True
    assert (await directory.ring()).find(hash_token("secret-one")) is None


async def test_an_outage_keeps_the_last_keys_until_the_staleness_bound_then_fails_closed():
    clock = Clock()
    source = Source([Stored("k1", hash_token("secret-one"))])
    directory = _directory(source, clock)
    await directory.ring()
    source.down = True
    assert await directory.refresh() is False
    clock.now += 29.0
    assert (await directory.ring()).find(hash_token("secret-one")) is not None
    clock.now += 2.0
    with pytest.raises(DirectoryUnavailable):
        await directory.ring()
    source.down = False
    assert (await directory.ring()).find(hash_token("secret-one")) is not None


async def test_concurrent_stale_lookups_share_one_refresh():
    import asyncio

    source = Source([Stored("k1", hash_token("secret-one"))])
    directory = _directory(source, Clock())
    await asyncio.gather(*(directory.ring() for _ in range(20)))
    assert source.reads == 1


async def test_last_used_is_noted_in_memory_and_written_in_one_batch():
    source = Source([Stored("k1", hash_token("a")), Stored("k2", hash_token("b"))])
    directory = _directory(source, Clock())
    directory.note_used("k1")
    directory.note_used("k2")
    directory.note_used("k1")
    assert source.touched == []
    await directory.flush_last_used()
    assert len(source.touched) == 1 and set(source.touched[0]) == {"k1", "k2"}
    await directory.flush_last_used()
    assert len(source.touched) == 1  # nothing new to write


async def test_a_failed_last_used_write_never_raises():
    source = Source(down=True)
    directory = _directory(source, Clock())
    directory.note_used("k1")
    await directory.flush_last_used()  # logged, dropped
    assert source.touched == []


async def test_without_storage_there_are_no_stored_keys_and_nothing_is_stale():
    directory = KeyDirectory(None, lambda: SETTINGS)
    assert len(await directory.ring()) == 0
    assert directory.has_store is False
