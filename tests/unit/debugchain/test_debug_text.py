"""The pieces of `debug` that need no storage: wrapping, progress and the positional rule."""

from __future__ import annotations

import io
import json

import pytest

from ongoingai.engine.cli_common import CliFailure
from ongoingai.engine.cli_debug import _positional_is_last
from ongoingai.engine.debugchain import Progress
from ongoingai.engine.debugchain.render import json_pieces, kv_block


def test_kv_block_aligns_values_two_spaces_after_the_longest_key():
    assert kv_block([("a", "1"), ("longer", "2")]) == ["a       1", "longer  2"]


def test_kv_block_wraps_words_under_the_value_column():
    words = " ".join(f"word{i:02d}" for i in range(20))
    lines = kv_block([("key", words)], width=40)
    assert all(len(line) <= 40 for line in lines)
    assert all(line.startswith(" " * 5) for line in lines[1:])
    assert " ".join(line[5:] for line in lines) == words


def test_a_word_longer_than_the_line_is_never_cut():
    word = "x" * 100
    assert kv_block([("key", word)], width=40) == ["key  " + word]


def test_json_pieces_rejoin_into_compact_sorted_json():
    obj = {"b": [1, 2], "a": {"z": 1, "y": "é"}, "c": None}
    pieces = json_pieces(obj)
    assert "".join(pieces) == json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert json_pieces({}) == ["{}"]


def test_long_json_members_are_cut_losslessly_to_the_line():
    obj = {"short": 1, "long": "h" * 150}
    lines = kv_block([("metadata", json_pieces(obj))], width=60)
    assert max(len(line) for line in lines) <= 60
    assert json.loads("".join(line[10:] for line in lines)) == obj


def test_progress_is_silent_unless_stderr_is_a_terminal():
    quiet = io.StringIO()  # not a terminal
    progress = Progress(quiet, delay_s=0)
    progress.update(200)
    progress.done()
    assert quiet.getvalue() == ""


def test_progress_on_a_terminal_shows_the_count_then_clears_it():
    tty = io.StringIO()
    Progress(tty, enabled=True, delay_s=60).update(10)  # quick reads draw nothing
    assert tty.getvalue() == ""
    progress = Progress(tty, enabled=True, delay_s=0)
    progress.update(400)
    progress.done()
    assert tty.getvalue() == "\rreading debug chain: 400 traces\r\x1b[K"


@pytest.mark.parametrize(
    ("words", "last"),
    [([], False), (["last"], True), ([" last "], True), (["last", "last"], True)],
)
def test_last_may_lead_or_trail(words, last):
    assert _positional_is_last(words) is last


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["a", "b"], "debug accepts at most one positional argument: last"),
        (["last", "a", "b"], "debug accepts at most one positional argument: last"),
        (["latest"], 'debug positional argument must be "last"'),
        (["last", "a"], 'debug positional argument must be "last"'),
    ],
)
def test_other_positionals_are_usage_errors(words, message):
    with pytest.raises(CliFailure) as failure:
        _positional_is_last(words)
    assert (str(failure.value), failure.value.code) == (message, 2)
