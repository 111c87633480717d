"""Tables and key/value blocks for an 80-column terminal: folding, cutting, escaping."""

from __future__ import annotations

import pytest

from ongoingai.engine.text_table import Column, Pair, cut, printable, render_pairs, render_table


def test_a_table_that_fits_stays_one_line_per_row():
    lines = render_table([Column("NAME"), Column("COUNT", right=True)], [["a", "1"], ["bb", "22"]])

    assert lines == ["NAME  COUNT", "a         1", "bb       22"]


def test_a_wide_table_folds_into_balanced_indented_bands():
    columns = [Column(h) for h in ("AAAAAAAAAA", "BBBBBBBBBB", "CCCCCCCCCC", "DDDDDDDDDD")]

    lines = render_table(columns, [["a", "b", "c", "d"]], width=30)

    assert lines == [
        "AAAAAAAAAA  BBBBBBBBBB",
        "  CCCCCCCCCC  DDDDDDDDDD",
        "a           b",
        "  c           d",
    ]
    assert all(len(line) <= 30 for line in lines)


def test_a_value_wider_than_a_line_is_cut_at_the_end_that_matters_least():
    columns = [Column("PATH", keep="tail"), Column("NAME")]

    lines = render_table(columns, [["/a/b/c/d/e/f/g/h/i", "n" * 30]], width=12)

    # cut to the width of a continuation line, wherever the column lands
    assert lines == ["PATH", "  NAME", "…e/f/g/h/i", "  nnnnnnnnn…"]


def test_one_value_too_wide_does_not_spread_the_other_columns_one_per_line():
    columns = [Column("A"), Column("B"), Column("PATH", keep="tail"), Column("C"), Column("D")]

    lines = render_table(columns, [["a", "b", "/" + "p" * 50, "c", "d"]], width=20)

    assert lines == ["A  B", "  PATH", "  C  D", "a  b", "  …ppppppppppppppppp", "  c  d"]


def test_max_width_shortens_every_cell_of_a_column():
    lines = render_table([Column("HASH", max_width=5)], [["abcdefgh"], ["abc"]])

    assert lines == ["HASH", "abcd…", "abc"]


@pytest.mark.parametrize(
    ("text", "width", "keep", "expected"),
    [
        ("abcdef", 6, "head", "abcdef"),
        ("abcdef", 4, "head", "abc…"),
        ("abcdef", 4, "tail", "…def"),
        ("abcdef", 1, "head", "…"),
    ],
)
def test_cut(text: str, width: int, keep, expected: str):
    assert cut(text, width, keep) == expected


def test_control_characters_never_reach_the_terminal():
    assert printable("a\x1b[2Jb\tc\r\nd\x7f\x9be") == "a?[2Jb?c??d??e"
    assert printable("gpt-4o — ünïcode") == "gpt-4o — ünïcode"


def test_pairs_align_values_after_the_longest_label():
    lines = render_pairs([Pair("A", "1"), Pair("Longer", "x" * 100, keep="tail")], width=20)

    assert lines == ["A       1", "Longer  …xxxxxxxxxxx"]
