"""Run every doctor check in the contract's order and collect the report."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING

from ongoingai.engine.doctor.inputs import gather
from ongoingai.engine.doctor.live import check_auth_posture, check_storage
from ongoingai.engine.doctor.result import CheckResult, DoctorReport
from ongoingai.engine.doctor.static import (
    check_config,
    check_pipeline,
    check_policies,
    check_route_wiring,
)

if TYPE_CHECKING:
    from pathlib import Path

    from ongoingai.engine.doctor.inputs import DoctorInputs

__all__ = ["CHECK_NAMES", "run_checks"]

#: The fixed order: the contract's four, with ours (policies, pipeline) after `config`.
CHECK_NAMES = ("config", "policies", "pipeline", "storage", "route_wiring", "auth_posture")


def run_checks(config_path: Path) -> DoctorReport:
    """Every check against the config at `config_path`; later ones skip if the config fails."""
    started = dt.datetime.now(dt.UTC)
    inputs = gather(config_path)
    first = check_config(inputs)
    if first.status == "fail":
        reason = (
            "skipped: config failed to load"
            if inputs.probe.stage == "load_failed"
            else "skipped: config validation failed"
        )
        rest = tuple(CheckResult(name, "skip", reason) for name in CHECK_NAMES[1:])
        return DoctorReport(started, str(config_path), (first, *rest))
    return DoctorReport(started, str(config_path), (first, *asyncio.run(_checks(inputs))))


async def _checks(inputs: DoctorInputs) -> tuple[CheckResult, ...]:
    assert inputs.view is not None and inputs.pipeline is not None  # noqa: S101 - config valid
    config = inputs.view.loaded.config
    return (
        check_policies(inputs),
        check_pipeline(inputs.pipeline),
        await check_storage(config),
        check_route_wiring(inputs.view),
        await check_auth_posture(config, inputs.rbac()),
    )
