"""Defensive reading of upstream JSON: never raise, never trust a type.

Upstream payloads are foreign data: a truncated capture, an HTML error page, a string where a
number belongs. These helpers turn every such case into "absent" so a meter can only ever lose a
count, never break the response it is observing.
"""

from __future__ import annotations

import json
import math
import re

__all__ = [
    "USAGE_OBJECT",
    "JsonObject",
    "count",
    "first_count",
    "loads_object",
    "mapping",
    "model_of",
    "nested",
    "tail_value",
]

JsonObject = dict[str, object]

_COLON = re.compile(r"\s*:\s*")
_DECODER = json.JSONDecoder()  # stateless, like json's own module-level default decoder

USAGE_OBJECT = re.compile(rb'"usage"\s*:\s*\{')
"""A `"usage"` key holding an object. Inside a JSON string every quote is escaped, so this only
matches a real key, and lets a meter skip the `"usage": null` most stream chunks carry."""


def loads_object(payload: bytes | bytearray) -> JsonObject | None:
    """Parse a JSON object, or return None for anything else (malformed, truncated, a list)."""
    try:
        value = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def mapping(value: object) -> JsonObject | None:
    """`value` if it is a JSON object, else None."""
    return value if isinstance(value, dict) else None


def nested(obj: JsonObject, *keys: str) -> JsonObject | None:
    """Follow `keys` through nested objects; None as soon as one is missing or not an object."""
    current: JsonObject | None = obj
    for key in keys:
        if current is None:
            return None
        current = mapping(current.get(key))
    return current


def count(obj: JsonObject | None, key: str) -> int | None:
    """A token count at `key`: a non-negative integer (or integral float), else None.

    Booleans are not counts even though Python treats them as ints, and a negative, fractional
    or non-finite number is a provider bug that must not reach billing.
    """
    if obj is None:
        return None
    value = obj.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and value >= 0:
        return int(value)
    return None


def first_count(obj: JsonObject | None, *keys: str) -> int | None:
    """The first of `keys` holding a count (a present 0 beats a later key, as in the contract)."""
    for key in keys:
        found = count(obj, key)
        if found is not None:
            return found
    return None


def model_of(obj: JsonObject) -> str | None:
    """The model a payload names: `model`, else `message.model` or `response.model` (trimmed)."""
    for holder in (obj, mapping(obj.get("message")), mapping(obj.get("response"))):
        if holder is None:
            continue
        value = holder.get("model")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def tail_value(body: bytes, key: str) -> object:
    """The value of the LAST `"key":` in `body`, decoded alone; None when absent or malformed.

    Embeddings responses put a few hundred bytes of `model` and `usage` after megabytes of
    floats; decoding just that tail keeps a large batch from stalling the event loop for tens of
    milliseconds in `json.loads`. Callers use it only where the key is unique to the top level.
    """
    needle = f'"{key}"'.encode()
    at = body.rfind(needle)
    if at < 0:
        return None
    text = body[at + len(needle) :].decode("utf-8", "replace")
    colon = _COLON.match(text)
    if colon is None:
        return None
    try:
        value, _ = _DECODER.raw_decode(text, colon.end())
    except (ValueError, RecursionError):
        return None
    return value
