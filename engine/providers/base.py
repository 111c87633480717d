"""The usage-meter protocol and the machinery every dialect shares.

A meter watches one exchange from the side: the request body, then either the SSE chunks or the
JSON body of the response. It never changes what is relayed and never raises; at the end it says
which model was used, whether the response streamed, and the normalized `Usage` (SPEC §7.5).
Dialects differ only in where their usage object sits and how its fields map, so they override
two small hooks and inherit the cheap, incremental plumbing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ongoingai.engine.providers.jsonvalues import (
    USAGE_OBJECT,
    JsonObject,
    loads_object,
    mapping,
    model_of,
)
from ongoingai.engine.providers.sse import SseEvent, SseSplitter

if TYPE_CHECKING:
    from ongoingai.engine.usage import Usage

__all__ = ["UNKNOWN_MODEL", "EventMeter", "MeterResult", "UsageMeter"]

UNKNOWN_MODEL = "unknown"


@dataclass(frozen=True, slots=True)
class MeterResult:
    """What a meter concluded about one exchange.

    Attributes:
        usage: Normalized token counts (`usage.reported` says upstream sent any usage object).
        model: The requested model, else the first model the response named, else "unknown"
            (contract §4.2: the client's alias drives pricing).
        streaming: True when the response was metered as an SSE stream; before any response was
            observed, whether the request asked for one.
    """

    usage: Usage
    model: str
    streaming: bool


class UsageMeter(Protocol):
    """Observes one request/response exchange and reports its usage."""

    def observe_request(self, body: bytes | None) -> None:
        """Remember the requested model and whether a stream was asked for."""

    def observe_chunk(self, chunk: bytes) -> None:
        """Observe the next chunk of an SSE response, as relayed."""

    def observe_body(self, body: bytes) -> None:
        """Observe a non-streaming JSON response (possibly a capped prefix)."""

    def result(self) -> MeterResult:
        """The usage, model and streaming flag seen so far."""


class EventMeter(ABC):
    """Shared plumbing: request facts, SSE reassembly, model fallback, cheap pre-filtering.

    Payloads are parsed only when they can matter: a `"usage": {` somewhere in them, or a
    `"model"` while no model is known yet. Most stream chunks are text deltas and are skipped
    with two substring checks.
    """

    __slots__ = (
        "_reported",
        "_request_model",
        "_response_model",
        "_saw_body",
        "_splitter",
        "_stream_requested",
    )

    def __init__(self) -> None:
        self._request_model: str | None = None
        self._response_model: str | None = None
        self._stream_requested = False
        self._saw_body = False
        self._splitter: SseSplitter | None = None
        self._reported = False

    def observe_request(self, body: bytes | None) -> None:
        """Remember the requested model (`model` or `message.model`) and `stream: true`."""
        if not body or (b'"model"' not in body and b'"stream"' not in body):
            return
        obj = loads_object(body)
        if obj is None:
            return
        self._request_model = model_of(obj)
        self._stream_requested = obj.get("stream") is True

    def observe_chunk(self, chunk: bytes) -> None:
        """Feed the SSE reassembler and meter every event it completes."""
        if self._splitter is None:
            self._splitter = SseSplitter()
        for event in self._splitter.feed(chunk):
            self._observe_payload(event.data, event)

    def observe_body(self, body: bytes) -> None:
        """Meter a whole JSON response; a truncated or malformed one yields nothing."""
        self._saw_body = True
        self._observe_payload(body, None)

    def result(self) -> MeterResult:
        """The normalized usage, the model by the contract's fallback order, the stream flag."""
        model = self._request_model or self._response_model or UNKNOWN_MODEL
        streaming = self._splitter is not None or (not self._saw_body and self._stream_requested)
        return MeterResult(self._usage(), model, streaming)

    def _observe_payload(self, payload: bytes, event: SseEvent | None) -> None:
        has_usage = USAGE_OBJECT.search(payload) is not None
        wants_model = self._response_model is None and self._request_model is None
        needs_model = wants_model and b'"model"' in payload
        if not (has_usage or needs_model):
            return
        obj = self._parse(payload, event)
        if obj is None:
            return
        if needs_model:
            self._response_model = model_of(obj)
        usage = self._usage_object(obj, event) if has_usage else None
        if usage is not None:
            self._reported = True
            self._absorb(usage)

    def _parse(self, payload: bytes, event: SseEvent | None) -> JsonObject | None:
        """Decode a payload; dialects with huge bodies may decode only the part they need."""
        return loads_object(payload)

    def _usage_object(self, obj: JsonObject, event: SseEvent | None) -> JsonObject | None:
        """Where this dialect keeps usage; `event` is None for a non-streaming body."""
        return mapping(obj.get("usage"))

    @abstractmethod
    def _absorb(self, usage: JsonObject) -> None:
        """Fold one usage object into the running counts."""

    @abstractmethod
    def _usage(self) -> Usage:
        """The normalized counts absorbed so far."""
