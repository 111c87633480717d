"""The `debug-chain.v1` document: the source, its chain and the diffs, as one typed value.

The JSON shape is the original's contract, field by field, plus the token kinds it did not
have. A checkpoint is the API's trace summary (one renderer for both, so they cannot drift)
with a step number, the lineage, the decoded metadata and, only when asked for, the stored
header/body strings. Unknown timestamps are omitted, never written as year 1 (SPEC §1.4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ongoingai.engine.api.trace_json import key_sorted, summary_json
from ongoingai.engine.lineage import lineage_of
from ongoingai.engine.timefmt import format_rfc3339

from .diff import diff_chain

if TYPE_CHECKING:
    from .chain import Chain
    from .diff import Edge
    from .model import ChainItem, Options, Selection

__all__ = ["SCHEMA_VERSION", "DebugDocument", "build_document", "checkpoint_json"]

SCHEMA_VERSION = "debug-chain.v1"
_CONTENT = ("request_headers", "response_headers", "request_body", "response_body")


@dataclass(frozen=True, slots=True)
class DebugDocument:
    """Everything `debug` prints or bundles; `diffs` is empty unless asked for."""

    selection: Selection
    options: Options
    source: ChainItem
    chain: Chain
    diffs: list[Edge] = field(default_factory=list)
    generated_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def source_time(self) -> dt.datetime:
        """When the source was stored (created_at, else its timestamp)."""
        record = self.source.record
        return record.created_at or record.timestamp

    def as_json(self) -> dict[str, Any]:
        """The `debug-chain.v1` object."""
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "generated_at": format_rfc3339(self.generated_at),
            "selection": self.selection.as_json(),
            "options": self.options.as_json(),
            "source_trace_id": self.source.id,
            "source_timestamp": format_rfc3339(self.source_time),
            "source": checkpoint_json(self.source, 0, self.options),
            "chain": self._chain_json(),
        }
        if self.diffs:
            document["diffs"] = [edge.as_json() for edge in self.diffs]
        return document

    def _chain_json(self) -> dict[str, Any]:
        chain = self.chain
        body: dict[str, Any] = {
            key: value
            for key, value in (
                ("group_id", chain.group_id),
                ("thread_id", chain.thread_id),
                ("run_id", chain.run_id),
            )
            if value
        }
        body |= {
            "target_checkpoint_id": self.source.id,
            "checkpoint_count": len(chain.items),
            "truncated": chain.truncated,
            "checkpoints": [
                checkpoint_json(item, step, self.options)
                for step, item in enumerate(chain.items, start=1)
            ],
            "lineage_identifier": chain.lineage_identifier,
        }
        return body


def checkpoint_json(item: ChainItem, step: int, options: Options) -> dict[str, Any]:
    """One checkpoint: the trace summary, step, lineage, metadata, and content if asked.

    The API key hash of the summary is left out: a debug bundle is made to be shared.
    """
    record = item.record
    body: dict[str, Any] = {"step": step} | summary_json(record)
    body.pop("api_key_hash", None)
    body["lineage"] = lineage_of(record).as_json()
    if record.metadata:
        body["metadata"] = key_sorted(record.metadata)
    for name in _CONTENT:
        shown = options.include_headers if name.endswith("headers") else options.include_bodies
        text = getattr(item, name).text
        if shown and text:
            body[name] = text
    return body


def build_document(
    selection: Selection, options: Options, source: ChainItem, chain: Chain
) -> DebugDocument:
    """Assemble the document; diffs only when asked for and there are two checkpoints."""
    diffs = diff_chain(chain.items) if options.include_diff else []
    return DebugDocument(selection, options, source, chain, diffs)
