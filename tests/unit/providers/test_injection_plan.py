"""Asking upstream for stream usage: only when needed, touching nothing else in the body."""

from __future__ import annotations

import json

import pytest

from ongoingai.engine.providers import plan_injection

STREAM_REQUEST = (
    b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hi"}],"stream":true}'
)


def test_a_stream_request_without_stream_options_gets_include_usage_appended() -> None:
    body, injected = plan_injection(STREAM_REQUEST)
    assert injected is True
    assert body == STREAM_REQUEST[:-1] + b',"stream_options":{"include_usage":true}}'
    assert json.loads(body)["stream_options"] == {"include_usage": True}


def test_every_other_byte_of_the_body_is_kept_exactly() -> None:
    original = (
        b'{\n  "model": "gpt-4o",\n  "temperature": 0.70,\n  "top_p": 1E0,\n'
        b'  "seed": 12345678901234567890,\n  "messages": [{"role": "user", "content": "caf\\u00e9 \xe2\x98\x95"}],\n'
        b'  "stream": true\n}\n'
    )
    body, injected = plan_injection(original)
    assert injected is True
    assert body == original.replace(
        b'"stream": true\n}', b'"stream": true,"stream_options":{"include_usage":true}\n}'
    )


def test_other_stream_options_keys_are_kept_when_include_usage_is_added() -> None:
    original = b'{"stream":true,"stream_options":{"include_obfuscation":false},"model":"gpt-4o"}'
    body, injected = plan_injection(original)
    assert injected is True
    assert body == (
        b'{"stream":true,"stream_options":{"include_obfuscation":false,"include_usage":true},'
        b'"model":"gpt-4o"}'
    )


@pytest.mark.parametrize(
    "options",
    [b'{"include_usage":false}', b'{"include_usage":null}', b"null", b'{"include_usage":"yes"}'],
)
def test_include_usage_that_is_not_true_is_set_true(options: bytes) -> None:
    original = b'{"model":"gpt-4o","stream":true,"stream_options":' + options + b"}"
    body, injected = plan_injection(original)
    assert injected is True
    assert json.loads(body) == {
        "model": "gpt-4o",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    assert body.startswith(b'{"model":"gpt-4o","stream":true,"stream_options":{')


@pytest.mark.parametrize(
    ("case", "original"),
    [
        ("already asks for usage", b'{"stream":true,"stream_options":{"include_usage":true}}'),
        ("not streaming", b'{"model":"gpt-4o","messages":[]}'),
        ("stream false", b'{"model":"gpt-4o","stream":false}'),
        ("stream as a string", b'{"model":"gpt-4o","stream":"true"}'),
        ("stream nested only", b'{"model":"gpt-4o","metadata":{"stream":true}}'),
        ("later duplicate turns stream off", b'{"stream":true,"model":"m","stream":false}'),
        ("stream_options not an object", b'{"stream":true,"stream_options":"usage"}'),
        ("malformed JSON", b'{"stream":true,'),
        ("trailing garbage", b'{"stream":true} x'),
        ("trailing comma", b'{"stream":true,}'),
        ("two objects", b'{"stream":true}{"stream":true}'),
        ("an array", b'[{"stream":true}]'),
        ("invalid UTF-8", b'{"stream":true,"x":"\xff"}'),
        ("empty", b""),
        ("empty object", b"{}"),
    ],
)
def test_the_body_is_left_unchanged_when_no_injection_applies(case: str, original: bytes) -> None:
    assert plan_injection(original) == (original, False), case


def test_a_later_duplicate_stream_options_is_the_one_edited() -> None:
    original = b'{"stream":true,"stream_options":{"include_usage":true},"stream_options":{}}'
    body, injected = plan_injection(original)
    assert injected is True
    assert (
        body
        == b'{"stream":true,"stream_options":{"include_usage":true},"stream_options":{"include_usage":true}}'
    )


def test_whitespace_around_the_object_is_accepted_and_kept() -> None:
    original = b' \r\n{ "stream" : true } \n'
    body, injected = plan_injection(original)
    assert injected is True
    assert body == b' \r\n{ "stream" : true,"stream_options":{"include_usage":true} } \n'
