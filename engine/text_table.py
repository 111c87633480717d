"""Aligned tables and key/value blocks for operator commands read in an 80-column terminal.

The original prints its tables with Go's tabwriter, one line per row however wide: a report's
recent traces run to 150 columns and wrap into noise. Here a table that does not fit is folded:
its columns are spread over the fewest lines per row that fit, continuation lines indented and
the header folded the same way, so every column keeps its name and its alignment. A value too
wide for a line even alone is cut with an ellipsis at the end that matters least (a path keeps
its tail, a name its head).

Stored values are attacker-influenced (a model name comes from a request body), so control
characters are replaced before anything reaches the terminal.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Column", "Pair", "cut", "printable", "render_pairs", "render_table"]

WIDTH = 80
_GAP = "  "
_INDENT = "  "
# C0 controls, DEL and C1 controls: escape sequences, carriage returns, tabs, newlines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Keep = Literal["head", "tail"]


@dataclass(frozen=True, slots=True)
class Column:
    """One table column: its header, alignment and how its long values are shortened."""

    header: str
    right: bool = False
    #: Cells longer than this are cut (None: only when the cell cannot fit a line alone).
    max_width: int | None = None
    #: Which end of a cut value survives.
    keep: Keep = "head"


@dataclass(frozen=True, slots=True)
class Pair:
    """One `label  value` line of a key/value block."""

    label: str
    value: str
    keep: Keep = "head"


def printable(text: str) -> str:
    """`text` with every control character replaced by `?` (no terminal escapes)."""
    return _CONTROL.sub("?", text)


def cut(text: str, width: int, keep: Keep = "head", ellipsis: str = "…") -> str:
    """`text` shortened to `width` characters, the cut marked with `ellipsis`."""
    if len(text) <= width:
        return text
    room = max(width - len(ellipsis), 0)
    if keep == "tail":
        return ellipsis + (text[-room:] if room else "")
    return text[:room] + ellipsis


def render_pairs(pairs: Sequence[Pair], *, width: int = WIDTH, ellipsis: str = "…") -> list[str]:
    """Labels padded to the longest plus two spaces, values cut to fit `width`."""
    column = max((len(p.label) for p in pairs), default=0) + len(_GAP)
    room = max(width - column, 1)
    return [
        (p.label.ljust(column) + cut(printable(p.value), room, p.keep, ellipsis)).rstrip()
        for p in pairs
    ]


def render_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    width: int = WIDTH,
    ellipsis: str = "…",
) -> list[str]:
    """Header and rows, aligned, each row folded into as few bands as fit in `width`."""
    # No cell is wider than a continuation line, so every column fits some band.
    limit = max(width - len(_INDENT), 1)
    cells = [
        [
            cut(printable(value), min(column.max_width or limit, limit), column.keep, ellipsis)
            for value, column in zip(row, columns, strict=True)
        ]
        for row in rows
    ]
    widths = [
        max([len(column.header), *(len(row[i]) for row in cells)])
        for i, column in enumerate(columns)
    ]
    bands = _bands(widths, width)
    headers = [column.header for column in columns]
    lines: list[str] = []
    for row in (headers, *cells):
        for band_index, band in enumerate(bands):
            parts = [_align(row[i], widths[i], columns[i].right) for i in band]
            lines.append(((_INDENT if band_index else "") + _GAP.join(parts)).rstrip())
    return lines


def _bands(widths: Sequence[int], width: int) -> list[list[int]]:
    """Column indexes per line: the fewest lines that fit, the widest line as short as can be.

    Balanced rather than greedy, so a folded table does not leave one column alone on its
    continuation line.
    """
    n = len(widths)
    for count in range(1, n + 1):
        splits = [_split(n, cuts) for cuts in itertools.combinations(range(1, n), count - 1)]
        fitting = [split for split in splits if max(_line_widths(widths, split)) <= width]
        if fitting:
            return min(fitting, key=lambda split: max(_line_widths(widths, split)))
    return [[i] for i in range(n)]


def _split(n: int, cuts: Sequence[int]) -> list[list[int]]:
    edges = [0, *cuts, n]
    return [list(range(a, b)) for a, b in itertools.pairwise(edges)]


def _line_widths(widths: Sequence[int], bands: list[list[int]]) -> list[int]:
    """Each band's line width: its columns, the gaps between them, and the indent."""
    return [
        sum(widths[i] for i in band) + len(_GAP) * (len(band) - 1) + (len(_INDENT) if k else 0)
        for k, band in enumerate(bands)
    ]


def _align(text: str, width: int, right: bool) -> str:
    return text.rjust(width) if right else text.ljust(width)
