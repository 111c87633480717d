"""`ongoingai debug`: selection, chain filters, truncation, text layout, errors (contract §1.6).

Every test runs the installed CLI in a subprocess against real storage, once on SQLite and
once on PostgreSQL; no gateway is running.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import secrets
from pathlib import Path

import pytest

from tests.api_server import seed
from tests.integration.debug_cli import T0, DebugCli, lineage_meta, seed_chain, step
from tests.integration.storage.records import trace
from tests.integration.traces_db import Backend

STEPS = ["trace-step-1", "trace-step-2", "trace-step-3"]


@pytest.fixture
def cli(tmp_path: Path, backend: Backend) -> DebugCli:
    return DebugCli(tmp_path, backend)


def _ids(doc: dict) -> list[str]:
    return [checkpoint["id"] for checkpoint in doc["chain"]["checkpoints"]]


# --- usage errors: exit 2 before config or storage are touched ----------------------------
USAGE = [
    (["one", "two"], "debug accepts at most one positional argument: last"),
    (["last", "one", "two"], "debug accepts at most one positional argument: last"),
    (["first"], 'debug positional argument must be "last"'),
    (["last", "first"], 'debug positional argument must be "last"'),
    (
        ["last", "--trace-id", "x"],
        'debug "last" cannot be combined with --trace-id, --trace-group-id, --thread-id, '
        "or --run-id",
    ),
    (
        ["--thread-id", "t", "last"],
        'debug "last" cannot be combined with --trace-id, --trace-group-id, --thread-id, '
        "or --run-id",
    ),
    (
        ["--trace-id", "x", "--run-id", "r"],
        "trace-id cannot be combined with trace-group-id/thread-id/run-id filters",
    ),
    (
        ["--trace-id", "x", "--trace-group-id", "g"],
        "trace-id cannot be combined with trace-group-id/thread-id/run-id filters",
    ),
    (["--format", "yaml"], 'invalid debug format "yaml": expected text or json'),
    (["--limit", "0"], "limit must be between 1 and 500"),
    (["--limit", "501"], "limit must be between 1 and 500"),
]


@pytest.mark.parametrize(("args", "message"), USAGE, ids=[m for _, m in USAGE])
def test_usage_errors_exit_2_with_the_contract_message(tmp_path, backend, args, message):
    # A broken config proves the usage checks come first.
    (tmp_path / "ongoingai.yaml").write_text("server: [unclosed\n")
    out = DebugCli(tmp_path, backend)(*args)
    assert (out.returncode, out.stderr, out.stdout) == (2, message + "\n", "")


@pytest.mark.parametrize("args", [["--limit", "x"], ["--bogus"], ["--diff=yes"]])
def test_malformed_flags_exit_2(cli, args):
    out = cli(*args)
    assert out.returncode == 2
    assert out.stdout == ""


def test_help_lists_every_flag(cli):
    out = cli("--help")
    for flag in (
        "--config",
        "--trace-id",
        "--trace-group-id",
        "--thread-id",
        "--run-id",
        "--format",
        "--limit",
        "--diff",
        "--bundle-out",
        "--include-headers",
        "--include-bodies",
    ):
        assert flag in out.stdout


# --- failures: exit 1 ----------------------------------------------------------------------
def test_empty_store_is_no_traces_found(cli):
    for args in ([], ["last"], ["--trace-group-id", "nothing"]):
        out = cli(*args)
        assert (out.returncode, out.stderr, out.stdout) == (1, "no traces found in storage\n", "")


def test_unknown_trace_id_is_trace_not_found(cli, backend):
    seed_chain(backend)
    out = cli("--trace-id", "no-such-trace")
    assert (out.returncode, out.stderr, out.stdout) == (1, "trace not found\n", "")


def test_config_failures_exit_1_with_the_stage_that_failed(cli, tmp_path):
    config = tmp_path / "ongoingai.yaml"
    config.write_text("server: [unclosed\n")
    out = cli()
    assert out.returncode == 1
    assert out.stderr.startswith("failed to load config: ")
    config.write_text("server:\n  port: 0\n")
    out = cli()
    assert out.returncode == 1
    assert out.stderr.startswith("config is invalid: ")


def test_storage_that_cannot_be_opened_exits_1(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    for backend in (
        Backend("sqlite", path=str(blocker / "traces.db")),
        Backend("postgres", dsn="postgresql://nobody:secret@127.0.0.1:1/none"),
    ):
        out = DebugCli(tmp_path, backend)()
        assert out.returncode == 1
        assert out.stderr.startswith("failed to initialize trace store"), out.stderr
        assert len(out.stderr.splitlines()) == 1
        assert "secret" not in out.stderr


def test_a_stdout_that_fails_is_exit_1_failed_to_write_debug_output(cli, backend):
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    seed_chain(backend)
    with Path("/dev/full").open("w") as full:
        out = cli(stdout=full)
    assert out.returncode == 1
    assert out.stderr.startswith("failed to write debug output: "), out.stderr


# --- source selection and the chain ----------------------------------------------------------
@pytest.mark.parametrize("args", [[], ["last"], ["last", "--format", "json"], ["--diff", "last"]])
def test_last_is_the_newest_trace_and_its_lineage_chain(cli, backend, args):
    seed_chain(backend)
    doc = cli.json(*args)
    assert doc["source_trace_id"] == "trace-step-3"
    assert doc["selection"] == {}
    assert _ids(doc) == STEPS
    assert doc["chain"]["lineage_identifier"] == "trace_group_id"
    assert (doc["chain"]["group_id"], doc["chain"]["thread_id"], doc["chain"]["run_id"]) == (
        "group-1",
        "thread-1",
        "run-1",
    )


def test_debug_last_text_shows_each_step_with_its_lineage(cli, backend):
    seed_chain(backend)
    text = cli.text("last")
    assert text.startswith("OngoingAI Debug Chain\n")
    assert "checkpoint=trace-step-2 parent=trace-step-1 seq=2" in text
    assert re.findall(r"^Step (\d+): (\S+)$", text, re.M) == [
        ("1", "trace-step-1"),
        ("2", "trace-step-2"),
        ("3", "trace-step-3"),
    ]


def test_trace_id_picks_the_source_and_its_derived_chain(cli, backend):
    seed_chain(backend)
    doc = cli.json("--trace-id", " trace-step-1 ")
    assert doc["selection"] == {"trace_id": "trace-step-1"}
    assert doc["source_trace_id"] == doc["chain"]["target_checkpoint_id"] == "trace-step-1"
    assert doc["source"]["step"] == 0
    assert _ids(doc) == STEPS


def test_the_lineage_order_wins_over_storage_order(cli, backend):
    # Sequences 3, 1, 2 with timestamps reversed: the sequence decides (contract §4.8).
    seed(
        backend,
        [
            step(1, timestamp=T0 + dt.timedelta(seconds=3)),
            step(2, timestamp=T0 + dt.timedelta(seconds=1)),
            step(3, timestamp=T0 + dt.timedelta(seconds=2)),
        ],
    )
    doc = cli.json()
    assert doc["source_trace_id"] == "trace-step-1"
    assert _ids(doc) == STEPS


# (flags, lineage_identifier, newest match = source, chain in lineage order)
FILTERS = [
    (
        ["--trace-group-id", "group-1"],
        "trace_group_id",
        "trace-step-3",
        [*STEPS, "other-thread", "alt-run"],
    ),
    (["--thread-id", "thread-1"], "lineage_thread_id", "trace-step-3", [*STEPS, "alt-run"]),
    (["--run-id", "run-1"], "lineage_run_id", "trace-step-3", STEPS),
    (["--run-id", "run-3"], "lineage_run_id", "other-thread", ["other-thread"]),
    (
        ["--trace-group-id", "group-1", "--thread-id", "thread-2"],
        "composite_filter",
        "other-thread",
        ["other-thread"],
    ),
    (["--thread-id", "thread-1", "--run-id", "run-2"], "composite_filter", "alt-run", ["alt-run"]),
    (
        ["--trace-group-id", "group-1", "--thread-id", "thread-1", "--run-id", "run-1"],
        "composite_filter",
        "trace-step-3",
        STEPS,
    ),
]
_FLAG_KEYS = {
    "--trace-group-id": "trace_group_id",
    "--thread-id": "thread_id",
    "--run-id": "run_id",
}


@pytest.mark.parametrize(("args", "identifier", "source", "expected"), FILTERS)
def test_chain_filters_are_anded_and_name_the_identifier(
    cli, backend, args, identifier, source, expected
):
    seed_chain(backend)
    doc = cli.json(*args)
    selection = {_FLAG_KEYS[flag]: value for flag, value in zip(args[::2], args[1::2], strict=True)}
    assert doc["selection"] == selection
    assert doc["chain"]["lineage_identifier"] == identifier
    assert {k: doc["chain"].get(k) for k in ("group_id", "thread_id", "run_id")} == {
        "group_id": selection.get("trace_group_id"),
        "thread_id": selection.get("thread_id"),
        "run_id": selection.get("run_id"),
    }
    assert doc["source_trace_id"] == source
    assert _ids(doc) == expected
    assert doc["chain"]["checkpoint_count"] == len(expected)
    text = cli.text(*args)
    assert f"Chain identifier        {identifier}\n" in text
    for key, value in selection.items():
        assert f"Filter {key}".ljust(24) + value + "\n" in text


def test_a_trace_without_lineage_is_a_single_trace_chain(cli, backend):
    seed_chain(backend)
    doc = cli.json("--trace-id", "lonely")
    chain = doc["chain"]
    assert chain["lineage_identifier"] == "(single trace)"
    assert not {"group_id", "thread_id", "run_id"} & chain.keys()
    assert _ids(doc) == ["lonely"]
    assert chain["truncated"] is False
    assert "Chain identifier        (single trace)" in cli.text("--trace-id", "lonely")


def test_a_thread_only_source_chains_by_thread(cli, backend):
    seed(
        backend,
        [
            trace(id=f"t{i}", timestamp=T0 + dt.timedelta(seconds=i), metadata=meta)
            for i, meta in enumerate(
                [
                    lineage_meta("t0", group="", run="", thread="only-thread"),
                    lineage_meta("t1", group="", run="", thread="only-thread"),
                    lineage_meta("t2", group="", thread="", run="only-run"),
                ]
            )
        ],
    )
    assert cli.json("--trace-id", "t0")["chain"]["lineage_identifier"] == "lineage_thread_id"
    assert _ids(cli.json("--trace-id", "t0")) == ["t0", "t1"]
    assert cli.json("--trace-id", "t2")["chain"]["lineage_identifier"] == "lineage_run_id"


def test_the_group_column_stands_in_for_missing_group_metadata(cli, backend):
    seed(
        backend,
        [
            trace(id="a", trace_group_id="col-group", timestamp=T0),
            trace(id="b", trace_group_id="col-group", timestamp=T0 + dt.timedelta(seconds=1)),
        ],
    )
    doc = cli.json()
    assert doc["chain"]["group_id"] == "col-group"
    assert _ids(doc) == ["a", "b"]


# --- limit, paging, truncation ----------------------------------------------------------------
def _group(n: int, group: str = "big") -> list:
    return [
        trace(
            id=f"{group}-{i:04d}",
            trace_group_id=group,
            timestamp=T0 + dt.timedelta(seconds=i),
        )
        for i in range(n)
    ]


def test_limit_truncates_and_the_source_is_always_included(cli, backend):
    seed(backend, _group(5))
    newest = cli.json("--limit", "2")
    assert newest["chain"]["truncated"] is True
    assert _ids(newest) == ["big-0003", "big-0004"]
    assert newest["options"]["limit"] == 2
    oldest = cli.json("--trace-id", "big-0000", "--limit", "2")
    assert oldest["chain"]["truncated"] is True
    assert _ids(oldest) == ["big-0000", "big-0003", "big-0004"]
    assert oldest["chain"]["checkpoint_count"] == 3
    exact = cli.json("--limit", "5")
    assert exact["chain"]["truncated"] is False
    assert len(_ids(exact)) == 5


def test_chains_longer_than_a_page_are_read_page_by_page(cli, backend):
    seed(backend, _group(450))
    whole = cli.json("--limit", "500")
    assert whole["chain"]["checkpoint_count"] == 450
    assert whole["chain"]["truncated"] is False
    assert _ids(whole) == [f"big-{i:04d}" for i in range(450)]
    capped = cli.json("--limit", "300")
    assert capped["chain"]["checkpoint_count"] == 300
    assert capped["chain"]["truncated"] is True
    assert _ids(capped) == [f"big-{i:04d}" for i in range(150, 450)]
    default = cli.json()
    assert (default["chain"]["checkpoint_count"], default["options"]["limit"]) == (200, 200)


# --- text layout --------------------------------------------------------------------------
def test_text_layout_lists_the_contract_keys_in_order(cli, backend):
    seed_chain(backend)
    text = cli.text("--trace-id", "trace-step-2")
    keys = [
        "Schema version",
        "Generated at",
        "Filter trace_id",
        "Filter trace_group_id",
        "Filter thread_id",
        "Filter run_id",
        "Option limit",
        "Option include_diff",
        "Option include_headers",
        "Option include_bodies",
        "Source trace",
        "Source time",
        "Source provider",
        "Source model",
        "Source path",
        "Source status",
        "Chain identifier",
        "Chain group_id",
        "Chain thread_id",
        "Chain run_id",
        "Chain checkpoints",
        "Truncated",
    ]
    lines = text.splitlines()
    block = lines[1 : 1 + len(keys)]
    assert [line[:24].rstrip() for line in block] == keys
    # One value column: the longest key plus two spaces.
    assert all(line[22:24] == "  " and line[24] != " " for line in block)
    values = {line[:24].rstrip(): line[24:] for line in block}
    assert values["Schema version"] == "debug-chain.v1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", values["Generated at"])
    assert values["Filter trace_id"] == "trace-step-2"
    assert values["Filter trace_group_id"] == "(none)"
    assert values["Option limit"] == "200"
    assert values["Option include_diff"] == "false"
    assert values["Source time"] == "2026-02-18T12:00:02Z"
    assert values["Source path"] == "/openai/v1/chat/completions"
    assert values["Source status"] == "200"
    assert values["Chain identifier"] == "trace_group_id"
    assert values["Chain checkpoints"] == "3"
    assert values["Truncated"] == "false"
    assert cli.text().splitlines()[3] == "Filter trace_id         (latest)"


def test_text_step_block_has_every_line(cli, backend):
    seed(
        backend,
        [
            step(
                1,
                cache_read_input_tokens=4,
                reasoning_tokens=2,
                time_to_first_token_us=42123,
            )
        ],
    )
    text = cli.text()
    block = text.split("Step 1: trace-step-1\n", 1)[1].splitlines()
    assert block[:10] == [
        "time                2026-02-18T12:00:01Z",
        "provider            openai",
        "model               gpt-4o-mini",
        "request             POST /openai/v1/chat/completions",
        "response_status     200",
        "tokens              input=10 output=5 total=15 cache_read=4 cache_write=0",
        "                    reasoning=2",
        "estimated_cost_usd  0.000100",
        "latency_ms          100",
        "ttft_ms             43",
    ]
    assert block[10] == (
        "lineage             checkpoint=trace-step-1 parent=(none) seq=1 immutable=true"
    )
    assert block[11].startswith('metadata            {"lineage_checkpoint_id":"trace-step-1",')
    assert "Diffs" not in text


def test_text_fits_80_columns_and_wraps_metadata_as_rejoinable_json(cli, backend):
    ids = [secrets.token_hex(16) for _ in range(3)]
    stored = {}
    for i, trace_id in enumerate(ids):
        stored[trace_id] = lineage_meta(
            trace_id,
            group="g",
            parent=ids[i - 1] if i else "",
            seq=i + 1,
            correlation_id=secrets.token_hex(16),
            policy_revision="sha256:" + "ab" * 32,
            redaction_counts={"email": 2, "phone": 1},
        )
    seed(
        backend,
        [
            trace(
                id=trace_id,
                trace_group_id="g",
                timestamp=T0 + dt.timedelta(seconds=i),
                metadata=stored[trace_id],
            )
            for i, trace_id in enumerate(ids)
        ],
    )
    lines = cli.text("--diff").splitlines()
    # The contract's `Diff <id> -> <id> metadata keys` title alone is 87 with 32-char ids.
    titles = [f"Diff {a} -> {b} metadata keys" for a, b in itertools.pairwise(ids)]
    assert [line for line in lines if len(line) > 80] == titles
    # Long values wrap under their column and join back into exactly what is stored.
    shown = {}
    current = ""
    for index, line in enumerate(lines):
        if line.startswith("Step "):
            current = line.split(": ", 1)[1]
        if line.startswith(("metadata", "lineage")):
            pieces = [line[20:]]
            for cont in lines[index + 1 :]:
                if not cont.startswith(" " * 20):
                    break
                pieces.append(cont[20:])
            shown[(current, line.split()[0])] = pieces
    for i, trace_id in enumerate(ids):
        assert json.loads("".join(shown[(trace_id, "metadata")])) == stored[trace_id]
        parent = ids[i - 1] if i else "(none)"
        assert " ".join(shown[(trace_id, "lineage")]) == (
            f"checkpoint={trace_id} parent={parent} seq={i + 1} immutable=true"
        )


def test_stderr_is_quiet_when_piped(cli, backend):
    seed(backend, _group(450))
    out = cli("--limit", "500", "--diff")
    assert out.returncode == 0
    assert out.stderr == ""
