"""Version string shown by `ongoingai version` and `GET /`: `<version> (<commit>, <date>)`."""

from __future__ import annotations

import os
from importlib.metadata import PackageNotFoundError, version

__all__ = ["version_string"]


def version_string() -> str:
    """`<version> (<commit>, <date>)`; commit/date come from the build environment if set."""
    try:
        number = version("ongoingai-gateway")
    except PackageNotFoundError:  # running from a checkout without an install
        number = "dev"
    commit = os.environ.get("ONGOINGAI_BUILD_COMMIT", "none")
    date = os.environ.get("ONGOINGAI_BUILD_DATE", "unknown")
    return f"{number} ({commit}, {date})"
