"""A local fake OpenAI + Anthropic upstream speaking the providers' real wire formats.

:class:`FakeUpstream` runs an ``aiohttp.web`` server on ``127.0.0.1`` (free port) in a
background thread with its own event loop, so sync tests and tests that spawn gateway
subprocesses can both point at ``fake.url``. Every request is recorded (:attr:`requests`) and
every response carries ``x-fake-upstream: <name>``.

Endpoints (real paths only, all under ``/v1``):

* OpenAI: ``POST /v1/chat/completions``, ``POST /v1/responses``, ``POST /v1/embeddings``,
  ``GET /v1/models``, ``GET /v1/models/{id}``;
* Anthropic: ``POST /v1/messages``, ``POST /v1/messages/count_tokens``, ``GET /v1/models``,
  ``GET /v1/models/{id}``.

``/v1/messages*`` is Anthropic; any other path answers in Anthropic's format when the request
carries an ``anthropic-version`` (as the Anthropic SDK always does) or ``x-api-key`` header,
else in OpenAI's.
Unknown paths answer 404 and a missing/non-JSON body or missing required field answers 400, in
the provider's documented error format.

Test controls (request headers, all optional, integers):

* ``x-fake-chunks: N`` - number of content deltas (default 3); the reply is
  ``"Hello from <name>"`` padded with ``"more"`` to N words, so N <= 3 gives that text split
  into N deltas and N = 0 an empty reply;
* ``x-fake-chunk-delay-ms: N`` - sleep N ms between SSE events (each event is flushed to the
  socket as written, so a stream can be held open across e.g. a config reload);
* ``x-fake-status: 4xx/5xx`` - answer that status with the provider's error JSON body;
* ``x-fake-die-after: N`` - send N SSE events (of any kind) then close the connection without
  ending the chunked body; on a non-streaming request the connection is dropped unanswered;
* ``x-fake-response-delay-ms: N`` - wait N ms before answering at all (status line
  included), to exercise upstream timeouts;
* ``x-fake-cached-tokens: N``, ``x-fake-cache-write-tokens: N``,
  ``x-fake-reasoning-tokens: N`` - token kinds reported in ``usage``.

Token rules (see :mod:`tests.fakes.wire`): fresh input tokens = whitespace-separated words of
the prompt text; output tokens = words of the reply + reasoning tokens; OpenAI prompt tokens =
fresh + cached + cache-write, Anthropic ``input_tokens`` = fresh with cache reads/writes
reported apart; ``model`` is echoed from the request.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType, TracebackType
from typing import Any, Literal, Self

from aiohttp import web

from . import wire

Provider = Literal["openai", "anthropic"]
Handler = Callable[["_Call"], Awaitable[web.StreamResponse]]

HEADER_UPSTREAM = "x-fake-upstream"
HEADER_CHUNKS = "x-fake-chunks"
HEADER_CHUNK_DELAY_MS = "x-fake-chunk-delay-ms"
HEADER_STATUS = "x-fake-status"
HEADER_DIE_AFTER = "x-fake-die-after"
HEADER_CACHED_TOKENS = "x-fake-cached-tokens"
HEADER_REASONING_TOKENS = "x-fake-reasoning-tokens"
HEADER_CACHE_WRITE_TOKENS = "x-fake-cache-write-tokens"
HEADER_RESPONSE_DELAY_MS = "x-fake-response-delay-ms"

DEFAULT_CHUNKS = 3
MAX_CHUNKS = 100_000
HOST = "127.0.0.1"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
SHUTDOWN_GRACE_S = 0.5
"""How long ``stop()`` lets in-flight handlers (e.g. slow streams) finish before cancelling."""
MAX_BODY_BYTES = 64 * 1024 * 1024
SSE_HEADERS: Mapping[str, str] = MappingProxyType(
    {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
)
BODY_ERROR = "We could not parse the JSON body of your request: expected a JSON object."


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake upstream received it."""

    method: str
    path: str
    query_string: str
    headers: Mapping[str, str]
    """Header values by lower-case name (repeated headers joined with ``", "``)."""
    body: bytes
    json: Any
    """The body parsed as JSON, or ``None`` when empty or not JSON."""
    received_at: float
    """``time.monotonic()`` when the request arrived."""


@dataclass(frozen=True)
class Controls:
    """The test controls parsed from the ``x-fake-*`` request headers."""

    chunks: int = DEFAULT_CHUNKS
    delay_ms: int = 0
    status: int | None = None
    die_after: int | None = None
    cached: int = 0
    reasoning: int = 0
    cache_write: int = 0
    response_delay_ms: int = 0

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Controls:
        """Parse the control headers; raise ``ValueError`` on a malformed value."""
        names = {
            "chunks": HEADER_CHUNKS,
            "delay_ms": HEADER_CHUNK_DELAY_MS,
            "status": HEADER_STATUS,
            "die_after": HEADER_DIE_AFTER,
            "cached": HEADER_CACHED_TOKENS,
            "reasoning": HEADER_REASONING_TOKENS,
            "cache_write": HEADER_CACHE_WRITE_TOKENS,
            "response_delay_ms": HEADER_RESPONSE_DELAY_MS,
        }
        parsed = {field: _int_header(headers, header) for field, header in names.items()}
        controls = cls(**{field: value for field, value in parsed.items() if value is not None})
        if controls.status is not None and not 400 <= controls.status <= 599:
            raise ValueError(f"{HEADER_STATUS} must be a 4xx or 5xx status, got {controls.status}")
        if controls.chunks > MAX_CHUNKS:
            raise ValueError(f"{HEADER_CHUNKS} must be at most {MAX_CHUNKS}")
        return controls

    def counts(self, input_words: int, reply: Sequence[str]) -> wire.TokenCounts:
        """Return the token counts of an exchange with this prompt size and reply."""
        return wire.TokenCounts(
            input_words=input_words,
            output_words=len("".join(reply).split()),
            cached=self.cached,
            cache_write=self.cache_write,
            reasoning=self.reasoning,
        )


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise ValueError(f"{name} must be a non-negative integer, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {raw!r}")
    return value


class _Recorder:
    """A lock-protected log of requests that can be waited on."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._items: list[RecordedRequest] = []

    def add(self, item: RecordedRequest) -> None:
        with self._condition:
            self._items.append(item)
            self._condition.notify_all()

    def snapshot(self) -> list[RecordedRequest]:
        with self._condition:
            return list(self._items)

    def clear(self) -> None:
        with self._condition:
            self._items.clear()

    def wait_for(self, count: int, timeout: float) -> list[RecordedRequest]:
        with self._condition:
            if not self._condition.wait_for(lambda: len(self._items) >= count, timeout):
                raise TimeoutError(f"expected {count} requests, got {len(self._items)}")
            return list(self._items)


@dataclass(frozen=True)
class _Call:
    """One validated request about to be answered by an endpoint handler."""

    request: web.Request
    provider: Provider
    controls: Controls
    body: wire.JSON
    request_id: str
    path_param: str | None = None

    @property
    def streaming(self) -> bool:
        return self.body.get("stream") is True


def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _record(request: web.Request, raw: bytes, payload: Any) -> RecordedRequest:
    headers: dict[str, str] = {}
    for key, value in request.headers.items():
        name = key.lower()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query_string=request.query_string,
        headers=MappingProxyType(headers),
        body=raw,
        json=payload,
        received_at=time.monotonic(),
    )


def _provider_for(path: str, headers: Mapping[str, str]) -> Provider:
    if path.startswith("/v1/messages") or "anthropic-version" in headers or "x-api-key" in headers:
        return "anthropic"
    return "openai"


def _id_headers(request_id: str) -> dict[str, str]:
    return {"x-request-id": request_id, "request-id": request_id}


def _error_response(
    provider: Provider, request_id: str, status: int, message: str, *, param: str | None = None
) -> web.Response:
    """Answer ``status`` with the provider's documented error body."""
    if provider == "anthropic":
        body = wire.anthropic_error(status, message, request_id=request_id)
    else:
        code = "missing_required_parameter" if param is not None else None
        body = wire.openai_error(status, message, param=param, code=code)
    return web.json_response(body, status=status, headers=_id_headers(request_id))


def _drop_connection(request: web.Request) -> None:
    """Close the socket under an unfinished response (flushing what was already written)."""
    transport = request.transport
    if transport is not None:
        transport.close()


async def _write_frames(
    response: web.StreamResponse, frames: Sequence[bytes], delay_ms: int
) -> None:
    for index, frame in enumerate(frames):
        if index and delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        await response.write(frame)


class _FakeApp:
    """The request handlers of one fake upstream."""

    def __init__(self, name: str, recorder: _Recorder) -> None:
        self._name = name
        self._recorder = recorder
        self._routes: Mapping[tuple[str, str], Handler] = MappingProxyType(
            {
                ("POST", "/v1/chat/completions"): self._chat_completions,
                ("POST", "/v1/responses"): self._responses,
                ("POST", "/v1/embeddings"): self._embeddings,
                ("GET", "/v1/models"): self._list_models,
                ("POST", "/v1/messages"): self._messages,
                ("POST", "/v1/messages/count_tokens"): self._count_tokens,
            }
        )

    def build(self) -> web.Application:
        """Return the aiohttp application answering every path through :meth:`_handle`."""
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.on_response_prepare.append(self._tag_response)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _tag_response(self, _request: web.Request, response: web.StreamResponse) -> None:
        response.headers[HEADER_UPSTREAM] = self._name

    def _resolve(self, method: str, path: str) -> tuple[Handler, str | None] | None:
        handler = self._routes.get((method, path))
        if handler is not None:
            return handler, None
        model_id = path.removeprefix("/v1/models/")
        if method == "GET" and path.startswith("/v1/models/") and model_id:
            return self._get_model, model_id
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        payload = _parse_json(raw)
        self._recorder.add(_record(request, raw, payload))
        request_id = "req_" + uuid.uuid4().hex
        provider = _provider_for(request.path, request.headers)
        route = self._resolve(request.method, request.path)
        if route is None:
            message = f"Invalid URL ({request.method} {request.path})"
            return _error_response(provider, request_id, 404, message)
        try:
            controls = Controls.from_headers(request.headers)
        except ValueError as exc:
            return _error_response(provider, request_id, 400, str(exc))
        if controls.response_delay_ms:
            await asyncio.sleep(controls.response_delay_ms / 1000)
        if controls.status is not None:
            message = f"Simulated {controls.status} error from fake upstream {self._name!r}."
            return _error_response(provider, request_id, controls.status, message)
        if request.method == "POST" and not isinstance(payload, dict):
            return _error_response(provider, request_id, 400, BODY_ERROR)
        handler, path_param = route
        body = payload if isinstance(payload, dict) else {}
        call = _Call(request, provider, controls, body, request_id, path_param)
        return await handler(call)

    # ----------------------------------------------------------------- helpers

    def _missing(self, call: _Call, *required: str) -> web.Response | None:
        """Answer 400 when a required body field is absent, like the provider does."""
        missing = next((field for field in required if call.body.get(field) is None), None)
        if missing is None:
            return None
        if call.provider == "anthropic":
            message = f"{missing}: Field required"
        else:
            message = f"Missing required parameter: '{missing}'."
        return _error_response(call.provider, call.request_id, 400, message, param=missing)

    def _reply(self, call: _Call, id_prefix: str, input_words: int) -> wire.Reply:
        deltas = wire.reply_deltas(self._name, call.controls.chunks)
        return wire.Reply(
            response_id=id_prefix + uuid.uuid4().hex,
            model=str(call.body["model"]),
            created=int(time.time()),
            deltas=deltas,
            counts=call.controls.counts(input_words, deltas),
        )

    async def _respond(self, call: _Call, payload: wire.JSON) -> web.StreamResponse:
        """Answer with a JSON body, or drop the connection when ``die-after`` is set."""
        response = web.json_response(payload, headers=_id_headers(call.request_id))
        if call.controls.die_after is not None:
            _drop_connection(call.request)
        return response

    async def _stream(self, call: _Call, frames: Sequence[bytes]) -> web.StreamResponse:
        """Write SSE frames one by one (delayed, possibly cut short by ``die-after``)."""
        response = web.StreamResponse(headers={**SSE_HEADERS, **_id_headers(call.request_id)})
        die_after = call.controls.die_after
        try:
            await response.prepare(call.request)
            await _write_frames(response, frames[:die_after], call.controls.delay_ms)
            if die_after is not None:
                _drop_connection(call.request)
            else:
                await response.write_eof()
        except ConnectionError:
            pass  # the client went away mid-stream
        return response

    # ----------------------------------------------------------------- OpenAI

    async def _chat_completions(self, call: _Call) -> web.StreamResponse:
        problem = self._missing(call, "model", "messages")
        if problem is not None:
            return problem
        stream_options = call.body.get("stream_options")
        if stream_options is not None and not call.streaming:
            message = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
            return _error_response("openai", call.request_id, 400, message, param="stream_options")
        reply = self._reply(call, "chatcmpl-", wire.count_words(call.body["messages"]))
        if not call.streaming:
            return await self._respond(call, wire.chat_completion(reply))
        include_usage = (
            isinstance(stream_options, dict) and stream_options.get("include_usage") is True
        )
        return await self._stream(call, wire.chat_stream_frames(reply, include_usage=include_usage))

    async def _responses(self, call: _Call) -> web.StreamResponse:
        problem = self._missing(call, "model")
        if problem is not None:
            return problem
        instructions = call.body.get("instructions")
        words = wire.count_words(instructions) + wire.count_words(call.body.get("input"))
        reply = self._reply(call, "resp_", words)
        if call.streaming:
            return await self._stream(
                call, wire.response_stream_frames(reply, instructions=instructions)
            )
        return await self._respond(
            call, wire.response_object(reply, done=True, instructions=instructions)
        )

    async def _embeddings(self, call: _Call) -> web.StreamResponse:
        problem = self._missing(call, "model", "input")
        if problem is not None:
            return problem
        encoding = call.body.get("encoding_format") or "float"
        dimensions = call.body.get("dimensions") or wire.DEFAULT_EMBEDDING_DIMENSIONS
        if encoding not in ("float", "base64") or not isinstance(dimensions, int) or dimensions < 1:
            message = "Invalid 'encoding_format' or 'dimensions'."
            return _error_response("openai", call.request_id, 400, message, param="encoding_format")
        items = wire.embedding_items(call.body["input"])
        payload = wire.embeddings_list(
            str(call.body["model"]),
            items,
            dimensions=dimensions,
            base64_encoded=encoding == "base64",
        )
        return await self._respond(call, payload)

    async def _list_models(self, call: _Call) -> web.StreamResponse:
        if call.provider == "anthropic":
            return await self._respond(call, wire.anthropic_models())
        return await self._respond(call, wire.openai_models())

    async def _get_model(self, call: _Call) -> web.StreamResponse:
        model_id = call.path_param or ""
        if call.provider == "anthropic":
            return await self._respond(call, wire.anthropic_model(model_id))
        return await self._respond(call, wire.openai_model(model_id))

    # ----------------------------------------------------------------- Anthropic

    async def _messages(self, call: _Call) -> web.StreamResponse:
        problem = self._missing(call, "model", "messages", "max_tokens")
        if problem is not None:
            return problem
        reply = self._reply(call, "msg_", _anthropic_prompt_words(call.body))
        if call.streaming:
            return await self._stream(call, wire.anthropic_stream_frames(reply))
        return await self._respond(call, wire.anthropic_message(reply))

    async def _count_tokens(self, call: _Call) -> web.StreamResponse:
        problem = self._missing(call, "model", "messages")
        if problem is not None:
            return problem
        return await self._respond(call, {"input_tokens": _anthropic_prompt_words(call.body)})


def _anthropic_prompt_words(body: wire.JSON) -> int:
    return wire.count_words(body.get("system")) + wire.count_words(body.get("messages"))


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Thread target: run ``loop`` until stopped, then cancel leftovers and close it."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class FakeUpstream:
    """A fake OpenAI + Anthropic upstream served from a background thread.

    Use as ``with FakeUpstream("a") as fake: ...`` or call :meth:`start` / :meth:`stop`.
    Point the OpenAI SDK at ``fake.url + "/v1"`` and the Anthropic SDK at ``fake.url``.
    """

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self._recorder = _Recorder()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        return f"FakeUpstream(name={self.name!r}, port={self._port})"

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on (only while started)."""
        if self._port is None:
            raise RuntimeError(f"{self!r} is not started")
        return self._port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:PORT`` (no trailing slash, no ``/v1``)."""
        return f"http://{HOST}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot (a new list) of the requests received so far, oldest first."""
        return self._recorder.snapshot()

    def clear(self) -> None:
        """Forget the recorded requests."""
        self._recorder.clear()

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests were recorded; raise ``TimeoutError`` if not."""
        return self._recorder.wait_for(count, timeout)

    def start(self) -> None:
        """Start serving on a free port of 127.0.0.1 in a background thread."""
        if self._thread is not None:
            raise RuntimeError(f"{self!r} is already started")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=_run_loop, args=(loop,), name=f"fake-upstream-{self.name}", daemon=True
        )
        thread.start()
        try:
            opened = asyncio.run_coroutine_threadsafe(self._open(), loop)
            self._runner, self._port = opened.result(START_TIMEOUT_S)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(STOP_TIMEOUT_S)
            raise
        self._loop, self._thread = loop, thread

    def stop(self) -> None:
        """Stop serving (in-flight streams get a short grace period); idempotent."""
        loop, thread, runner = self._loop, self._thread, self._runner
        if loop is None or thread is None or runner is None:
            return
        self._loop = self._thread = self._runner = self._port = None
        try:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(STOP_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(STOP_TIMEOUT_S)

    async def _open(self) -> tuple[web.AppRunner, int]:
        app = _FakeApp(self.name, self._recorder).build()
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S)
        await runner.setup()
        try:
            await web.TCPSite(runner, HOST, 0).start()
        except BaseException:
            await runner.cleanup()
            raise
        port = runner.addresses[0][1]
        return runner, int(port)


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
