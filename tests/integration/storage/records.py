"""A plausible TraceRecord for storage tests; each test overrides what it checks."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from ongoingai.engine.trace import TraceRecord


def trace(**overrides: Any) -> TraceRecord:
    """A plausible trace; tests override what they check."""
    fields: dict[str, Any] = {
        "id": secrets.token_hex(16),
        "timestamp": dt.datetime.now(dt.UTC),
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request_method": "POST",
        "request_path": "/openai/v1/chat/completions",
        "response_status": 200,
    }
    fields.update(overrides)
    return TraceRecord(**fields)
