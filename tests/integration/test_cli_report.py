"""`ongoingai report` as an operator runs it: the real CLI, straight on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import os
import pty
import re
import select
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from ongoingai.engine.trace import TraceRecord
from tests.api_server import seed
from tests.gateway_proc import ONGOINGAI
from tests.integration.storage.records import trace
from tests.integration.traces_db import Backend

BASE = dt.datetime(2026, 2, 18, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
OPENAI_PATH = "/openai/v1/chat/completions"
ANTHROPIC_PATH = "/anthropic/v1/messages"
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
SECTIONS = ["Summary", "Providers", "Models", "API Keys", "Recent Traces"]


CLAUDE = "claude-sonnet-4-latest"
# The original's report test data: two Anthropic traces at the same instant, two OpenAI.
# id, minutes after BASE, provider, model, input, output, latency ms, key hash, cost USD
FIXTURE = [
    ("trace-openai", 0, "openai", "gpt-4o-mini", 12, 8, 145, "key-a", "0.00015"),
    ("trace-anthropic-1", 2, "anthropic", CLAUDE, 15, 10, 210, "key-anthropic", "0.00035"),
    ("trace-anthropic-2", 2, "anthropic", CLAUDE, 20, 15, 190, "key-b", "0.00045"),
    ("trace-openai-alt", 1, "openai", "gpt-4o", 5, 5, 150, "key-a", "0.00010"),
]


def contract_fixture() -> list[TraceRecord]:
    return [
        trace(
            id=id_,
            timestamp=BASE + minutes * MINUTE,
            provider=provider,
            model=model,
            request_path=ANTHROPIC_PATH if provider == "anthropic" else OPENAI_PATH,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            total_tokens=tokens_in + tokens_out,
            latency_ms=latency,
            api_key_hash=key_hash,
            estimated_cost_usd=Decimal(cost),
        )
        for id_, minutes, provider, model, tokens_in, tokens_out, latency, key_hash, cost in FIXTURE
    ]


class Report:
    """Runs the installed `ongoingai report` in a directory, with the backend's storage env."""

    def __init__(self, workdir: Path, backend: Backend | None = None) -> None:
        self.workdir = workdir
        self.backend = backend or Backend("sqlite", path=str(workdir / "unused.db"))
        self.storage_env = backend is not None

    @property
    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("ONGOINGAI_")}
        return {**clean, **(self.backend.env if self.storage_env else {})}

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [ONGOINGAI, "report", *args],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Traceback" not in out.stderr, out.stderr
        return out

    def json(self, *args: str) -> dict:
        out = self("--format", "json", *args)
        assert out.returncode == 0, out.stderr
        assert out.stderr == ""
        assert out.stdout.endswith("}\n")
        return json.loads(out.stdout)

    def text(self, *args: str) -> str:
        out = self(*args)
        assert out.returncode == 0, out.stderr
        assert out.stderr == ""
        return out.stdout


@pytest.fixture
def report(tmp_path: Path, backend: Backend) -> Report:
    return Report(tmp_path, backend)


@pytest.fixture
def seeded(report: Report) -> Report:
    seed(report.backend, contract_fixture())
    return report


def _storage(backend: Backend) -> dict:
    if backend.driver == "sqlite":
        return {"driver": "sqlite", "path": backend.path}
    return {"driver": "postgres"}


# --- report.v1 --------------------------------------------------------------------------------


def test_report_json_is_the_contract_document_field_by_field(seeded: Report):
    doc = seeded.json()

    assert RFC3339_UTC.match(doc.pop("generated_at"))
    assert doc == {
        "schema_version": "report.v1",
        "storage": _storage(seeded.backend),
        "filters": {"limit": 10},
        "summary": {
            "total_requests": 4,
            "total_input_tokens": 52,
            "total_output_tokens": 38,
            "total_tokens": 90,
            "total_cache_read_input_tokens": 0,
            "total_cache_write_input_tokens": 0,
            "total_reasoning_tokens": 0,
            "total_cost_usd": 0.00105,
            "active_keys": 3,
            "top_model": "claude-sonnet-4-latest",
        },
        "providers": [
            {
                "provider": "anthropic",
                "input_tokens": 35,
                "output_tokens": 25,
                "total_tokens": 60,
                "cache_read_input_tokens": 0,
                "cache_write_input_tokens": 0,
                "reasoning_tokens": 0,
                "total_cost_usd": 0.0008,
            },
            {
                "provider": "openai",
                "input_tokens": 17,
                "output_tokens": 13,
                "total_tokens": 30,
                "cache_read_input_tokens": 0,
                "cache_write_input_tokens": 0,
                "reasoning_tokens": 0,
                "total_cost_usd": 0.00025,
            },
        ],
        "models": [
            {
                "model": "claude-sonnet-4-latest",
                "request_count": 2,
                "avg_latency_ms": 200.0,
                "avg_ttft_ms": 0.0,
                "total_tokens": 60,
                "total_cost_usd": 0.0008,
            },
            {
                "model": "gpt-4o",
                "request_count": 1,
                "avg_latency_ms": 150.0,
                "avg_ttft_ms": 0.0,
                "total_tokens": 10,
                "total_cost_usd": 0.0001,
            },
            {
                "model": "gpt-4o-mini",
                "request_count": 1,
                "avg_latency_ms": 145.0,
                "avg_ttft_ms": 0.0,
                "total_tokens": 20,
                "total_cost_usd": 0.00015,
            },
        ],
        "api_keys": [
            {
                "api_key_hash": "key-a",
                "request_count": 2,
                "total_tokens": 30,
                "total_cost_usd": 0.00025,
                "last_active_at": "2026-02-18T12:01:00Z",
            },
            {
                "api_key_hash": "key-anthropic",
                "request_count": 1,
                "total_tokens": 25,
                "total_cost_usd": 0.00035,
                "last_active_at": "2026-02-18T12:02:00Z",
            },
            {
                "api_key_hash": "key-b",
                "request_count": 1,
                "total_tokens": 35,
                "total_cost_usd": 0.00045,
                "last_active_at": "2026-02-18T12:02:00Z",
            },
        ],
        "recent_traces": [
            _recent("trace-anthropic-2", "12:02:00", "anthropic", "claude-sonnet-4-latest", 35),
            _recent("trace-anthropic-1", "12:02:00", "anthropic", "claude-sonnet-4-latest", 25),
            _recent("trace-openai-alt", "12:01:00", "openai", "gpt-4o", 10),
            _recent("trace-openai", "12:00:00", "openai", "gpt-4o-mini", 20),
        ],
    }


def _recent(id_: str, clock: str, provider: str, model: str, tokens: int) -> dict:
    by_id = {r.id: r for r in contract_fixture()}
    record = by_id[id_]
    return {
        "id": id_,
        "timestamp": f"2026-02-18T{clock}Z",
        "provider": provider,
        "model": model,
        "response_status": 200,
        "total_tokens": tokens,
        "estimated_cost_usd": float(record.estimated_cost_usd),
        "latency_ms": record.latency_ms,
        "request_path": record.request_path,
    }


def test_report_json_is_two_space_indented_with_a_trailing_newline(seeded: Report):
    out = seeded("--format", "json")

    assert out.stdout.startswith('{\n  "schema_version": "report.v1",\n')
    assert out.stdout.endswith("\n}\n")


def test_report_echoes_date_only_bounds_as_the_whole_day(seeded: Report):
    doc = seeded.json("--from", "2026-02-18", "--to", "2026-02-18")

    assert doc["filters"] == {
        "from": "2026-02-18T00:00:00Z",
        "to": "2026-02-18T23:59:59.999999999Z",
        "limit": 10,
    }
    assert doc["summary"]["total_requests"] == 4


def test_report_leaves_out_filters_that_were_not_given(seeded: Report):
    doc = seeded.json("--provider", "  ", "--model", "")

    assert doc["filters"] == {"limit": 10}


def test_report_bounds_on_the_trace_timestamp_in_utc(seeded: Report):
    doc = seeded.json("--from", "2026-02-18T13:01:00+01:00", "--to", "2026-02-18T12:01:00Z")

    assert doc["filters"]["from"] == "2026-02-18T12:01:00Z"
    assert doc["filters"]["to"] == "2026-02-18T12:01:00Z"
    assert [t["id"] for t in doc["recent_traces"]] == ["trace-openai-alt"]
    assert doc["summary"]["total_requests"] == 1
    assert [k["api_key_hash"] for k in doc["api_keys"]] == ["key-a"]
    assert [p["provider"] for p in doc["providers"]] == ["openai"]


def test_report_bounds_keep_nanoseconds(seeded: Report):
    """A bound a nanosecond after a trace excludes it, as the original compares in ns."""
    doc = seeded.json(
        "--from", "2026-02-18T12:01:00.000000001Z", "--to", "2026-02-18T12:02:00.000000001Z"
    )

    assert doc["filters"]["from"] == "2026-02-18T12:01:00.000000001Z"
    assert doc["filters"]["to"] == "2026-02-18T12:02:00.000000001Z"
    assert [t["id"] for t in doc["recent_traces"]] == ["trace-anthropic-2", "trace-anthropic-1"]


def test_report_filters_by_provider_and_model(seeded: Report):
    by_provider = seeded.json("--provider", " anthropic ")
    by_model = seeded.json("--model", "gpt-4o")

    assert by_provider["filters"] == {"provider": "anthropic", "limit": 10}
    assert by_provider["summary"]["total_tokens"] == 60
    assert [p["provider"] for p in by_provider["providers"]] == ["anthropic"]
    assert {t["provider"] for t in by_provider["recent_traces"]} == {"anthropic"}
    assert by_model["filters"] == {"model": "gpt-4o", "limit": 10}
    assert [m["model"] for m in by_model["models"]] == ["gpt-4o"]
    assert [t["id"] for t in by_model["recent_traces"]] == ["trace-openai-alt"]
    assert by_model["summary"]["top_model"] == "gpt-4o"


def test_report_limit_bounds_recent_traces_only(seeded: Report):
    doc = seeded.json("--limit", "1")

    assert doc["filters"]["limit"] == 1
    assert [t["id"] for t in doc["recent_traces"]] == ["trace-anthropic-2"]
    assert doc["summary"]["total_requests"] == 4


def test_report_sums_every_token_kind(report: Report):
    seed(
        report.backend,
        [
            trace(
                provider="anthropic",
                model="claude-sonnet-4",
                input_tokens=1000,
                cache_read_input_tokens=600,
                cache_write_input_tokens=300,
                output_tokens=50,
            ),
            trace(
                provider="openai",
                model="o3-mini",
                input_tokens=200,
                cache_read_input_tokens=100,
                output_tokens=400,
                reasoning_tokens=350,
            ),
        ],
    )

    doc = report.json()
    text = report.text()

    summary = doc["summary"]
    assert summary["total_input_tokens"] == 1200
    assert summary["total_output_tokens"] == 450
    assert summary["total_tokens"] == 1650
    assert summary["total_cache_read_input_tokens"] == 700
    assert summary["total_cache_write_input_tokens"] == 300
    assert summary["total_reasoning_tokens"] == 350
    kinds = {
        p["provider"]: (
            p["cache_read_input_tokens"],
            p["cache_write_input_tokens"],
            p["reasoning_tokens"],
        )
        for p in doc["providers"]
    }
    assert kinds == {"anthropic": (600, 300, 0), "openai": (100, 0, 350)}
    assert re.search(r"^Cached input tokens \(read\) +700$", text, re.MULTILINE)
    assert re.search(r"^Cache write input tokens +300$", text, re.MULTILINE)
    assert re.search(r"^Reasoning tokens +350$", text, re.MULTILINE)


def test_report_reads_every_tenant(report: Report):
    seed(
        report.backend,
        [trace(org_id="org-a", workspace_id="ws-a"), trace(org_id="org-b", workspace_id="ws-b")],
    )

    assert report.json()["summary"]["total_requests"] == 2


# --- text -------------------------------------------------------------------------------------


def test_report_text_has_the_original_sections_columns_and_fits_80_columns(seeded: Report):
    text = seeded.text("--from", "2026-02-18", "--limit", "5")
    lines = text.splitlines()

    assert lines[0] == "OngoingAI Report"
    assert [ln for ln in lines if ln in SECTIONS] == SECTIONS
    assert all(len(ln) <= 80 for ln in lines), [ln for ln in lines if len(ln) > 80]
    assert re.search(r"^Schema version +report\.v1$", text, re.MULTILINE)
    assert re.search(r"^Generated at +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", text, re.MULTILINE)
    assert re.search(f"^Storage driver +{seeded.backend.driver}$", text, re.MULTILINE)
    has_path = re.search(r"^Storage path +\S+", text, re.MULTILINE) is not None
    assert has_path == (seeded.backend.driver == "sqlite")
    assert re.search(r"^Filter provider +\(all\)$", text, re.MULTILINE)
    assert re.search(r"^Filter from +2026-02-18T00:00:00Z$", text, re.MULTILINE)
    assert re.search(r"^Filter to +\(all\)$", text, re.MULTILINE)
    assert re.search(r"^Filter limit +5$", text, re.MULTILINE)
    assert re.search(r"^Total requests +4$", text, re.MULTILINE)
    assert re.search(r"^Total tokens +90$", text, re.MULTILINE)
    assert re.search(r"^Estimated cost \(USD\) +0\.001050$", text, re.MULTILINE)
    assert re.search(r"^Active API keys +3$", text, re.MULTILINE)
    assert re.search(r"^Top model +claude-sonnet-4-latest$", text, re.MULTILINE)
    for names in (
        "PROVIDER INPUT_TOKENS OUTPUT_TOKENS TOTAL_TOKENS TOTAL_COST_USD",
        "MODEL REQUESTS TOTAL_TOKENS TOTAL_COST_USD AVG_LATENCY_MS AVG_TTFT_MS",
        "API_KEY_HASH REQUESTS TOTAL_TOKENS TOTAL_COST_USD LAST_ACTIVE_AT",
        "TIMESTAMP PROVIDER MODEL STATUS TOTAL_TOKENS ESTIMATED_COST_USD LATENCY_MS "
        "REQUEST_PATH TRACE_ID",
    ):
        assert names in _header_words(lines, names.split()[0]), names
    for trace_id in ("trace-anthropic-2", "trace-anthropic-1", "trace-openai-alt"):
        assert trace_id in text
    recent = text[text.index("Recent Traces") :]
    assert recent.index("trace-anthropic-2") < recent.index("trace-anthropic-1")
    assert re.search(r"^key-anthropic +1 +25 +0\.000350 +2026-02-18T12:02:00Z$", text, re.M)


def _header_words(lines: list[str], first: str) -> str:
    """A table's column names, its header folded over indented lines joined back."""
    start = next(i for i, ln in enumerate(lines) if ln.split()[:1] == [first])
    words = lines[start].split()
    for line in lines[start + 1 :]:
        if not line.startswith("  ") or not line.strip().isupper():
            break
        words += line.split()
    return " ".join(words)


def test_report_text_shows_placeholders_for_an_empty_store(report: Report):
    text = report.text()

    for placeholder in ("(no provider data)", "(no model data)", "(no API key data)"):
        assert f"\n{placeholder}\n" in text
    assert text.endswith("Recent Traces\n(no traces)\n")
    assert re.search(r"^Total requests +0$", text, re.MULTILINE)
    assert re.search(r"^Estimated cost \(USD\) +0\.000000$", text, re.MULTILINE)
    assert re.search(r"^Top model +\(none\)$", text, re.MULTILINE)


def test_report_text_abbreviates_key_hashes_and_keeps_trace_ids_whole(report: Report):
    key_hash = "ab" * 32
    trace_id = "cd" * 16
    seed(
        report.backend,
        [
            trace(
                id=trace_id,
                api_key_hash=key_hash,
                model="claude-3-5-sonnet-20241022",
                request_path="/anthropic/v1/messages/count_tokens/" + "x" * 60,
            )
        ],
    )

    text = report.text()

    assert f"\n{key_hash[:12]}…  " in text
    assert key_hash not in text
    assert trace_id in text
    assert "claude-3-5-sonnet-20241022" in text
    assert "…" + "x" * 20 in text
    assert all(len(ln) <= 80 for ln in text.splitlines())


def test_report_text_never_passes_control_characters_to_the_terminal(report: Report):
    seed(report.backend, [trace(model="evil\x1b]0;owned\x07\x1b[2J", request_path="/x\r\nFAKE")])

    text = report.text()

    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\r" not in text
    assert "evil?]0;owned??[2J" in text
    assert "\nFAKE" not in text
    assert report.json()["models"][0]["model"] == "evil\x1b]0;owned\x07\x1b[2J"


# --- terminal and pipes -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_report_is_quiet_on_stderr_when_piped(seeded: Report, fmt: str):
    out = seeded("--format", fmt)

    assert out.returncode == 0
    assert out.stderr == ""


def test_report_shows_and_clears_a_status_line_on_a_terminal(seeded: Report):
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [ONGOINGAI, "report", "--format", "json"],
        cwd=seeded.workdir,
        env=seeded.env,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    stdout, _ = proc.communicate(timeout=60)
    terminal = _drain(master)

    assert proc.returncode == 0
    assert terminal == "reading traces…\r\x1b[K".encode()
    assert json.loads(stdout)["summary"]["total_requests"] == 4


def _drain(fd: int) -> bytes:
    """Everything written to a pseudo-terminal whose other end is closed."""
    data = b""
    try:
        while select.select([fd], [], [], 5)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    except OSError:  # EIO: the writer is gone and everything was read
        pass
    finally:
        os.close(fd)
    return data


def test_report_fails_with_exit_1_when_stdout_is_closed(seeded: Report):
    with subprocess.Popen(
        [ONGOINGAI, "report"],
        cwd=seeded.workdir,
        env=seeded.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # like `ongoingai report | head -0`
        stderr = proc.stderr.read()
        proc.wait(timeout=60)

    assert proc.returncode == 1
    assert stderr.startswith("failed to write report: "), stderr
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr


# --- usage errors (exit 2), before config or storage is touched -------------------------------

USAGE_ERRORS = [
    (["extra"], "report does not accept positional arguments"),
    (["--format", "yaml"], 'invalid report format "yaml": expected text or json'),
    (["--format", "xml", "--limit", "0"], 'invalid report format "xml": expected text or json'),
    (["--limit", "0"], "limit must be between 1 and 200"),
    (["--limit", "201"], "limit must be between 1 and 200"),
    (["--limit", "-3"], "limit must be between 1 and 200"),
    (["--limit", "0", "--from", "bad"], "limit must be between 1 and 200"),
    (["--from", "yesterday"], "invalid from: expected RFC3339 or YYYY-MM-DD"),
    (["--from", "2026-02-18T12:00:00"], "invalid from: expected RFC3339 or YYYY-MM-DD"),
    (["--to", "2026-02-30"], "invalid to: expected RFC3339 or YYYY-MM-DD"),
    (["--from", "bad", "--to", "bad"], "invalid from: expected RFC3339 or YYYY-MM-DD"),
    (
        ["--from", "2026-02-19", "--to", "2026-02-18"],
        "invalid range: to must be greater than or equal to from",
    ),
    (
        ["--from", "2026-02-18T12:00:00.000000002Z", "--to", "2026-02-18T12:00:00.000000001Z"],
        "invalid range: to must be greater than or equal to from",
    ),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=lambda v: str(v))
def test_report_usage_errors_exit_2_before_storage_is_opened(
    tmp_path: Path, args: list[str], message: str
):
    sqlite = tmp_path / "data" / "traces.db"
    (tmp_path / "ongoingai.yaml").write_text("server: {port: [\n")  # never read

    out = Report(tmp_path, Backend("sqlite", path=str(sqlite)))(*args)

    assert out.returncode == 2
    assert out.stderr == message + "\n"
    assert out.stdout == ""
    assert not sqlite.exists()


@pytest.mark.parametrize("args", [["--limit", "ten"], ["--bogus"], ["--format"]])
def test_report_flag_parse_errors_exit_2(tmp_path: Path, args: list[str]):
    out = Report(tmp_path)(*args)

    assert out.returncode == 2
    assert "usage: ongoingai" in out.stderr


def test_report_accepts_format_in_any_case_and_spacing(seeded: Report):
    out = seeded("--format", " JSON ", "--limit", "200")

    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["filters"]["limit"] == 200


# --- config and storage failures (exit 1) -----------------------------------------------------


def test_report_tells_a_config_it_cannot_load_from_an_invalid_one(tmp_path: Path):
    report = Report(tmp_path)
    (tmp_path / "broken.yaml").write_text("server:\n  port: [\n")
    (tmp_path / "invalid.yaml").write_text("storage:\n  driver: postgres\n")

    broken = report("--config", "broken.yaml")
    invalid = report("--config", "invalid.yaml")

    assert broken.returncode == 1
    assert broken.stderr.startswith("failed to load config: ")
    assert "parse yaml" in broken.stderr
    assert invalid.returncode == 1
    assert invalid.stderr.startswith("config is invalid: ")
    assert "storage.dsn is required" in invalid.stderr


def test_report_fails_cleanly_when_postgres_is_unreachable(tmp_path: Path):
    dsn = "postgres://reporter:s3cret-pw@127.0.0.1:1/ongoingai?connect_timeout=2"

    out = Report(tmp_path, Backend("postgres", dsn=dsn))()

    assert out.returncode == 1
    assert out.stderr.startswith("failed to initialize trace store")
    assert out.stderr.count("\n") == 1
    assert "s3cret-pw" not in out.stderr
    assert out.stdout == ""


def test_report_creates_and_migrates_a_missing_sqlite_store(tmp_path: Path):
    sqlite = tmp_path / "new" / "dir" / "traces.db"

    doc = Report(tmp_path, Backend("sqlite", path=str(sqlite))).json()

    assert sqlite.exists()
    assert doc["summary"]["total_requests"] == 0
    assert doc["recent_traces"] == []
