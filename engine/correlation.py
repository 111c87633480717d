"""Correlation ids (contract §7.6): adopt a valid incoming id or mint `corr-<32 hex>`."""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ongoingai.engine.context import Headers

__all__ = ["CORRELATION_HEADER", "correlation_id"]

CORRELATION_HEADER = "X-OngoingAI-Correlation-ID"
_CANDIDATES = ("x-ongoingai-correlation-id", "x-request-id", "x-correlation-id")
_VALID = re.compile(r"^[A-Za-z0-9\-_.:]+$")


def correlation_id(headers: Headers) -> str:
    """The first valid candidate header (trimmed, cut to 128 chars), else a fresh id."""
    for name in _CANDIDATES:
        value = headers.get(name)
        if value is None:
            continue
        value = value.strip()[:128]
        if value and _VALID.match(value):
            return value
    # unique, not secret: the fast PRNG avoids a getrandom syscall per request
    return f"corr-{random.getrandbits(128):032x}"
