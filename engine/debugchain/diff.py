"""What changed between consecutive checkpoints, without showing any of the content.

A diff is meant to be pasted into a ticket, so it is redaction-safe by construction: headers
and bodies are compared by SHA-256 and reported as changed/unchanged plus byte counts, and
metadata as the sorted names of keys added, removed or changed (a changed value is one whose
JSON encoding hashes differently). Token and cost deltas are `to - from`; cost stays exact
(Decimal) until it is printed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ongoingai.engine.storage.coltypes import dumps

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from decimal import Decimal

    from .model import ChainItem

__all__ = ["Edge", "diff_chain", "metadata_key_diff"]


@dataclass(frozen=True, slots=True)
class Edge:
    """One `from -> to` step of the chain; field names are the JSON keys."""

    from_checkpoint_id: str
    to_checkpoint_id: str
    provider_changed: bool
    model_changed: bool
    request_method_changed: bool
    request_path_changed: bool
    response_status_changed: bool
    input_tokens_delta: int
    output_tokens_delta: int
    total_tokens_delta: int
    cache_read_input_tokens_delta: int
    cache_write_input_tokens_delta: int
    reasoning_tokens_delta: int
    latency_delta_ms: int
    estimated_cost_delta_usd: Decimal
    request_headers_changed: bool
    response_headers_changed: bool
    request_body_changed: bool
    response_body_changed: bool
    request_headers_bytes_from: int
    request_headers_bytes_to: int
    response_headers_bytes_from: int
    response_headers_bytes_to: int
    request_body_bytes_from: int
    request_body_bytes_to: int
    response_body_bytes_from: int
    response_body_bytes_to: int
    metadata_keys_added: tuple[str, ...] = ()
    metadata_keys_removed: tuple[str, ...] = ()
    metadata_keys_changed: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The diff edge object: cost as a number, empty key lists omitted."""
        body: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, tuple):
                if value:
                    body[field.name] = list(value)
            else:
                body[field.name] = value
        body["estimated_cost_delta_usd"] = float(self.estimated_cost_delta_usd)
        return body


def _value_hash(value: Any) -> str:
    return hashlib.sha256(dumps(value).encode()).hexdigest()


def metadata_key_diff(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Sorted metadata keys (added, removed, changed) from `before` to `after`."""
    added = tuple(sorted(after.keys() - before.keys()))
    removed = tuple(sorted(before.keys() - after.keys()))
    changed = tuple(
        sorted(
            key
            for key in before.keys() & after.keys()
            if _value_hash(before[key]) != _value_hash(after[key])
        )
    )
    return added, removed, changed


def _edge(prev: ChainItem, curr: ChainItem) -> Edge:
    a, b = prev.record, curr.record
    added, removed, changed = metadata_key_diff(a.metadata, b.metadata)
    return Edge(
        from_checkpoint_id=a.id,
        to_checkpoint_id=b.id,
        provider_changed=a.provider.strip() != b.provider.strip(),
        model_changed=a.model.strip() != b.model.strip(),
        request_method_changed=a.request_method.strip() != b.request_method.strip(),
        request_path_changed=a.request_path.strip() != b.request_path.strip(),
        response_status_changed=a.response_status != b.response_status,
        input_tokens_delta=b.input_tokens - a.input_tokens,
        output_tokens_delta=b.output_tokens - a.output_tokens,
        total_tokens_delta=b.total_tokens - a.total_tokens,
        cache_read_input_tokens_delta=b.cache_read_input_tokens - a.cache_read_input_tokens,
        cache_write_input_tokens_delta=b.cache_write_input_tokens - a.cache_write_input_tokens,
        reasoning_tokens_delta=b.reasoning_tokens - a.reasoning_tokens,
        latency_delta_ms=b.latency_ms - a.latency_ms,
        estimated_cost_delta_usd=b.estimated_cost_usd - a.estimated_cost_usd,
        request_headers_changed=prev.request_headers.sha256 != curr.request_headers.sha256,
        response_headers_changed=prev.response_headers.sha256 != curr.response_headers.sha256,
        request_body_changed=prev.request_body.sha256 != curr.request_body.sha256,
        response_body_changed=prev.response_body.sha256 != curr.response_body.sha256,
        request_headers_bytes_from=prev.request_headers.size,
        request_headers_bytes_to=curr.request_headers.size,
        response_headers_bytes_from=prev.response_headers.size,
        response_headers_bytes_to=curr.response_headers.size,
        request_body_bytes_from=prev.request_body.size,
        request_body_bytes_to=curr.request_body.size,
        response_body_bytes_from=prev.response_body.size,
        response_body_bytes_to=curr.response_body.size,
        metadata_keys_added=added,
        metadata_keys_removed=removed,
        metadata_keys_changed=changed,
    )


def diff_chain(items: Sequence[ChainItem]) -> list[Edge]:
    """One edge per consecutive pair of checkpoints (none for a single checkpoint)."""
    return [_edge(prev, curr) for prev, curr in itertools.pairwise(items)]
