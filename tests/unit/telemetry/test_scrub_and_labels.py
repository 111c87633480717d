"""Credential scrubbing (contract §6.7), OTLP endpoint rules (§7.4) and route patterns."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Status, StatusCode

from ongoingai.engine.models.provider import Provider, ProviderTable
from ongoingai.engine.telemetry.export import parse_endpoint, scrub_span
from ongoingai.engine.telemetry.labels import genai_operation, route_pattern
from ongoingai.engine.telemetry.scrub import REDACTED, scrub, scrub_or_unknown


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "key=sk_live_abc123def456 token=my_secret_token_value",
            "key=[CREDENTIAL_REDACTED] [CREDENTIAL_REDACTED]",
        ),
        (
            "host=db.example.com password=supersecret123 dbname=prod",
            "host=db.example.com [CREDENTIAL_REDACTED] dbname=prod",
        ),
        ("Authorization: Bearer abcdefgh12345678", "Authorization: [CREDENTIAL_REDACTED]"),
        ("jwt eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4", "jwt [CREDENTIAL_REDACTED]"),
        ("  ghp_abcdefghijkl  ", "[CREDENTIAL_REDACTED]"),
    ],
    ids=["contract-key-token", "contract-dsn", "bearer", "jwt", "prefix-trimmed"],
)
def test_scrub_replaces_credentials(raw: str, expected: str) -> None:
    assert scrub(raw) == expected


@pytest.mark.parametrize(
    "safe", ["gpt-4o-mini", "org-abc123", "gwk_test_1", "connection refused", "http 502", "pw=x"]
)
def test_scrub_keeps_safe_values(safe: str) -> None:
    assert scrub(safe) == safe


def test_scrub_leaves_short_strings_untouched() -> None:
    assert scrub(" token=") == " token="


def test_scope_values_are_unknown_when_blank_and_scrubbed() -> None:
    assert scrub_or_unknown("  ") == "unknown"
    assert scrub_or_unknown(None) == "unknown"
    assert scrub_or_unknown(" sk_live_abcdefghij ") == REDACTED


@pytest.mark.parametrize(
    ("endpoint", "insecure", "url", "plain"),
    [
        ("localhost:4318", True, "http://localhost:4318", True),
        ("collector:4318", False, "https://collector:4318", False),
        ("http://c:4318/", False, "http://c:4318", True),
        ("https://c:4318", True, "https://c:4318", False),
        ("https://c/otlp", True, "https://c/otlp", False),
    ],
)
def test_endpoint_rules(endpoint: str, insecure: bool, url: str, plain: bool) -> None:
    parsed = parse_endpoint(endpoint, insecure)
    assert (parsed.base_url, parsed.insecure) == (url, plain)
    assert parsed.signal_url("traces") == url + "/v1/traces"


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [("", "must not be empty"), ("grpc://c:4317", "scheme must be http or https")],
)
def test_endpoint_errors(endpoint: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_endpoint(endpoint, True)


def _table() -> ProviderTable:
    return ProviderTable(
        (
            Provider(name="openai", prefix="/llm/openai", upstream="http://u", dialect="openai"),
            Provider(name="claude", prefix="/claude/", upstream="http://u", dialect="anthropic"),
        )
    )


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("/llm/openai/v1/chat/completions", "/llm/openai/*"),
        ("/llm/openai", "/llm/openai/*"),
        ("/claude/v1/messages", "/claude/*"),
        ("/openai/v1/chat/completions", "/other"),
        ("/api/traces", "/api/*"),
        ("/api", "/api/*"),
        ("/apiary", "/other"),
        ("/", "/other"),
    ],
)
def test_route_pattern_uses_configured_prefixes(path: str, pattern: str) -> None:
    assert route_pattern(_table(), path) == pattern


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("/v1/chat/completions", "chat"),
        ("/v1/messages", "chat"),
        ("/v1/messages/count_tokens", ""),
        ("/v1/responses", "chat"),
        ("/v1/completions", "text_completion"),
        ("/v1/embeddings", "embeddings"),
        ("/v1/models", ""),
    ],
)
def test_genai_operation_names(path: str, operation: str) -> None:
    assert genai_operation(path) == operation


def test_scrubbed_span_copies_everything_but_credentials() -> None:
    span = ReadableSpan(
        name="GET /api/*",
        attributes={"a": "password=hunter2hunter2", "n": 3, "l": ["token=abcdefgh"]},
        events=[Event("e", {"x": "Bearer abcdefgh12345678"})],
        status=Status(StatusCode.ERROR, "dsn secret=abcdefghij"),
    )
    clean = scrub_span(span)
    assert clean.attributes == {"a": REDACTED, "n": 3, "l": (REDACTED,)}
    assert clean.events[0].attributes == {"x": REDACTED}
    assert clean.status.description == "dsn [CREDENTIAL_REDACTED]"
    assert clean.name == "GET /api/*"
