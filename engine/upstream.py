"""The one pooled upstream HTTP client, shared by every snapshot's `forward` stage.

aiohttp's `ClientSession` is the measured choice for the hot path (~10x cheaper per request
than httpx's pool under concurrency; see reference/perf-baseline.md). It lives for the process,
not for a snapshot, so a hot reload never drops warm upstream connections.
"""

from __future__ import annotations

import aiohttp

__all__ = ["UpstreamPool"]


class UpstreamPool:
    """Owns the shared `aiohttp.ClientSession`; opened and closed by the app lifespan."""

    def __init__(self, max_connections: int = 1000, keepalive_s: float = 60.0) -> None:
        self._max = max_connections
        self._keepalive = keepalive_s
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The open session; using it before `start()` is a programming error."""
        if self._session is None:
            raise RuntimeError("upstream pool is not started")
        return self._session

    async def start(self) -> None:
        """Open the session (idempotent)."""
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            limit=self._max, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=self._keepalive
        )
        # Bodies are relayed byte for byte: no decompression, no cookie jar, no default headers
        # that the client did not send.
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("User-Agent",),
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
