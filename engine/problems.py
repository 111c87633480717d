"""Located validation problems: the one shape every config and policy error takes.

`ongoingai validate`, hot reload and `/api/diagnostics/config` all speak this shape so that an
operator sees the same `file:line:column: /json/pointer: message` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "escape_pointer_token", "join_pointer"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input file, located as precisely as the input allows."""

    file: str
    line: int
    column: int
    pointer: str
    message: str

    def render(self) -> str:
        """Format as `file:line:column: /json/pointer: message` (the CLI and log form)."""
        return f"{self.file}:{self.line}:{self.column}: {self.pointer or '/'}: {self.message}"

    def as_dict(self) -> dict[str, str | int]:
        """Return the JSON form used by `validate --format json` and diagnostics."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "pointer": self.pointer or "/",
            "message": self.message,
        }


def escape_pointer_token(token: str | int) -> str:
    """Escape one reference token per RFC 6901 (`~` → `~0`, `/` → `~1`)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def join_pointer(base: str, *tokens: str | int) -> str:
    """Append reference tokens to a JSON pointer."""
    return base + "".join("/" + escape_pointer_token(t) for t in tokens)
