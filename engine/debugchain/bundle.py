"""The debug bundle: the chain document plus a manifest that lets a reader verify it.

`--bundle-out DIR` writes `debug-chain.json` (the same bytes `--format json` prints) and then
`manifest.json` (`debug-bundle.v1`) with that file's size and SHA-256, so whoever receives
the bundle attached to a ticket can check it arrived whole. The manifest is written last:
a directory holding a manifest holds the complete bundle it describes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import TYPE_CHECKING, Any

from ongoingai.engine.timefmt import format_rfc3339

if TYPE_CHECKING:
    from pathlib import Path

    from .document import DebugDocument

__all__ = ["BUNDLE_SCHEMA_VERSION", "BundleError", "document_bytes", "write_bundle"]

BUNDLE_SCHEMA_VERSION = "debug-bundle.v1"
CHAIN_FILE = "debug-chain.json"
MANIFEST_FILE = "manifest.json"


class BundleError(Exception):
    """The bundle could not be written; the message says which step failed."""


def document_bytes(document: Any) -> bytes:
    """2-space indented JSON with a trailing newline (what `--format json` prints)."""
    return (json.dumps(document, indent=2) + "\n").encode()


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def manifest(doc: DebugDocument, chain_bytes: bytes) -> dict[str, Any]:
    """The `debug-bundle.v1` manifest for a document serialized as `chain_bytes`."""
    opts = doc.options
    return {
        "schema_version": BUNDLE_SCHEMA_VERSION,
        "generated_at": format_rfc3339(dt.datetime.now(dt.UTC)),
        "selection_mode": doc.selection.mode,
        "selection": doc.selection.as_json(),
        "limit": opts.limit,
        "include_diff": opts.include_diff,
        "include_bodies": opts.include_bodies,
        "include_headers": opts.include_headers,
        "chain": {
            "source_trace_id": doc.source.id,
            "checkpoint_count": len(doc.chain.items),
            "truncated": doc.chain.truncated,
            "diff_count": len(doc.diffs),
            "target_checkpoint_id": doc.source.id,
        },
        "files": [
            {
                "name": CHAIN_FILE,
                "bytes": len(chain_bytes),
                "sha256": hashlib.sha256(chain_bytes).hexdigest(),
            }
        ],
    }


def write_bundle(directory: Path, doc: DebugDocument) -> Path:
    """Create `directory` (and parents) and write the bundle; returns the manifest's path.

    Raises:
        BundleError: the directory cannot be created or a file cannot be written.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BundleError(f'create bundle directory "{directory}": {_reason(exc)}') from None
    chain_bytes = document_bytes(doc.as_json())
    for name, data in (
        (CHAIN_FILE, chain_bytes),
        (MANIFEST_FILE, document_bytes(manifest(doc, chain_bytes))),
    ):
        try:
            (directory / name).write_bytes(data)
        except OSError as exc:
            raise BundleError(f"write {name}: {_reason(exc)}") from None
    return directory / MANIFEST_FILE
