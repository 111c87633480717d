"""The trace endpoints over real HTTP on both backends: list, filters, pagination, detail,
replay, fork, and the contract's validation messages and status codes (§3.2)."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ongoingai.engine.storage import create_engine_for
from ongoingai.engine.storage.filters import Tenant, TraceFilter
from ongoingai.engine.storage.trace_queries import TraceQueries
from ongoingai.engine.trace import TraceRecord
from tests.api_server import ApiServer, seed
from tests.integration.storage.records import trace
from tests.postgres_admin import run_in_thread

NOW = dt.datetime.now(dt.UTC).replace(microsecond=123456)

SUMMARY_FIELDS = {
    "id",
    "timestamp",
    "provider",
    "model",
    "request_method",
    "request_path",
    "response_status",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cache_read_input_tokens",
    "cache_write_input_tokens",
    "reasoning_tokens",
    "latency_ms",
    "time_to_first_token_ms",
    "time_to_first_token_us",
    "estimated_cost_usd",
    "created_at",
}


def _at(seconds_ago: float, **overrides: Any) -> TraceRecord:
    return trace(timestamp=NOW - dt.timedelta(seconds=seconds_ago), **overrides)


@pytest.fixture
def api(tmp_path, backend):
    with ApiServer(tmp_path, backend) as server:
        yield server


def _ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


# --- list --------------------------------------------------------------------------------------
def test_list_is_newest_first_with_the_summary_fields(api):
    api.seed(
        [
            _at(
                3,
                id="old",
                input_tokens=120,
                output_tokens=30,
                cache_read_input_tokens=100,
                reasoning_tokens=10,
                api_key_hash="a" * 64,
                estimated_cost_usd=Decimal("0.000123456"),
                time_to_first_token_us=42123,
                latency_ms=250,
            ),
            _at(1, id="new", provider="anthropic", model="claude-sonnet-4", response_status=429),
        ]
    )

    response = api.get("/api/traces")

    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-ongoingai-correlation-id"]
    body = response.json()
    assert "next_cursor" not in body
    new, old = body["items"]
    assert [new["id"], old["id"]] == ["new", "old"]
    assert set(new) == SUMMARY_FIELDS  # no api_key_hash when there is none
    assert set(old) == SUMMARY_FIELDS | {"api_key_hash"}
    assert (new["provider"], new["model"], new["response_status"]) == (
        "anthropic",
        "claude-sonnet-4",
        429,
    )
    assert old["input_tokens"] == 120
    assert old["output_tokens"] == 30
    assert old["total_tokens"] == 150
    assert old["cache_read_input_tokens"] == 100
    assert old["reasoning_tokens"] == 10
    assert old["estimated_cost_usd"] == 0.000123456
    assert (old["time_to_first_token_ms"], old["time_to_first_token_us"]) == (43, 42123)
    assert old["latency_ms"] == 250
    stamp = NOW - dt.timedelta(seconds=3)
    assert old["timestamp"] == old["created_at"] == stamp.strftime("%Y-%m-%dT%H:%M:%S.123456Z")


def test_each_filter_selects_exactly_its_traces(api):
    group = {"lineage_group_id": "g1", "lineage_thread_id": "th1", "lineage_run_id": "run1"}
    api.seed(
        [
            _at(10, id="a", provider="anthropic", model="claude-sonnet-4", total_tokens=50),
            _at(9, id="b", api_key_hash="k" * 64, input_tokens=400, output_tokens=100),
            _at(8, id="c", response_status=500, trace_group_id="g1", metadata=group),
            _at(7, id="d", trace_group_id="g1", metadata={**group, "lineage_run_id": "run2"}),
            _at(86400 * 3, id="e"),
        ]
    )
    cases = {
        "provider=anthropic": ["a"],
        "model=claude-sonnet-4": ["a"],
        f"api_key_hash={'k' * 64}": ["b"],
        "status=500": ["c"],
        "trace_group_id=g1": ["d", "c"],
        "thread_id=th1": ["d", "c"],
        "thread_id=th1&run_id=run1": ["c"],
        "run_id=run2": ["d"],
        "min_tokens=100": ["b"],
        "max_tokens=60&min_tokens=1": ["a"],
        "provider=%20anthropic%20": ["a"],  # values are trimmed
        "status=0&min_tokens=0": ["d", "c", "b", "a", "e"],  # zeros are ignored
    }
    for query, expected in cases.items():
        assert _ids(api.get(f"/api/traces?{query}")) == expected, query


def test_time_window_filters_on_timestamp_and_a_date_only_to_covers_the_whole_day(api):
    day = dt.datetime(2026, 3, 4, tzinfo=dt.UTC)
    api.seed(
        [
            trace(id="before", timestamp=day - dt.timedelta(microseconds=1)),
            trace(id="start", timestamp=day),
            trace(id="late", timestamp=day + dt.timedelta(hours=23, minutes=59, seconds=59.5)),
            trace(id="next", timestamp=day + dt.timedelta(days=1)),
        ]
    )
    assert _ids(api.get("/api/traces?from=2026-03-04&to=2026-03-04")) == ["late", "start"]
    assert _ids(api.get("/api/traces?from=2026-03-04T23:00:00%2B01:00")) == ["next", "late"]
    assert _ids(api.get("/api/traces?to=2026-03-03T23:59:59.999999Z")) == ["before"]


def test_pages_walk_every_trace_once_and_the_last_has_no_cursor(api):
    api.seed([_at(i, id=f"t{i:03d}") for i in range(120)])

    first = api.get("/api/traces").json()
    assert len(first["items"]) == 50  # default limit
    assert api.walk_traces(7) == [f"t{i:03d}" for i in range(120)]
    assert len(api.get("/api/traces?limit=200").json()["items"]) == 120


def test_exactly_a_full_last_page_has_no_cursor(api):
    api.seed([_at(i, id=f"t{i}") for i in range(4)])
    body = api.get("/api/traces?limit=4").json()
    assert len(body["items"]) == 4
    assert "next_cursor" not in body


def test_traces_with_the_same_created_at_are_paged_by_id(api):
    same = NOW - dt.timedelta(seconds=5)
    api.seed([trace(id=f"s{i}", timestamp=same) for i in range(5)])
    first = api.get("/api/traces?limit=2").json()
    second = api.get("/api/traces", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = api.get("/api/traces", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    walked = [i["id"] for page in (first, second, third) for i in page["items"]]
    assert walked == ["s4", "s3", "s2", "s1", "s0"]


def test_pagination_has_no_duplicates_or_gaps_while_traces_are_written(api):
    originals = [_at(100 + i, id=f"orig{i:04d}") for i in range(300)]
    api.seed(originals)
    stop = threading.Event()
    written: list[int] = []

    def keep_writing() -> None:
        n = 0
        while not stop.is_set():
            seed(api.backend, [trace(id=f"new{n:05d}", timestamp=dt.datetime.now(dt.UTC))])
            written.append(n)
            n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        seen = api.walk_traces(9)
    finally:
        stop.set()
        writer.join()

    assert written, "the concurrent writer did not run"
    walked_originals = [i for i in seen if i.startswith("orig")]
    assert walked_originals == [r.id for r in originals]  # every one, once, in order
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=-1", "limit must be >= 0"),
        ("limit=201", "limit must be <= 200"),
        ("limit=ten", "limit must be an integer"),
        ("status=99", "status must be >= 100"),
        ("status=600", "status must be <= 599"),
        ("min_tokens=-5", "min_tokens must be >= 0"),
        ("max_tokens=10000001", "max_tokens must be <= 10000000"),
        ("min_tokens=10&max_tokens=5", "max_tokens must be greater than or equal to min_tokens"),
        ("from=today", "invalid from: expected RFC3339 or YYYY-MM-DD"),
        ("to=2026-02-30", "invalid to: expected RFC3339 or YYYY-MM-DD"),
        ("from=2026-02-02&to=2026-02-01", "to must be greater than or equal to from"),
        ("cursor=%25%25", "trace cursor is invalid: decode base64 cursor"),
        ("cursor=bm8tc2VwYXJhdG9y", "trace cursor is invalid: missing id"),
        ("cursor=bm90LWEtdGltZXxpZA", "trace cursor is invalid: parse created_at"),
    ],
)
def test_list_validation_errors(api, query, message):
    response = api.get(f"/api/traces?{query}")
    assert response.status_code == 400
    assert response.json() == {"error": message, "code": "invalid_request"}


# --- detail ------------------------------------------------------------------------------------
def test_detail_shows_headers_bodies_metadata_and_lineage(api):
    metadata = {
        "lineage_group_id": "grp",
        "lineage_thread_id": "th",
        "lineage_run_id": "run",
        "lineage_parent_checkpoint_id": "prev",
        "lineage_checkpoint_seq": 2,
        "lineage_checkpoint_id": "tr-1",
        "lineage_immutable": True,
        "streaming": False,
    }
    api.seed(
        [
            _at(
                1,
                id="tr-1",
                trace_group_id="grp",
                gateway_key_id="gk-1",
                org_id="org-a",
                workspace_id="ws-a",
                request_headers={"Content-Type": ["application/json"]},
                request_body='{"model":"gpt-4o-mini"}',
                response_headers={"X-Request-Id": ["abc"]},
                response_body='{"id":"chatcmpl-1"}',
                metadata=metadata,
            )
        ]
    )

    body = api.get("/api/traces/tr-1").json()

    assert body["trace_group_id"] == "grp"
    assert body["lineage"] == {
        "group_id": "grp",
        "thread_id": "th",
        "run_id": "run",
        "checkpoint_id": "tr-1",
        "parent_checkpoint_id": "prev",
        "checkpoint_seq": 2,
        "immutable": True,
    }
    assert body["request_headers"] == {"Content-Type": ["application/json"]}
    assert body["response_headers"] == {"X-Request-Id": ["abc"]}
    assert body["request_body"] == '{"model":"gpt-4o-mini"}'
    assert body["response_body"] == '{"id":"chatcmpl-1"}'
    assert body["metadata"] == metadata
    assert (body["org_id"], body["workspace_id"], body["gateway_key_id"]) == (
        "org-a",
        "ws-a",
        "gk-1",
    )


def test_detail_omits_what_was_not_captured(api):
    api.seed([_at(1, id="bare")])
    body = api.get("/api/traces/bare").json()
    for absent in ("request_body", "response_body", "trace_group_id", "api_key_hash"):
        assert absent not in body
    assert body["lineage"] == {"checkpoint_id": "bare", "immutable": True}


def test_unknown_trace_and_bad_paths_are_404(api):
    assert api.get("/api/traces/nope").json() == {"error": "trace not found", "code": "not_found"}
    assert api.get("/api/traces/nope").status_code == 404
    for path in ("/api/traces/", "/api/traces/a/b/c", "/api/traces/a/explode"):
        assert api.get(path).status_code == 404, path


def test_reads_scoped_to_a_tenant_do_not_see_other_tenants(backend):
    seed(
        backend,
        [
            _at(2, id="mine", org_id="org-a", workspace_id="ws-a"),
            _at(1, id="theirs", org_id="org-b", workspace_id="ws-a"),
        ],
    )
    mine = Tenant("org-a", "ws-a")

    async def read() -> tuple[Any, ...]:
        engine = create_engine_for(backend.driver, backend.path, backend.dsn)
        try:
            queries = TraceQueries(engine)
            page = await queries.page(TraceFilter(tenant=mine), 50)
            return (
                [r.id for r in page.items],
                await queries.get("theirs", mine),
                (await queries.get("mine", mine)) is not None,
            )
        finally:
            await engine.dispose()

    listed, other, own = run_in_thread(read)
    assert listed == ["mine"]
    assert other is None
    assert own


# --- replay ------------------------------------------------------------------------------------
def _step(trace_id: str, seconds_ago: float, seq: int | None, parent: str = "", **extra: Any):
    metadata: dict[str, Any] = {
        "lineage_group_id": "grp",
        "lineage_thread_id": "th",
        "lineage_run_id": "run",
        "lineage_checkpoint_id": trace_id,
        **extra,
    }
    if seq is not None:
        metadata["lineage_checkpoint_seq"] = seq
    if parent:
        metadata["lineage_parent_checkpoint_id"] = parent
    return _at(seconds_ago, id=trace_id, trace_group_id="grp", metadata=metadata)


def test_replay_returns_history_up_to_the_target(api):
    api.seed([_step("trace-1", 3, 1), _step("trace-2", 2, 2, "trace-1"), _step("trace-3", 1, 3)])

    body = api.get("/api/traces/trace-2/replay").json()

    assert [c["id"] for c in body["checkpoints"]] == ["trace-1", "trace-2"]
    assert body["source_trace_id"] == "trace-2"
    assert body["target_checkpoint_id"] == "trace-2"
    assert body["truncated"] is False
    assert body["lineage"]["checkpoint_seq"] == 2
    assert body["lineage"]["group_id"] == "grp"
    assert body["target_trace"]["id"] == "trace-2"
    assert set(body["checkpoints"][0]) == {
        "id",
        "timestamp",
        "provider",
        "model",
        "request_method",
        "request_path",
        "response_status",
        "total_tokens",
        "latency_ms",
        "created_at",
        "lineage",
    }


def test_replay_rebuilds_an_out_of_order_lineage(api):
    api.seed([_step("s3", 30, 3, "s2"), _step("s1", 10, None), _step("s2", 20, None, "s1")])
    body = api.get("/api/traces/s1/replay?checkpoint_id=s3").json()
    assert [c["id"] for c in body["checkpoints"]] == ["s1", "s2", "s3"]
    assert body["target_trace"]["id"] == "s3"
    assert body["target_trace"]["lineage"]["checkpoint_seq"] == 3


def test_replay_of_a_trace_without_lineage_is_itself(api):
    api.seed([_at(1, id="alone")])
    body = api.get("/api/traces/alone/replay").json()
    assert [c["id"] for c in body["checkpoints"]] == ["alone"]
    assert body["lineage"] == {"checkpoint_id": "alone", "immutable": True}


def test_replay_marks_truncated_when_capped_at_the_target(api):
    api.seed([_step(f"s{i}", 100 - i, i) for i in range(1, 8)])
    body = api.get("/api/traces/s3/replay?limit=3&checkpoint_id=s7").json()
    assert body["truncated"] is True
    assert [c["id"] for c in body["checkpoints"]][-1] == "s7"


def test_replay_errors(api):
    api.seed([_step("s1", 2, 1)])
    missing = api.get("/api/traces/s1/replay?checkpoint_id=elsewhere")
    assert (missing.status_code, missing.json()["error"]) == (404, "checkpoint not found")
    assert api.get("/api/traces/none/replay").json()["error"] == "trace not found"
    bad = api.get("/api/traces/s1/replay?limit=501")
    assert (bad.status_code, bad.json()["error"]) == (400, "limit must be <= 500")


# --- fork --------------------------------------------------------------------------------------
def test_fork_continues_the_lineage_from_the_checkpoint(api):
    api.seed([_step("trace-1", 2, 1), _step("trace-2", 1, 2, "trace-1")])

    response = api.post("/api/traces/trace-2/fork")

    assert response.status_code == 200
    body = response.json()
    assert body["fork_id"].startswith("fork_") and len(body["fork_id"]) == 21
    assert body["source_trace_id"] == "trace-2"
    assert body["source_checkpoint_id"] == "trace-2"
    lineage = body["lineage"]
    assert lineage["checkpoint_seq"] == 3
    assert lineage["group_id"] == "grp"
    assert lineage["thread_id"] == "th"
    assert lineage["parent_checkpoint_id"] == "trace-2"
    assert lineage["run_id"].startswith("run_") and len(lineage["run_id"]) == 20
    assert body["headers"] == {
        "X-OngoingAI-Trace-Group-ID": "grp",
        "X-OngoingAI-Thread-ID": "th",
        "X-OngoingAI-Run-ID": lineage["run_id"],
        "X-OngoingAI-Parent-Checkpoint-ID": "trace-2",
        "X-OngoingAI-Checkpoint-Seq": "3",
    }
    assert len(api.get("/api/traces").json()["items"]) == 2  # nothing was written


def test_fork_from_an_earlier_checkpoint_with_overrides(api):
    api.seed([_step("trace-1", 2, 1), _step("trace-2", 1, 2, "trace-1")])
    body = api.post(
        "/api/traces/trace-2/fork",
        json={"checkpoint_id": "trace-1", "thread_id": "alt", "run_id": "run-x"},
    ).json()
    assert body["source_checkpoint_id"] == "trace-1"
    assert body["lineage"] == {
        "group_id": "grp",
        "thread_id": "alt",
        "run_id": "run-x",
        "parent_checkpoint_id": "trace-1",
        "checkpoint_seq": 2,
    }


def test_fork_of_a_plain_trace_starts_a_new_lineage(api):
    api.seed([_at(1, id="plain")])
    lineage = api.post("/api/traces/plain/fork", content=b"").json()["lineage"]
    assert (lineage["group_id"], lineage["thread_id"], lineage["checkpoint_seq"]) == (
        "plain",
        "thread_plain",
        1,
    )


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b'{"checkpoint_id":"x","extra":1}', 400, "invalid fork request body"),
        (b'{"thread_id":"a"} {"run_id":"b"}', 400, "invalid fork request body"),
        (b'{"thread_id":', 400, "invalid fork request body"),
        (b'["thread_id"]', 400, "invalid fork request body"),
        (b'{"thread_id": 5}', 400, "invalid fork request body"),
        (b'{"thread_id":"' + b"x" * 17000 + b'"}', 413, "fork request body too large"),
    ],
)
def test_fork_body_validation(api, content, status, message):
    api.seed([_at(1, id="src")])
    response = api.post("/api/traces/src/fork", content=content)
    assert response.status_code == status
    assert response.json()["error"] == message


def test_fork_refuses_a_checkpoint_of_another_group_or_missing(api):
    other = _at(1, id="other", trace_group_id="g2", metadata={"lineage_group_id": "g2"})
    api.seed([_step("trace-1", 2, 1), other])
    wrong = api.post("/api/traces/trace-1/fork", json={"checkpoint_id": "other"})
    assert (wrong.status_code, wrong.json()["error"]) == (
        400,
        "checkpoint must belong to the same trace lineage group",
    )
    missing = api.post("/api/traces/trace-1/fork", json={"checkpoint_id": "ghost"})
    assert (missing.status_code, missing.json()["error"]) == (404, "checkpoint not found")
    assert api.post("/api/traces/ghost/fork").status_code == 404


# --- HTTP behaviour ----------------------------------------------------------------------------
def test_methods_head_options_and_cors(api):
    api.seed([_at(1, id="t")])
    wrong = api.post("/api/traces")
    assert wrong.status_code == 405
    assert wrong.json() == {"error": "method not allowed", "code": "method_not_allowed"}
    assert wrong.headers["allow"] == "GET, HEAD, OPTIONS"
    head = api.client.head("/api/traces")
    assert head.status_code == 200 and head.content == b""
    assert api.client.head("/api/traces/t").status_code == 200
    preflight = api.client.options("/api/traces/t/fork")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "DELETE" in preflight.headers["access-control-allow-methods"]
    assert api.get("/api/traces").headers["access-control-allow-origin"] == "*"


def test_without_storage_the_trace_endpoints_answer_503(tmp_path, backend):
    with ApiServer(tmp_path, backend, storage=False) as api:
        for response in (api.get("/api/traces"), api.get("/api/traces/x")):
            assert response.status_code == 503
            assert response.json()["error"] == "trace store is not configured"
