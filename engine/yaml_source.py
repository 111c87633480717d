"""YAML loading that remembers where every key and item came from.

PyYAML's `safe_load` forgets positions; validation errors must name a line and column, so we
compose the node graph ourselves and record, for each JSON pointer, the position of the key (for
mapping members) or of the item (for sequence members). Duplicate keys, which PyYAML silently
lets win, are reported as problems.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import yaml

from ongoingai.engine.problems import Problem, join_pointer

__all__ = ["YamlDocument", "YamlError", "parse_yaml"]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlError(Exception):
    """The text is not a single well-formed YAML document; carries located problems."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.render() for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """Plain JSON-compatible data plus pointer → (line, column) positions (1-based)."""

    path: str
    data: Any
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def position(self, pointer: str) -> tuple[int, int]:
        """Position of `pointer`, or of its closest located ancestor (1:1 for the file)."""
        while True:
            found = self.positions.get(pointer)
            if found is not None:
                return found
            if not pointer:
                return (1, 1)
            pointer = pointer.rsplit("/", 1)[0]

    def problem(self, pointer: str, message: str) -> Problem:
        """Build a problem located at `pointer` in this document."""
        line, column = self.position(pointer)
        return Problem(self.path, line, column, pointer, message)


def parse_yaml(path: str, text: str) -> YamlDocument:
    """Parse exactly one YAML document (empty text is `None`) with positions.

    Raises:
        YamlError: syntax errors, several documents, or duplicate mapping keys.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        raise YamlError([Problem(path, line, column, "", f"parse yaml: {reason}")]) from None
    except yaml.YAMLError as exc:
        raise YamlError([Problem(path, 1, 1, "", f"parse yaml: {exc}")]) from None
    if len(nodes) > 1:
        line = _document_marker_line(text, nodes[1].start_mark.line)
        msg = "multiple yaml documents are not supported"
        raise YamlError([Problem(path, line, 1, "", msg)])
    if not nodes:
        return YamlDocument(path, None, {"": (1, 1)})
    builder = _Builder(path)
    data = builder.build(nodes[0], "")
    if builder.problems:
        raise YamlError(builder.problems)
    return YamlDocument(path, data, builder.positions)


def _document_marker_line(text: str, content_line: int) -> int:
    """1-based line of the `---` that starts the document whose content is at `content_line`."""
    lines = text.splitlines()
    for index in range(min(content_line, len(lines) - 1), -1, -1):
        if lines[index].startswith("---"):
            return index + 1
    return content_line + 1


class _Builder:
    """Turns a composed node graph into plain data while recording positions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.positions: dict[str, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self._constructor = yaml.constructor.SafeConstructor()
        self._open: set[int] = set()  # nodes being built: an alias back into one is a cycle

    def build(self, node: yaml.Node, pointer: str) -> Any:
        self.positions.setdefault(pointer, (node.start_mark.line + 1, node.start_mark.column + 1))
        if id(node) in self._open:
            self._problem(node, pointer, "anchor contains itself (recursive alias)")
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, pointer)
            if isinstance(node, yaml.SequenceNode):
                return [
                    self.build(item, join_pointer(pointer, i)) for i, item in enumerate(node.value)
                ]
            return self._scalar(node, pointer)
        finally:
            self._open.discard(id(node))

    def _scalar(self, node: yaml.Node, pointer: str) -> Any:
        try:
            value = self._constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            self._problem(node, pointer, f"parse yaml: {exc.problem or exc}")
            return None
        except ValueError:
            # e.g. an impossible timestamp such as 2024-13-45: keep the text, as Go's yaml.v3 does
            return str(node.value)
        # Timestamps become ISO strings so the data stays JSON-compatible for JSON Schema.
        if isinstance(value, dt.date | dt.datetime):
            return value.isoformat()
        return value

    def _problem(self, node: yaml.Node, pointer: str, message: str) -> None:
        mark = node.start_mark
        self.problems.append(Problem(self.path, mark.line + 1, mark.column + 1, pointer, message))

    def _mapping(self, node: yaml.MappingNode, pointer: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._problem(key_node, pointer, "mapping keys must be plain scalars")
                continue
            if key_node.tag == "tag:yaml.org,2002:merge":
                merges.append(value_node)
                continue
            key = str(self._scalar(key_node, pointer))
            child = join_pointer(pointer, key)
            if key in result:
                msg = f'duplicate key "{key}" (first defined at line {self.positions[child][0]})'
                self._problem(key_node, child, msg)
                continue
            self.positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, child)
        for merge in merges:
            self._merge(result, merge, pointer)
        return result

    def _merge(self, result: dict[str, Any], merge: yaml.Node, pointer: str) -> None:
        """`<<: *anchor` (or a list of them): keys written explicitly win, as in YAML 1.1."""
        sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
        for source in sources:
            value = self.build(source, pointer)
            if not isinstance(value, dict):
                self._problem(merge, pointer, "merge key (<<) expects a mapping or a list of them")
                return
            for key, item in value.items():
                result.setdefault(key, item)
