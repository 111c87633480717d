"""Provider-dialect error bodies: the stable code inside, and extra fields in the error object."""

from __future__ import annotations

import json

from ongoingai.engine.errors import render_provider_error


def test_openai_dialect_carries_extra_fields_in_the_error_object():
    body = render_provider_error(
        "openai",
        429,
        "request rate limit exceeded for key",
        "KEY_RATE_LIMIT_EXCEEDED",
        [("retry_after_seconds", 12)],
    )

    assert json.loads(body) == {
        "error": {
            "message": "request rate limit exceeded for key",
            "type": "rate_limit_error",
            "param": None,
            "code": "KEY_RATE_LIMIT_EXCEEDED",
            "retry_after_seconds": 12,
        }
    }


def test_anthropic_dialect_carries_extra_fields_in_the_error_object():
    body = render_provider_error(
        "anthropic",
        429,
        "daily cost limit exceeded for key",
        "KEY_DAILY_COST_EXCEEDED",
        [("retry_after_seconds", 3600)],
    )

    assert json.loads(body) == {
        "type": "error",
        "error": {
            "type": "rate_limit_error",
            "message": "daily cost limit exceeded for key",
            "code": "KEY_DAILY_COST_EXCEEDED",
            "retry_after_seconds": 3600,
        },
    }


def test_without_extra_fields_the_body_is_unchanged():
    body = render_provider_error("openai", 404, "no provider route for /x", "not_found")

    assert json.loads(body) == {
        "error": {
            "message": "no provider route for /x",
            "type": "not_found_error",
            "param": None,
            "code": "not_found",
        }
    }
