"""Trace endpoints: list (filtered, keyset-paginated), detail, lineage replay and fork (§3.2).

Every read is scoped to the caller's tenant when one is authenticated: a trace of another
tenant is `404 trace not found`, exactly like one that does not exist.
"""

from __future__ import annotations

import logging
import secrets
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy.exc import SQLAlchemyError

from ongoingai.engine.api.body import read_strict_object
from ongoingai.engine.api.common import ApiError, caller_tenant, get_route, persistence_of
from ongoingai.engine.api.params import InvalidParam, Params
from ongoingai.engine.api.trace_json import checkpoint_json, detail_json, summary_json
from ongoingai.engine.lineage import Lineage, lineage_of, sort_lineage
from ongoingai.engine.storage.cursor import Cursor, InvalidCursor
from ongoingai.engine.storage.filters import Tenant, TraceFilter

if TYPE_CHECKING:
    from ongoingai.engine.storage.trace_queries import TraceQueries
    from ongoingai.engine.trace import TraceRecord

__all__ = ["router"]

log = logging.getLogger("ongoingai.api")
router = APIRouter()
#: The `{id}` path segment (the contract's name; `id` itself would shadow the builtin).
TraceId = Annotated[str, Path(alias="id")]

_STORE_MISSING = "trace store is not configured"
_MAX_TOKENS = 10_000_000
_FORK_FIELDS = frozenset({"checkpoint_id", "thread_id", "run_id"})
_FORK_LIMIT = 16 * 1024


def _queries(request: Request) -> TraceQueries:
    return persistence_of(request, _STORE_MISSING).queries


def _invalid(exc: Exception) -> ApiError:
    return ApiError(400, str(exc), "invalid_request")


def _list_filter(params: Params, tenant: Tenant | None) -> TraceFilter:
    status = params.integer("status", 0, 599)
    if 0 < status < 100:
        raise InvalidParam("status must be >= 100")
    min_tokens = params.integer("min_tokens", 0, _MAX_TOKENS)
    max_tokens = params.integer("max_tokens", 0, _MAX_TOKENS)
    if min_tokens > 0 and max_tokens > 0 and max_tokens < min_tokens:
        raise InvalidParam("max_tokens must be greater than or equal to min_tokens")
    window = params.time_range()
    return TraceFilter(
        tenant=tenant,
        provider=params.text("provider"),
        model=params.text("model"),
        api_key_hash=params.text("api_key_hash"),
        trace_group_id=params.text("trace_group_id"),
        thread_id=params.text("thread_id"),
        run_id=params.text("run_id"),
        status=status,
        min_tokens=min_tokens,
        max_tokens=max_tokens,
        start=window.start,
        end=window.end,
        time_column="created_at",
    )


@get_route(router, "/api/traces")
async def list_traces(request: Request) -> dict[str, Any]:
    """A page of traces, newest first, and the cursor of the next page when there is one."""
    params = Params(request.query_params)
    try:
        f = _list_filter(params, caller_tenant(request))
        limit = params.integer("limit", 0, 200) or 50
        raw_cursor = params.text("cursor")
        cursor = Cursor.decode(raw_cursor) if raw_cursor else None
    except (InvalidParam, InvalidCursor) as exc:
        raise _invalid(exc) from None
    queries = _queries(request)
    try:
        page = await queries.page(f, limit, cursor)
    except SQLAlchemyError as exc:
        raise _storage_failure("failed to query traces", exc) from None
    body: dict[str, Any] = {"items": [summary_json(item) for item in page.items]}
    if page.next_cursor is not None:
        body["next_cursor"] = page.next_cursor.encode()
    return body


async def _load(request: Request, trace_id: str, missing: str) -> TraceRecord:
    queries = _queries(request)
    try:
        record = await queries.get(trace_id, caller_tenant(request))
    except SQLAlchemyError as exc:
        raise _storage_failure("failed to read trace", exc) from None
    if record is None:
        raise ApiError(404, missing, "not_found")
    return record


@get_route(router, "/api/traces/{id}")
async def get_trace(request: Request, trace_id: TraceId) -> dict[str, Any]:
    """One trace with headers, bodies (when captured), metadata and lineage."""
    return detail_json(await _load(request, trace_id, "trace not found"))


@get_route(router, "/api/traces/{id}/replay")
async def replay_trace(request: Request, trace_id: TraceId) -> dict[str, Any]:
    """The checkpoint history of a trace's lineage up to a target checkpoint."""
    params = Params(request.query_params)
    try:
        limit = params.integer("limit", 0, 500) or 200
    except InvalidParam as exc:
        raise _invalid(exc) from None
    checkpoint_id = params.text("checkpoint_id") or trace_id
    source = await _load(request, trace_id, "trace not found")
    origin = lineage_of(source)
    thread = params.text("thread_id") or origin.thread_id
    run = params.text("run_id") or origin.run_id
    history = [source]
    capped = False
    if origin.group_id:
        f = TraceFilter(
            tenant=caller_tenant(request),
            trace_group_id=origin.group_id,
            thread_id=thread,
            run_id=run,
        )
        try:
            found = await _queries(request).lineage(f, limit)
        except SQLAlchemyError as exc:
            raise _storage_failure("failed to query replay checkpoints", exc) from None
        capped = len(found) >= limit
        history += [record for record in found if record.id != source.id]
    ordered = sort_lineage(history)
    target_at = next(
        (i for i, r in enumerate(ordered) if checkpoint_id in (r.id, lineage_of(r).checkpoint_id)),
        None,
    )
    if target_at is None:
        raise ApiError(404, "checkpoint not found", "not_found")
    shown = ordered[: target_at + 1]
    target = shown[-1]
    if target.id != source.id:  # list rows leave out bodies and headers; the target shows them
        target = await _load(request, target.id, "checkpoint not found")
    lineage = _backfilled(lineage_of(target), origin, thread, run)
    return {
        "source_trace_id": source.id,
        "target_checkpoint_id": lineage.checkpoint_id,
        "lineage": lineage.as_json(),
        "checkpoints": [checkpoint_json(record) for record in shown],
        "truncated": capped and target_at == len(ordered) - 1,
        "target_trace": detail_json(target),
    }


def _backfilled(target: Lineage, origin: Lineage, thread: str, run: str) -> Lineage:
    """The target's lineage with group/thread/run filled from the source and overrides."""
    return Lineage(
        group_id=target.group_id or origin.group_id,
        thread_id=target.thread_id or thread,
        run_id=target.run_id or run,
        checkpoint_id=target.checkpoint_id,
        parent_checkpoint_id=target.parent_checkpoint_id,
        checkpoint_seq=target.checkpoint_seq,
        immutable=target.immutable,
    )


@router.post("/api/traces/{id}/fork")
async def fork_trace(request: Request, trace_id: TraceId) -> dict[str, Any]:
    """Lineage headers that start a new run from a checkpoint; nothing is written."""
    wanted = await read_strict_object(
        request,
        limit=_FORK_LIMIT,
        fields=_FORK_FIELDS,
        too_large="fork request body too large",
        invalid="invalid fork request body",
    )
    source = await _load(request, trace_id, "trace not found")
    checkpoint = source
    if wanted.get("checkpoint_id") and wanted["checkpoint_id"] != source.id:
        checkpoint = await _load(request, wanted["checkpoint_id"], "checkpoint not found")
    origin, at = lineage_of(source), lineage_of(checkpoint)
    if origin.group_id and at.group_id and origin.group_id != at.group_id:
        raise ApiError(
            400, "checkpoint must belong to the same trace lineage group", "invalid_request"
        )
    group = at.group_id or origin.group_id or source.trace_group_id or at.checkpoint_id
    thread = (
        wanted.get("thread_id") or at.thread_id or origin.thread_id or f"thread_{at.checkpoint_id}"
    )
    run = wanted.get("run_id") or f"run_{secrets.token_hex(8)}"
    seq = at.checkpoint_seq + 1 if at.checkpoint_seq > 0 else 1
    return {
        "fork_id": f"fork_{secrets.token_hex(8)}",
        "source_trace_id": source.id,
        "source_checkpoint_id": at.checkpoint_id,
        "lineage": {
            "group_id": group,
            "thread_id": thread,
            "run_id": run,
            "parent_checkpoint_id": at.checkpoint_id,
            "checkpoint_seq": seq,
        },
        "headers": {
            "X-OngoingAI-Trace-Group-ID": group,
            "X-OngoingAI-Thread-ID": thread,
            "X-OngoingAI-Run-ID": run,
            "X-OngoingAI-Parent-Checkpoint-ID": at.checkpoint_id,
            "X-OngoingAI-Checkpoint-Seq": str(seq),
        },
    }


def _storage_failure(message: str, exc: Exception) -> ApiError:
    # Never the exception text: SQLAlchemy's quotes statement parameters.
    log.error(message, extra={"error_kind": type(getattr(exc, "orig", None) or exc).__name__})
    return ApiError(500, message, "internal_error")
