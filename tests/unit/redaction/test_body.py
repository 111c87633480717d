"""BodyRedactor: JSON bodies walked field by field, text and SSE bodies, failures, identity."""

from __future__ import annotations

import json
import threading

import pytest

from ongoingai.engine.models.redaction import RedactionPolicy, Replacement
from ongoingai.engine.redaction import BodyRedactor, Redacted, RedactionFailed, redactor_for

WS = "ws-a"
EMAIL = "jane.doe@example.com"


def _policy(**fields: object) -> RedactionPolicy:
    return RedactionPolicy.model_validate({"kind": "redaction", "version": 1, **fields})


REDACTOR = BodyRedactor(_policy())


def _ph(kind: str, value: str) -> str:
    return Replacement().placeholder(kind, value, WS)


def _redact(body: bytes, redactor: BodyRedactor = REDACTOR) -> Redacted:
    return redactor.redact(body, workspace_id=WS)


def _json(result: Redacted) -> object:
    return json.loads(result.body)


# --- JSON ---------------------------------------------------------------------------------------


def test_nested_json_strings_are_scanned_and_numbers_are_not():
    body = json.dumps(
        {
            "model": "gpt-4o-mini",
            "messages": [
                {"role": "user", "content": f"mail {EMAIL}"},
                {"role": "user", "content": ["call 555-123-4567", {"deep": ["10.0.0.1"]}]},
            ],
            "max_tokens": 5551234567,
            "temperature": 0.7,
            "stream": False,
        }
    ).encode()
    result = _redact(body)
    assert _json(result) == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "user", "content": f"mail {_ph('email', EMAIL)}"},
            {
                "role": "user",
                "content": [
                    f"call {_ph('phone', '555-123-4567')}",
                    {"deep": [_ph("ipv4", "10.0.0.1")]},
                ],
            },
        ],
        "max_tokens": 5551234567,
        "temperature": 0.7,
        "stream": False,
    }
    assert result.counts == {"email": 1, "phone": 1, "ipv4": 1}
    assert result.changed


@pytest.mark.parametrize(
    ("value", "string_form"),
    [
        ("s3cr3t", "s3cr3t"),
        (None, ""),
        (12345, "12345"),
        (1.5, "1.5"),
        (True, "true"),
        ({"b": 1, "a": [1, "x"]}, '{"b":1,"a":[1,"x"]}'),
        (["é", None], '["é",null]'),
    ],
    ids=["string", "null", "int", "float", "bool", "object", "array"],
)
def test_a_denylisted_field_of_any_type_becomes_one_field_placeholder(value, string_form):
    result = _redact(json.dumps({"password": value, "keep": 1}).encode())
    assert _json(result) == {"password": _ph("field", string_form), "keep": 1}
    assert result.counts == {"field_name": 1}


@pytest.mark.parametrize("key", ["api_key", "apiKey", "api-key", "API_KEY", "Api Key"])
def test_denylisted_names_match_after_normalization(key):
    result = _redact(json.dumps({key: "k"}).encode())
    assert result.counts == {"field_name": 1}


@pytest.mark.parametrize(
    "key", ["max_tokens", "prompt_tokens", "completion_tokens", "token_count", "input_tokens"]
)
def test_token_counters_are_never_touched(key):
    body = json.dumps({key: 123, "usage": {key: 4567890123}}).encode()
    result = _redact(body)
    assert result.body is body
    assert result.counts == {}


def test_a_denylisted_key_inside_an_array_of_objects_is_found():
    body = json.dumps({"users": [{"email": EMAIL}, {"name": "x"}]}).encode()
    assert _json(_redact(body)) == {"users": [{"email": _ph("field", EMAIL)}, {"name": "x"}]}


def test_the_denylist_is_the_policys():
    redactor = BodyRedactor(_policy(body={"key_denylist": ["customer_id"]}))
    result = _redact(json.dumps({"CustomerId": 7, "password": "p"}).encode(), redactor)
    assert _json(result) == {"CustomerId": _ph("field", "7"), "password": "p"}


def test_json_is_rewritten_compactly_in_key_order_with_non_ascii_kept():
    body = b'{ "z": "caf\\u00e9 \xe6\x9d\xb1", "a": "mail jane.doe@example.com" }'
    result = _redact(body)
    expected = f'{{"z":"café 東","a":"mail {_ph("email", EMAIL)}"}}'
    assert result.body == expected.encode()


def test_an_unchanged_json_body_is_the_same_bytes_object():
    body = b'{ "messages": [ {"role": "user", "content": "hello there"} ], "n": 1.50 }'
    result = _redact(body)
    assert result.body is body
    assert result.counts == {}
    assert not result.changed


def test_json_after_whitespace_and_a_bom_is_walked():
    body = b"\xef\xbb\xbf \n\t" + json.dumps({"password": "x", "n": 1}).encode()
    result = _redact(body)
    assert _json(result) == {"password": _ph("field", "x"), "n": 1}


def test_a_top_level_json_string_is_scanned_and_stays_json():
    result = _redact(json.dumps(f"to {EMAIL}").encode())
    assert _json(result) == f"to {_ph('email', EMAIL)}"


@pytest.mark.parametrize("body", [b"5551234567", b"true", b"null", b"  42  "])
def test_a_top_level_json_scalar_is_not_scanned(body):
    assert _redact(body).body is body


def test_every_occurrence_of_a_repeated_key_is_scanned_and_kept():
    body = b'{"note":"ssn 123-45-6789","note":"fine","password":"a","password":"b"}'
    result = _redact(body)
    assert result.body.decode() == (
        f'{{"note":"ssn {_ph("ssn", "123-45-6789")}","note":"fine",'
        f'"password":"{_ph("field", "a")}","password":"{_ph("field", "b")}"}}'
    )
    assert result.counts == {"ssn": 1, "field_name": 2}


def test_keys_are_not_scanned():
    body = json.dumps({EMAIL: "x"}).encode()
    assert _redact(body).body is body


def test_floats_are_rewritten_as_the_same_value():
    body = b'{"t":1.50,"big":1e5,"n":123456789012345678901234567890,"s":"a@example.com"}'
    assert _json(_redact(body)) == {
        "t": 1.5,
        "big": 100000.0,
        "n": 123456789012345678901234567890,
        "s": _ph("email", "a@example.com"),
    }


@pytest.mark.parametrize(
    "body",
    [b'{"n": NaN, "s": "a@example.com"}', b'{"n": 1e999, "s": "a@example.com"}'],
    ids=["nan", "out-of-range"],
)
def test_json_python_would_misread_is_scanned_as_text(body):
    result = _redact(body)
    assert result.body == body.replace(b"a@example.com", _ph("email", "a@example.com").encode())


def test_a_lone_surrogate_escape_is_written_back_escaped():
    body = b'{"s":"\\ud800 a@example.com"}'
    result = _redact(body)
    assert _json(result) == {"s": f"\ud800 {_ph('email', 'a@example.com')}"}
    result.body.decode()  # valid UTF-8


def test_json_holding_invalid_utf8_is_still_walked():
    body = b'{"s":"\xff a@example.com","n":1}'
    result = _redact(body)
    assert _json(result) == {"s": f"\ufffd {_ph('email', 'a@example.com')}", "n": 1}


def test_json_holding_invalid_utf8_and_nothing_to_redact_is_returned_as_is():
    body = b'{"s":"\xff hello"}'
    assert _redact(body).body is body


def test_json_nested_too_deeply_fails_instead_of_passing_unscanned():
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(RedactionFailed, match="nested too deeply"):
        _redact(body)


def test_moderately_nested_json_is_fine():
    body = (b'{"a":' * 200) + b'"a@example.com"' + (b"}" * 200)
    assert _redact(body).counts == {"email": 1}


# --- text and SSE -------------------------------------------------------------------------------


def test_a_plain_text_body_is_scanned_as_a_whole():
    body = "Bonjour, écrivez à jane.doe@example.com ou 555-123-4567.\n".encode()
    result = _redact(body)
    assert result.body.decode() == (
        f"Bonjour, écrivez à {_ph('email', EMAIL)} ou {_ph('phone', '555-123-4567')}.\n"
    )
    assert result.counts == {"email": 1, "phone": 1}


def test_an_sse_body_keeps_its_framing():
    events = [
        {"choices": [{"delta": {"content": "write to "}}]},
        {"choices": [{"delta": {"content": EMAIL}}]},
        {"choices": [{"delta": {"content": " ok"}}], "usage": {"total_tokens": 12}},
    ]
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"
    result = _redact(body)
    text = result.body.decode()
    assert EMAIL not in text
    assert _ph("email", EMAIL) in text
    assert text.endswith("data: [DONE]\n\n")
    assert text.count("\n\n") == 4
    assert result.counts == {"email": 1}


def test_plain_text_keeps_the_contracts_phone_regex_but_sse_numbers_are_left_alone():
    # In text a 10-digit number is a "phone" (contract regex); inside an SSE JSON payload it is
    # a number, left alone like any JSON number.
    assert _redact(b"created 1735689600").counts == {"phone": 1}
    assert _redact(b'data: {"created":1735689600,"choices":[]}\n\n').counts == {}


def test_an_unchanged_text_body_is_the_same_bytes_object():
    body = b"data: hello\n\n"
    assert _redact(body).body is body


def test_an_empty_body_is_returned_as_is():
    body = b""
    result = _redact(body)
    assert result.body is body
    assert result.counts == {}
    assert not result.changed


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe secret a@example.com", b"data: \xc3\x28 555-123-4567", b"\x80"],
    ids=["bad-start", "bad-continuation", "lone-continuation"],
)
def test_invalid_utf8_text_fails_without_quoting_the_body(body):
    with pytest.raises(RedactionFailed) as failure:
        _redact(body)
    message = str(failure.value)
    assert "UTF-8" in message
    assert "secret" not in message
    assert "555" not in message
    assert "example" not in message


def test_redaction_failed_is_an_exception_with_a_reason():
    assert issubclass(RedactionFailed, Exception)


# --- the compiled redactor ----------------------------------------------------------------------


def test_redactor_for_compiles_once_per_policy():
    policy = _policy(replacement={"hash_salt": "x"})
    assert redactor_for(policy) is redactor_for(policy)
    assert redactor_for(policy) is not redactor_for(_policy())


def test_redacted_counts_only_hold_detectors_that_matched():
    result = _redact(b'{"s":"a@example.com"}')
    assert dict(result.counts) == {"email": 1}


def test_a_redactor_is_safe_to_share_between_threads():
    bodies = [
        json.dumps({"i": i, "content": f"user{i}@example.com 555-123-{i:04d}"}).encode()
        for i in range(200)
    ]
    expected = [_redact(b).body for b in bodies]
    results: list[list[bytes]] = []

    def work() -> None:
        results.append([_redact(b).body for b in bodies])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


def test_an_openai_stream_is_walked_event_by_event_so_timestamps_are_not_phones():
    body = (
        b'data: {"id":"c1","created":1733312345,"choices":[{"delta":{"content":"mail '
        + EMAIL.encode()
        + b'"}}]}\n\ndata: {"id":"c1","created":1733312345,"choices":[]}\n\ndata: [DONE]\n\n'
    )
    result = _redact(body)
    assert result.counts == {"email": 1}
    text = result.body.decode()
    assert text.count("1733312345") == 2
    assert _ph("email", EMAIL) in text and EMAIL not in text
    assert text.endswith("data: [DONE]\n\n")


def test_an_anthropic_stream_keeps_event_lines_and_redacts_text_deltas():
    body = (
        b"event: content_block_delta\r\n"
        b'data: {"type":"content_block_delta","delta":{"type":"text_delta","text":"call '
        b'415-555-0134"}}\r\n\r\n'
        b"event: message_stop\r\n"
        b'data: {"type":"message_stop"}\r\n\r\n'
    )
    result = _redact(body)
    assert result.counts == {"phone": 1}
    text = result.body.decode()
    assert text.startswith("event: content_block_delta\r\ndata: {")
    assert "415-555-0134" not in text and text.endswith('data: {"type":"message_stop"}\r\n\r\n')


def test_a_stream_without_pii_comes_back_as_the_same_bytes():
    body = b'data: {"id":"c1","created":1733312345}\n\ndata: [DONE]\n\n'
    assert _redact(body).body is body


def test_a_stream_cut_mid_event_still_scans_the_partial_line_as_text():
    body = b'data: {"id":"c1","choices":[{"delta":{"content":"' + EMAIL.encode()
    result = _redact(body)
    assert result.counts == {"email": 1} and EMAIL.encode() not in result.body
