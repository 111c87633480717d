"""Doctor's text layout: the contract's header block and one `- [STATUS] name: summary` each.

Lines are wrapped to 80 columns (continuations indented under their line) because details
carry absolute paths and problem messages that would otherwise run off an 80-column terminal.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from ongoingai.engine.timefmt import format_rfc3339

if TYPE_CHECKING:
    from ongoingai.engine.doctor.result import DoctorReport

__all__ = ["render_text"]

_WIDTH = 80


def render_text(report: DoctorReport, encoding: str | None = "utf-8") -> str:
    """The report as text; `→` becomes `->` when the output encoding cannot carry it."""
    lines = [
        "OngoingAI Doctor",
        f"Generated at:    {format_rfc3339(report.generated_at)}",
        f"Config path:     {report.config_path}",
        f"Overall status:  {report.overall.upper()}",
        "",
        "Checks",
    ]
    for check in report.checks:
        lines += _wrap(f"- [{check.status.upper()}] {check.name}: {check.summary}", "", "    ")
        for detail in check.details:
            lines += _wrap(detail, "  ", "      ")
    text = "\n".join(lines) + "\n"
    try:
        text.encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = text.replace("→", "->")
    return text


def _wrap(text: str, first: str, rest: str) -> list[str]:
    """Wrap at spaces only: a long path or URL stays whole on its own line."""
    return textwrap.wrap(
        text,
        _WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first]
