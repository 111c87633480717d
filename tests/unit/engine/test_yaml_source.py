"""YAML source: one document, plain JSON-compatible data, and a 1-based position per pointer."""

from __future__ import annotations

import pytest

from ongoingai.engine.problems import Problem, escape_pointer_token, join_pointer
from ongoingai.engine.yaml_source import YamlDocument, YamlError, parse_yaml

NESTED = """\
server:
  host: 0.0.0.0
  port: 8080
pipeline:
  - route
  - type: forward
    with:
      connect_timeout_ms: 5
flow: [a, b]
"""


def _problems(text: str) -> list[Problem]:
    with pytest.raises(YamlError) as info:
        parse_yaml("f.yaml", text)
    return info.value.problems


@pytest.mark.parametrize(
    ("pointer", "position"),
    [
        ("", (1, 1)),
        ("/server", (1, 1)),
        ("/server/host", (2, 3)),
        ("/server/port", (3, 3)),
        ("/pipeline", (4, 1)),
        ("/pipeline/0", (5, 5)),
        ("/pipeline/1", (6, 5)),
        ("/pipeline/1/type", (6, 5)),
        ("/pipeline/1/with", (7, 5)),
        ("/pipeline/1/with/connect_timeout_ms", (8, 7)),
        ("/flow/0", (9, 8)),
        ("/flow/1", (9, 11)),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_keys_and_sequence_items_have_their_own_1_based_position(
    pointer: str, position: tuple[int, int]
) -> None:
    doc = parse_yaml("f.yaml", NESTED)

    assert doc.positions[pointer] == position
    assert doc.position(pointer) == position


def test_parsed_data_is_plain_json_compatible_values() -> None:
    doc = parse_yaml("f.yaml", NESTED)

    assert doc.data == {
        "server": {"host": "0.0.0.0", "port": 8080},
        "pipeline": ["route", {"type": "forward", "with": {"connect_timeout_ms": 5}}],
        "flow": ["a", "b"],
    }
    assert doc.path == "f.yaml"


def test_an_unknown_pointer_is_located_at_its_closest_known_ancestor() -> None:
    doc = parse_yaml("f.yaml", NESTED)

    assert doc.position("/server/missing") == (1, 1)
    assert doc.position("/pipeline/1/with/nope/deeper") == (7, 5)
    assert doc.position("/nothing/at/all") == (1, 1)


def test_a_problem_built_from_a_document_carries_file_position_and_pointer() -> None:
    doc = parse_yaml("conf/ongoingai.yaml", NESTED)

    problem = doc.problem("/server/port", "bad port")

    assert problem == Problem("conf/ongoingai.yaml", 3, 3, "/server/port", "bad port")
    assert problem.render() == "conf/ongoingai.yaml:3:3: /server/port: bad port"


@pytest.mark.parametrize(
    ("text", "line", "column", "pointer", "key"),
    [
        ("a: 1\na: 2\n", 2, 1, "/a", "a"),
        ("outer:\n  b: 1\n  c: 2\n  b: 3\n", 4, 3, "/outer/b", "b"),
        ("- x: 1\n  x: 2\n", 2, 3, "/0/x", "x"),
        ("1: a\n'1': b\n", 2, 1, "/1", "1"),
    ],
    ids=["top-level", "nested", "in-sequence-item", "int-and-string-spelling"],
)
def test_a_duplicate_key_is_a_problem_at_the_repeated_key(
    text: str, line: int, column: int, pointer: str, key: str
) -> None:
    [problem] = _problems(text)

    assert (problem.line, problem.column, problem.pointer) == (line, column, pointer)
    assert f'duplicate key "{key}"' in problem.message
    assert "first defined at line" in problem.message


def test_every_duplicate_key_in_a_file_is_reported_at_once() -> None:
    problems = _problems("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n")

    assert [(p.pointer, p.line) for p in problems] == [("/a", 2), ("/b/c", 5)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: 1\n---\nb: 2\n", 2),
        ("---\na: 1\n---\nb: 2\n---\nc: 3\n", 3),
        ("a: 1\n...\n---\nb: 2\n", 3),
    ],
    ids=["two-documents", "three-documents", "explicit-end-then-second"],
)
def test_several_yaml_documents_are_rejected_at_the_second_document_marker(
    text: str, line: int
) -> None:
    [problem] = _problems(text)

    assert problem.message == "multiple yaml documents are not supported"
    assert problem.file == "f.yaml"
    assert problem.line == line


@pytest.mark.parametrize(
    "text",
    ["---\na: 1\n", "a: 1\n...\n", "# only a comment before\na: 1\n"],
    ids=["explicit-start", "explicit-end", "leading-comment"],
)
def test_a_single_document_with_markers_or_comments_is_accepted(text: str) -> None:
    assert parse_yaml("f.yaml", text).data == {"a": 1}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a: [1,\nb: 2\n", 3),
        ("a: b: c\n", 1),
        ("ok: 1\nlist:\n  - 1\n bad: 2\n", 4),
        ('a: "unterminated\n', 2),
        ("a: 1\n\tb: 2\n", 2),
    ],
    ids=["unclosed-flow", "nested-mapping-value", "bad-indent", "unterminated-quote", "tab"],
)
def test_a_syntax_error_is_a_parse_yaml_problem_at_the_offending_line(text: str, line: int) -> None:
    [problem] = _problems(text)

    assert problem.message.startswith("parse yaml: ")
    assert problem.line == line
    assert problem.column >= 1
    assert problem.file == "f.yaml"


def test_yaml_error_text_renders_every_located_problem() -> None:
    with pytest.raises(YamlError) as info:
        parse_yaml("f.yaml", "a: 1\na: 2\n")

    assert str(info.value).startswith("f.yaml:2:1: /a: duplicate key")


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "# just a comment\n", "   \n"],
    ids=["empty", "newlines", "comment", "spaces"],
)
def test_empty_text_is_none_data_located_at_the_file_start(text: str) -> None:
    doc = parse_yaml("f.yaml", text)

    assert doc.data is None
    assert doc.position("") == (1, 1)
    assert doc.position("/anything") == (1, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("d: 2024-01-02\n", "2024-01-02"),
        ("d: 2024-01-02T03:04:05Z\n", "2024-01-02T03:04:05+00:00"),
        ("d: 2024-01-02 03:04:05\n", "2024-01-02T03:04:05"),
        ("d: [2025-06-30]\n", ["2025-06-30"]),
    ],
    ids=["date", "datetime-utc", "datetime-naive", "date-in-list"],
)
def test_yaml_timestamps_become_iso_strings(text: str, expected: object) -> None:
    assert parse_yaml("f.yaml", text).data == {"d": expected}


@pytest.mark.parametrize(
    ("key", "pointer"),
    [
        ("a/b", "/a~1b"),
        ("a~b", "/a~0b"),
        ("~/", "/~0~1"),
        ("/openai/v1", "/~1openai~1v1"),
        ("~1", "/~01"),
    ],
    ids=["slash", "tilde", "tilde-then-slash", "path-like", "literal-tilde-one"],
)
def test_keys_with_slash_or_tilde_are_escaped_in_pointers(key: str, pointer: str) -> None:
    doc = parse_yaml("f.yaml", f"top: 0\n'{key}':\n  inner: 1\n")

    assert doc.data[key] == {"inner": 1}
    assert doc.positions[pointer] == (2, 1)
    assert doc.positions[pointer + "/inner"] == (3, 3)
    assert join_pointer("", key) == pointer


def test_pointer_tokens_escape_tilde_before_slash() -> None:
    assert escape_pointer_token("~/") == "~0~1"
    assert join_pointer("/a", 0, "b/c") == "/a/0/b~1c"


def test_aliases_are_expanded_and_each_use_keeps_its_own_position() -> None:
    doc = parse_yaml("f.yaml", "base: &b\n  x: 1\ncopy: *b\n")

    assert doc.data == {"base": {"x": 1}, "copy": {"x": 1}}
    assert doc.positions["/copy"] == (3, 1)


def test_merge_keys_are_merged_as_yaml_safe_load_does() -> None:
    text = "defaults: &d\n  port: 1\nserver:\n  <<: *d\n  host: h\n"

    doc = parse_yaml("f.yaml", text)

    assert doc.data["server"] == {"port": 1, "host": "h"}


def test_an_unknown_tag_is_a_located_problem_not_a_crash() -> None:
    [problem] = _problems("ok: 1\nbad: !custom value\n")

    assert problem.line == 2
    assert problem.message.startswith("parse yaml: ")


def test_an_impossible_date_is_a_located_problem_or_stays_a_string() -> None:
    try:
        doc = parse_yaml("f.yaml", "ok: 1\nd: 2024-13-45\n")
    except YamlError as exc:
        assert exc.problems[0].line == 2
    else:
        assert doc.data == {"ok": 1, "d": "2024-13-45"}


def test_a_recursive_alias_is_a_located_problem_not_a_crash() -> None:
    with pytest.raises(YamlError):
        parse_yaml("f.yaml", "a: &x [*x]\n")


def test_a_document_is_immutable() -> None:
    doc = YamlDocument("f.yaml", {"a": 1})

    with pytest.raises(AttributeError):
        doc.path = "other"  # type: ignore[misc]
