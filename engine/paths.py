"""The contract's path-prefix rule (`pathutil.HasPathPrefix`), in one place.

Used for provider routing, RBAC route templates, redaction `route_prefix` selectors and `when:`
scoping alike: `/openai/v1` is under `/openai`, `/openaiish` is not, and `/` covers everything.
"""

from __future__ import annotations

__all__ = ["has_path_prefix", "is_under", "normalize_path_prefix"]


def normalize_path_prefix(prefix: str) -> str:
    """Trim, force a leading `/`, strip trailing `/`; an empty prefix becomes `/`.

    Args:
        prefix: A configured prefix such as `"openai/"`.

    Returns:
        The normalized prefix, e.g. `"/openai"`.
    """
    normalized = prefix.strip()
    if not normalized.startswith("/"):
        normalized = "/" + normalized
    return normalized.rstrip("/") or "/"


def is_under(path: str, normalized: str) -> bool:
    """`has_path_prefix` for a prefix already normalized (the hot-path form)."""
    if normalized == "/":
        return True
    return path == normalized or path.startswith(normalized + "/")


def has_path_prefix(path: str, prefix: str) -> bool:
    """Whether `path` is `prefix` or lies below it, segment-wise (prefix normalized here)."""
    return is_under(path, normalize_path_prefix(prefix))
