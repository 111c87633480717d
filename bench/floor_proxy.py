"""The floor for this stack: the smallest useful pass-through proxy written the gateway's way.

A raw-ASGI app on uvicorn (uvloop + httptools, no access log) with one shared aiohttp
`ClientSession` (`auto_decompress=False`): it reads the request body, sends it upstream with the
inbound headers minus hop-by-hop ones and `Host`, and relays status, headers (minus hop-by-hop)
and body chunks as they arrive (`resp.content.iter_any()`). No routing table, no pipeline, no
recording: whatever the gateway costs above this is the price of its features
(reference/perf-baseline.md measured this design at ~8x nginx's CPU per request).

Usage: `python bench/floor_proxy.py --port 9002 --upstream http://127.0.0.1:9001 [--cpu 1]`
(the upstream may also come from `FLOOR_UPSTREAM`). A request for `/x/y` goes to
`<upstream>/x/y`; an optional `--strip-prefix /openai` mirrors the gateway's provider prefix.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

import aiohttp
import uvicorn
from yarl import URL

__all__ = ["FloorProxy", "main"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_REQUEST_DROP: Final = HOP_BY_HOP | {b"host", b"content-length"}


class FloorProxy:
    """Raw-ASGI pass-through to one upstream base URL."""

    def __init__(self, upstream: str, strip_prefix: str = "") -> None:
        self._upstream = upstream.rstrip("/")
        self._strip = strip_prefix.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (HTTP or lifespan)."""
        if scope["type"] == "http":
            await self._proxy(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._session = aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=60),
                    auto_decompress=False,
                    timeout=aiohttp.ClientTimeout(total=None),
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._session is not None:
                    await self._session.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self._session is not None
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if self._strip and path.startswith(self._strip):
            path = path[len(self._strip) :] or "/"
        url = self._upstream + path
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.lower() not in _REQUEST_DROP
        ]
        try:
            resp = await self._session.request(
                scope["method"],
                URL(url, encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
            )
        except (aiohttp.ClientError, OSError):
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b"upstream unreachable"})
            return
        try:
            out = [(k, v) for k, v in resp.raw_headers if k.lower() not in HOP_BY_HOP]
            await send({"type": "http.response.start", "status": resp.status, "headers": out})
            async for chunk in resp.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            resp.release()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, pin to a CPU if asked, and run uvicorn."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", default=os.environ.get("FLOOR_UPSTREAM", ""))
    parser.add_argument("--strip-prefix", default="", help="path prefix removed before relaying")
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="for experiments only"
    )
    args = parser.parse_args(argv)
    if not args.upstream:
        parser.error("--upstream (or FLOOR_UPSTREAM) is required")
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    uvicorn.run(
        FloorProxy(args.upstream, args.strip_prefix),
        host=args.host,
        port=args.port,
        loop=args.loop,
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        server_header=False,
        date_header=False,
    )


if __name__ == "__main__":
    main()
