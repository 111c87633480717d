"""`ongoingai doctor`: one verdict per concern, from config on disk to live storage.

`inputs` reads everything once (leniently, so one broken file does not hide the rest),
`static` judges what needs no I/O (config, policy files, pipeline, route wiring), `live`
asks storage (connectivity, stored gateway keys), `result` holds the verdicts and the
overall status, `render` prints them as text or JSON.
"""

from ongoingai.engine.doctor.result import CheckResult, DoctorReport, Status
from ongoingai.engine.doctor.run import run_checks

__all__ = ["CheckResult", "DoctorReport", "Status", "run_checks"]
