"""`ongoingai debug`: a trace's lineage chain, its diffs, text/JSON output and bundles.

`chain` reads the source and its chain from storage, `diff` compares consecutive
checkpoints without revealing content, `document` is the `debug-chain.v1` value, `render`
its text form, `bundle` the shareable directory. The command itself is `engine.cli_debug`.
"""

from __future__ import annotations

from .bundle import BundleError, write_bundle
from .chain import Chain, NoTraces, TraceNotFound, read_chain, resolve_source
from .diff import Edge, diff_chain
from .document import SCHEMA_VERSION, DebugDocument, build_document
from .model import ChainItem, Options, Selection
from .progress import Progress
from .render import render_text

__all__ = [
    "SCHEMA_VERSION",
    "BundleError",
    "Chain",
    "ChainItem",
    "DebugDocument",
    "Edge",
    "NoTraces",
    "Options",
    "Progress",
    "Selection",
    "TraceNotFound",
    "build_document",
    "diff_chain",
    "read_chain",
    "render_text",
    "resolve_source",
    "write_bundle",
]
