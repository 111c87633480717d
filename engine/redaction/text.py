"""One string through a policy's enabled detectors, in order, with stable placeholders.

Order: email, credit_card, ssn, phone, ipv4, provider_key, token_like. Email goes first because
an address's local part may hold digits and dashes that the number detectors would otherwise
take. credit_card runs before ssn and phone so a grouped card number counts as a card, not as a
phone number plus leftovers. provider_key runs before token_like so the more specific type wins.

As in the contract, each detector sees the previous ones' output, with one fix. A replaced value
is first masked by a single sentinel character, and the placeholders go in at the very end. The
sentinel is a control character absent from the text. No detector matches it, and it is a
non-word character like a placeholder's brackets. A placeholder is therefore never re-matched by
a later detector, whatever the format. Its 16 hex digits can all be digits, and a Luhn-valid
16-digit hash would otherwise turn into a "credit card".

Why it is fast: strings shorter than the shortest possible match are skipped. Emails are found
from their ``@`` signs. The four number detectors only look at the few regions holding four or
more digits (``DIGIT_REGION``). Provider keys are only searched when ``sk-`` occurs. Nothing is
copied unless something matched, and an unchanged string is returned as the same object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from ongoingai.engine.redaction import detectors as d
from ongoingai.engine.redaction.failure import RedactionFailed

if TYPE_CHECKING:
    from ongoingai.engine.models.redaction import Detectors, Replacement

__all__ = ["DETECTOR_ORDER", "TextRedactor"]

DETECTOR_ORDER = (
    "email",
    "credit_card",
    "ssn",
    "phone",
    "ipv4",
    "provider_key",
    "token_like",
)
"""The detectors (and their count keys), in the order they run."""

Finder = Callable[[str, int], d.Spans]
Edit = tuple[int, int, str, list[str]]
"""Replace ``text[start:end]`` by a masked core holding sentinels for the listed placeholders."""
_Region = tuple[str, list[str], list[tuple[str, int]]]
"""A digit region's outcome: masked core, its placeholders, and matches per detector."""


class _Detector(NamedTuple):
    name: str  # count key
    kind: str  # placeholder type
    find: Finder
    min_length: int  # shortest possible match, to skip short strings
    pattern: re.Pattern[str] | None = None  # the regex every match matches (number detectors)


def _pattern(pattern: re.Pattern[str]) -> Finder:
    def find(text: str, pos: int) -> d.Spans:
        return d.find_pattern(pattern, text, pos)

    return find


_EMAIL = _Detector("email", "email", d.find_emails, 6)
_DIGITS = (
    _Detector("credit_card", "credit_card", d.find_credit_cards, 13, d.CREDIT_CARD_RUN),
    _Detector("ssn", "ssn", _pattern(d.SSN), 11, d.SSN),
    _Detector("phone", "phone", _pattern(d.PHONE), 10, d.PHONE),
    _Detector("ipv4", "ipv4", d.find_ipv4, 7, d.IPV4),
)
_AFTER = (
    _Detector("provider_key", "provider_key", d.find_provider_keys, 23),
    _Detector("token_like", "token", d.find_prefixed_tokens, 11),
    _Detector("token_like", "token", d.find_jwts, 29),
)

_SENTINELS = tuple(chr(code) for code in (*range(0x09), *range(0x0E, 0x1C)))
"""Control characters that are not ASCII whitespace: inert for every detector."""


def _sentinel(text: str) -> str:
    """Pick a sentinel character that does not occur in ``text``."""
    for char in _SENTINELS:
        if char not in text:
            return char
    for code in range(0xE000, 0xF900):  # private use area; a text holding all of it is absurd
        if chr(code) not in text:
            return chr(code)
    raise RedactionFailed("text holds every candidate masking character")


def _splice(
    text: str, subs: list[str], edits: Iterable[Edit], sentinel: str
) -> tuple[str, list[str]]:
    """Apply ordered, non-overlapping edits; keep ``subs`` in the order of the sentinels."""
    out: list[str] = []
    new_subs: list[str] = []
    prev = taken = 0
    for start, end, core, placeholders in edits:
        segment = text[prev:start]
        if subs:
            count = segment.count(sentinel)
            new_subs.extend(subs[taken : taken + count])
            taken += count
        out.append(segment)
        out.append(core)
        new_subs.extend(placeholders)
        prev = end
    out.append(text[prev:])
    new_subs.extend(subs[taken:])
    return "".join(out), new_subs


class _Run:
    """The state of one call: the masked text, its pending placeholders and the counts."""

    __slots__ = (
        "counts",
        "memo",
        "original",
        "replacement",
        "sentinel",
        "subs",
        "text",
        "workspace",
    )

    def __init__(
        self, text: str, replacement: Replacement, workspace: str, counts: dict[str, int]
    ) -> None:
        self.original = self.text = text
        self.replacement = replacement
        self.workspace = workspace
        self.counts = counts
        self.subs: list[str] = []
        self.sentinel = ""
        # One hash per distinct value and call: an SSE stream repeats its id and timestamp in
        # every event.
        self.memo: dict[tuple[str, str], str] = {}

    def count(self, name: str, matches: int) -> None:
        """Add one detector's matches to the counts."""
        self.counts[name] = self.counts.get(name, 0) + matches

    def mask(self, text: str, spans: d.Spans, detector: _Detector) -> Iterable[Edit]:
        """Turn one detector's spans over ``text`` into edits, rendering each placeholder."""
        if not self.sentinel:
            self.sentinel = _sentinel(self.original)
        return [
            (start, end, self.sentinel, [self.placeholder(detector.kind, text[start:end])])
            for start, end in spans
        ]

    def placeholder(self, kind: str, value: str) -> str:
        """Render (or reuse) the placeholder of one value."""
        key = (kind, value)
        rendered = self.memo.get(key)
        if rendered is None:
            rendered = self.memo[key] = self.replacement.placeholder(kind, value, self.workspace)
        return rendered

    def apply(self, edits: Iterable[Edit]) -> None:
        """Apply edits to the whole masked text."""
        self.text, self.subs = _splice(self.text, self.subs, edits, self.sentinel)

    def result(self) -> str:
        """Put the placeholders in place of their sentinels (the original if nothing matched)."""
        if not self.subs:
            return self.original
        parts = self.text.split(self.sentinel)
        out = [parts[0]]
        for placeholder, part in zip(self.subs, parts[1:], strict=True):
            out.append(placeholder)
            out.append(part)
        return "".join(out)


class TextRedactor:
    """The enabled detectors of one policy, ready to run; immutable and thread-safe."""

    __slots__ = (
        "_after",
        "_before",
        "_digit_filter",
        "_digit_min_length",
        "_digits",
        "_min_length",
        "_replacement",
    )

    def __init__(self, detectors: Detectors, replacement: Replacement) -> None:
        """Select the enabled detectors once, in order.

        Args:
            detectors: Which detectors the policy switches on.
            replacement: The placeholder format and hash salt.
        """
        enabled = detectors.model_dump()
        self._before = (_EMAIL,) if enabled["email"] else ()
        self._digits = tuple(x for x in _DIGITS if enabled[x.name])
        self._after = tuple(x for x in _AFTER if enabled[x.name])
        chosen = [*self._before, *self._digits, *self._after]
        self._min_length = min((x.min_length for x in chosen), default=-1)
        # One search for "could any number detector match in this region": most regions (a
        # version string, a date) hold nothing, and one C call rules them out.
        self._digit_filter = re.compile(
            "|".join(f"(?:{x.pattern.pattern})" for x in self._digits if x.pattern), re.ASCII
        )
        self._digit_min_length = min((x.min_length for x in self._digits), default=0)
        self._replacement = replacement

    def redact(self, text: str, workspace_id: str, counts: dict[str, int]) -> str:
        """Replace every detected value in ``text`` by its placeholder.

        Args:
            text: The string to scan.
            workspace_id: The caller's workspace, part of each placeholder's hash.
            counts: Per-detector counts, incremented in place.

        Returns:
            The redacted string, or ``text`` itself when nothing matched.
        """
        # Every match holds a digit or one of "@-_." so a single word ("assistant") holds none.
        if self._min_length < 0 or len(text) < self._min_length or text.isalpha():
            return text
        run: _Run | None = None  # made on the first match: most strings hold nothing
        for detector in self._before:
            spans = detector.find(text if run is None else run.text, 0)
            if spans:
                run = run or _Run(text, self._replacement, workspace_id, counts)
                run.count(detector.name, len(spans))
                run.apply(run.mask(run.text, spans, detector))
        if self._digits:
            run = self._redact_digit_regions(text, run, workspace_id, counts)
        for detector in self._after:
            spans = detector.find(text if run is None else run.text, 0)
            if spans:
                run = run or _Run(text, self._replacement, workspace_id, counts)
                run.count(detector.name, len(spans))
                run.apply(run.mask(run.text, spans, detector))
        return text if run is None else run.result()

    def _redact_digit_regions(
        self, text: str, run: _Run | None, workspace_id: str, counts: dict[str, int]
    ) -> _Run | None:
        """Run the number detectors in order over each digit region, as if over the whole text.

        A region is searched with one character of context on each side, so word boundaries and
        look-arounds see the real neighbours; no match can reach past a region (see
        ``DIGIT_REGION``), so this is exactly the result of whole-text passes. A detector whose
        shortest match is longer than the region is skipped (a lone year is not a phone).
        """
        current = text if run is None else run.text
        edits: list[Edit] = []
        # Region (with its context) -> outcome, None for "nothing here". Streams repeat the
        # same numbers in every event (an SSE "created" timestamp, a model's date).
        seen: dict[tuple[int, str], _Region | None] = {}
        for region in d.DIGIT_REGION.finditer(current):
            start, end = region.span()
            if start and current[start - 1] in "+(":
                start -= 1
            size = end - start
            if size < self._digit_min_length:
                continue
            low = start - 1 if start else 0
            key = (start - low, current[low : end + 1])
            if key in seen:
                done = seen[key]
            # The right context character is inside `endpos`, so look-arounds see it.
            elif self._digit_filter.search(current, start, end + 1) is None:
                done = seen[key] = None
            else:
                run = run or _Run(text, self._replacement, workspace_id, counts)
                done = seen[key] = self._redact_region(run, key[1], key[0], size)
            if done is None or run is None:
                continue
            core, subs, found = done
            for name, matches in found:
                run.count(name, matches)
            if subs:
                edits.append((start, end, core, subs))
        if run is not None and edits:
            run.apply(edits)
        return run

    def _redact_region(self, run: _Run, local: str, offset: int, size: int) -> _Region:
        """Run the number detectors over one region; return its core, placeholders and counts."""
        if run.sentinel and run.sentinel in local:
            # Only a context character can be one (from an earlier pass); keep the local
            # sentinels this region's own, with a stand-in that is just as inert.
            local = local.replace(run.sentinel, "!")
        tail = len(local) - offset - size
        subs: list[str] = []
        found: list[tuple[str, int]] = []
        for detector in self._digits:
            if size < detector.min_length:
                continue
            spans = detector.find(local, offset)
            if spans:
                found.append((detector.name, len(spans)))
                local, subs = _splice(local, subs, run.mask(local, spans, detector), run.sentinel)
        return local[offset : len(local) - tail], subs, found
