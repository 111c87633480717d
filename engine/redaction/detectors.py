r"""The string detectors: compiled patterns plus the checks a regex cannot express.

Each finder takes a text and a start index and returns the ``(start, end)`` spans of its
matches, in order and non-overlapping, exactly as ``re.finditer`` of the detector's pattern
would (plus a validation step for credit cards and provider keys). Finders are pure functions of
module constants, so they are thread-safe and cost nothing to set up per call.

The contract's four (email, phone, ssn, token_like; contract §6.3) keep its regexes verbatim, with
ASCII semantics (Go RE2's ``\b``, ``\d`` and ``\s`` are ASCII). Ours:

- credit_card: 13-19 digits, optionally grouped by single spaces or dashes, Luhn-valid. A
  grouped run longer than one card is searched group-wise, leftmost-longest, so
  ``4111 1111 1111 1111 12`` (card + expiry) still finds the card.
- ipv4: a dotted quad with octets 0-255 and no leading zeros (``0`` alone is fine), not part of a
  longer dotted or numeric run, so ``1.2.3.4.5``, ``999.1.1.1`` and ``v1.2.3.4`` are not matched.
- provider_key: OpenAI ``sk-`` / ``sk-proj-`` and Anthropic ``sk-ant-`` keys: at least 20
  characters of ``[A-Za-z0-9_-]`` after the prefix, including a digit and a letter, so hyphenated
  words (``sk-learn``, ``task-force``, ``sk-learn-and-pytorch-comparison-guide``) never match.
"""

from __future__ import annotations

import re

__all__ = [
    "CREDIT_CARD_RUN",
    "DIGIT_REGION",
    "EMAIL",
    "IPV4",
    "PHONE",
    "PROVIDER_KEY",
    "SSN",
    "TOKEN_JWT",
    "TOKEN_PREFIXED",
    "Spans",
    "find_credit_cards",
    "find_emails",
    "find_ipv4",
    "find_jwts",
    "find_pattern",
    "find_prefixed_tokens",
    "find_provider_keys",
    "luhn_valid",
]

Spans = list[tuple[int, int]]

# --- the contract's regexes (§6.3), verbatim --------------------------------------------------

EMAIL = re.compile(r"(?i)\b[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}\b", re.ASCII)
PHONE = re.compile(r"\b(?:\+?1[\s.-]?)?(?:\(?\d{3}\)?[\s.-]?)\d{3}[\s.-]?\d{4}\b", re.ASCII)
SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b", re.ASCII)
TOKEN_PREFIXED = re.compile(
    r"(?i)\b(?:sk|pk|rk|xox[baprs]|gh[pousr]|pat)_[a-z0-9_-]{8,}\b", re.ASCII
)
TOKEN_JWT = re.compile(r"(?i)eyj[a-z0-9_-]{8,}\.[a-z0-9_-]{8,}\.[a-z0-9_-]{8,}", re.ASCII)

# --- ours ---------------------------------------------------------------------------------------

CREDIT_CARD_RUN = re.compile(r"\b\d(?:[ -]?\d){12,}\b", re.ASCII)
"""A run of at least 13 digits joined by single spaces or dashes; split into cards below."""

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)", re.ASCII)

PROVIDER_KEY = re.compile(r"\bsk-(?>(?:(?:proj|ant)-)?)([A-Za-z0-9_-]{20,})", re.ASCII)
"""``sk-``, ``sk-proj-`` or ``sk-ant-`` then the key body (group 1); the prefix is atomic so the
20-character minimum always counts from after it."""

_TOKEN_AT_UNDERSCORE = re.compile(
    r"(?i)_(?:(?<=\b(?:sk|pk|rk)_)(?P<p2>)|(?<=\b(?:pat|gh[pousr])_)(?P<p3>)|(?<=\bxox[baprs]_))"
    r"[a-z0-9_-]{8,}\b",
    re.ASCII,
)
"""``TOKEN_PREFIXED`` found from its underscore: a literal first character lets the regex engine
skip straight to each ``_`` instead of trying a match at every word boundary (40x faster)."""
_HAS_DIGIT = re.compile(r"\d", re.ASCII)
_HAS_LETTER = re.compile(r"[A-Za-z]")
_DIGIT_GROUP = re.compile(r"\d+", re.ASCII)

DIGIT_REGION = re.compile(r"\d(?=[\d\s.()+\-]{6})(?:[\s.()+\-]*\d){3}[\d\s.()+\-]*", re.ASCII)
r"""Where a phone, SSN, card or IPv4 match can be: a run of the only characters those contain
(digits, ASCII whitespace, ``.()+-``) that holds at least four digits and seven characters (every
such match has both), from its first digit to the run's end. A match may also start at a ``+``
or ``(`` just before that digit, so users widen a region by that one character. Every match
then lies inside one region and the number detectors only look at those; a lone year or a
price never makes one. The pattern starts with ``\d`` so the regex engine scans for digits in
C (``[+(]?\d`` would make it try a match at every position, 3x slower)."""

_EMAIL_LOCAL = re.compile(r"[^a-z0-9._%+\-]", re.ASCII | re.IGNORECASE)
_BOUNDARY = re.compile(r"\b", re.ASCII)


def find_pattern(pattern: re.Pattern[str], text: str, pos: int = 0) -> Spans:
    """Return the spans of a plain pattern's matches (phone, ssn, token_like)."""
    return [m.span() for m in pattern.finditer(text, pos)]


def find_emails(text: str, pos: int = 0) -> Spans:
    """Return the spans ``EMAIL.finditer`` would, visiting only the ``@`` signs.

    The contract's pattern starts with a character class almost every character belongs to, so a
    plain scan tries a match at nearly every position. Every match ends its local part at the
    first ``@`` after its start, so this walks the ``@`` signs instead: for each, the candidate
    start is the first word boundary in the run of local-part characters just before it (any
    later start in the run shares the same domain part, so fails the same way).
    """
    spans: Spans = []
    at = text.find("@", pos)
    while at != -1:
        low = max(pos, text.rfind("@", pos, at) + 1)
        # The local-part run ends at `at`; find where it starts by scanning it reversed.
        reverse = text[low:at][::-1]
        stop = _EMAIL_LOCAL.search(reverse)
        start = at - (stop.start() if stop else len(reverse))
        # The regex's own start: the first word boundary in the run (it can only be before `at`).
        boundary = _BOUNDARY.search(text, start, at) if start < at else None
        match = None
        if boundary is not None and boundary.start() < at:
            match = EMAIL.match(text, boundary.start())
        if match is not None:
            spans.append(match.span())
            pos = match.end()
            at = text.find("@", pos)
        else:
            at = text.find("@", at + 1)
    return spans


def luhn_valid(digits: str) -> bool:
    """Return whether a digit string passes the Luhn checksum (every payment card does)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def find_credit_cards(text: str, pos: int = 0) -> Spans:
    """Return the spans of Luhn-valid 13-19 digit numbers (grouped by single spaces or dashes).

    A grouped digit run is split into its digit groups; from the left, the longest range of
    whole groups with 13-19 digits that passes Luhn is a card, and the search goes on after it.
    Cards therefore start and end at group edges (never inside a digit sequence), a run holding
    a card plus an expiry or a second card still yields the card(s), and a Luhn failure leaves
    the digits to the later detectors (a phone number followed by a count stays a phone).
    """
    spans: Spans = []
    for run in CREDIT_CARD_RUN.finditer(text, pos):
        groups = [g.span() for g in _DIGIT_GROUP.finditer(text, run.start(), run.end())]
        first = 0
        while first < len(groups):
            last = _longest_card(text, groups, first)
            if last is None:
                first += 1
            else:
                spans.append((groups[first][0], groups[last][1]))
                first = last + 1
    return spans


def _longest_card(text: str, groups: Spans, first: int) -> int | None:
    """Return the last group of the longest Luhn-valid card starting at ``groups[first]``."""
    digits = ""
    candidates: list[tuple[int, str]] = []
    for index in range(first, len(groups)):
        start, end = groups[index]
        digits += text[start:end]
        if len(digits) > 19:
            break
        if len(digits) >= 13:
            candidates.append((index, digits))
    for index, number in reversed(candidates):
        if luhn_valid(number):
            return index
    return None


def find_ipv4(text: str, pos: int = 0) -> Spans:
    """Return the spans of dotted-quad IPv4 addresses (see the module docstring)."""
    if text.count(".", pos) < 3:
        return []
    return [m.span() for m in IPV4.finditer(text, pos)]


def find_provider_keys(text: str, pos: int = 0) -> Spans:
    """Return the spans of OpenAI and Anthropic API keys.

    Real keys are random: their body always mixes digits and letters. Requiring both keeps long
    hyphenated phrases that happen to start with ``sk-`` out.
    """
    spans: Spans = []
    start = text.find("sk-", pos)
    while start != -1:
        match = PROVIDER_KEY.match(text, start)
        if match and _HAS_DIGIT.search(match.group(1)) and _HAS_LETTER.search(match.group(1)):
            spans.append(match.span())
            start = text.find("sk-", match.end())
        else:
            start = text.find("sk-", start + 1)
    return spans


def find_prefixed_tokens(text: str, pos: int = 0) -> Spans:
    """Return the spans ``TOKEN_PREFIXED.finditer`` would, found from their underscores."""
    spans: Spans = []
    match = _TOKEN_AT_UNDERSCORE.search(text, pos)
    while match is not None:
        underscore, end = match.span()
        if match.group("p2") is not None:
            start = underscore - 2
        else:
            start = underscore - (3 if match.group("p3") is not None else 4)
        if start >= pos:  # the prefix may lie before `pos`: then look further on
            spans.append((start, end))
            pos = end
            match = _TOKEN_AT_UNDERSCORE.search(text, end)
        else:
            match = _TOKEN_AT_UNDERSCORE.search(text, underscore + 1)
    return spans


def find_jwts(text: str, pos: int = 0) -> Spans:
    """Return the spans of ``TOKEN_JWT`` matches.

    The pattern is case-insensitive, which stops the regex engine from skipping ahead to a
    literal ``eyj``; one ``lower()`` and a substring search (5x cheaper than the scan) rule out
    the usual text without one. For ASCII text, where lowering keeps every index, the scan also
    starts at the first ``eyj``.
    """
    first = text.lower().find("eyj", pos)
    if first == -1:
        return []
    return [m.span() for m in TOKEN_JWT.finditer(text, first if text.isascii() else pos)]
