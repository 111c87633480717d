"""How `ongoingai diagnostics` judges a gateway's answer, apart from the HTTP exchange.

The integration tests cover real answers (a gateway, a 401, a non-gateway's 404, nothing
listening); these cover answers no local server gives on demand: oversized bodies, 200s that
are not diagnostics, error bodies of every shape.
"""

from __future__ import annotations

import time

import httpx
import pytest

from ongoingai.engine.cli_diagnostics import ReadFailed, decode_document, read_limited

LIMIT = 1 << 20


def later() -> float:
    return time.monotonic() + 60


def test_a_body_up_to_one_mib_is_read():
    body = b"x" * LIMIT
    assert read_limited(httpx.Response(200, content=body), later()) == body


def test_a_body_over_one_mib_is_refused():
    with pytest.raises(ReadFailed, match=r"^response too large: 1048577 bytes exceeds 1048576"):
        read_limited(httpx.Response(200, content=b"x" * (LIMIT + 1)), later())


def test_a_declared_length_over_one_mib_is_refused_before_reading():
    response = httpx.Response(200, headers={"content-length": str(5 * LIMIT)}, content=b"{}")
    with pytest.raises(ReadFailed, match=r"^response too large: 5242880 bytes"):
        read_limited(response, later())


def test_a_200_without_schema_version_is_not_diagnostics():
    with pytest.raises(ReadFailed, match="missing schema_version"):
        decode_document(httpx.Response(200), b'{"name": "something else"}')
    with pytest.raises(ReadFailed, match=r"^decode diagnostics response: "):
        decode_document(httpx.Response(200), b"<html></html>")


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            401,
            b'{"error": "missing or invalid gateway key", "code": "x"}',
            "status 401: missing or invalid gateway key",
        ),
        (503, b'{"error":{"message":"nested"}}', 'status 503: {"error":{"message":"nested"}}'),
        (502, b"  bad gateway\n  from proxy  ", "status 502: bad gateway from proxy"),
        (404, b"", "status 404: Not Found"),
    ],
    ids=["error-field", "error-object-raw", "raw-text", "status-text"],
)
def test_a_non_200_names_the_status_and_the_best_message(status: int, body: bytes, message: str):
    with pytest.raises(ReadFailed) as caught:
        decode_document(httpx.Response(status), body)
    assert str(caught.value) == message


def test_a_long_raw_error_body_is_shortened():
    with pytest.raises(ReadFailed) as caught:
        decode_document(httpx.Response(500), b"<p>" + b"x" * 5000 + b"</p>")
    assert len(str(caught.value)) < 320
    assert str(caught.value).endswith("...")


def test_a_valid_document_is_returned_whole():
    doc = decode_document(httpx.Response(200), b'{"schema_version": "v", "diagnostics": {}}')
    assert doc == {"schema_version": "v", "diagnostics": {}}
