"""Redact a request or response body: JSON walked field by field, anything else as UTF-8 text.

A JSON body (any JSON value, after optional whitespace and a UTF-8 BOM) is walked recursively.
A denylisted field's whole value, of any type, becomes one ``FIELD`` placeholder. The hash covers
the value's string form: a string as is, null as ``""``, anything else as compact JSON. Other
string leaves go through the string detectors. Numbers and booleans are never looked at, so
``max_tokens`` and usage counters stay as they are.

The body is written back compactly, in key order and without escaping non-ASCII
(``ensure_ascii=False``), only when something changed. Otherwise the very same bytes object comes
back, so callers can compare by identity and never pay for re-encoding.

A body that is not JSON but is valid UTF-8 goes through the string detectors as a whole, except
a server-sent event stream, whose JSON `data:` payloads are walked one by one like JSON bodies
(so event timestamps are not taken for phone numbers). Anything else raises
:class:`RedactionFailed`.

Deliberate details:

- A repeated key keeps every occurrence, and each value is scanned and written back. Otherwise
  an earlier duplicate would slip through unscanned, while a parser that keeps the first value
  reads it upstream.
- JSON holding invalid UTF-8 is still walked, like the contract's Go decoder does. The bad bytes
  become U+FFFD if the body has to be rewritten.
- ``NaN``/``Infinity`` and numbers out of float range are not JSON, so such a body is scanned as
  text. Nesting deeper than the interpreter can walk raises :class:`RedactionFailed`, so the
  caller fails closed rather than passing an unscanned body on.
- When a body is rewritten, a float is printed by Python's shortest repr: ``1.50`` comes back as
  ``1.5`` and ``1e5`` as ``100000.0``, the same value. Integers are exact at any size.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ongoingai.engine.redaction.failure import RedactionFailed
from ongoingai.engine.redaction.text import TextRedactor

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ongoingai.engine.models.redaction import RedactionPolicy

__all__ = ["BodyRedactor", "Redacted", "redactor_for"]

_JSON_START = re.compile(r"\ufeff?[ \t\r\n]*[{\[\"\-0-9tfn]")
"""What a JSON text can start with; anything else is not tried as JSON (SSE: ``data:``)."""
_SSE_START = re.compile(r"[ \t\r\n]*(?:data|event|id|retry)?:")
"""A server-sent event stream starts with a field name and a colon (or a `:` comment)."""
_KEY_CACHE_SIZE = 4096
_NOT_JSON = object()


@dataclass(frozen=True, slots=True)
class Redacted:
    """The outcome of redacting one body."""

    body: bytes
    """The redacted bytes; the unchanged input object when nothing matched."""
    counts: Mapping[str, int] = field(default_factory=dict)
    """Matches per detector (``field_name``, ``email``, ...); only non-zero entries."""

    @property
    def changed(self) -> bool:
        """Whether anything was redacted."""
        return any(self.counts.values())


class _DuplicateKeys(dict[str, Any]):
    """A JSON object with a repeated key, keeping every pair in order.

    The C JSON encoder serialises a ``dict`` subclass through its ``items()``, so the rewritten
    body keeps every occurrence; the dict part only has to be non-empty.
    """

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return self.pairs


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Build a JSON object, keeping repeated keys (see :class:`_DuplicateKeys`)."""
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else _DuplicateKeys(pairs)


def _finite_float(literal: str) -> float:
    """Parse a JSON float, refusing ones out of range (they would come back as ``Infinity``)."""
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _reject_constant(name: str) -> object:
    """Refuse ``NaN``/``Infinity``: Python accepts them, JSON does not."""
    raise ValueError(f"{name} is not JSON")


def _compact(value: object, *, ensure_ascii: bool = False) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, separators=(",", ":"), allow_nan=False)


def _string_form(value: object) -> str:
    """The string a FIELD placeholder hashes: strings as is, null as "", else compact JSON."""
    if isinstance(value, str):
        return value
    return "" if value is None else _compact(value)


def _parse(text: str) -> object:
    """Return the JSON value of ``text``, or ``_NOT_JSON``."""
    if _JSON_START.match(text) is None:
        return _NOT_JSON
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return json.loads(
            text,
            object_pairs_hook=_object,
            parse_float=_finite_float,
            parse_constant=_reject_constant,
        )
    except RecursionError:
        raise RedactionFailed("JSON body is nested too deeply to be processed") from None
    except ValueError:
        return _NOT_JSON


def _encode(document: object) -> bytes:
    """Serialise a rewritten document compactly, keeping non-ASCII as UTF-8."""
    try:
        return _compact(document).encode()
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape: keep it escaped
        return _compact(document, ensure_ascii=True).encode()


class BodyRedactor:
    """A policy's body rules, compiled once: thread-safe, no per-call setup.

    Built through :func:`redactor_for` so that each policy compiles once.
    """

    __slots__ = ("_keys", "_replacement", "_rules", "_text")

    def __init__(self, policy: RedactionPolicy) -> None:
        """Compile the policy's detectors, field denylist and placeholder format.

        Args:
            policy: The redaction policy whose rules apply.
        """
        self._text = TextRedactor(policy.detectors, policy.replacement)
        self._rules = policy.body
        self._replacement = policy.replacement
        # Field name -> denied. JSON bodies repeat a few names ("role", "content") endlessly;
        # the memo is bounded, and a lost race only computes an entry twice.
        self._keys: dict[str, bool] = {}

    def redact(self, body: bytes, *, workspace_id: str) -> Redacted:
        """Redact one body (see the module docstring).

        Args:
            body: The raw body bytes.
            workspace_id: The caller's workspace, part of every placeholder's hash.

        Returns:
            The redacted body and the per-detector counts.

        Raises:
            RedactionFailed: The body is neither JSON nor valid UTF-8, or is nested too deeply.
        """
        if not body:
            return Redacted(body)
        counts: dict[str, int] = {}
        try:
            text = body.decode()
        except UnicodeDecodeError as exc:
            document = _parse(body.decode(errors="replace"))
            if document is _NOT_JSON:
                reason = f"invalid UTF-8 at byte offset {exc.start}"
                raise RedactionFailed(
                    f"body is neither JSON nor valid UTF-8 text ({reason})"
                ) from None
        else:
            document = _parse(text)
            if document is _NOT_JSON:
                if _SSE_START.match(text):
                    redacted = self._sse(text, workspace_id, counts)
                else:
                    redacted = self._text.redact(text, workspace_id, counts)
                return Redacted(body if redacted is text else redacted.encode(), counts)
        rewritten = self._document(document, workspace_id, counts)
        return Redacted(body if rewritten is _NOT_JSON else _encode(rewritten), counts)

    def redact_text(self, text: str, *, workspace_id: str) -> tuple[str, Mapping[str, int]]:
        """Run the string detectors over one text (no JSON handling).

        Args:
            text: The text to scan.
            workspace_id: The caller's workspace, part of every placeholder's hash.

        Returns:
            The redacted text (``text`` itself when nothing matched) and the counts.
        """
        counts: dict[str, int] = {}
        return self._text.redact(text, workspace_id, counts), counts

    def _sse(self, text: str, workspace: str, counts: dict[str, int]) -> str:
        """An SSE stream, event line by event line: each JSON `data:` payload is walked.

        Scanning a stream as one text would take every event's numbers for PII (a 10-digit
        `created` timestamp matches the phone pattern); walking each payload as JSON leaves
        numbers alone, as for any JSON body. Other lines (and payloads that are not JSON,
        such as `[DONE]` or a line cut by truncation) go through the string detectors.
        """
        lines = text.splitlines(keepends=True)
        changed = False
        for index, line in enumerate(lines):
            content = line.rstrip("\r\n")
            ending = line[len(content) :]
            if content.startswith("data:"):
                lead = 6 if content.startswith("data: ") else 5
                payload = content[lead:]
                document = _parse(payload) if payload else _NOT_JSON
                if document is not _NOT_JSON:
                    rewritten = self._document(document, workspace, counts)
                    if rewritten is _NOT_JSON:
                        continue
                    new = content[:lead] + _encode(rewritten).decode() + ending
                else:
                    redacted = self._text.redact(payload, workspace, counts)
                    if redacted is payload:
                        continue
                    new = content[:lead] + redacted + ending
            else:
                redacted = self._text.redact(content, workspace, counts)
                if redacted is content:
                    continue
                new = redacted + ending
            lines[index] = new
            changed = True
        return "".join(lines) if changed else text

    def _document(self, document: object, workspace: str, counts: dict[str, int]) -> object:
        """Redact a parsed document in place; return it, or ``_NOT_JSON`` when unchanged."""
        if isinstance(document, str):
            redacted = self._text.redact(document, workspace, counts)
            return _NOT_JSON if redacted is document else redacted
        try:
            changed = isinstance(document, dict | list) and self._walk(document, workspace, counts)
        except RecursionError:
            raise RedactionFailed("JSON body is nested too deeply to be processed") from None
        return document if changed else _NOT_JSON

    def _walk(
        self, node: dict[str, Any] | list[Any], workspace: str, counts: dict[str, int]
    ) -> bool:
        """Redact one object or array in place; return whether anything changed."""
        if isinstance(node, list):
            return self._walk_array(node, workspace, counts)
        changed = False
        if isinstance(node, _DuplicateKeys):
            pairs = node.pairs
            for index, (key, value) in enumerate(pairs):
                new = self._member(key, value, workspace, counts)
                if new is not _NOT_JSON:
                    pairs[index] = (key, new)
                    changed = True
            return changed
        for key, value in node.items():
            new = self._member(key, value, workspace, counts)
            if new is not _NOT_JSON:
                node[key] = new  # same key: no resize, safe while iterating
                changed = True
        return changed

    def _walk_array(self, node: list[Any], workspace: str, counts: dict[str, int]) -> bool:
        """Redact one array in place; return whether anything changed."""
        changed = False
        for index, value in enumerate(node):
            if isinstance(value, str):
                redacted = self._text.redact(value, workspace, counts)
                if redacted is not value:
                    node[index] = redacted
                    changed = True
            elif isinstance(value, dict | list) and self._walk(value, workspace, counts):
                changed = True
        return changed

    def _member(self, key: str, value: object, workspace: str, counts: dict[str, int]) -> object:
        """Redact one object member's value; return the new value, or ``_NOT_JSON`` if unchanged."""
        if self._denies(key):
            counts["field_name"] = counts.get("field_name", 0) + 1
            return self._replacement.placeholder("field", _string_form(value), workspace)
        if isinstance(value, str):
            redacted = self._text.redact(value, workspace, counts)
            return _NOT_JSON if redacted is value else redacted
        if isinstance(value, dict | list) and self._walk(value, workspace, counts):
            return value
        return _NOT_JSON

    def _denies(self, key: str) -> bool:
        denied = self._keys.get(key)
        if denied is None:
            denied = self._rules.denies(key)
            if len(self._keys) < _KEY_CACHE_SIZE:
                self._keys[key] = denied
        return denied


@functools.lru_cache(maxsize=256)
def redactor_for(policy: RedactionPolicy) -> BodyRedactor:
    """Return the compiled redactor of a policy, built once per (frozen, hashable) policy.

    Args:
        policy: A redaction policy.

    Returns:
        Its :class:`BodyRedactor`, shared by every caller (it is thread-safe).
    """
    return BodyRedactor(policy)
