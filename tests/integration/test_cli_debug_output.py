"""`ongoingai debug` output: the `debug-chain.v1` JSON, diffs, content flags and bundles.

Field by field against contract §1.6, on SQLite and PostgreSQL, through the installed CLI.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest

from ongoingai.engine.timefmt import parse_rfc3339
from tests.api_server import seed
from tests.integration.debug_cli import T0, DebugCli, lineage_meta, seed_chain, step
from tests.integration.storage.records import trace
from tests.integration.traces_db import Backend

CHECKPOINT_KEYS = [
    "step",
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
    "lineage",
    "metadata",
]


@pytest.fixture
def cli(tmp_path: Path, backend: Backend) -> DebugCli:
    return DebugCli(tmp_path, backend)


def _compact(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- the document ------------------------------------------------------------------------
def test_json_document_matches_the_contract_field_by_field(cli, backend):
    seed_chain(backend)
    out = cli("--trace-id", "trace-step-2", "--format", " JSON ")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert out.stdout == json.dumps(doc, indent=2) + "\n"  # 2-space indent + newline
    assert list(doc) == [
        "schema_version",
        "generated_at",
        "selection",
        "options",
        "source_trace_id",
        "source_timestamp",
        "source",
        "chain",
    ]
    assert doc["schema_version"] == "debug-chain.v1"
    generated = parse_rfc3339(doc["generated_at"])
    assert abs(dt.datetime.now(dt.UTC) - generated) < dt.timedelta(minutes=5)
    assert doc["selection"] == {"trace_id": "trace-step-2"}
    assert doc["options"] == {
        "limit": 200,
        "include_diff": False,
        "include_headers": False,
        "include_bodies": False,
    }
    assert doc["source_trace_id"] == "trace-step-2"
    assert doc["source_timestamp"] == "2026-02-18T12:00:02Z"
    chain = doc["chain"]
    assert list(chain) == [
        "group_id",
        "thread_id",
        "run_id",
        "target_checkpoint_id",
        "checkpoint_count",
        "truncated",
        "checkpoints",
        "lineage_identifier",
    ]
    assert chain["target_checkpoint_id"] == "trace-step-2"
    assert (chain["checkpoint_count"], chain["truncated"]) == (3, False)
    second = chain["checkpoints"][1]
    assert list(second) == CHECKPOINT_KEYS
    assert doc["source"] == second | {"step": 0}
    assert second == {
        "step": 2,
        "id": "trace-step-2",
        "timestamp": "2026-02-18T12:00:02Z",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request_method": "POST",
        "request_path": "/openai/v1/chat/completions",
        "response_status": 200,
        "input_tokens": 20,
        "output_tokens": 10,
        "total_tokens": 30,
        "cache_read_input_tokens": 0,
        "cache_write_input_tokens": 0,
        "reasoning_tokens": 0,
        "latency_ms": 200,
        "time_to_first_token_ms": 0,
        "time_to_first_token_us": 0,
        "estimated_cost_usd": 0.0002,
        "created_at": "2026-02-18T12:00:02Z",
        "lineage": {
            "group_id": "group-1",
            "thread_id": "thread-1",
            "run_id": "run-1",
            "checkpoint_id": "trace-step-2",
            "parent_checkpoint_id": "trace-step-1",
            "checkpoint_seq": 2,
            "immutable": True,
        },
        "metadata": lineage_meta("trace-step-2", parent="trace-step-1", seq=2),
    }
    assert list(second["metadata"]) == sorted(second["metadata"])  # same bytes on both backends
    assert [c["step"] for c in chain["checkpoints"]] == [1, 2, 3]


def test_checkpoint_lineage_defaults_and_precise_times(cli, backend):
    seed(
        backend,
        [
            trace(
                id="plain",
                timestamp=T0 + dt.timedelta(microseconds=120000),
                metadata={"lineage_immutable": " FALSE ", "lineage_checkpoint_seq": 0},
                cache_read_input_tokens=7,
                cache_write_input_tokens=3,
                reasoning_tokens=2,
                input_tokens=20,
                output_tokens=4,
                time_to_first_token_ms=42,
            )
        ],
    )
    doc = cli.json()
    (only,) = doc["chain"]["checkpoints"]
    assert only["lineage"] == {"checkpoint_id": "plain", "immutable": False}
    assert (only["timestamp"], only["created_at"]) == ("2026-02-18T12:00:00.12Z",) * 2
    assert doc["source_timestamp"] == "2026-02-18T12:00:00.12Z"
    assert (only["time_to_first_token_ms"], only["time_to_first_token_us"]) == (42, 42000)
    assert (
        only["cache_read_input_tokens"],
        only["cache_write_input_tokens"],
        only["reasoning_tokens"],
        only["total_tokens"],
    ) == (7, 3, 2, 24)


def test_a_trace_without_metadata_has_no_metadata_key(cli, backend):
    seed(backend, [trace(id="bare", timestamp=T0)])
    (only,) = cli.json()["chain"]["checkpoints"]
    assert "metadata" not in only
    assert "api_key_hash" not in only


# --- diffs ---------------------------------------------------------------------------------
REQ_HEADERS = {"Content-Type": ["application/json"], "X-Trace": ["1", "2"]}


def _diff_pair(backend: Backend) -> None:
    before = trace(
        id="d-1",
        trace_group_id="dg",
        timestamp=T0,
        input_tokens=10,
        output_tokens=5,
        cache_read_input_tokens=2,
        cache_write_input_tokens=1,
        latency_ms=100,
        estimated_cost_usd=Decimal("0.0001"),
        request_headers=REQ_HEADERS,
        response_headers={"X-Request-Id": ["r1"]},
        request_body="héllo",
        response_body="ok",
        metadata=lineage_meta("d-1", group="dg", seq=1)
        | {"a": 1, "same": "x", "gone": True, "nested": {"k": [1, 2], "j": "v"}},
    )
    after = trace(
        id="d-2",
        trace_group_id="dg",
        timestamp=T0 + dt.timedelta(seconds=1),
        provider="anthropic",
        model="claude-sonnet-4-20250514",
        request_method="PUT",
        request_path="/anthropic/v1/messages",
        response_status=429,
        input_tokens=7,
        output_tokens=9,
        cache_write_input_tokens=4,
        reasoning_tokens=3,
        latency_ms=40,
        estimated_cost_usd=Decimal("0.00025"),
        request_headers=REQ_HEADERS,
        response_headers={"X-Request-Id": ["r2"], "Retry-After": ["3"]},
        request_body="héllo",
        metadata=lineage_meta("d-2", group="dg", parent="d-1", seq=2)
        | {"a": 2, "same": "x", "new": None, "nested": {"j": "v", "k": [1, 2]}},
    )
    seed(backend, [after, before])


EXPECTED_EDGE = {
    "from_checkpoint_id": "d-1",
    "to_checkpoint_id": "d-2",
    "provider_changed": True,
    "model_changed": True,
    "request_method_changed": True,
    "request_path_changed": True,
    "response_status_changed": True,
    "input_tokens_delta": -3,
    "output_tokens_delta": 4,
    "total_tokens_delta": 1,
    "cache_read_input_tokens_delta": -2,
    "cache_write_input_tokens_delta": 3,
    "reasoning_tokens_delta": 3,
    "latency_delta_ms": -60,
    "estimated_cost_delta_usd": 0.00015,
    "request_headers_changed": False,
    "response_headers_changed": True,
    "request_body_changed": False,
    "response_body_changed": True,
    "request_headers_bytes_from": len(_compact(REQ_HEADERS)),
    "request_headers_bytes_to": len(_compact(REQ_HEADERS)),
    "response_headers_bytes_from": len(_compact({"X-Request-Id": ["r1"]})),
    "response_headers_bytes_to": len(_compact({"Retry-After": ["3"], "X-Request-Id": ["r2"]})),
    "request_body_bytes_from": 6,  # UTF-8 bytes, not characters
    "request_body_bytes_to": 6,
    "response_body_bytes_from": 2,
    "response_body_bytes_to": 0,
    "metadata_keys_added": ["lineage_parent_checkpoint_id", "new"],
    "metadata_keys_removed": ["gone"],
    "metadata_keys_changed": ["a", "lineage_checkpoint_id", "lineage_checkpoint_seq"],
}


def test_diff_edges_field_by_field_without_revealing_content(cli, backend):
    _diff_pair(backend)
    doc = cli.json("--diff")
    assert doc["options"]["include_diff"] is True
    assert doc["diffs"] == [EXPECTED_EDGE]
    assert list(doc["diffs"][0]) == list(EXPECTED_EDGE)
    for checkpoint in doc["chain"]["checkpoints"]:
        assert not {"request_headers", "response_headers", "request_body", "response_body"} & set(
            checkpoint
        )
    assert "héllo" not in json.dumps(doc, ensure_ascii=False)


def test_diff_key_lists_are_omitted_when_empty(cli, backend):
    seed(backend, [step(1), step(2)])
    (edge,) = cli.json("--diff")["diffs"]
    assert edge["metadata_keys_added"] == ["lineage_parent_checkpoint_id"]
    assert "metadata_keys_removed" not in edge
    assert edge["request_body_changed"] is False


DIFF_COLUMNS = [
    "FROM",
    "TO",
    "TOTAL_TOKENS_DELTA",
    "LATENCY_DELTA_MS",
    "PATH_CHANGED",
    "MODEL_CHANGED",
    "STATUS_CHANGED",
    "REQUEST_BODY_CHANGED",
    "RESPONSE_BODY_CHANGED",
    "METADATA_KEYS_CHANGED",
]


def test_diff_text_table_folds_to_80_columns_and_lists_metadata_keys(cli, backend):
    _diff_pair(backend)
    lines = cli.text("--diff").splitlines()
    at = lines.index("Diffs")
    assert lines[at - 1] == ""
    bands = next(i for i, line in enumerate(lines[at + 1 :]) if line.startswith("d-1"))
    header, row = lines[at + 1 : at + 1 + bands], lines[at + 1 + bands : at + 1 + 2 * bands]
    assert 1 < bands < len(DIFF_COLUMNS)  # the contract's columns do not fit one line
    assert " ".join(header).split() == DIFF_COLUMNS
    values = ["d-1", "d-2", "1", "-60", "true", "true", "true", "false", "true", "3"]
    assert " ".join(row).split() == values
    assert all(len(line) <= 80 for line in header + row)
    assert all(line.startswith("  ") for line in header[1:] + row[1:])  # continuation lines
    # Each value sits under its column: numbers right-aligned, flags left-aligned.
    first_header, first_row = header[0], row[0]
    assert first_row.index("d-2") == first_header.index("TO")
    delta_end = first_header.index("TOTAL_TOKENS_DELTA") + len("TOTAL_TOKENS_DELTA")
    assert first_row[delta_end - 1] == "1"
    assert lines[at + 1 + 2 * bands :] == [
        "",
        "Diff d-1 -> d-2 metadata keys",
        "added    lineage_parent_checkpoint_id,new",
        "removed  gone",
        "changed  a,lineage_checkpoint_id,lineage_checkpoint_seq",
    ]


def test_text_replaces_control_characters_from_stored_values(cli, backend):
    seed(
        backend,
        [
            trace(
                id="evil",
                timestamp=T0,
                model="gpt\x1b[2Jx",
                metadata={"note": "\x9bclear"},
                response_body="data: a\n\ndata: \x1b]0;title\x07",
            )
        ],
    )
    text = cli.text("--include-bodies")
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "model               gpt?[2Jx\n" in text
    assert "response_body: data: a\n\ndata: ?]0;title?\n" in text


def test_diff_of_a_single_checkpoint_is_empty(cli, backend):
    seed(backend, [trace(id="solo", timestamp=T0)])
    doc = cli.json("--diff")
    assert "diffs" not in doc
    assert cli.text("--diff").endswith("\nDiffs\n(no checkpoint diffs)\n")
    assert "Diffs" not in cli.text()


# --- headers and bodies ------------------------------------------------------------------
def test_include_headers_shows_stored_headers_only(cli, backend):
    _diff_pair(backend)
    first, second = cli.json("--include-headers")["chain"]["checkpoints"]
    assert first["request_headers"] == _compact(REQ_HEADERS)
    assert second["response_headers"] == '{"Retry-After":["3"],"X-Request-Id":["r2"]}'
    assert "request_body" not in first
    assert "response_body" not in first
    text = cli.text("--include-headers")
    assert f"request_headers: {_compact(REQ_HEADERS)}\n" in text
    assert "request_body:" not in text


def test_include_bodies_shows_stored_bodies_only(cli, backend):
    _diff_pair(backend)
    doc = cli.json("--include-bodies")
    first, second = doc["chain"]["checkpoints"]
    assert (first["request_body"], first["response_body"]) == ("héllo", "ok")
    assert second["request_body"] == "héllo"
    assert "response_body" not in second  # nothing stored
    assert "request_headers" not in first
    assert doc["options"]["include_bodies"] is True
    text = cli.text("--include-bodies", "--include-headers")
    assert "request_body: héllo\nresponse_body: ok\n" in text
    assert "response_headers: " in text


# --- bundles -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "mode", "selection"),
    [
        ([], "latest", {}),
        (["--trace-id", "trace-step-1"], "trace_id", {"trace_id": "trace-step-1"}),
        (["--run-id", "run-1"], "filter", {"run_id": "run-1"}),
    ],
)
def test_bundle_holds_the_document_and_a_verifiable_manifest(
    cli, backend, tmp_path, args, mode, selection
):
    seed_chain(backend)
    target = tmp_path / "bundles" / "nested"
    out = cli(*args, "--diff", "--format", "json", "--bundle-out", f" {target} ")
    assert out.returncode == 0, out.stderr
    manifest_path = target / "manifest.json"
    assert out.stderr == f"wrote debug bundle: {manifest_path}\n"
    chain_bytes = (target / "debug-chain.json").read_bytes()
    assert chain_bytes == out.stdout.encode()  # the same document, byte for byte
    raw_manifest = manifest_path.read_text()
    manifest = json.loads(raw_manifest)
    assert raw_manifest == json.dumps(manifest, indent=2) + "\n"
    parse_rfc3339(manifest.pop("generated_at"))
    doc = json.loads(chain_bytes)
    assert manifest == {
        "schema_version": "debug-bundle.v1",
        "selection_mode": mode,
        "selection": selection,
        "limit": 200,
        "include_diff": True,
        "include_bodies": False,
        "include_headers": False,
        "chain": {
            "source_trace_id": doc["source_trace_id"],
            "checkpoint_count": 3,
            "truncated": False,
            "diff_count": 2,
            "target_checkpoint_id": doc["source_trace_id"],
        },
        "files": [
            {
                "name": "debug-chain.json",
                "bytes": len(chain_bytes),
                "sha256": hashlib.sha256(chain_bytes).hexdigest(),
            }
        ],
    }
    assert len(doc["diffs"]) == 2


def test_bundle_from_text_output_still_writes_json(cli, backend, tmp_path):
    seed_chain(backend)
    out = cli("--include-bodies", "--bundle-out", str(tmp_path / "b"))
    assert out.returncode == 0
    assert out.stdout.startswith("OngoingAI Debug Chain\n")
    doc = json.loads((tmp_path / "b" / "debug-chain.json").read_text())
    assert doc["options"]["include_bodies"] is True
    assert "diffs" not in doc


def test_bundle_into_an_existing_file_fails_with_exit_1(cli, backend, tmp_path):
    seed_chain(backend)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("keep me")
    out = cli("--bundle-out", str(blocker))
    assert out.returncode == 1
    assert out.stderr.startswith(
        f'failed to write debug bundle: create bundle directory "{blocker}": '
    ), out.stderr
    assert len(out.stderr.splitlines()) == 1
    assert blocker.read_text() == "keep me"
    assert out.stdout.startswith("OngoingAI Debug Chain\n")  # output comes first, as original
