"""`ongoingai doctor` as an operator runs it: every check's verdicts, both formats, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.gateway_proc import ONGOINGAI, free_port
from tests.integration.traces_db import Backend

CHECKS = ["config", "policies", "pipeline", "storage", "route_wiring", "auth_posture"]
DEFAULT_CHAIN = (
    "authenticate → authorize → limit → route → redact → forward → meter → capture → record"
)
#: Non-public route rules of the packaged policies/rbac/roles.yaml.
PACKAGED_PROTECTED_RULES = 17
STORAGE = "storage: {path: ./data/doctor.db}\n"


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONGOINGAI_", "OTEL_"))}
    return {**env, **extra}


def run(workdir: Path, *args: str, env: dict[str, str] | None = None):
    out = subprocess.run(
        [ONGOINGAI, *args],
        cwd=workdir,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in out.stderr, out.stderr
    return out


def doctor_json(workdir: Path, *args: str, env: dict[str, str] | None = None):
    out = run(workdir, "doctor", "--format", "json", *args, env=env)
    doc = json.loads(out.stdout)
    return out.returncode, doc, {c["name"]: c for c in doc["checks"]}


def write(workdir: Path, text: str, name: str = "ongoingai.yaml") -> Path:
    path = workdir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- the whole report ---------------------------------------------------------------------


def test_doctor_json_reports_every_check_in_order_with_schema_version(tmp_path: Path):
    write(tmp_path, STORAGE)
    code, doc, checks = doctor_json(tmp_path)
    assert code == 0  # warnings do not fail
    assert list(doc) == [
        "schema_version",
        "generated_at",
        "config_path",
        "overall_status",
        "checks",
    ]
    assert doc["schema_version"] == "doctor.v1"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", doc["generated_at"])
    assert doc["config_path"] == "ongoingai.yaml"
    assert doc["overall_status"] == "warn"
    assert [c["name"] for c in doc["checks"]] == CHECKS
    for check in doc["checks"]:
        assert set(check) <= {"name", "status", "summary", "details"}
        assert check["status"] in ("pass", "warn", "fail", "skip")
    assert checks["config"] == {
        "name": "config",
        "status": "pass",
        "summary": "loaded and validated configuration",
        "details": ["config path: ongoingai.yaml"],
    }
    assert checks["policies"]["status"] == "pass"
    assert checks["policies"]["summary"] == "policy files are schema-valid"
    assert checks["pipeline"]["status"] == "pass"
    assert checks["pipeline"]["summary"] == "pipeline builds with 9 stages"
    assert checks["pipeline"]["details"] == [
        DEFAULT_CHAIN,
        "declared in: packaged policies/pipeline.yaml",
    ]
    assert checks["storage"] == {
        "name": "storage",
        "status": "pass",
        "summary": "connected to sqlite trace storage",
        "details": [f"path: {tmp_path / 'data' / 'doctor.db'}"],
    }
    wiring = checks["route_wiring"]
    assert wiring["status"] == "pass"
    assert wiring["summary"] == "provider and API route wiring looks valid"
    assert "openai: /openai -> https://api.openai.com" in wiring["details"]
    assert "anthropic: /anthropic -> https://api.anthropic.com" in wiring["details"]
    assert "groq: /groq -> https://api.groq.com/openai" in wiring["details"]
    assert wiring["details"][-1] == "api routes: /api/*"
    assert checks["auth_posture"] == {
        "name": "auth_posture",
        "status": "warn",
        "summary": "gateway auth is disabled",
        "details": [
            "auth.enabled=false (header: X-OngoingAI-Gateway-Key)",
            f"{PACKAGED_PROTECTED_RULES} protected authorization rules are bypassed",
        ],
    }


def test_doctor_text_layout_fits_80_columns(tmp_path: Path):
    write(tmp_path, STORAGE)
    out = run(tmp_path, "doctor")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "OngoingAI Doctor"
    assert re.fullmatch(r"Generated at: +\d{4}-\d\d-\d\dT[\d:.]+Z", lines[1])
    assert re.fullmatch(r"Config path: +ongoingai\.yaml", lines[2])
    assert re.fullmatch(r"Overall status: +WARN", lines[3])
    assert lines[4] == ""
    assert lines[5] == "Checks"
    assert lines[6] == "- [PASS] config: loaded and validated configuration"
    assert lines[7] == "  config path: ongoingai.yaml"
    headers = [ln for ln in lines[6:] if ln.startswith("- [")]
    assert [re.match(r"- \[[A-Z]+\] (\w+):", h).group(1) for h in headers] == CHECKS
    assert "- [WARN] auth_posture: gateway auth is disabled" in headers
    assert "  auth.enabled=false (header: X-OngoingAI-Gateway-Key)" in lines
    for line in lines[6:]:
        assert line.startswith(("- [", "  ")), line
        # Wrapped at spaces; only an unbreakable token (the tmp path) may run longer.
        assert len(line) <= 80 or str(tmp_path) in line, line
    # The pipeline chain is wrapped, not cut.
    chain = " ".join(
        ln.strip() for ln in lines if "authenticate →" in ln or ln.startswith("      → ")
    )
    assert chain == DEFAULT_CHAIN


def test_doctor_usage_errors_exit_2(tmp_path: Path):
    out = run(tmp_path, "doctor", "extra")
    assert (out.returncode, out.stderr) == (2, "doctor does not accept positional arguments\n")
    out = run(tmp_path, "doctor", "--format", "yaml")
    assert (out.returncode, out.stderr) == (
        2,
        'invalid doctor format "yaml": expected text or json\n',
    )
    assert out.stdout == ""


def test_doctor_format_is_trimmed_and_lowercased(tmp_path: Path):
    write(tmp_path, STORAGE)
    out = run(tmp_path, "doctor", "--format", " JSON ")
    assert out.returncode == 0
    assert json.loads(out.stdout)["schema_version"] == "doctor.v1"


# --- config -------------------------------------------------------------------------------


def test_doctor_fails_config_and_skips_the_rest_when_the_yaml_does_not_parse(tmp_path: Path):
    write(tmp_path, "server: [\n")
    code, doc, checks = doctor_json(tmp_path)
    assert code == 1
    assert doc["overall_status"] == "fail"
    assert checks["config"]["status"] == "fail"
    assert checks["config"]["summary"] == "failed to load config"
    assert checks["config"]["details"][0].startswith("ongoingai.yaml:2:1: /: parse yaml")
    for name in CHECKS[1:]:
        assert checks[name] == {
            "name": name,
            "status": "skip",
            "summary": "skipped: config failed to load",
        }


def test_doctor_fails_config_and_skips_the_rest_when_the_config_is_invalid(tmp_path: Path):
    write(tmp_path, "server: {port: 70000}\nbogus_key: 1\n")
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 1
    assert checks["config"]["summary"] == "config is invalid"
    details = checks["config"]["details"]
    assert any(d.startswith("ongoingai.yaml:2:1: /bogus_key: ") for d in details), details
    assert any("/server/port" in d for d in details), details
    assert {checks[n]["summary"] for n in CHECKS[1:]} == {"skipped: config validation failed"}
    assert {checks[n]["status"] for n in CHECKS[1:]} == {"skip"}


def test_doctor_text_shows_skips_and_fail_in_uppercase(tmp_path: Path):
    write(tmp_path, "server: [\n")
    out = run(tmp_path, "doctor")
    assert out.returncode == 1
    assert "Overall status:  FAIL" in out.stdout
    assert "- [FAIL] config: failed to load config" in out.stdout
    assert "- [SKIP] storage: skipped: config failed to load" in out.stdout


def test_doctor_config_passes_with_no_file_and_says_defaults_apply(tmp_path: Path):
    code, _doc, checks = doctor_json(
        tmp_path, env=clean_env(ONGOINGAI_STORAGE_PATH=str(tmp_path / "t.db"))
    )
    assert code == 0
    assert checks["config"]["status"] == "pass"
    assert checks["config"]["details"][1].startswith("file not found")


# --- policies and pipeline ----------------------------------------------------------------


def test_doctor_reports_each_broken_policy_file_problem_with_its_location(tmp_path: Path):
    write(
        tmp_path,
        "kind: provider\nversion: 1\nname: lab\nprefix: no-slash\n"
        "upstream: http://gpu-box:8000\ndialect: openai\n",
        "policies/providers/lab.yaml",
    )
    write(tmp_path, "kind: pricing\nversion: [\n", "policies/pricing/broken.yaml")
    write(tmp_path, STORAGE + "policies: policies\n")
    code, doc, checks = doctor_json(tmp_path)
    assert code == 1
    assert doc["overall_status"] == "fail"
    policies = checks["policies"]
    assert policies["status"] == "fail"
    assert policies["summary"] == "policy files are invalid (2 problems)"
    assert len(policies["details"]) == 2
    assert any(
        d.startswith("policies/providers/lab.yaml:4:1: /prefix: ") for d in policies["details"]
    ), policies["details"]
    assert any(
        d.startswith("policies/pricing/broken.yaml:") and "parse yaml" in d
        for d in policies["details"]
    ), policies["details"]
    # The other checks still run and judge what they can.
    assert checks["pipeline"]["status"] == "pass"
    assert checks["storage"]["status"] == "pass"


def test_doctor_lists_the_user_policy_directory_when_valid(tmp_path: Path):
    write(
        tmp_path,
        "kind: provider\nversion: 1\nname: lab\nprefix: /lab\n"
        "upstream: http://gpu-box:8000\ndialect: openai\n",
        "policies/providers/lab.yaml",
    )
    write(tmp_path, STORAGE + "policies: policies\n")
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 0
    # Relative to the working directory, like the locations of policy problems.
    assert checks["policies"]["details"][-1] == "policies directory: policies (1 file)"
    assert "lab: /lab -> http://gpu-box:8000" in checks["route_wiring"]["details"]


def test_doctor_fails_pipeline_with_every_build_error(tmp_path: Path):
    write(tmp_path, STORAGE + "pipeline: [forward, route, meterr]\n")
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 1
    pipeline = checks["pipeline"]
    assert pipeline["status"] == "fail"
    assert pipeline["summary"] == "pipeline does not build"
    assert pipeline["details"][0] == "declared in: ongoingai.yaml (pipeline:)"
    problems = pipeline["details"][1:]
    assert any(
        p.startswith("ongoingai.yaml:2:") and 'unknown stage type "meterr"' in p for p in problems
    ), problems
    assert any('"route" must come before "forward"' in p for p in problems), problems
    # Pipeline problems are the pipeline's, not repeated under policies.
    assert checks["policies"]["status"] == "pass"


def test_doctor_shows_a_custom_pipeline_with_ids_and_scopes(tmp_path: Path):
    write(
        tmp_path,
        STORAGE + "pipeline:\n"
        "  - route\n"
        "  - forward\n"
        "  - {id: usage, type: meter, when: {path_prefix: [/openai]}}\n"
        "  - record\n",
    )
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 0
    assert checks["pipeline"]["summary"] == "pipeline builds with 4 stages"
    assert checks["pipeline"]["details"] == [
        "route → forward → usage (meter) → record",
        "usage: only when path_prefix=/openai",
        "declared in: ongoingai.yaml (pipeline:)",
    ]


def test_doctor_fails_pipeline_when_the_user_pipeline_file_is_invalid(tmp_path: Path):
    write(
        tmp_path,
        "kind: pipeline\nversion: 1\nstages: [route, forward]\nbogus: true\n",
        "policies/pipeline.yaml",
    )
    write(tmp_path, STORAGE + "policies: policies\n")
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 1
    assert checks["pipeline"]["status"] == "fail"
    assert checks["pipeline"]["details"][0] == "declared in: policies/pipeline.yaml"
    assert any("/bogus" in d for d in checks["pipeline"]["details"][1:])


# --- storage ------------------------------------------------------------------------------


def test_doctor_fails_storage_when_postgres_is_unreachable(tmp_path: Path):
    port = free_port()
    dsn = f"postgres://doctor:s3cret-pw@127.0.0.1:{port}/nowhere"
    write(tmp_path, f"storage: {{driver: postgres, dsn: '{dsn}'}}\n")
    out = run(tmp_path, "doctor", "--format", "json")
    assert out.returncode == 1
    assert "s3cret-pw" not in out.stdout
    checks = {c["name"]: c for c in json.loads(out.stdout)["checks"]}
    storage = checks["storage"]
    assert storage["status"] == "fail"
    assert storage["summary"] == "failed to initialize trace storage"
    assert f"postgres://doctor:***@127.0.0.1:{port}/nowhere" in storage["details"][0]


def test_doctor_fails_storage_when_the_sqlite_path_cannot_be_created(tmp_path: Path):
    write(tmp_path, "not a directory", "blocker")
    write(tmp_path, "storage: {path: ./blocker/traces.db}\n")
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 1
    assert checks["storage"]["status"] == "fail"
    assert checks["storage"]["summary"] == "failed to initialize trace storage"


@pytest.mark.postgres
def test_doctor_connects_to_postgres(tmp_path: Path, postgres_schema_dsn: str):
    code, _doc, checks = doctor_json(
        tmp_path,
        env=clean_env(
            ONGOINGAI_STORAGE_DRIVER="postgres", ONGOINGAI_STORAGE_DSN=postgres_schema_dsn
        ),
    )
    assert code == 0
    assert checks["storage"]["status"] == "pass"
    assert checks["storage"]["summary"] == "connected to postgres trace storage"
    assert checks["storage"]["details"][0].startswith("dsn: postgres")


# --- route wiring -------------------------------------------------------------------------


def test_doctor_fails_route_wiring_when_two_providers_share_a_prefix(tmp_path: Path):
    write(tmp_path, STORAGE + "providers: {groq: {prefix: /openai/}}\n")
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 1
    assert checks["route_wiring"] == {
        "name": "route_wiring",
        "status": "fail",
        "summary": "provider route prefixes overlap",
        "details": ["groq and openai both use /openai"],
    }


def test_doctor_warns_when_one_provider_prefix_nests_in_another(tmp_path: Path):
    write(tmp_path, STORAGE + "providers: {groq: {prefix: /openai/groq}}\n")
    code, doc, checks = doctor_json(tmp_path)
    assert code == 0
    assert doc["overall_status"] == "warn"
    wiring = checks["route_wiring"]
    assert wiring["status"] == "warn"
    assert wiring["summary"] == "provider route prefixes nest"
    assert wiring["details"][0] == (
        "groq (/openai/groq) takes /openai/groq/* from openai (/openai): the longest prefix wins"
    )
    assert "groq: /openai/groq -> https://api.groq.com/openai" in wiring["details"]


@pytest.mark.parametrize(
    ("prefix", "summary", "detail"),
    [
        (
            "/api/groq",
            "provider prefixes must not overlap with /api routes",
            "groq: /api/groq overlaps /api",
        ),
        ("/", "provider prefixes must not be root ('/')", "groq: /"),
    ],
    ids=["under-api", "root"],
)
def test_doctor_fails_route_wiring_for_api_overlap_and_root(
    tmp_path: Path, prefix: str, summary: str, detail: str
):
    write(tmp_path, STORAGE + f"providers: {{groq: {{prefix: '{prefix}'}}}}\n")
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 1
    assert checks["route_wiring"]["status"] == "fail"
    assert checks["route_wiring"]["summary"] == summary
    assert detail in checks["route_wiring"]["details"]


# --- auth posture -------------------------------------------------------------------------


@pytest.mark.parametrize("enabled", ["false", "true"])
def test_doctor_fails_auth_when_the_key_header_is_a_provider_credential_header(
    tmp_path: Path, enabled: str
):
    write(tmp_path, STORAGE + f"auth: {{enabled: {enabled}, header: Authorization}}\n")
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 1
    assert checks["auth_posture"] == {
        "name": "auth_posture",
        "status": "fail",
        "summary": "auth header conflicts with provider credential headers",
        "details": ['auth.header="Authorization" conflicts with Authorization/X-API-Key'],
    }


def test_doctor_fails_auth_when_enabled_without_any_key(tmp_path: Path):
    write(tmp_path, STORAGE + "auth: {enabled: true}\n")
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 1
    assert checks["auth_posture"]["status"] == "fail"
    assert checks["auth_posture"]["details"] == [
        "auth is enabled but no gateway keys are configured"
    ]


def test_doctor_counts_stored_keys_created_with_the_cli(tmp_path: Path, backend: Backend):
    write(tmp_path, "auth: {enabled: true, header: X-Team-Key}\n")
    env = clean_env(**backend.env)
    created = run(tmp_path, "keys", "create", "--id", "ci", env=env)
    assert created.returncode == 0, created.stderr
    code, doc, checks = doctor_json(tmp_path, env=env)
    assert code == 0, doc
    assert doc["overall_status"] == "pass"
    assert checks["auth_posture"] == {
        "name": "auth_posture",
        "status": "pass",
        "summary": "gateway auth posture is healthy",
        "details": [
            "auth header: X-Team-Key",
            "active gateway keys: 1",
            f"protected authorization rules: {PACKAGED_PROTECTED_RULES}",
        ],
    }
    revoked = run(tmp_path, "keys", "revoke", "ci", env=env)
    assert revoked.returncode == 0, revoked.stderr
    code, _doc, checks = doctor_json(tmp_path, env=env)
    assert code == 1
    assert checks["auth_posture"]["status"] == "fail"


def test_doctor_counts_yaml_keys_and_the_rules_of_the_rbac_file_in_force(tmp_path: Path):
    write(
        tmp_path,
        "kind: rbac\nversion: 1\nroles: {admin: [keys:manage]}\nroutes:\n"
        "  - {methods: ['*'], provider: true, resource: proxy, action: forward, permission: proxy:write}\n"
        "  - {methods: [GET], path: /api/health, resource: health, action: read, public: true}\n",
        "policies/rbac/roles.yaml",
    )
    write(
        tmp_path,
        STORAGE
        + "policies: policies\n"
        + "auth:\n  enabled: true\n  keys:\n"
        + "    - {id: a, role: admin, token: first-token-0001}\n"
        + "    - {id: b, role: admin, token: second-token-002}\n",
    )
    code, _doc, checks = doctor_json(tmp_path)
    assert code == 0
    assert checks["auth_posture"]["details"][1:] == [
        "active gateway keys: 2",
        "protected authorization rules: 1",
    ]
