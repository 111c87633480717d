"""Strict, bounded JSON request bodies for the admin API's POST endpoints.

The original decodes with unknown fields disallowed and refuses trailing data; bodies over the
endpoint's limit are refused with 413 before they are read whole. An empty body is an empty
object (every field is optional).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ongoingai.engine.api.common import ApiError

if TYPE_CHECKING:
    from fastapi import Request

__all__ = ["read_json_object", "read_strict_object"]


async def read_strict_object(
    request: Request,
    *,
    limit: int,
    fields: frozenset[str],
    too_large: str,
    invalid: str,
) -> dict[str, str]:
    """The body as `{field: string}`, each value trimmed.

    Raises:
        ApiError: 413 `too_large` past `limit` bytes; 400 `invalid` for malformed JSON,
            trailing data, a non-object, an unknown field or a non-string value.
    """
    decoded = await read_json_object(
        request, limit=limit, fields=fields, too_large=too_large, invalid=invalid
    )
    if not all(isinstance(value, str) for value in decoded.values()):
        raise ApiError(400, invalid, "invalid_request")
    return {key: value.strip() for key, value in decoded.items()}


async def read_json_object(
    request: Request,
    *,
    limit: int,
    fields: frozenset[str],
    too_large: str,
    invalid: str,
) -> dict[str, Any]:
    """The body as a JSON object with only known fields; the caller checks the value types.

    Raises:
        ApiError: 413 `too_large` past `limit` bytes; 400 `invalid` for malformed JSON,
            trailing data, a non-object or an unknown field.
    """
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ApiError(413, too_large, "payload_too_large")
    if not raw.strip():
        return {}
    try:
        decoded: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, invalid, "invalid_request") from None
    if decoded is None:
        return {}
    if not isinstance(decoded, dict) or not set(decoded) <= fields:
        raise ApiError(400, invalid, "invalid_request")
    return decoded
