"""In-memory request windows: the contract's rule, Retry-After, both scopes or neither, sweeping."""

from __future__ import annotations

import pytest

from ongoingai.engine.limits import MemoryWindow, Refusal, WindowCheck

KEY = WindowCheck("key-a", 2, "KEY_RATE_LIMIT_EXCEEDED", "request rate limit exceeded for key")
WORKSPACE = WindowCheck(
    "ws-a", 3, "WORKSPACE_RATE_LIMIT_EXCEEDED", "request rate limit exceeded for workspace"
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_the_request_after_the_limit_is_refused_until_the_oldest_is_a_minute_old(clock):
    window = MemoryWindow(clock)

    assert window.admit_now([KEY]) is None
    clock.now += 12.2
    assert window.admit_now([KEY]) is None
    clock.now += 0.3

    assert window.admit_now([KEY]) == Refusal(
        "KEY_RATE_LIMIT_EXCEEDED", "request rate limit exceeded for key", 48
    )
    clock.now = 1060.0  # the first admission is exactly a minute old: it no longer counts
    assert window.admit_now([KEY]) is None


def test_retry_after_is_at_least_one_second(clock):
    window = MemoryWindow(clock)
    window.admit_now([KEY])
    window.admit_now([KEY])
    clock.now += 59.9

    refusal = window.admit_now([KEY])

    assert refusal is not None and refusal.retry_after_seconds == 1


def test_a_request_the_workspace_refuses_does_not_use_up_its_keys_window(clock):
    window = MemoryWindow(clock)
    other_key = WindowCheck("key-b", 2, KEY.code, KEY.message)
    for _ in range(3):
        assert window.admit_now([other_key if _ else KEY, WORKSPACE]) is None

    refused = [window.admit_now([KEY, WORKSPACE]) for _ in range(5)]

    assert {r.code for r in refused if r is not None} == {"WORKSPACE_RATE_LIMIT_EXCEEDED"}
    clock.now += 60
    # key-a was admitted once and refused five times: it still has one slot, then none
    assert window.admit_now([KEY, WORKSPACE]) is None
    assert window.admit_now([KEY]) is None
    assert window.admit_now([KEY]) is not None


def test_the_key_window_is_checked_before_the_workspace_window(clock):
    window = MemoryWindow(clock)
    tight = WindowCheck("ws-a", 2, WORKSPACE.code, WORKSPACE.message)
    window.admit_now([KEY, tight])
    window.admit_now([KEY, tight])

    refusal = window.admit_now([KEY, tight])

    assert refusal is not None and refusal.code == "KEY_RATE_LIMIT_EXCEEDED"


def test_quiet_scopes_are_swept_at_most_every_two_minutes(clock):
    window = MemoryWindow(clock)
    for i in range(25):
        window.admit_now([WindowCheck(f"key-{i}", 5, KEY.code, KEY.message)])
    clock.now += 119
    window.admit_now([WindowCheck("key-0", 5, KEY.code, KEY.message)])
    assert window.scope_count == 25  # not yet: the last sweep was less than 2 minutes ago

    clock.now += 61  # three minutes after the burst
    window.admit_now([WindowCheck("key-0", 5, KEY.code, KEY.message)])

    assert window.scope_count == 1
