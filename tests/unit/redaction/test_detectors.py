"""String detectors: positives, near misses, switches, order and placeholder handling."""

from __future__ import annotations

import hashlib

import pytest

from ongoingai.engine.models.redaction import RedactionPolicy, Replacement
from ongoingai.engine.redaction import BodyRedactor
from ongoingai.engine.redaction.detectors import luhn_valid
from ongoingai.engine.redaction.text import DETECTOR_ORDER

WS = "ws-a"
KINDS = {
    "email": "email",
    "credit_card": "credit_card",
    "ssn": "ssn",
    "phone": "phone",
    "ipv4": "ipv4",
    "provider_key": "provider_key",
    "token_like": "token",
}


def _policy(**fields: object) -> RedactionPolicy:
    return RedactionPolicy.model_validate({"kind": "redaction", "version": 1, **fields})


def _only(name: str) -> BodyRedactor:
    return BodyRedactor(_policy(detectors={n: n == name for n in DETECTOR_ORDER}))


ALL = BodyRedactor(_policy())


def _ph(name: str, value: str, workspace: str = WS) -> str:
    return Replacement().placeholder(KINDS.get(name, name), value, workspace)


def _redact(text: str, redactor: BodyRedactor = ALL) -> tuple[str, dict[str, int]]:
    out, counts = redactor.redact_text(text, workspace_id=WS)
    return out, dict(counts)


def _luhn_complete(prefix: str) -> str:
    """Append the check digit that makes ``prefix`` Luhn-valid."""
    return next(prefix + d for d in "0123456789" if luhn_valid(prefix + d))


# --- positives: each detector alone finds exactly the value -------------------------------------

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
OPENAI_LEGACY = "sk-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb3dEf6hIj9kLm2n"
OPENAI_PROJECT = "sk-proj-" + "Xy4zAb3dEf6hIj9kLm2nOp5qRs8tUv1w_Ab3-dEf6hIj9kLm2nOp5q"
ANTHROPIC = "sk-ant-api03-" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp-Oo9Nn8Mm7Ll6Kk5Jj4Ii3Hh2Gg1AA"

POSITIVES = [
    ("email", "mail john.doe@example.com today", "john.doe@example.com"),
    ("email", "From: Ops <ops+alerts@corp.example.org>", "ops+alerts@corp.example.org"),
    ("email", "Write to A.B-C@Sub.Example.CO.uk.", "A.B-C@Sub.Example.CO.uk"),
    ("phone", "call 555-123-4567 now", "555-123-4567"),
    ("phone", "call 5551234567 now", "5551234567"),
    ("phone", "call 555.123.4567 now", "555.123.4567"),
    ("phone", "call +1 555 123 4567 now", "1 555 123 4567"),
    # The contract's regex needs a word boundary before "(" or "+", so after a space the match
    # starts inside: every digit is still covered.
    ("phone", "call +1 (555) 123-4567 now", "1 (555) 123-4567"),
    ("phone", "call (555) 123-4567 now", "555) 123-4567"),
    ("ssn", "ssn 123-45-6789.", "123-45-6789"),
    ("ssn", "555-12-3456", "555-12-3456"),
    ("credit_card", "card 4111 1111 1111 1111 thanks", "4111 1111 1111 1111"),
    ("credit_card", "card 4111-1111-1111-1111", "4111-1111-1111-1111"),
    ("credit_card", "card 4111111111111111", "4111111111111111"),
    ("credit_card", "amex 3782 822463 10005", "3782 822463 10005"),
    ("credit_card", "amex 378282246310005", "378282246310005"),
    ("credit_card", "visa13 4222222222222", "4222222222222"),
    ("credit_card", "long " + _luhn_complete("6" * 18), _luhn_complete("6" * 18)),
    ("credit_card", "card 4111 1111 1111 1111 12/25", "4111 1111 1111 1111"),
    ("credit_card", "card 4111111111111111 123", "4111111111111111"),
    ("ipv4", "host 10.0.0.1 up", "10.0.0.1"),
    ("ipv4", "ip=192.168.1.254,", "192.168.1.254"),
    ("ipv4", "(8.8.8.8)", "8.8.8.8"),
    ("ipv4", "any 0.0.0.0.", "0.0.0.0"),
    ("ipv4", "max 255.255.255.255", "255.255.255.255"),
    ("provider_key", f"key {OPENAI_LEGACY} end", OPENAI_LEGACY),
    ("provider_key", f"key={OPENAI_PROJECT}", OPENAI_PROJECT),
    ("provider_key", f"x-api-key: {ANTHROPIC}", ANTHROPIC),
    ("provider_key", "sk-proj-abc123def456ghi789jkl012", "sk-proj-abc123def456ghi789jkl012"),
    (
        "token_like",
        "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 ok",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    ),
    ("token_like", "slack xoxb_12345678", "xoxb_12345678"),
    ("token_like", "stripe sk_live_abc123def456", "sk_live_abc123def456"),
    ("token_like", "PAT_ABCDEFGH", "PAT_ABCDEFGH"),
    ("token_like", f"Authorization: Bearer {JWT}", JWT),
    ("token_like", f"upper {JWT.upper()}", JWT.upper()),
]


@pytest.mark.parametrize(
    ("name", "text", "value"), POSITIVES, ids=[f"{n}:{v}" for n, _, v in POSITIVES]
)
def test_detector_replaces_exactly_the_value_with_its_placeholder(name, text, value):
    out, counts = _redact(text, _only(name))
    assert out == text.replace(value, _ph(name, value))
    assert counts == {name: 1}


@pytest.mark.parametrize(
    ("name", "text", "value"), POSITIVES, ids=[f"{n}:{v}" for n, _, v in POSITIVES]
)
def test_all_detectors_together_count_the_value_under_its_own_detector(name, text, value):
    out, counts = _redact(text)
    assert value not in out
    assert counts == {name: 1}


# --- near misses --------------------------------------------------------------------------------

NEGATIVES = [
    ("email", "user@localhost"),
    ("email", "a@b.c"),
    ("email", "@example.com"),
    ("email", "name at example dot com"),
    ("phone", "555-1234"),
    ("phone", "ext 12345"),
    ("phone", "555-12-3456"),
    ("phone", "order 123456789012"),
    ("ssn", "123-456-7890"),
    ("ssn", "1234-56-7890"),
    ("ssn", "123-45-67890"),
    ("ssn", "123 45 6789"),
    ("credit_card", "4111 1111 1111 1112"),
    ("credit_card", "4111111111111112"),
    ("credit_card", "41111111111111111111"),
    ("credit_card", "4111  1111 1111 1111"),
    ("credit_card", "id 411111111111"),
    ("ipv4", "version 1.2.3.4.5"),
    ("ipv4", "999.1.1.1"),
    ("ipv4", "256.1.1.1"),
    ("ipv4", "01.2.3.4"),
    ("ipv4", "1.2.3.04"),
    ("ipv4", "v1.2.3.4"),
    ("ipv4", "build 10.0.19041.1"),
    ("ipv4", "1.2.3"),
    ("ipv4", "1.2.3.4a"),
    ("provider_key", "we use sk-learn here"),
    ("provider_key", "a task-force of ten"),
    ("provider_key", "sk-learn-and-pytorch-comparison-guide"),
    ("provider_key", "risk-assessment-2024-and-mitigation-plan"),
    ("provider_key", "sk-proj-short1"),
    ("provider_key", "sk-abcdefghijklmnopqrstuvwxyz"),
    ("provider_key", "sk-12345678901234567890123"),
    ("token_like", "ghp_short"),
    ("token_like", "mask_abcdefghijkl"),
    ("token_like", "sk-abcdefghijkl"),
    ("token_like", "eyJhbGciOiJIUzI1NiJ9.short.x"),
]


@pytest.mark.parametrize(("name", "text"), NEGATIVES, ids=[f"{n}:{t}" for n, t in NEGATIVES])
def test_detector_leaves_a_near_miss_alone(name, text):
    out, counts = _redact(text, _only(name))
    assert (out, counts) == (text, {})


@pytest.mark.parametrize(
    "text",
    ["4111 1111 1111 1112", "4111111111111112", "5500-0000-0000-0005"],
    ids=["spaced", "plain", "dashed"],
)
def test_sixteen_digits_failing_luhn_are_redacted_by_no_detector(text):
    assert _redact(f"n {text} n") == (f"n {text} n", {})


def test_phone_followed_by_a_count_is_still_a_phone_when_the_digit_run_fails_luhn():
    out, counts = _redact("call 555-123-4567 100 times")
    assert out == f"call {_ph('phone', '555-123-4567')} 100 times"
    assert counts == {"phone": 1}


def test_two_cards_in_one_digit_run_are_both_found():
    out, counts = _redact("4111 1111 1111 1111 5500 0000 0000 0004")
    assert counts == {"credit_card": 2}
    assert out == (
        f"{_ph('credit_card', '4111 1111 1111 1111')} {_ph('credit_card', '5500 0000 0000 0004')}"
    )


def test_luhn_checksum():
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert luhn_valid("0000000000000000")


# --- switches -----------------------------------------------------------------------------------

SAMPLES = {name: next(t for n, t, _ in POSITIVES if n == name) for name in DETECTOR_ORDER}
VALUES = {name: next(v for n, _, v in POSITIVES if n == name) for name in DETECTOR_ORDER}


@pytest.mark.parametrize("name", DETECTOR_ORDER)
def test_switching_a_detector_off_leaves_its_values_and_keeps_the_others(name):
    redactor = BodyRedactor(_policy(detectors={name: False}))
    text = " | ".join(SAMPLES.values())
    out, counts = redactor.redact_text(text, workspace_id=WS)
    assert VALUES[name] in out
    assert name not in counts
    assert set(counts) == set(DETECTOR_ORDER) - {name}


def test_switching_every_detector_off_returns_the_same_string_object():
    redactor = BodyRedactor(_policy(detectors=dict.fromkeys(DETECTOR_ORDER, False)))
    text = " ".join(SAMPLES.values())
    out, counts = redactor.redact_text(text, workspace_id=WS)
    assert out is text
    assert counts == {}


# --- order and masking --------------------------------------------------------------------------


def test_a_spaced_card_number_counts_as_a_card_not_a_phone():
    assert _redact("4111 1111 1111 1111")[1] == {"credit_card": 1}


def test_email_runs_before_the_number_detectors():
    out, counts = _redact("reach 5551234567@example.com")
    assert counts == {"email": 1}
    assert out == f"reach {_ph('email', '5551234567@example.com')}"


def test_numbers_right_after_a_redacted_email_keep_their_order():
    redactor = BodyRedactor(_policy(replacement={"format": "<{type}>"}))
    out, counts = redactor.redact_text("a@b.co+1 (555) 123-4567-\n123-45-6789", workspace_id=WS)
    assert out == "<EMAIL>+<PHONE>-\n<SSN>"
    assert counts == {"email": 1, "phone": 1, "ssn": 1}


def test_an_anthropic_key_is_a_provider_key_not_a_token():
    assert _redact(ANTHROPIC)[1] == {"provider_key": 1}


def test_a_placeholder_is_never_matched_by_a_later_detector():
    # This address's hash (workspace "ws", salt "salt") is 16 decimal digits passing Luhn: a
    # later card pass over "[EMAIL_REDACTED:8291444423772582]" would match it.
    value = "user5573@example.com"
    digest = hashlib.sha256(f"ws:salt:{value}".encode()).hexdigest()[:16]
    assert digest.isdigit()
    assert luhn_valid(digest)
    redactor = BodyRedactor(_policy(replacement={"hash_salt": "salt"}))
    out, counts = redactor.redact_text(f"to {value}", workspace_id="ws")
    assert out == f"to [EMAIL_REDACTED:{digest}]"
    assert counts == {"email": 1}


def test_placeholders_that_look_like_pii_are_left_alone():
    fmt = "<{type} call 555-123-4567, card 4111 1111 1111 1111, host 10.0.0.1, a@b.io {hash}>"
    redactor = BodyRedactor(_policy(replacement={"format": fmt}))
    out, counts = redactor.redact_text("x jane@example.com y", workspace_id=WS)
    assert counts == {"email": 1}
    assert out.count("555-123-4567") == 1


def test_every_detector_in_one_text_in_order():
    text = " ; ".join(SAMPLES.values())
    out, counts = _redact(text)
    assert counts == dict.fromkeys(DETECTOR_ORDER, 1)
    for name, value in VALUES.items():
        assert _ph(name, value) in out


# --- placeholders -------------------------------------------------------------------------------


def test_the_same_value_gets_the_same_placeholder_within_a_workspace():
    out, counts = _redact("a@example.com and a@example.com")
    assert counts == {"email": 2}
    assert out == f"{_ph('email', 'a@example.com')} and {_ph('email', 'a@example.com')}"
    again, _ = ALL.redact_text("a@example.com", workspace_id=WS)
    assert again == _ph("email", "a@example.com")


def test_placeholders_differ_across_workspaces_and_salts():
    text = "a@example.com"
    ws_a, _ = ALL.redact_text(text, workspace_id="ws-a")
    ws_b, _ = ALL.redact_text(text, workspace_id="ws-b")
    salted = BodyRedactor(_policy(replacement={"hash_salt": "pepper"}))
    ws_a_salted, _ = salted.redact_text(text, workspace_id="ws-a")
    assert len({ws_a, ws_b, ws_a_salted}) == 3
    expected = hashlib.sha256(b"ws-a:pepper:a@example.com").hexdigest()[:16]
    assert ws_a_salted == f"[EMAIL_REDACTED:{expected}]"


def test_an_empty_workspace_hashes_as_default():
    assert ALL.redact_text("a@example.com", workspace_id="")[0] == _ph(
        "email", "a@example.com", "default"
    )


def test_text_shorter_than_any_match_is_returned_as_is():
    text = "a@b.c"
    assert ALL.redact_text(text, workspace_id=WS)[0] is text


def test_non_ascii_text_around_matches_is_kept():
    out, counts = _redact("café — józef@example.com — 東京 555-123-4567")
    assert counts == {"email": 1, "phone": 1}
    assert out.startswith("café — ")
    assert "東京" in out


def test_non_ascii_digits_and_letters_are_not_ascii_matches():
    arabic_indic = "".join(chr(0x0660 + int(c)) for c in "555-123-4567" if c.isdigit())
    text = f"{arabic_indic} and é@é.com"
    assert _redact(text) == (text, {})


def test_text_holding_every_control_character_is_still_masked_correctly():
    controls = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\x0b\x0c\r")
    text = f"{controls} a@example.com {controls} 555-123-4567 {controls}"
    out, counts = _redact(text)
    assert counts == {"email": 1, "phone": 1}
    assert out == (
        f"{controls} {_ph('email', 'a@example.com')} {controls} "
        f"{_ph('phone', '555-123-4567')} {controls}"
    )
