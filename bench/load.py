"""The benchmark's load driver: sequential latency and fixed-duration throughput, loopback only.

Two measurements, each for non-streaming or streaming chat completions:

- `latency`: N requests one after another on one keep-alive connection (after a warm-up);
  reports p50/p99 of the whole exchange (for streams: until the last SSE byte) and of the
  first body byte.
- `throughput`: C connections (64 by default) each sending requests back to back until the
  duration is over; in-flight requests are then allowed to finish, so every request whose
  work was paid for is counted. Reports requests/s. An optional probe (for example the proxy's
  CPU time from /proc) is sampled once all connections are open and again at the end.

The client is a raw asyncio protocol over uvloop with httptools' response parser: the same
packages that uvicorn runs on, so the bench needs nothing beyond the project's dependencies, and
it costs a small fraction of an aiohttp client request, so the driver (which shares a CPU with the
fake upstream) stays out of the way. `--client aiohttp` uses an aiohttp `ClientSession`
instead, as a cross-check. `wrk_throughput` runs wrk instead when it is installed.

Standalone: `python bench/load.py --url http://127.0.0.1:9001/v1/chat/completions
[--stream] [--mode latency|throughput|both] [--requests 2000] [--duration 5] [--connections 64]
[--header "X-OngoingAI-Gateway-Key: <token>"]`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol, cast
from urllib.parse import urlsplit

import aiohttp
import httptools
import uvloop

__all__ = [
    "ChatRequest",
    "LatencyResult",
    "Probe",
    "RawClient",
    "Settle",
    "ThroughputResult",
    "latency",
    "throughput",
    "wrk_available",
    "wrk_throughput",
]

STREAM_END: Final = b"data: [DONE]\n\n"
_TIMEOUT_S: Final = 30.0
Probe = Callable[[], dict[str, float]]
Settle = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One POST of an OpenAI chat completion to a URL on loopback."""

    url: str
    stream: bool
    extra_headers: tuple[tuple[str, str], ...] = ()  # per target, e.g. a gateway key

    @property
    def host(self) -> str:
        """Host part of the URL."""
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        """Port of the URL (80 if absent)."""
        return urlsplit(self.url).port or 80

    @property
    def target(self) -> str:
        """Path and query of the URL."""
        parts = urlsplit(self.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def body(self) -> bytes:
        """A small realistic chat request; streams ask for the usage chunk."""
        doc: dict[str, object] = {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "system", "content": "You are a terse assistant."},
                {"role": "user", "content": "Say hello to the benchmark in a few words."},
            ],
            "max_tokens": 64,
            "temperature": 0,
        }
        if self.stream:
            doc["stream"] = True
            doc["stream_options"] = {"include_usage": True}
        return json.dumps(doc).encode()

    def headers(self) -> dict[str, str]:
        """Headers an OpenAI SDK would send (minus its telemetry ones), then `extra_headers`."""
        return {
            "Content-Type": "application/json",
            "Accept": "text/event-stream" if self.stream else "application/json",
            "Authorization": "Bearer sk-bench-0000000000000000000000000000",
            "User-Agent": "ongoingai-bench/1",
            **dict(self.extra_headers),
        }

    def wire(self) -> bytes:
        """The whole HTTP/1.1 request as bytes."""
        body = self.body()
        lines = [f"POST {self.target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in self.headers().items()]
        lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass(frozen=True, slots=True)
class Exchange:
    """Outcome of one request: status, timings and whether the body looked right."""

    status: int
    ok: bool
    total_ns: int
    first_byte_ns: int


@dataclass(slots=True)
class LatencyResult:
    """Sequential latency samples in milliseconds (whole exchange and first body byte)."""

    totals_ms: list[float] = field(default_factory=list)
    firsts_ms: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def requests(self) -> int:
        """Requests measured."""
        return len(self.totals_ms)

    @property
    def p50_ms(self) -> float:
        """Median latency."""
        return percentile(sorted(self.totals_ms), 50)

    @property
    def p99_ms(self) -> float:
        """99th percentile latency."""
        return percentile(sorted(self.totals_ms), 99)

    @property
    def ttfb_p50_ms(self) -> float:
        """Median time to the first body byte."""
        return percentile(sorted(self.firsts_ms), 50)

    def merge(self, other: LatencyResult) -> LatencyResult:
        """Both sets of samples together."""
        return LatencyResult(
            self.totals_ms + other.totals_ms,
            self.firsts_ms + other.firsts_ms,
            self.errors + other.errors,
        )


@dataclass(slots=True)
class ThroughputResult:
    """A fixed-duration run with many connections (or several such runs added up)."""

    requests: int
    errors: int
    elapsed_s: float
    probe_delta: dict[str, float] = field(default_factory=dict)
    driver: str = "python"
    deferred: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        """Completed requests per second of wall time."""
        return self.requests / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def merge(self, other: ThroughputResult) -> ThroughputResult:
        """Two runs added up (requests, errors, time and probe deltas)."""
        return ThroughputResult(
            self.requests + other.requests,
            self.errors + other.errors,
            self.elapsed_s + other.elapsed_s,
            _add(self.probe_delta, other.probe_delta),
            self.driver,
            _add(self.deferred, other.deferred),
        )


def _add(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: a[k] + b[k] for k in a.keys() & b.keys()}


def _sub(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: a[k] - b[k] for k in a.keys() & b.keys()}


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


class Client(Protocol):
    """One keep-alive connection able to run exchanges back to back."""

    async def exchange(self) -> Exchange:
        """Send the request and read the whole response."""
        ...

    async def close(self) -> None:
        """Close the connection."""
        ...


class _RawProtocol(asyncio.Protocol):
    """HTTP/1.1 client side of one connection, parsing responses with httptools."""

    def __init__(self, stream: bool) -> None:
        self._stream = stream
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[Exchange] | None = None
        self.lost = False
        self._start = 0
        self._first = 0
        self._tail = b""
        self._nbytes = 0

    def begin(self, waiter: asyncio.Future[Exchange]) -> None:
        """Start timing a new exchange."""
        self.waiter = waiter
        self._start = time.perf_counter_ns()
        self._first = 0
        self._tail = b""
        self._nbytes = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the transport."""
        self.transport = cast("asyncio.Transport", transport)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail a pending exchange."""
        self.lost = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        """Feed the parser."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_exception(exc)
            if self.transport is not None:
                self.transport.close()

    def on_body(self, body: bytes) -> None:
        """Count body bytes; keep the tail to check the stream's end."""
        if not self._first:
            self._first = time.perf_counter_ns()
        self._nbytes += len(body)
        self._tail = (self._tail + body)[-len(STREAM_END) :]

    def on_message_complete(self) -> None:
        """Resolve the exchange."""
        now = time.perf_counter_ns()
        status = self._parser.get_status_code()
        ok = status == 200 and (self._tail == STREAM_END if self._stream else self._nbytes > 0)
        if not self._parser.should_keep_alive() and self.transport is not None:
            self.transport.close()
        first = (self._first or now) - self._start
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(Exchange(status, ok, now - self._start, first))


class RawClient:
    """Raw asyncio + httptools client; reconnects if the server closes the connection."""

    def __init__(self, request: ChatRequest) -> None:
        self._request = request
        self._wire = request.wire()
        self._proto: _RawProtocol | None = None

    async def _connect(self) -> _RawProtocol:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(
            lambda: _RawProtocol(self._request.stream), self._request.host, self._request.port
        )
        return proto

    async def exchange(self) -> Exchange:
        """Send the request and read the whole response."""
        if (
            self._proto is None
            or self._proto.lost
            or self._proto.transport is None
            or self._proto.transport.is_closing()
        ):
            self._proto = await self._connect()
        proto = self._proto
        assert proto.transport is not None
        waiter: asyncio.Future[Exchange] = asyncio.get_running_loop().create_future()
        proto.begin(waiter)
        proto.transport.write(self._wire)
        return await asyncio.wait_for(waiter, _TIMEOUT_S)

    async def close(self) -> None:
        """Close the connection."""
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None


class AiohttpClient:
    """aiohttp `ClientSession` with one connection (cross-check of the raw client)."""

    def __init__(self, request: ChatRequest) -> None:
        self._request = request
        self._body = request.body()
        self._headers = request.headers()
        self._session: aiohttp.ClientSession | None = None

    async def exchange(self) -> Exchange:
        """Send the request and read the whole response."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=1),
                auto_decompress=False,
                timeout=aiohttp.ClientTimeout(total=_TIMEOUT_S),
            )
        start = time.perf_counter_ns()
        first = 0
        tail = b""
        nbytes = 0
        async with self._session.post(
            self._request.url, data=self._body, headers=self._headers
        ) as resp:
            async for chunk in resp.content.iter_any():
                if not first:
                    first = time.perf_counter_ns()
                nbytes += len(chunk)
                tail = (tail + chunk)[-len(STREAM_END) :]
            status = resp.status
        now = time.perf_counter_ns()
        ok = status == 200 and (tail == STREAM_END if self._request.stream else nbytes > 0)
        return Exchange(status, ok, now - start, (first or now) - start)

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
        self._session = None


def make_client(request: ChatRequest, kind: str = "raw") -> Client:
    """A client of the given kind (`raw` or `aiohttp`)."""
    if kind == "aiohttp":
        return AiohttpClient(request)
    return RawClient(request)


async def latency(
    request: ChatRequest, requests: int, warmup: int = 100, client_kind: str = "raw"
) -> LatencyResult:
    """Sequential latency over one keep-alive connection."""
    client = make_client(request, client_kind)
    result = LatencyResult()
    try:
        for i in range(warmup + requests):
            try:
                ex = await client.exchange()
            except (OSError, TimeoutError, aiohttp.ClientError, httptools.HttpParserError):
                result.errors += i >= warmup
                await client.close()
                continue
            if i < warmup:
                continue
            result.errors += not ex.ok
            result.totals_ms.append(ex.total_ns / 1e6)
            result.firsts_ms.append(ex.first_byte_ns / 1e6)
    finally:
        await client.close()
    return result


async def throughput(
    request: ChatRequest,
    connections: int,
    duration_s: float,
    probe: Probe | None = None,
    client_kind: str = "raw",
    settle: Settle | None = None,
) -> ThroughputResult:
    """Requests/s with `connections` clients sending back to back for `duration_s`.

    The closing probe sample is taken once `settle` returns (for example when the server has
    gone idle), so work a server defers past the last answer (batched trace writes, say) still
    counts; how much that was is kept in `deferred`.
    """
    clients = [make_client(request, client_kind) for _ in range(connections)]
    completed = 0
    errors = 0
    try:
        # open every connection (and warm it) before the measured window
        await asyncio.gather(*(c.exchange() for c in clients))
        before = probe() if probe else {}
        start = time.perf_counter()
        deadline = start + duration_s

        async def worker(client: Client) -> None:
            nonlocal completed, errors
            while time.perf_counter() < deadline:
                try:
                    ex = await client.exchange()
                except (OSError, TimeoutError, aiohttp.ClientError, httptools.HttpParserError):
                    errors += 1
                    await client.close()
                    continue
                completed += 1
                errors += not ex.ok

        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - start
        end = probe() if probe else {}
        if settle is not None:
            await settle()
        after = probe() if probe else {}
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return ThroughputResult(
        completed,
        errors,
        elapsed,
        _sub(after, before),
        f"python-{client_kind}",
        _sub(after, end),
    )


def wrk_available() -> str | None:
    """Path of wrk, if installed."""
    return shutil.which("wrk")


_WRK_REQUESTS = re.compile(r"(\d+) requests in ([\d.]+)(us|ms|s|m)")
_WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _lua(value: str) -> str:
    return "[==[" + value + "]==]"


async def wrk_throughput(
    request: ChatRequest,
    connections: int,
    duration_s: float,
    probe: Probe | None = None,
    settle: Settle | None = None,
) -> ThroughputResult:
    """Same measurement with wrk (one thread; wrk inherits this process's CPU affinity).

    wrk stops at the deadline without waiting for requests in flight, so up to `connections`
    requests of work are paid for but not counted (well under 1% at the default duration).
    """
    wrk = wrk_available()
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    headers = "".join(
        f"wrk.headers[ {_lua(k)} ] = {_lua(v)}\n" for k, v in request.headers().items()
    )
    script = f'wrk.method = "POST"\nwrk.body = {_lua(request.body().decode())}\n{headers}'
    with tempfile.TemporaryDirectory(prefix="ongoingai-bench-wrk-") as tmp:
        path = Path(tmp) / "post.lua"
        path.write_text(script)
        cmd = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(duration_s))}s"]
        cmd += ["--timeout", "10s", "-s", str(path), request.url]
        before = probe() if probe else {}
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), duration_s + 30)
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        end = probe() if probe else {}
        if settle is not None:
            await settle()
        after = probe() if probe else {}
    text = out.decode(errors="replace")
    match = _WRK_REQUESTS.search(text)
    if proc.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}):\n{text}")
    requests = int(match.group(1))
    elapsed = float(match.group(2)) * _UNIT_S[match.group(3)]
    errors = 0
    if m := _WRK_NON2XX.search(text):
        errors += int(m.group(1))
    if m := _WRK_SOCKET.search(text):
        errors += sum(int(g) for g in m.groups())
    return ThroughputResult(requests, errors, elapsed, _sub(after, before), "wrk", _sub(after, end))


async def _main(args: argparse.Namespace) -> None:
    request = ChatRequest(args.url, args.stream, tuple(args.header))
    if args.mode in ("latency", "both"):
        lat = await latency(request, args.requests, client_kind=args.client)
        print(
            f"latency: {lat.requests} requests, p50 {lat.p50_ms:.3f} ms, "
            f"p99 {lat.p99_ms:.3f} ms, first byte p50 {lat.ttfb_p50_ms:.3f} ms, "
            f"errors {lat.errors}"
        )
    if args.mode in ("throughput", "both"):
        if args.wrk:
            res = await wrk_throughput(request, args.connections, args.duration)
        else:
            res = await throughput(request, args.connections, args.duration, None, args.client)
        print(
            f"throughput ({res.driver}): {res.requests} requests in {res.elapsed_s:.2f} s = "
            f"{res.rps:.0f} req/s, errors {res.errors}"
        )


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"not `Name: value`: {text!r}")
    return name.strip(), value.strip()


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point for ad-hoc measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--mode", choices=("latency", "throughput", "both"), default="both")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--client", choices=("raw", "aiohttp"), default="raw")
    parser.add_argument("--wrk", action="store_true", help="use wrk for throughput")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        type=_header,
        help="extra request header `Name: value` (repeatable)",
    )
    uvloop.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
