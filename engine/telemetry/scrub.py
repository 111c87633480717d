"""Credential scrubbing for telemetry values (contract §6.7), separate from PII redaction.

Spans and metrics leave the process for collectors with their own retention and access rules,
so anything that looks like a credential is replaced before export, whatever put it there (an
error message quoting a DSN, a model name someone pasted a key into). Strings shorter than 8
characters cannot hold a credential worth the regex cost and are returned untouched.
"""

from __future__ import annotations

import re

__all__ = ["REDACTED", "scrub", "scrub_or_unknown"]

REDACTED = "[CREDENTIAL_REDACTED]"

# Go RE2 classes are ASCII-only: keep Python's the same (re.ASCII).
_PATTERNS = tuple(
    re.compile(p, re.IGNORECASE | re.ASCII)
    for p in (
        r"\b(?:sk|pk|rk|xox[baprs]|gh[pousr]|pat)_[a-z0-9_-]{8,}\b",  # token-prefix (§6.3)
        r"eyj[a-z0-9_-]{8,}\.[a-z0-9_-]{8,}\.[a-z0-9_-]{8,}",  # JWT (§6.3)
        r"\bBearer\s+[a-z0-9_.\-/+=]{8,}\b",
        r"\b(?:password|secret|token)\s*=\s*\S{4,}",
    )
)


def scrub(value: str) -> str:
    """`value` with every credential-looking match replaced by `[CREDENTIAL_REDACTED]`, trimmed."""
    if len(value) < 8:
        return value
    for pattern in _PATTERNS:
        value = pattern.sub(REDACTED, value)
    return value.strip()


def scrub_or_unknown(value: str | None) -> str:
    """A label value: trimmed, scrubbed, and `unknown` when empty (contract §7.4 scope attrs)."""
    text = (value or "").strip()
    return scrub(text) if text else "unknown"
