"""Go `time.Duration` text (`5s`, `500ms`, `1m30s`), as the original's `--timeout` flags take it.

Scripts written for the original pass these strings; Python has no parser for them, and the
error message of a timeout that is not positive quotes the duration the way Go prints it.
"""

from __future__ import annotations

import re

__all__ = ["format_go_duration", "parse_go_duration"]

_NS_PER = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_go_duration(text: str) -> int:
    """Nanoseconds of a Go duration (`1h2m3.5s`, `-1s`, `0`).

    Raises:
        ValueError: when the text is not Go duration syntax (a number needs a unit).
    """
    sign, rest = (-1, text[1:]) if text[:1] == "-" else (1, text.removeprefix("+"))
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f'invalid duration "{text}"')
    total, pos = 0, 0
    while pos < len(rest):
        match = _PART.match(rest, pos)
        if match is None:
            raise ValueError(f'invalid duration "{text}"')
        number, unit = match.groups()
        whole, _, frac = number.partition(".")
        scale = _NS_PER[unit]
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // 10 ** len(frac)
        pos = match.end()
    return sign * total


def format_go_duration(ns: int) -> str:
    """Go's `Duration.String()`: `0s`, `500ms`, `1.5s`, `1m30s`, `2h0m0s`, `-1s`."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < _NS_PER["s"]:
        for unit in ("ms", "µs", "ns"):
            if ns >= _NS_PER[unit]:
                return sign + _decimal(ns, _NS_PER[unit]) + unit
    hours, rest = divmod(ns, _NS_PER["h"])
    minutes, rest = divmod(rest, _NS_PER["m"])
    text = f"{hours}h" if hours else ""
    if hours or minutes:
        text += f"{minutes}m"
    return sign + text + _decimal(rest, _NS_PER["s"]) + "s"


def _decimal(value: int, scale: int) -> str:
    whole, frac = divmod(value, scale)
    digits = len(str(scale)) - 1
    fraction = f"{frac:0{digits}d}".rstrip("0") if digits else ""
    return f"{whole}.{fraction}" if fraction else str(whole)
