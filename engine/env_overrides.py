"""Environment overrides of `ongoingai.yaml` (contract §2.2), applied after the file.

Each override is a row in `_OVERRIDES`: variable name, the config key it sets and how its text is
parsed. Values apply only when non-empty; a value that does not parse is a located problem
(`invalid ONGOINGAI_PORT: ...`) rather than a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ongoingai.engine.problems import Problem

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["EnvResult", "apply_env_overrides"]

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def _parse_bool(text: str) -> bool:
    """Go's strconv.ParseBool, which the original gateway uses."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


_INT = re.compile(r"[+-]?[0-9]+")


def _parse_int(text: str) -> int:
    """Go's strconv.Atoi: optional sign and ASCII digits only (no spaces, no underscores)."""
    if not _INT.fullmatch(text):
        raise ValueError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    return int(text, 10)


def _parse_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None


def _parse_str(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class _Override:
    var: str
    path: tuple[str, ...]
    parse: Callable[[str], Any]
    otel: bool = False


_OTEL = ("observability", "otel")
_OVERRIDES: tuple[_Override, ...] = (
    _Override("ONGOINGAI_HOST", ("server", "host"), _parse_str),
    _Override("ONGOINGAI_PORT", ("server", "port"), _parse_int),
    _Override("ONGOINGAI_STORAGE_DRIVER", ("storage", "driver"), _parse_str),
    _Override("ONGOINGAI_STORAGE_PATH", ("storage", "path"), _parse_str),
    _Override("ONGOINGAI_STORAGE_DSN", ("storage", "dsn"), _parse_str),
    _Override("ONGOINGAI_OPENAI_UPSTREAM", ("providers", "openai", "upstream"), _parse_str),
    _Override("ONGOINGAI_ANTHROPIC_UPSTREAM", ("providers", "anthropic", "upstream"), _parse_str),
    _Override("ONGOINGAI_CAPTURE_BODIES", ("tracing", "capture_bodies"), _parse_bool),
    _Override("ONGOINGAI_BODY_MAX_SIZE", ("tracing", "body_max_size"), _parse_int),
    _Override("OTEL_EXPORTER_OTLP_ENDPOINT", (*_OTEL, "endpoint"), _parse_str, otel=True),
    _Override("OTEL_EXPORTER_OTLP_INSECURE", (*_OTEL, "insecure"), _parse_bool, otel=True),
    _Override("OTEL_SERVICE_NAME", (*_OTEL, "service_name"), _parse_str, otel=True),
    _Override("OTEL_TRACES_SAMPLER_ARG", (*_OTEL, "sampling_ratio"), _parse_float, otel=True),
    _Override("OTEL_EXPORTER_OTLP_TIMEOUT", (*_OTEL, "export_timeout_ms"), _parse_int, otel=True),
    _Override(
        "OTEL_METRIC_EXPORT_INTERVAL", (*_OTEL, "metric_export_interval_ms"), _parse_int, True
    ),
    _Override(
        "ONGOINGAI_PROMETHEUS_ENABLED", (*_OTEL, "prometheus_enabled"), _parse_bool, otel=True
    ),
    _Override("ONGOINGAI_PROMETHEUS_PATH", (*_OTEL, "prometheus_path"), _parse_str, otel=True),
    _Override("ONGOINGAI_PII_MODE", ("pii", "mode"), _parse_str),
    _Override("ONGOINGAI_PII_POLICY_ID", ("pii", "policy_id"), _parse_str),
    _Override("ONGOINGAI_PII_HASH_SALT", ("pii", "replacement", "hash_salt"), _parse_str),
    _Override("ONGOINGAI_AUTH_ENABLED", ("auth", "enabled"), _parse_bool),
    _Override("ONGOINGAI_AUTH_HEADER", ("auth", "header"), _parse_str),
)

#: Variables read by this module, so the snapshot revision can hash what was in effect.
ENV_VARS: tuple[str, ...] = (
    *(o.var for o in _OVERRIDES),
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
)


@dataclass(frozen=True, slots=True)
class EnvResult:
    """Config data with overrides applied, which variables applied, and their problems."""

    data: dict[str, Any]
    applied: tuple[tuple[str, str], ...]
    sources: dict[str, str]
    problems: tuple[Problem, ...]


def apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> EnvResult:
    """Return a copy of `data` with every non-empty override from `environ` applied.

    `sources` maps each overridden JSON pointer to its variable, so later semantic errors can
    name the variable instead of a file line.
    """
    out = _deep_copy(data)
    applied: list[tuple[str, str]] = []
    sources: dict[str, str] = {}
    problems: list[Problem] = []
    otel_touched = False
    for override in _OVERRIDES:
        raw = environ.get(override.var, "")
        text = raw.strip() if override.otel else raw
        if not text:
            continue
        pointer = "/" + "/".join(override.path)
        try:
            value = override.parse(text)
        except ValueError as exc:
            problems.append(_env_problem(override.var, pointer, f"invalid {override.var}: {exc}"))
            continue
        _set(out, override.path, value)
        applied.append((override.var, raw))
        sources[pointer] = override.var
        otel_touched = otel_touched or override.otel
    otel_touched |= _apply_exporters(out, environ, applied, sources, problems)
    _apply_sdk_disabled(out, environ, otel_touched, applied, sources, problems)
    return EnvResult(out, tuple(applied), sources, tuple(problems))


def _apply_exporters(
    out: dict[str, Any],
    environ: Mapping[str, str],
    applied: list[tuple[str, str]],
    sources: dict[str, str],
    problems: list[Problem],
) -> bool:
    touched = False
    traces = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if traces:
        pointer = "/observability/otel/traces_enabled"
        if traces not in ("otlp", "none"):
            msg = f'invalid OTEL_TRACES_EXPORTER: must be one of otlp, none (got "{traces}")'
            problems.append(_env_problem("OTEL_TRACES_EXPORTER", pointer, msg))
        else:
            _set(out, (*_OTEL, "traces_enabled"), traces == "otlp")
            applied.append(("OTEL_TRACES_EXPORTER", traces))
            sources[pointer] = "OTEL_TRACES_EXPORTER"
            touched = True
    metrics = environ.get("OTEL_METRICS_EXPORTER", "").strip().lower()
    if metrics:
        pointer = "/observability/otel/metrics_enabled"
        if metrics not in ("otlp", "none", "prometheus"):
            msg = (
                "invalid OTEL_METRICS_EXPORTER: must be one of otlp, none, prometheus "
                f'(got "{metrics}")'
            )
            problems.append(_env_problem("OTEL_METRICS_EXPORTER", pointer, msg))
        else:
            _set(out, (*_OTEL, "metrics_enabled"), metrics == "otlp")
            if metrics == "prometheus":
                _set(out, (*_OTEL, "prometheus_enabled"), True)
            applied.append(("OTEL_METRICS_EXPORTER", metrics))
            sources[pointer] = "OTEL_METRICS_EXPORTER"
            touched = True
    return touched


def _apply_sdk_disabled(
    out: dict[str, Any],
    environ: Mapping[str, str],
    otel_touched: bool,
    applied: list[tuple[str, str]],
    sources: dict[str, str],
    problems: list[Problem],
) -> None:
    """Setting any OTEL_* variable enables OTel, unless OTEL_SDK_DISABLED says otherwise."""
    pointer = "/observability/otel/enabled"
    raw = environ.get("OTEL_SDK_DISABLED", "").strip()
    if raw:
        try:
            disabled = _parse_bool(raw)
        except ValueError as exc:
            problems.append(
                _env_problem("OTEL_SDK_DISABLED", pointer, f"invalid OTEL_SDK_DISABLED: {exc}")
            )
            return
        _set(out, (*_OTEL, "enabled"), not disabled)
        applied.append(("OTEL_SDK_DISABLED", raw))
        sources[pointer] = "OTEL_SDK_DISABLED"
    elif otel_touched:
        _set(out, (*_OTEL, "enabled"), True)


def _env_problem(var: str, pointer: str, message: str) -> Problem:
    return Problem(f"${var}", 1, 1, pointer, message)


def _set(data: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = data
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
