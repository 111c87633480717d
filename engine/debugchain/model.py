"""The values a debug chain is made of: what was asked for, and each trace as a checkpoint.

A chain can hold 500 traces whose bodies may each be a megabyte. Diffs only need to know
whether a body changed and how big it is, so every header/body text is reduced to a `Blob`
(SHA-256 and byte count) as soon as a page is read, and the text itself is kept only when
the operator asked to see it (`--include-headers`, `--include-bodies`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ongoingai.engine.storage.coltypes import dumps
from ongoingai.engine.storage.filters import TraceFilter

if TYPE_CHECKING:
    from ongoingai.engine.trace import TraceRecord

__all__ = ["Blob", "ChainItem", "Options", "Selection", "headers_text"]

SelectionMode = Literal["trace_id", "filter", "latest"]


@dataclass(frozen=True, slots=True)
class Selection:
    """Which trace is the source and which filters pick its chain (all trimmed, "" = unset)."""

    trace_id: str = ""
    trace_group_id: str = ""
    thread_id: str = ""
    run_id: str = ""

    @property
    def has_chain_filter(self) -> bool:
        """Whether the operator named a group, thread or run."""
        return bool(self.trace_group_id or self.thread_id or self.run_id)

    @property
    def mode(self) -> SelectionMode:
        """How the source was chosen, as the bundle manifest names it."""
        if self.trace_id:
            return "trace_id"
        return "filter" if self.has_chain_filter else "latest"

    def chain_filter(self) -> TraceFilter:
        """The explicit chain filters, ANDed (no tenant: debug reads every tenant)."""
        return TraceFilter(
            trace_group_id=self.trace_group_id, thread_id=self.thread_id, run_id=self.run_id
        )

    def as_json(self) -> dict[str, str]:
        """The `selection` object: only the filters that were given."""
        return {name: value for name, value in self._pairs() if value}

    def _pairs(self) -> tuple[tuple[str, str], ...]:
        return (
            ("trace_id", self.trace_id),
            ("trace_group_id", self.trace_group_id),
            ("thread_id", self.thread_id),
            ("run_id", self.run_id),
        )


@dataclass(frozen=True, slots=True)
class Options:
    """How much of each checkpoint to read and show."""

    limit: int = 200
    include_diff: bool = False
    include_headers: bool = False
    include_bodies: bool = False

    @property
    def needs_content(self) -> bool:
        """Whether headers and bodies must be read at all (to show them or to diff them)."""
        return self.include_diff or self.include_headers or self.include_bodies

    def as_json(self) -> dict[str, int | bool]:
        """The `options` object of the document."""
        return {
            "limit": self.limit,
            "include_diff": self.include_diff,
            "include_headers": self.include_headers,
            "include_bodies": self.include_bodies,
        }


@dataclass(frozen=True, slots=True)
class Blob:
    """One stored header/body text as a diff sees it; `text` only when it is to be shown."""

    sha256: str
    size: int
    text: str | None = None

    @classmethod
    def of(cls, text: str, *, keep: bool) -> Blob:
        """Digest `text` (UTF-8 bytes, as stored) and keep it only if asked."""
        data = text.encode("utf-8", "surrogatepass")
        return cls(hashlib.sha256(data).hexdigest(), len(data), text if keep else None)


_EMPTY = Blob.of("", keep=False)


def headers_text(headers: dict[str, list[str]]) -> str:
    """Stored headers as one string, the way SQLite stores them (compact, keys sorted).

    PostgreSQL's JSONB hands back its own spacing and key order; printing and hashing one
    canonical form makes the same trace give the same bytes on both backends. No headers
    at all is the empty string, so it is omitted like an uncaptured body.
    """
    return dumps(headers) if headers else ""


@dataclass(frozen=True, slots=True)
class ChainItem:
    """One trace of the chain: the record without its heavy columns, plus their blobs."""

    record: TraceRecord
    request_headers: Blob = _EMPTY
    response_headers: Blob = _EMPTY
    request_body: Blob = _EMPTY
    response_body: Blob = _EMPTY

    @classmethod
    def of(cls, record: TraceRecord, options: Options) -> ChainItem:
        """Reduce a whole record to what the document and the diffs need."""
        headers, bodies = options.include_headers, options.include_bodies
        return cls(
            record=dataclasses.replace(
                record,
                request_headers={},
                response_headers={},
                request_body="",
                response_body="",
            ),
            request_headers=Blob.of(headers_text(record.request_headers), keep=headers),
            response_headers=Blob.of(headers_text(record.response_headers), keep=headers),
            request_body=Blob.of(record.request_body, keep=bodies),
            response_body=Blob.of(record.response_body, keep=bodies),
        )

    @property
    def id(self) -> str:
        """The trace id."""
        return self.record.id
