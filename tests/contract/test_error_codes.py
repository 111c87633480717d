"""The documented error codes are exactly the codes the gateway can produce."""

from __future__ import annotations

import re
import typing
from pathlib import Path

from ongoingai.engine.errors import ErrorCode

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_codes() -> set[str]:
    text = README.read_text()
    table = text.split("### Error codes", 1)[1].split("\n## ", 1)[0]
    codes: set[str] = set()
    for row in table.splitlines():
        if row.startswith("| `"):
            first_cell = row.split("|")[1]
            codes.update(re.findall(r"`([A-Za-z_]+)`", first_cell))
    return codes


def test_readme_error_table_lists_every_code_and_nothing_else():
    assert _readme_codes() == set(typing.get_args(ErrorCode))
