"""The fast paths find exactly what plain whole-text regex passes would, on random texts.

The redactor finds emails from their ``@``, prefixed tokens from their ``_``, and JWTs after an
``eyj`` pre-check, and it runs the number detectors only inside digit regions. Each test below
compares one of these with a naive reference: ``finditer`` over the whole text, with the
detectors applied in order and earlier matches masked.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from ongoingai.engine.models.redaction import RedactionPolicy
from ongoingai.engine.redaction import BodyRedactor
from ongoingai.engine.redaction import detectors as d
from ongoingai.engine.redaction.text import DETECTOR_ORDER

FRAGMENTS = (
    *"0123456789",
    *" .-()+_@:/,;\n\t",
    *"aeksxyjgptohrbAEKSJYX",
    "é",
    "東",
    "1",
    "555",
    "123-45-6789",
    "555-123-4567",
    "(555) 123-4567",
    "+1 ",
    "4111 1111 1111 1111",
    "4111111111111111",
    "10.0.0.1",
    "1.2.3.4.5",
    "255.",
    "a@b.co",
    "x.y+z@mail.example.com",
    "@@",
    "sk-",
    "sk-proj-",
    "sk-ant-",
    "Ab1cD2eF3gH4iJ5kL6mN7",
    "sk_",
    "ghp_",
    "xoxb_",
    "pat_",
    "abcdefgh",
    "eyJ",
    "EYJ",
    "eyj",
    "AbCdEfGhIj",
    "....",
    "----",
)


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(FRAGMENTS) for _ in range(rng.randrange(0, 80)))


def _texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data
    return [_random_text(rng) for _ in range(count)]


def _spans(pattern, text):
    return [m.span() for m in pattern.finditer(text)]


def _provider_reference(text):
    return [
        m.span()
        for m in d.PROVIDER_KEY.finditer(text)
        if any(c.isdigit() for c in m.group(1)) and any(c.isalpha() for c in m.group(1))
    ]


REFERENCE = {
    "email": [("email", lambda t: _spans(d.EMAIL, t))],
    "credit_card": [("credit_card", d.find_credit_cards)],
    "ssn": [("ssn", lambda t: _spans(d.SSN, t))],
    "phone": [("phone", lambda t: _spans(d.PHONE, t))],
    "ipv4": [("ipv4", lambda t: _spans(d.IPV4, t))],
    "provider_key": [("provider_key", _provider_reference)],
    "token_like": [
        ("token", lambda t: _spans(d.TOKEN_PREFIXED, t)),
        ("token", lambda t: _spans(d.TOKEN_JWT, t)),
    ],
}


def _reference(text: str, policy: RedactionPolicy, workspace: str) -> tuple[str, dict[str, int]]:
    """Whole-text passes in order; a match becomes an opaque item later passes see as "\\x00"."""
    items: list[str | tuple[str]] = [text]
    counts: Counter[str] = Counter()
    enabled = policy.detectors.model_dump()
    for name in DETECTOR_ORDER:
        if not enabled[name]:
            continue
        for kind, find in REFERENCE[name]:
            masked = "".join("\x00" if isinstance(x, tuple) else x for x in items)
            spans = find(masked)
            if not spans:
                continue
            old = iter([x for x in items if isinstance(x, tuple)])
            new: list[str | tuple[str]] = []

            def emit(segment: str, old=old, new=new) -> None:
                for index, part in enumerate(segment.split("\x00")):
                    if index:
                        new.append(next(old))
                    new.append(part)

            prev = 0
            for start, end in spans:
                emit(masked[prev:start])
                new.append((policy.replacement.placeholder(kind, masked[start:end], workspace),))
                counts[name] += 1
                prev = end
            emit(masked[prev:])
            items = new
    return "".join(x[0] if isinstance(x, tuple) else x for x in items), dict(counts)


@pytest.mark.parametrize("seed", range(8))
def test_redactor_equals_whole_text_passes_with_all_detectors(seed):
    policy = RedactionPolicy.model_validate({"kind": "redaction", "version": 1})
    redactor = BodyRedactor(policy)
    for text in _texts(seed, 500):
        out, counts = redactor.redact_text(text, workspace_id="w")
        assert (out, dict(counts)) == _reference(text, policy, "w"), repr(text)


@pytest.mark.parametrize("seed", range(4))
def test_redactor_equals_whole_text_passes_with_random_detector_subsets(seed):
    rng = random.Random(1000 + seed)  # noqa: S311 - reproducible test data
    for text in _texts(seed + 100, 300):
        detectors = {name: rng.random() < 0.5 for name in DETECTOR_ORDER}
        policy = RedactionPolicy.model_validate(
            {"kind": "redaction", "version": 1, "detectors": detectors}
        )
        out, counts = BodyRedactor(policy).redact_text(text, workspace_id="w")
        assert (out, dict(counts)) == _reference(text, policy, "w"), (repr(text), detectors)


@pytest.mark.parametrize(
    ("fast", "pattern"),
    [
        (d.find_emails, d.EMAIL),
        (d.find_prefixed_tokens, d.TOKEN_PREFIXED),
        (d.find_jwts, d.TOKEN_JWT),
    ],
    ids=["email", "token_prefixed", "jwt"],
)
def test_anchored_finders_equal_the_contract_regex(fast, pattern):
    for text in _texts(7, 3000):
        assert fast(text) == _spans(pattern, text), repr(text)
        for pos in (1, 5):
            expected = [m.span() for m in pattern.finditer(text, pos)]
            assert fast(text, pos) == expected, (repr(text), pos)


def test_provider_key_finder_equals_finditer_with_the_entropy_check():
    for text in _texts(9, 3000):
        assert d.find_provider_keys(text) == _provider_reference(text), repr(text)


def test_every_number_match_lies_inside_a_digit_region():
    for text in _texts(11, 3000):
        regions = []
        for m in d.DIGIT_REGION.finditer(text):
            start = m.start() - 1 if m.start() and text[m.start() - 1] in "+(" else m.start()
            regions.append((start, m.end()))
        for pattern in (d.CREDIT_CARD_RUN, d.SSN, d.PHONE, d.IPV4):
            for start, end in _spans(pattern, text):
                assert any(a <= start and end <= b for a, b in regions), (repr(text), pattern)
