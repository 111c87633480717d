"""Gateway-key secrets: SHA-256 at rest, constant-time comparison, generation.

Tokens are never stored or logged in clear; only their SHA-256 hex digest is kept (SPEC §6).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["generate_key_id", "generate_token", "hash_token", "is_token_hash", "same_hash"]

_HEX = frozenset("0123456789abcdef")


def hash_token(token: str) -> str:
    """Lowercase SHA-256 hex digest of a token (its trimmed UTF-8 bytes)."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def is_token_hash(value: str) -> bool:
    """Whether `value` looks like a SHA-256 hex digest (64 hex digits, any case)."""
    text = value.strip().lower()
    return len(text) == 64 and set(text) <= _HEX


def same_hash(a: str, b: str) -> bool:
    """Constant-time equality of two hex digests (case-insensitive)."""
    return hmac.compare_digest(a.strip().lower().encode(), b.strip().lower().encode())


def generate_key_id() -> str:
    """`gk_` + 16 hex digits, as the original."""
    return "gk_" + secrets.token_hex(8)


def generate_token() -> str:
    """`ogk_` + base64url of 24 random bytes (32 characters), as the original."""
    return "ogk_" + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
