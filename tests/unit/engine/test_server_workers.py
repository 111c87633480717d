"""`server.workers`: how many processes serve the port (default 1, at least 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ongoingai.engine.config_load import ConfigInvalid, load_config
from ongoingai.engine.schemas import SchemaSet

if TYPE_CHECKING:
    from pathlib import Path

SCHEMAS = SchemaSet()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ongoingai.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_one_worker_by_default(tmp_path: Path) -> None:
    assert load_config(tmp_path / "none.yaml", SCHEMAS, environ={}).config.server.workers == 1


def test_several_workers_are_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path, "server:\n  workers: 4\n")
    assert load_config(path, SCHEMAS, environ={}).config.server.workers == 4


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_fewer_than_one_or_not_an_integer_is_refused_at_the_key(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, f"server:\n  workers: {value}\n")
    with pytest.raises(ConfigInvalid) as info:
        load_config(path, SCHEMAS, environ={})
    assert [p.pointer for p in info.value.problems] == ["/server/workers"]
    assert info.value.problems[0].line == 2
