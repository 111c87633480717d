"""record: turn the finished exchange into a TraceRecord and hand it to the async writer.

Runs in `on_complete` for every proxied request that reached the pipeline — including upstream
failures, client disconnects and upstream drops mid-stream (SPEC §1.12). Enqueueing never
blocks: a full queue drops the trace and counts it (contract §7.2).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import time
from typing import TYPE_CHECKING, Any, ClassVar

from opentelemetry.trace import Status, StatusCode
from pydantic import BaseModel, ConfigDict

from ongoingai.engine.telemetry.labels import exchange_of, scope_of
from ongoingai.engine.trace import TraceRecord
from ongoingai.engine.usage import Usage
from ongoingai.stages.capture import CaptureState
from ongoingai.stages.redact import RedactionDecision, decision_for

if TYPE_CHECKING:
    from ongoingai.engine.context import RequestContext
    from ongoingai.engine.stage import OnError
    from ongoingai.engine.telemetry.setup import Telemetry

__all__ = ["Record", "credential_of"]

log = logging.getLogger("ongoingai.record")

_LINEAGE = (
    ("x-ongoingai-trace-group-id", "lineage_group_id"),
    ("x-ongoingai-thread-id", "lineage_thread_id"),
    ("x-ongoingai-run-id", "lineage_run_id"),
    ("x-ongoingai-parent-checkpoint-id", "lineage_parent_checkpoint_id"),
)


class RecordConfig(BaseModel):
    """The record stage has no options: `tracing.*` sizes the writer."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def credential_of(ctx: RequestContext) -> str:
    """The provider key: `Authorization` minus a `Bearer ` prefix, else `X-API-Key`."""
    auth = (ctx.headers.get("authorization") or "").strip()
    if auth:
        return auth[7:].strip() if auth[:7].lower() == "bearer " else auth
    return (ctx.headers.get("x-api-key") or "").strip()


class Record:
    """Observer stage: builds the trace and enqueues it (drop-not-block)."""

    type_name: ClassVar[str] = "record"
    terminal: ClassVar[bool] = False
    phase: ClassVar[str] = "complete"
    default_on_error: ClassVar[OnError] = "fail_open"
    Config = RecordConfig

    def __init__(self, config: RecordConfig, services: Any) -> None:
        del config
        self._services = services
        self._last_warning = -1.0  # rate limit of the queue-full warning (monotonic seconds)
        self._suppressed = 0

    async def on_complete(self, ctx: RequestContext) -> None:
        """Build and enqueue this request's trace; report the exchange to metrics sinks."""
        writer = getattr(self._services, "trace_writer", None)
        telemetry: Telemetry | None = getattr(self._services, "telemetry", None)
        scope = None
        if telemetry is not None and telemetry.metrics:
            scope = scope_of(ctx)
            telemetry.metrics.exchange(exchange_of(ctx, scope))
        if writer is None:
            return
        record = build_trace(ctx)
        span = ctx.otel.child("gateway.trace.enqueue") if ctx.otel is not None else None
        accepted = writer.enqueue(record)
        if span is not None:
            span.set_attribute(
                "gateway.trace.enqueue.result", "accepted" if accepted else "dropped"
            )
            if not accepted:
                span.set_status(Status(StatusCode.ERROR, "trace dropped"))
            span.end()
        if scope is not None and telemetry is not None:
            telemetry.metrics.trace_enqueued(scope, record.response_status, accepted=accepted)
        if not accepted:
            self._warn_dropped(ctx, record)

    def _warn_dropped(self, ctx: RequestContext, record: TraceRecord) -> None:
        """One warning per second at most: drops happen exactly when the gateway is saturated.

        Every drop is counted by the writer (`/api/diagnostics/trace-pipeline`) regardless.
        """
        self._suppressed += 1
        now = time.monotonic()
        if now - self._last_warning < 1.0:
            return
        log.warning(
            "trace queue is full; dropping trace",
            extra={
                "correlation_id": ctx.request_id,
                "path": ctx.path,
                "status": record.response_status,
                "dropped_since_last_warning": self._suppressed,
            },
        )
        self._last_warning = now
        self._suppressed = 0


def build_trace(ctx: RequestContext) -> TraceRecord:
    """The stored form of one finished request (contract §4.2 plus SPEC §7.4 metadata)."""
    trace_id = _new_trace_id()
    usage = ctx.usage or Usage()
    status = ctx.outcome.status if ctx.outcome is not None else (ctx.response_status or 200)
    ttft_us = _ttft_us(ctx)
    credential = credential_of(ctx)
    capture = ctx.capture if isinstance(ctx.capture, CaptureState) else None
    return TraceRecord(
        id=trace_id,
        timestamp=dt.datetime.now(dt.UTC),
        provider=ctx.route.provider.name if ctx.route is not None else _provider_of(ctx),
        model=ctx.model or "unknown",
        request_method=ctx.method or "UNKNOWN",
        request_path=ctx.path or "/",
        response_status=status,
        trace_group_id=(ctx.headers.get("x-ongoingai-trace-group-id") or "").strip(),
        org_id=ctx.identity.org_id if ctx.identity else "default",
        workspace_id=ctx.identity.workspace_id if ctx.identity else "default",
        gateway_key_id=ctx.identity.key_id if ctx.identity else "",
        request_headers=capture.request_headers if capture else {},
        request_body=_text(capture.request_body) if capture and capture.enabled else "",
        response_headers=capture.response_headers if capture else {},
        response_body=_text(capture.response_body) if capture and capture.enabled else "",
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        cache_write_input_tokens=usage.cache_write_input_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        latency_ms=max(0, (ctx.completed_ns - ctx.received_at_ns) // 1_000_000),
        time_to_first_token_us=ttft_us,
        time_to_first_token_ms=(ttft_us + 999) // 1000,
        api_key_hash=hashlib.sha256(credential.encode()).hexdigest() if credential else "",
        estimated_cost_usd=ctx.cost if ctx.cost is not None else 0,  # type: ignore[arg-type]
        metadata=_metadata(ctx, trace_id, credential, capture),
    )


def _new_trace_id() -> str:
    """32 hex chars (16 random bytes), as the original.

    Ids only need to be unique, not secret (reads are scoped by tenant), so the fast PRNG is
    used: `secrets` costs a getrandom syscall per trace on the hot path.
    """
    return f"{random.getrandbits(128):032x}"


def _ttft_us(ctx: RequestContext) -> int:
    if not ctx.streaming or not ctx.first_byte_ns:
        return 0
    return max(1, (ctx.first_byte_ns - ctx.received_at_ns) // 1000)


def _provider_of(ctx: RequestContext) -> str:
    match = ctx.snapshot.providers.match(ctx.path)
    return match[1].name if match else "unknown"


def _counts(capture: CaptureState | None, decision: RedactionDecision) -> dict[str, int]:
    """Matches per detector (plus redacted headers), in a stable order."""
    counts = dict(decision.counts)
    if capture and capture.redacted_headers:
        counts["header"] = capture.redacted_headers
    return dict(sorted(counts.items()))


def _shadow(decision: RedactionDecision) -> dict[str, Any]:
    """Shadow mode: what `block` would have done, and why."""
    return {
        "decision": decision.shadow_decision,
        "counts": dict(sorted(decision.shadow_counts.items())),
    }


def _lineage(ctx: RequestContext) -> dict[str, Any]:
    """Lineage headers, trimmed, when present (forwarded upstream unchanged as well)."""
    meta: dict[str, Any] = {}
    for header, key in _LINEAGE:
        value = (ctx.headers.get(header) or "").strip()
        if value:
            meta[key] = value
    seq = (ctx.headers.get("x-ongoingai-checkpoint-seq") or "").strip()
    if seq.isdigit():
        meta["lineage_checkpoint_seq"] = int(seq)
    return meta


def _text(data: bytearray) -> str:
    return data.decode("utf-8", errors="replace")


def _metadata(
    ctx: RequestContext, trace_id: str, credential: str, capture: CaptureState | None
) -> dict[str, Any]:
    decision = decision_for(ctx)
    counts = _counts(capture, decision)
    meta: dict[str, Any] = {
        "streaming": ctx.streaming,
        "stream_chunks": ctx.stream_chunks if ctx.streaming else 0,
        "redaction_mode": decision.resolution.mode,
        "redaction_policy_id": decision.resolution.policy_id,
        "redaction_applied": bool(counts),
        "redaction_counts": counts,
        "redaction_truncated": bool(
            capture
            and capture.enabled
            and (capture.request_truncated or capture.response_truncated)
        ),
        "redaction_storage_drop": bool(capture and capture.storage_drop),
        "lineage_checkpoint_id": trace_id,
        "lineage_immutable": True,
        "correlation_id": ctx.request_id,
        "policy_revision": ctx.snapshot.revision,
        "pricing": ctx.pricing_label,
    }
    meta.update(_lineage(ctx))
    if ctx.identity is not None:  # contract §4.5: only when an identity is present
        meta |= {
            "gateway_key_id": ctx.identity.key_id,
            "team": ctx.identity.team,
            "role": ctx.identity.role,
            "org_id": ctx.identity.org_id,
            "workspace_id": ctx.identity.workspace_id,
        }
    optional: tuple[tuple[bool, str, Any], ...] = (
        (
            bool(capture and capture.storage_drop),
            "redaction_failure_semantics",
            "storage_drop_continue_proxy",
        ),
        (decision.shadow_decision is not None, "redaction_shadow", _shadow(decision)),
        (bool(credential), "api_key_last4", credential[-4:]),
        (ctx.client_disconnected, "client_disconnected", True),
        (bool(ctx.upstream_error), "upstream_error", ctx.upstream_error),
        (ctx.usage_injected, "usage_injected", True),
        (ctx.outcome is not None, "error_code", ctx.outcome.code if ctx.outcome else None),
        (bool(ctx.stage_errors), "stage_errors", list(ctx.stage_errors)),
    )
    meta.update({key: value for present, key, value in optional if present})
    return meta
