"""Doctor verdicts: one `CheckResult` per check, and the report's overall status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ongoingai.engine.timefmt import format_rfc3339

if TYPE_CHECKING:
    import datetime as dt

__all__ = ["SCHEMA_VERSION", "CheckResult", "DoctorReport", "Status"]

#: SPEC §1.11: unlike the original, doctor's JSON says which shape it has.
SCHEMA_VERSION = "doctor.v1"

Status = Literal["pass", "warn", "fail", "skip"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one check: a one-line summary plus the lines that back it up."""

    name: str
    status: Status
    summary: str
    details: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """`{name, status, summary, details?}`; `details` is omitted when there are none."""
        out: dict[str, Any] = {"name": self.name, "status": self.status, "summary": self.summary}
        if self.details:
            out["details"] = list(self.details)
        return out


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every check, in the fixed order they ran."""

    generated_at: dt.datetime
    config_path: str
    checks: tuple[CheckResult, ...]

    @property
    def overall(self) -> Status:
        """`fail` if any check failed, else `warn` if any warned, else `pass` (skip: neutral)."""
        statuses = {c.status for c in self.checks}
        if "fail" in statuses:
            return "fail"
        return "warn" if "warn" in statuses else "pass"

    def as_json(self) -> dict[str, Any]:
        """The `doctor.v1` document."""
        return {
            "schema_version": SCHEMA_VERSION,
            "generated_at": format_rfc3339(self.generated_at),
            "config_path": self.config_path,
            "overall_status": self.overall,
            "checks": [c.as_json() for c in self.checks],
        }
