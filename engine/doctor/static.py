"""Checks that need no I/O beyond reading files: config, policies, pipeline, route wiring."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ongoingai.engine.doctor.result import CheckResult
from ongoingai.engine.paths import is_under

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ongoingai.engine.doctor.inputs import DoctorInputs, PipelineBuild
    from ongoingai.engine.pipeline import Pipeline
    from ongoingai.engine.policy_view import PolicyView, ProviderRoute
    from ongoingai.engine.problems import Problem

__all__ = ["check_config", "check_pipeline", "check_policies", "check_route_wiring"]

ARROW = " → "
_API = "/api"


def check_config(inputs: DoctorInputs) -> CheckResult:
    """Whether `ongoingai.yaml` (plus env overrides) loads and validates."""
    probe = inputs.probe
    if probe.stage == "load_failed":
        return CheckResult("config", "fail", "failed to load config", _rendered(probe.problems))
    if probe.stage == "invalid":
        return CheckResult("config", "fail", "config is invalid", _rendered(probe.problems))
    details = [f"config path: {inputs.config_path}"]
    if probe.loaded is not None and not probe.loaded.exists:
        details.append("file not found: built-in defaults and environment overrides apply")
    return CheckResult("config", "pass", "loaded and validated configuration", tuple(details))


def check_policies(inputs: DoctorInputs) -> CheckResult:
    """Whether every policy file (packaged and `policies:`) is valid, alone and together."""
    if inputs.policy_problems:
        count = len(inputs.policy_problems)
        noun = "problem" if count == 1 else "problems"
        summary = f"policy files are invalid ({count} {noun})"
        return CheckResult("policies", "fail", summary, _rendered(inputs.policy_problems))
    assert inputs.view is not None  # noqa: S101 - run only after the config validated
    return CheckResult(
        "policies", "pass", "policy files are schema-valid", _policy_sources(inputs.view)
    )


def check_pipeline(build: PipelineBuild) -> CheckResult:
    """The stage list that will run, or why the declared pipeline does not build."""
    if build.pipeline is None:
        return CheckResult(
            "pipeline",
            "fail",
            "pipeline does not build",
            (f"declared in: {build.source}", *_rendered(build.problems)),
        )
    stages = build.pipeline.stages
    return CheckResult(
        "pipeline",
        "pass",
        f"pipeline builds with {len(stages)} stages",
        (_chain(build.pipeline), *_scoped(build.pipeline), f"declared in: {build.source}"),
    )


def check_route_wiring(view: PolicyView) -> CheckResult:
    """Provider prefixes against each other and against `/api`, and usable upstreams.

    Two providers on the same prefix, a root prefix, or one overlapping `/api` make routes
    unreachable: fail. One prefix nested in another is served (the longest prefix wins) but
    takes part of the outer provider's paths away from it: warn.
    """
    routes = view.provider_routes()
    failures = _wiring_failures(view, routes)
    if failures:
        summary = failures[0][0]
        return CheckResult("route_wiring", "fail", summary, tuple(line for _, line in failures))
    wiring = [f"{r.name}: {r.prefix} -> {r.upstream}" for r in routes] + ["api routes: /api/*"]
    nested = [
        f"{inner.name} ({inner.prefix}) takes {inner.prefix}/* from "
        f"{outer.name} ({outer.prefix}): the longest prefix wins"
        for a, b in _pairs(routes)
        if a.prefix != b.prefix
        for inner, outer in ((a, b), (b, a))
        if is_under(inner.prefix, outer.prefix)
    ]
    if nested:
        summary = "provider route prefixes nest"
        return CheckResult("route_wiring", "warn", summary, (*nested, *wiring))
    summary = "provider and API route wiring looks valid"
    return CheckResult("route_wiring", "pass", summary, tuple(wiring))


def _wiring_failures(view: PolicyView, routes: list[ProviderRoute]) -> list[tuple[str, str]]:
    """(summary, detail) for every route that cannot be served as configured."""
    failures: list[tuple[str, str]] = []
    for route in routes:
        if route.prefix == "/":
            failures.append(("provider prefixes must not be root ('/')", f"{route.name}: /"))
        elif is_under(route.prefix, _API) or is_under(_API, route.prefix):
            detail = f"{route.name}: {route.prefix} overlaps /api"
            failures.append(("provider prefixes must not overlap with /api routes", detail))
        reason = _upstream_problem(route)
        if reason:
            failures.append(("failed to configure proxy routes", f"{route.name}: {reason}"))
    for name, missing in view.incomplete_providers().items():
        line = f"{name}: new provider must set {', '.join(missing)}"
        failures.append(("failed to configure proxy routes", line))
    for a, b in _pairs(routes):
        if a.prefix == b.prefix:
            line = f"{a.name} and {b.name} both use {a.prefix}"
            failures.append(("provider route prefixes overlap", line))
    return failures


def _rendered(problems: Iterable[Problem]) -> tuple[str, ...]:
    return tuple(p.render() for p in problems)


def _policy_sources(view: PolicyView) -> tuple[str, ...]:
    packaged = sum(f.packaged for f in view.files)
    user = len(view.files) - packaged
    details = [f"packaged policy files: {packaged}"]
    if view.policies_dir is not None:
        noun = "file" if user == 1 else "files"
        details.append(f"policies directory: {view.policies_dir} ({user} {noun})")
    return tuple(details)


def _chain(pipeline: Pipeline) -> str:
    return ARROW.join(
        b.spec.id if b.spec.id == b.spec.type else f"{b.spec.id} ({b.spec.type})"
        for b in pipeline.stages
    )


def _scoped(pipeline: Pipeline) -> list[str]:
    """One line per stage limited by `when:`, so the chain is not read as running always."""
    lines = []
    for b in pipeline.stages:
        when = b.spec.when
        parts = [
            f"{name}={','.join(values)}"
            for name, values in (
                ("path_prefix", when.path_prefix),
                ("provider", when.provider),
                ("workspace", when.workspace),
                ("method", when.method),
            )
            if values
        ]
        if parts:
            lines.append(f"{b.spec.id}: only when {' '.join(parts)}")
    return lines


def _upstream_problem(route: ProviderRoute) -> str:
    try:
        parts = urlsplit(route.upstream)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        usable = False
    return "" if usable else f'upstream "{route.upstream}" must include scheme and host'


def _pairs(routes: list[ProviderRoute]) -> Iterable[tuple[ProviderRoute, ProviderRoute]]:
    for i, a in enumerate(routes):
        for b in routes[i + 1 :]:
            yield a, b
