"""Local fake upstreams speaking the real OpenAI and Anthropic wire formats for tests."""

from .upstream import (
    HEADER_CACHE_WRITE_TOKENS,
    HEADER_CACHED_TOKENS,
    HEADER_CHUNK_DELAY_MS,
    HEADER_CHUNKS,
    HEADER_DIE_AFTER,
    HEADER_REASONING_TOKENS,
    HEADER_STATUS,
    HEADER_UPSTREAM,
    Controls,
    FakeUpstream,
    RecordedRequest,
)

__all__ = [
    "HEADER_CACHED_TOKENS",
    "HEADER_CACHE_WRITE_TOKENS",
    "HEADER_CHUNKS",
    "HEADER_CHUNK_DELAY_MS",
    "HEADER_DIE_AFTER",
    "HEADER_REASONING_TOKENS",
    "HEADER_STATUS",
    "HEADER_UPSTREAM",
    "Controls",
    "FakeUpstream",
    "RecordedRequest",
]
