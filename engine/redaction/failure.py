"""The one exception of the redaction core."""

from __future__ import annotations

__all__ = ["RedactionFailed"]


class RedactionFailed(Exception):
    """A body could not be processed (for example: neither JSON nor valid UTF-8 text).

    The message says why, and never contains any of the body's content, so it can be logged and
    recorded as is. Callers fail closed (guardrail: 503) or drop the stored bodies (storage).
    """
