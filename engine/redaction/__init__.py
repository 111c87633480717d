"""The redaction core: PII detectors, the body redactor and per-request policy resolution.

Pure library code with no I/O: the ``redact`` stage and the storage side (capture, record) call
:func:`redactor_for` / :class:`PolicySet` and act on the :class:`Redacted` result.
"""

from ongoingai.engine.redaction.body import BodyRedactor, Redacted, redactor_for
from ongoingai.engine.redaction.failure import RedactionFailed
from ongoingai.engine.redaction.policies import PolicySet, Resolution

__all__ = [
    "BodyRedactor",
    "PolicySet",
    "Redacted",
    "RedactionFailed",
    "Resolution",
    "redactor_for",
]
