"""A fast fake OpenAI upstream for the benchmark: raw asyncio protocol on uvloop + httptools.

`POST /v1/chat/completions` answers at once with either a fixed non-streaming JSON body (with
`usage`), or, when the request body has `"stream": true`, a 44-event SSE stream (a role chunk,
40 content chunks, a finish chunk, a usage chunk and `data: [DONE]`) sent with chunked transfer
encoding. Every response is pre-encoded at start-up, so a request costs a parse and a few
writes: the fake must never be the bottleneck of the measurement.

By default each SSE event is its own write, one event-loop turn apart, as a real provider sends
them (so a proxy relays many small chunks, not one); `--burst` sends the whole stream in one write.

Usage: `python bench/fake_upstream.py --port 9001 [--host 127.0.0.1] [--cpu 0] [--burst]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
from collections import deque
from typing import Final, cast

import httptools
import uvloop

__all__ = [
    "CHAT_PATH",
    "STREAM_EVENTS",
    "chat_json",
    "main",
    "sse_events",
]

CHAT_PATH: Final = b"/v1/chat/completions"
MODEL: Final = "gpt-4o-mini-2024-07-18"
STREAM_EVENTS: Final = 44
_CONTENT_CHUNKS: Final = STREAM_EVENTS - 4  # role + content... + finish + usage + [DONE]
_STREAM_RE: Final = re.compile(rb'"stream"\s*:\s*true')
_COMMON_HEADERS: Final = (
    b"x-request-id: req_bench0000000000000000000000000000\r\n"
    b"openai-organization: bench-org\r\n"
    b"openai-processing-ms: 12\r\n"
    b"openai-version: 2020-10-01\r\n"
    b"x-ratelimit-remaining-requests: 9999\r\n"
)


def chat_json() -> bytes:
    """The fixed non-streaming chat completion body (with usage)."""
    doc = {
        "id": "chatcmpl-bench0000000000000000000000",
        "object": "chat.completion",
        "created": 1764720000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Hello! This is a fixed answer from the benchmark's fake "
                    "upstream, long enough to look like a short real completion.",
                    "refusal": None,
                },
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 24,
            "total_tokens": 43,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
        "system_fingerprint": "fp_bench",
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def sse_events() -> list[bytes]:
    """The 44 SSE events of the streaming answer, each `data: ...\\n\\n`."""
    base = {
        "id": "chatcmpl-bench0000000000000000000000",
        "object": "chat.completion.chunk",
        "created": 1764720000,
        "model": MODEL,
        "system_fingerprint": "fp_bench",
    }

    def event(choices: list[object], usage: object = None) -> bytes:
        doc = {**base, "choices": choices, "usage": usage}
        return b"data: " + json.dumps(doc, separators=(",", ":")).encode() + b"\n\n"

    def delta(d: dict[str, object], finish: str | None = None) -> list[object]:
        return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": finish}]

    events = [event(delta({"role": "assistant", "content": "", "refusal": None}))]
    events.extend(event(delta({"content": f" tok{i}"})) for i in range(_CONTENT_CHUNKS))
    events.append(event(delta({}, "stop")))
    usage = {"prompt_tokens": 19, "completion_tokens": _CONTENT_CHUNKS, "total_tokens": 59}
    events.append(event([], usage))
    events.append(b"data: [DONE]\n\n")
    assert len(events) == STREAM_EVENTS
    return events


def _json_response(status: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 " + status + b"\r\n"
        b"content-type: application/json\r\n"
        + _COMMON_HEADERS
        + b"content-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


_OK_JSON: Final = _json_response(b"200 OK", chat_json())
_NOT_FOUND: Final = _json_response(
    b"404 Not Found", b'{"error":{"message":"not found","type":"invalid_request_error"}}'
)
_STREAM_HEAD: Final = (
    b"HTTP/1.1 200 OK\r\n"
    b"content-type: text/event-stream; charset=utf-8\r\n"
    + _COMMON_HEADERS
    + b"cache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
_STREAM_FRAMES: Final = [b"%x\r\n%b\r\n" % (len(e), e) for e in sse_events()]
_STREAM_FRAMES[-1] += b"0\r\n\r\n"
_STREAM_BURST: Final = _STREAM_HEAD + b"".join(_STREAM_FRAMES)


class _Request:
    """What one parsed request needs for its answer."""

    __slots__ = ("body", "keep_alive", "method", "url")

    def __init__(self) -> None:
        self.url = b""
        self.method = b""
        self.body: list[bytes] = []
        self.keep_alive = True


class UpstreamProtocol(asyncio.Protocol):
    """One client connection: HTTP/1.1 keep-alive, answers in request order."""

    burst = False

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._current = _Request()
        self._queue: deque[_Request] = deque()
        self._streaming = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Remember the transport."""
        self._transport = cast("asyncio.Transport", transport)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the transport; a stream in progress stops at its next event."""
        self._transport = None
        self._queue.clear()

    def data_received(self, data: bytes) -> None:
        """Feed the parser; a malformed request closes the connection."""
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._transport is not None:
                self._transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        """Start a new request."""
        self._current = _Request()

    def on_url(self, url: bytes) -> None:
        """Collect the request target (may arrive in pieces)."""
        self._current.url += url

    def on_body(self, body: bytes) -> None:
        """Collect the request body."""
        self._current.body.append(body)

    def on_message_complete(self) -> None:
        """Queue the answer; answer now unless a stream is still being written."""
        req = self._current
        req.method = self._parser.get_method()
        req.keep_alive = self._parser.should_keep_alive()
        self._queue.append(req)
        if not self._streaming:
            self._answer_next()

    # answering
    def _answer_next(self) -> None:
        while self._queue and self._transport is not None:
            req = self._queue.popleft()
            path = req.url.split(b"?", 1)[0]
            if req.method != b"POST" or path != CHAT_PATH:
                self._write(_NOT_FOUND, req.keep_alive)
            elif _STREAM_RE.search(b"".join(req.body)):
                if self.burst:
                    self._write(_STREAM_BURST, req.keep_alive)
                else:
                    self._streaming = True
                    self._transport.write(_STREAM_HEAD + _STREAM_FRAMES[0])
                    self._loop.call_soon(self._stream_event, 1, req.keep_alive)
                    return
            else:
                self._write(_OK_JSON, req.keep_alive)

    def _write(self, data: bytes, keep_alive: bool) -> None:
        assert self._transport is not None
        self._transport.write(data)
        if not keep_alive:
            self._transport.close()
            self._transport = None

    def _stream_event(self, index: int, keep_alive: bool) -> None:
        if self._transport is None:
            self._streaming = False
            return
        if index < len(_STREAM_FRAMES) - 1:
            self._transport.write(_STREAM_FRAMES[index])
            self._loop.call_soon(self._stream_event, index + 1, keep_alive)
            return
        self._streaming = False
        self._write(_STREAM_FRAMES[index], keep_alive)
        self._answer_next()


async def serve(host: str, port: int, burst: bool) -> None:
    """Serve until SIGINT/SIGTERM."""
    UpstreamProtocol.burst = burst
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        UpstreamProtocol, host, port, backlog=1024, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, pin to a CPU if asked, and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    parser.add_argument("--burst", action="store_true", help="send each SSE stream in one write")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    uvloop.run(serve(args.host, args.port, args.burst))


if __name__ == "__main__":
    main()
