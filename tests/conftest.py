"""Shared fixtures: the fake provider upstreams and a real gateway process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.upstream import FakeUpstream


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def upstream() -> Iterator[FakeUpstream]:
    """A fake OpenAI/Anthropic upstream named "one"."""
    with FakeUpstream("one") as fake:
        yield fake


@pytest.fixture
def upstream_two() -> Iterator[FakeUpstream]:
    """A second fake upstream named "two" (to see which one served)."""
    with FakeUpstream("two") as fake:
        yield fake
