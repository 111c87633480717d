"""Loading `ongoingai.yaml`: contract defaults, strict keys, contract messages, env overrides."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from ongoingai.engine.config import GatewayConfig
from ongoingai.engine.config_load import ConfigInvalid, LoadedConfig, load_config
from ongoingai.engine.problems import Problem
from ongoingai.engine.schemas import SchemaSet

if TYPE_CHECKING:
    from pathlib import Path

SCHEMAS = SchemaSet()


def _load(tmp_path: Path, text: str | None, env: dict[str, str] | None = None) -> LoadedConfig:
    path = tmp_path / "ongoingai.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    return load_config(path, SCHEMAS, environ=env or {})


def _problems(tmp_path: Path, text: str | None, env: dict[str, str] | None = None) -> list[Problem]:
    with pytest.raises(ConfigInvalid) as info:
        _load(tmp_path, text, env)
    assert info.value.problems, "ConfigInvalid must carry at least one problem"
    return info.value.problems


def _only(problems: list[Problem], pointer: str) -> Problem:
    found = [p for p in problems if p.pointer == pointer]
    assert len(found) == 1, f"expected one problem at {pointer}, got {problems}"
    return found[0]


def _get(cfg: GatewayConfig, dotted: str) -> Any:
    value: Any = cfg
    for part in dotted.split("."):
        value = value[part] if isinstance(value, dict) else getattr(value, part)
    return value


# --- defaults ---------------------------------------------------------------------------------

CONTRACT_DEFAULTS = [
    ("server.host", "0.0.0.0"),
    ("server.port", 8080),
    ("storage.driver", "sqlite"),
    ("storage.path", "./data/ongoingai.db"),
    ("storage.dsn", ""),
    ("tracing.capture_bodies", False),
    ("tracing.body_max_size", 1048576),
    ("observability.otel.enabled", False),
    ("observability.otel.endpoint", "localhost:4318"),
    ("observability.otel.insecure", True),
    ("observability.otel.service_name", "ongoingai-gateway"),
    ("observability.otel.traces_enabled", True),
    ("observability.otel.metrics_enabled", True),
    ("observability.otel.prometheus_enabled", False),
    ("observability.otel.prometheus_path", "/metrics"),
    ("observability.otel.sampling_ratio", 1.0),
    ("observability.otel.export_timeout_ms", 3000),
    ("observability.otel.metric_export_interval_ms", 10000),
    ("pii.mode", ""),
    ("pii.policy_id", "default/v1"),
    ("pii.stages.request_headers", True),
    ("pii.stages.request_body", True),
    ("pii.stages.response_headers", True),
    ("pii.stages.response_body", True),
    ("pii.detectors.email", True),
    ("pii.detectors.phone", True),
    ("pii.detectors.ssn", True),
    ("pii.detectors.token_like", True),
    (
        "pii.headers.denylist",
        ("authorization", "cookie", "set-cookie", "x-api-key", "x-ongoingai-gateway-key"),
    ),
    (
        "pii.body.key_denylist",
        ("email", "phone", "password", "token", "secret", "ssn", "api_key", "authorization"),
    ),
    ("pii.replacement.format", "[{type}_REDACTED:{hash}]"),
    ("pii.replacement.hash_salt", ""),
    ("pii.scopes", ()),
    ("auth.enabled", False),
    ("auth.header", "X-OngoingAI-Gateway-Key"),
    ("auth.keys", ()),
    ("limits.per_key.requests_per_minute", 0),
    ("limits.per_key.max_tokens_per_day", 0),
    ("limits.per_key.max_cost_usd_per_day", Decimal(0)),
    ("limits.per_workspace.requests_per_minute", 0),
    ("limits.per_workspace.max_tokens_per_day", 0),
    ("limits.per_workspace.max_cost_usd_per_day", Decimal(0)),
    ("pipeline", None),
    ("policies", None),
]


@pytest.mark.parametrize(
    ("key", "expected"), CONTRACT_DEFAULTS, ids=[key for key, _ in CONTRACT_DEFAULTS]
)
def test_a_missing_file_gives_every_contract_default(
    tmp_path: Path, key: str, expected: object
) -> None:
    loaded = _load(tmp_path, None)

    assert _get(loaded.config, key) == expected


def test_a_missing_file_is_valid_and_marked_as_not_existing(tmp_path: Path) -> None:
    loaded = _load(tmp_path, None)

    assert loaded.exists is False
    assert loaded.raw == b""
    assert loaded.document.data is None
    assert loaded.env_applied == ()
    assert loaded.config == GatewayConfig()


@pytest.mark.parametrize(
    "text", ["", "# nothing configured yet\n", "---\n"], ids=["empty", "comment", "bare-marker"]
)
def test_an_empty_file_is_valid_and_gives_defaults(tmp_path: Path, text: str) -> None:
    loaded = _load(tmp_path, text)

    assert loaded.exists is True
    assert loaded.config == GatewayConfig()


def test_file_values_replace_defaults_and_the_rest_stay_default(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "server:\n  port: 9999\ntracing:\n  capture_bodies: true\n")

    assert loaded.config.server.port == 9999
    assert loaded.config.server.host == "0.0.0.0"
    assert loaded.config.tracing.capture_bodies is True
    assert loaded.config.effective_pii_mode == "redact_storage"
    assert loaded.base_dir == tmp_path.resolve()


# --- strict keys and types --------------------------------------------------------------------


def test_an_unknown_key_is_reported_at_the_key_itself(tmp_path: Path) -> None:
    text = "server:\n  host: 127.0.0.1\n  bogus_key: 1\n"

    [problem] = _problems(tmp_path, text)

    assert problem.pointer == "/server/bogus_key"
    assert (problem.line, problem.column) == (3, 3)
    assert "field bogus_key not found" in problem.message
    assert problem.file == str(tmp_path / "ongoingai.yaml")


@pytest.mark.parametrize(
    ("text", "pointer", "line", "column", "hint"),
    [
        ("bogus: 1\n", "/bogus", 1, 1, None),
        ("server:\n  prot: 1\n", "/server/prot", 2, 3, '"port"'),
        (
            "observability:\n  otel:\n    enabeld: true\n",
            "/observability/otel/enabeld",
            3,
            5,
            '"enabled"',
        ),
        ("pii:\n  scopes:\n    - match: {org: a}\n", "/pii/scopes/0/match/org", 3, 15, None),
        (
            "providers:\n  openai:\n    upstrem: http://x\n",
            "/providers/openai/upstrem",
            3,
            5,
            '"upstream"',
        ),
    ],
    ids=["top-level", "server", "otel", "pii-scope-match", "provider-override"],
)
def test_unknown_keys_anywhere_name_the_key_and_suggest_a_close_one(
    tmp_path: Path, text: str, pointer: str, line: int, column: int, hint: str | None
) -> None:
    problem = _only(_problems(tmp_path, text), pointer)

    assert (problem.line, problem.column) == (line, column)
    assert f"field {pointer.rsplit('/', 1)[1]} not found" in problem.message
    if hint is not None:
        assert hint in problem.message


@pytest.mark.parametrize(
    ("text", "pointer", "line", "column", "expected"),
    [
        ("server:\n  port: '80'\n", "/server/port", 2, 3, "integer"),
        ("auth:\n  enabled: maybe\n", "/auth/enabled", 2, 3, "boolean"),
        ("tracing:\n  body_max_size: 1.5\n", "/tracing/body_max_size", 2, 3, "integer"),
        ("server: 5\n", "/server", 1, 1, "object"),
        ("pii:\n  scopes: {}\n", "/pii/scopes", 2, 3, "array"),
    ],
    ids=["port-string", "bool-string", "int-float", "section-scalar", "list-mapping"],
)
def test_a_wrong_type_is_reported_at_the_key_with_the_expected_type(
    tmp_path: Path, text: str, pointer: str, line: int, column: int, expected: str
) -> None:
    problem = _only(_problems(tmp_path, text), pointer)

    assert (problem.line, problem.column) == (line, column)
    assert expected in problem.message


@pytest.mark.parametrize("text", ["- a\n", "42\n", "just text\n"], ids=["list", "int", "string"])
def test_a_file_that_is_not_a_mapping_is_rejected(tmp_path: Path, text: str) -> None:
    problems = _problems(tmp_path, text)

    assert [p.pointer or "/" for p in problems] == ["/"]


def test_a_syntax_error_is_a_parse_yaml_problem_at_its_line(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, "server:\n  port: 1\n  host: a: b\nstorage: {}\n")

    assert problem.message.startswith("parse yaml: ")
    assert problem.line == 3


def test_several_documents_are_rejected_with_the_contract_message(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, "server: {}\n---\nstorage: {}\n")

    assert problem.message == "multiple yaml documents are not supported"


def test_an_unreadable_path_is_a_read_config_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigInvalid) as info:
        load_config(tmp_path, SCHEMAS, environ={})

    [problem] = info.value.problems
    assert problem.message.startswith(f'read config "{tmp_path}": ')


def test_a_file_that_is_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "ongoingai.yaml").write_bytes(b"server:\n  host: \xff\xfe\n")

    [problem] = _problems(tmp_path, None)

    assert "UTF-8" in problem.message


# --- contract §2.3 semantic rules -------------------------------------------------------------

PII_LIST = "off, redact_storage, redact_upstream, block"
OTEL_ON = "observability:\n  otel:\n    enabled: true\n"

SEMANTIC = [
    pytest.param(
        "server:\n  port: 0\n",
        "/server/port",
        (2, 3),
        "server.port must be between 1 and 65535 (got 0)",
        id="port-zero",
    ),
    pytest.param(
        "server:\n  port: 65536\n",
        "/server/port",
        (2, 3),
        "server.port must be between 1 and 65535 (got 65536)",
        id="port-too-high",
    ),
    pytest.param(
        "storage:\n  driver: sqlite\n  path: '  '\n",
        "/storage/path",
        (3, 3),
        "storage.path is required when storage.driver=sqlite",
        id="sqlite-needs-path",
    ),
    pytest.param(
        "storage:\n  driver: postgres\n  dsn: ''\n",
        "/storage/dsn",
        (3, 3),
        "storage.dsn is required when storage.driver=postgres",
        id="postgres-needs-dsn",
    ),
    pytest.param(
        "storage:\n  driver: postgres\n  dsn: mysql://u@h/db\n",
        "/storage/dsn",
        (3, 3),
        "storage.dsn must be a postgres:// or postgresql:// URL",
        id="postgres-dsn-scheme",
    ),
    pytest.param(
        "storage:\n  driver: mysql\n",
        "/storage/driver",
        (2, 3),
        'storage.driver must be one of sqlite, postgres (got "mysql")',
        id="bad-driver",
    ),
    pytest.param(
        "storage:\n  driver: Postgres\n  dsn: postgres://h/db\n",
        "/storage/driver",
        (2, 3),
        'storage.driver must be one of sqlite, postgres (got "Postgres")',
        id="driver-is-case-sensitive",
    ),
    pytest.param(
        "auth:\n  header: '   '\n",
        "/auth/header",
        (2, 3),
        "auth.header must not be empty",
        id="auth-header-empty",
    ),
    pytest.param(
        "pii:\n  scopes:\n    - mode: block\n",
        "/pii/scopes/0/match",
        (3, 7),
        "pii.scopes[0].match must set at least one selector: org_id, workspace_id, key_id, "
        "provider, or route_prefix",
        id="scope-without-selector",
    ),
    pytest.param(
        "pii:\n  scopes:\n    - match: {org_id: a}\n    - match:\n        provider: OpenAI\n",
        "/pii/scopes/1/match/provider",
        (5, 9),
        'pii.scopes[1].match.provider must be lowercase when set (got "OpenAI")',
        id="scope-provider-lowercase",
    ),
    pytest.param(
        "pii:\n  scopes:\n    - match:\n        route_prefix: v1/chat\n",
        "/pii/scopes/0/match/route_prefix",
        (4, 9),
        "pii.scopes[0].match.route_prefix must start with '/' (got \"v1/chat\")",
        id="scope-route-prefix-slash",
    ),
    pytest.param(
        OTEL_ON + "    endpoint: ''\n",
        "/observability/otel/endpoint",
        (4, 5),
        "observability.otel.endpoint is required when observability.otel.enabled=true",
        id="otel-endpoint",
    ),
    pytest.param(
        OTEL_ON + "    service_name: ' '\n",
        "/observability/otel/service_name",
        (4, 5),
        "observability.otel.service_name is required when observability.otel.enabled=true",
        id="otel-service-name",
    ),
    pytest.param(
        OTEL_ON + "    traces_enabled: false\n    metrics_enabled: false\n",
        "/observability/otel",
        (2, 3),
        "observability.otel requires traces_enabled, metrics_enabled, and/or "
        "prometheus_enabled when enabled",
        id="otel-no-signal",
    ),
    pytest.param(
        OTEL_ON + "    sampling_ratio: 1.5\n",
        "/observability/otel/sampling_ratio",
        (4, 5),
        "observability.otel.sampling_ratio must be between 0 and 1 (got 1.500000)",
        id="otel-ratio-high",
    ),
    pytest.param(
        OTEL_ON + "    sampling_ratio: -0.1\n",
        "/observability/otel/sampling_ratio",
        (4, 5),
        "observability.otel.sampling_ratio must be between 0 and 1 (got -0.100000)",
        id="otel-ratio-negative",
    ),
    pytest.param(
        OTEL_ON + "    export_timeout_ms: 0\n",
        "/observability/otel/export_timeout_ms",
        (4, 5),
        "observability.otel.export_timeout_ms must be > 0",
        id="otel-timeout",
    ),
    pytest.param(
        OTEL_ON + "    metric_export_interval_ms: -5\n",
        "/observability/otel/metric_export_interval_ms",
        (4, 5),
        "observability.otel.metric_export_interval_ms must be > 0",
        id="otel-interval",
    ),
    pytest.param(
        OTEL_ON + "    prometheus_enabled: true\n    prometheus_path: metrics\n",
        "/observability/otel/prometheus_path",
        (5, 5),
        "observability.otel.prometheus_path must start with '/' (got \"metrics\")",
        id="prometheus-path-slash",
    ),
    pytest.param(
        OTEL_ON + "    prometheus_enabled: true\n    prometheus_path: /api/metrics\n",
        "/observability/otel/prometheus_path",
        (5, 5),
        'observability.otel.prometheus_path must not overlap with /api (got "/api/metrics")',
        id="prometheus-path-api",
    ),
    pytest.param(
        OTEL_ON + "    prometheus_enabled: true\n    prometheus_path: /apix\n",
        "/observability/otel/prometheus_path",
        (5, 5),
        'observability.otel.prometheus_path must not overlap with /api (got "/apix")',
        id="prometheus-path-plain-string-prefix",
    ),
    pytest.param(
        OTEL_ON + "    prometheus_enabled: true\n    prometheus_path: /openai/metrics\n",
        "/observability/otel/prometheus_path",
        (5, 5),
        'observability.otel.prometheus_path must not overlap with /openai (got "/openai/metrics")',
        id="prometheus-path-openai",
    ),
    pytest.param(
        OTEL_ON + "    prometheus_enabled: true\n    prometheus_path: /anthropic\n",
        "/observability/otel/prometheus_path",
        (5, 5),
        'observability.otel.prometheus_path must not overlap with /anthropic (got "/anthropic")',
        id="prometheus-path-anthropic",
    ),
    pytest.param(
        "auth:\n  keys:\n    - {id: k, token: a, role: developer}\n"
        "    - {id: k, token: b, role: developer}\n",
        "/auth/keys/1/id",
        (4, 8),
        'duplicate gateway key id "k"',
        id="duplicate-key-id",
    ),
]


@pytest.mark.parametrize(("text", "pointer", "position", "message"), SEMANTIC)
def test_each_contract_rule_is_reported_with_its_message_and_pointer(
    tmp_path: Path, text: str, pointer: str, position: tuple[int, int], message: str
) -> None:
    problem = _only(_problems(tmp_path, text), pointer)

    assert problem.message == message
    assert (problem.line, problem.column) == position


@pytest.mark.parametrize(
    ("text", "pointer", "label", "got"),
    [
        ("pii:\n  mode: loud\n", "/pii/mode", "pii.mode", "loud"),
        (
            "pii:\n  scopes:\n    - match: {org_id: a}\n      mode: sometimes\n",
            "/pii/scopes/0/mode",
            "pii.scopes[0].mode",
            "sometimes",
        ),
    ],
    ids=["global-mode", "scope-mode"],
)
def test_an_unknown_pii_mode_is_reported_with_the_contract_wording(
    tmp_path: Path, text: str, pointer: str, label: str, got: str
) -> None:
    problem = _only(_problems(tmp_path, text), pointer)

    assert problem.message.startswith(f"{label} must be one of {PII_LIST}")
    assert problem.message.endswith(f'(got "{got}")')


@pytest.mark.parametrize(
    "text",
    [
        "pii:\n  mode: ' BLOCK '\n",
        "pii:\n  mode: shadow\n",
        "pii:\n  scopes:\n    - match: {provider: openai, route_prefix: /openai}\n      mode: Redact_Upstream\n",
        "storage:\n  driver: ' postgres '\n  dsn: postgresql://u@h/db?sslmode=disable\n",
        OTEL_ON + "    endpoint: ''\n    prometheus_enabled: true\n",
        OTEL_ON + "    sampling_ratio: 0\n",
        "observability:\n  otel:\n    enabled: false\n    endpoint: ''\n    sampling_ratio: 7\n",
        "tracing:\n  body_max_size: 0\nlimits:\n  per_key:\n    requests_per_minute: -1\n",
    ],
    ids=[
        "pii-mode-any-case-and-spaces",
        "pii-shadow",
        "scope-mode-any-case",
        "driver-trimmed",
        "prometheus-needs-no-endpoint",
        "ratio-zero",
        "otel-disabled-not-checked",
        "limits-and-body-size-not-validated",
    ],
)
def test_values_the_contract_accepts_load_cleanly(tmp_path: Path, text: str) -> None:
    _load(tmp_path, text)


def test_every_semantic_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = (
        "server:\n  port: 0\n"
        "storage:\n  driver: mysql\n"
        "auth:\n  header: ''\n"
        "pii:\n  mode: loud\n  scopes:\n    - mode: block\n"
        + "observability:\n  otel:\n    enabled: true\n    export_timeout_ms: 0\n"
    )

    problems = _problems(tmp_path, text)

    assert {p.pointer for p in problems} == {
        "/server/port",
        "/storage/driver",
        "/auth/header",
        "/pii/mode",
        "/pii/scopes/0/match",
        "/observability/otel/export_timeout_ms",
    }


def test_every_unknown_key_and_type_error_is_reported_at_once(tmp_path: Path) -> None:
    text = "bogus: 1\nserver:\n  port: x\n  hots: h\nauth:\n  enabled: 3\n"

    problems = _problems(tmp_path, text)

    assert {p.pointer for p in problems} == {
        "/bogus",
        "/server/port",
        "/server/hots",
        "/auth/enabled",
    }
    assert [(p.line, p.column) for p in problems] == sorted((p.line, p.column) for p in problems)


def test_file_problems_and_environment_problems_are_reported_together(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "bogus: 1\n", {"ONGOINGAI_PORT": "abc"})

    assert {(p.file, p.pointer) for p in problems} == {
        (str(tmp_path / "ongoingai.yaml"), "/bogus"),
        ("$ONGOINGAI_PORT", "/server/port"),
    }


# --- environment overrides (contract §2.2) ----------------------------------------------------

ENV_CASES = [
    ("ONGOINGAI_HOST", "127.0.0.1", "server.host", "127.0.0.1"),
    ("ONGOINGAI_PORT", "9090", "server.port", 9090),
    ("ONGOINGAI_STORAGE_DRIVER", "sqlite", "storage.driver", "sqlite"),
    ("ONGOINGAI_STORAGE_PATH", "/var/lib/o.db", "storage.path", "/var/lib/o.db"),
    ("ONGOINGAI_STORAGE_DSN", "postgres://u@h/db", "storage.dsn", "postgres://u@h/db"),
    (
        "ONGOINGAI_OPENAI_UPSTREAM",
        "http://localhost:9001",
        "providers.openai.upstream",
        "http://localhost:9001",
    ),
    (
        "ONGOINGAI_ANTHROPIC_UPSTREAM",
        "http://localhost:9002",
        "providers.anthropic.upstream",
        "http://localhost:9002",
    ),
    ("ONGOINGAI_CAPTURE_BODIES", "true", "tracing.capture_bodies", True),
    ("ONGOINGAI_BODY_MAX_SIZE", "2048", "tracing.body_max_size", 2048),
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://collector:4318",
        "observability.otel.endpoint",
        "http://collector:4318",
    ),
    ("OTEL_EXPORTER_OTLP_INSECURE", "false", "observability.otel.insecure", False),
    ("OTEL_SERVICE_NAME", "  my-gw  ", "observability.otel.service_name", "my-gw"),
    ("OTEL_TRACES_EXPORTER", "none", "observability.otel.traces_enabled", False),
    ("OTEL_TRACES_EXPORTER", "OTLP", "observability.otel.traces_enabled", True),
    ("OTEL_METRICS_EXPORTER", "none", "observability.otel.metrics_enabled", False),
    ("OTEL_METRICS_EXPORTER", " otlp ", "observability.otel.metrics_enabled", True),
    ("OTEL_TRACES_SAMPLER_ARG", "0.25", "observability.otel.sampling_ratio", 0.25),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000", "observability.otel.export_timeout_ms", 5000),
    ("OTEL_METRIC_EXPORT_INTERVAL", "2000", "observability.otel.metric_export_interval_ms", 2000),
    ("ONGOINGAI_PROMETHEUS_ENABLED", "true", "observability.otel.prometheus_enabled", True),
    ("ONGOINGAI_PROMETHEUS_PATH", "/prom", "observability.otel.prometheus_path", "/prom"),
    ("ONGOINGAI_PII_MODE", "block", "pii.mode", "block"),
    ("ONGOINGAI_PII_POLICY_ID", "acme/v2", "pii.policy_id", "acme/v2"),
    ("ONGOINGAI_PII_HASH_SALT", "pepper", "pii.replacement.hash_salt", "pepper"),
    ("ONGOINGAI_AUTH_ENABLED", "1", "auth.enabled", True),
    ("ONGOINGAI_AUTH_HEADER", "X-Gateway-Token", "auth.header", "X-Gateway-Token"),
]


@pytest.mark.parametrize(
    ("var", "value", "key", "expected"),
    ENV_CASES,
    ids=[f"{var}={value.strip()}" for var, value, _, _ in ENV_CASES],
)
def test_each_contract_env_variable_overrides_its_key(
    tmp_path: Path, var: str, value: str, key: str, expected: object
) -> None:
    loaded = _load(tmp_path, None, {var: value})

    assert _get(loaded.config, key) == expected
    assert var in {name for name, _ in loaded.env_applied}


def test_an_env_variable_beats_the_file(tmp_path: Path) -> None:
    loaded = _load(tmp_path, "server:\n  port: 1234\n  host: h\n", {"ONGOINGAI_PORT": "4321"})

    assert loaded.config.server.port == 4321
    assert loaded.config.server.host == "h"


def test_empty_env_values_are_ignored(tmp_path: Path) -> None:
    env = dict.fromkeys({var for var, _, _, _ in ENV_CASES}, "")
    env["OTEL_SDK_DISABLED"] = ""

    loaded = _load(tmp_path, "server:\n  port: 1234\n", env)

    assert loaded.config == GatewayConfig.model_validate({"server": {"port": 1234}})
    assert loaded.env_applied == ()


def test_blank_otel_values_count_as_empty_after_trimming(tmp_path: Path) -> None:
    loaded = _load(tmp_path, None, {"OTEL_SERVICE_NAME": "   ", "OTEL_TRACES_EXPORTER": " "})

    assert loaded.config.observability.otel == GatewayConfig().observability.otel


OTEL_VARS = [
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
    ("OTEL_EXPORTER_OTLP_INSECURE", "true"),
    ("OTEL_SERVICE_NAME", "svc"),
    ("OTEL_TRACES_EXPORTER", "otlp"),
    ("OTEL_METRICS_EXPORTER", "otlp"),
    ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "100"),
    ("OTEL_METRIC_EXPORT_INTERVAL", "100"),
    ("ONGOINGAI_PROMETHEUS_ENABLED", "true"),
    ("ONGOINGAI_PROMETHEUS_PATH", "/prom"),
]


@pytest.mark.parametrize(("var", "value"), OTEL_VARS, ids=[v for v, _ in OTEL_VARS])
def test_any_otel_variable_switches_otel_on(tmp_path: Path, var: str, value: str) -> None:
    loaded = _load(tmp_path, None, {var: value})

    assert loaded.config.observability.otel.enabled is True


@pytest.mark.parametrize(("var", "value"), OTEL_VARS, ids=[v for v, _ in OTEL_VARS])
def test_otel_sdk_disabled_wins_over_other_otel_variables(
    tmp_path: Path, var: str, value: str
) -> None:
    loaded = _load(tmp_path, None, {var: value, "OTEL_SDK_DISABLED": "true"})

    assert loaded.config.observability.otel.enabled is False


@pytest.mark.parametrize(
    ("file_enabled", "disabled", "expected"),
    [(False, "false", True), (True, "true", False), (True, "0", True), (False, "F", True)],
    ids=["false-enables", "true-disables-file", "zero-keeps-on", "F-enables"],
)
def test_otel_sdk_disabled_sets_enabled_to_its_negation(
    tmp_path: Path, file_enabled: bool, disabled: str, expected: bool
) -> None:
    text = f"observability:\n  otel:\n    enabled: {str(file_enabled).lower()}\n"

    loaded = _load(tmp_path, text, {"OTEL_SDK_DISABLED": disabled})

    assert loaded.config.observability.otel.enabled is expected


@pytest.mark.parametrize("value", ["prometheus", "PROMETHEUS", " Prometheus "])
def test_prometheus_metrics_exporter_enables_scraping_instead_of_otlp_push(
    tmp_path: Path, value: str
) -> None:
    otel = _load(tmp_path, None, {"OTEL_METRICS_EXPORTER": value}).config.observability.otel

    assert otel.prometheus_enabled is True
    assert otel.metrics_enabled is False
    assert otel.enabled is True


TRUE_TOKENS = ["1", "t", "T", "TRUE", "true", "True"]
FALSE_TOKENS = ["0", "f", "F", "FALSE", "false", "False"]
BOOL_VARS = [
    ("ONGOINGAI_CAPTURE_BODIES", "tracing.capture_bodies"),
    ("ONGOINGAI_AUTH_ENABLED", "auth.enabled"),
    ("ONGOINGAI_PROMETHEUS_ENABLED", "observability.otel.prometheus_enabled"),
    ("OTEL_EXPORTER_OTLP_INSECURE", "observability.otel.insecure"),
]


@pytest.mark.parametrize(("var", "key"), BOOL_VARS, ids=[v for v, _ in BOOL_VARS])
@pytest.mark.parametrize(
    ("token", "expected"),
    [(t, True) for t in TRUE_TOKENS] + [(f, False) for f in FALSE_TOKENS],
    ids=TRUE_TOKENS + [f"false-{f}" for f in FALSE_TOKENS],
)
def test_bool_variables_accept_exactly_go_parsebool_spellings(
    tmp_path: Path, var: str, key: str, token: str, expected: bool
) -> None:
    loaded = _load(tmp_path, None, {var: token})

    assert _get(loaded.config, key) is expected


@pytest.mark.parametrize("token", ["yes", "no", "on", "TrUe", "2", "y", "tRUE"])
@pytest.mark.parametrize("var", ["ONGOINGAI_CAPTURE_BODIES", "ONGOINGAI_AUTH_ENABLED"])
def test_bool_variables_reject_other_spellings_with_a_located_problem(
    tmp_path: Path, var: str, token: str
) -> None:
    [problem] = _problems(tmp_path, None, {var: token})

    assert problem.file == f"${var}"
    assert problem.message.startswith(f"invalid {var}: ")
    assert f'"{token}"' in problem.message


@pytest.mark.parametrize(
    "value",
    ["abc", "80.5", "8_080", " 8080", "0x50"],
    ids=["word", "float", "underscore", "space", "hex"],
)
def test_an_invalid_port_variable_is_reported_with_the_contract_message(
    tmp_path: Path, value: str
) -> None:
    [problem] = _problems(tmp_path, None, {"ONGOINGAI_PORT": value})

    assert problem.file == "$ONGOINGAI_PORT"
    assert problem.pointer == "/server/port"
    assert problem.message == (
        f'invalid ONGOINGAI_PORT: strconv.Atoi: parsing "{value}": invalid syntax'
    )


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("ONGOINGAI_BODY_MAX_SIZE", "1MB"),
        ("OTEL_TRACES_SAMPLER_ARG", "half"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "3s"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "ten"),
        ("OTEL_SDK_DISABLED", "nope"),
    ],
    ids=lambda v: v,
)
def test_an_unparsable_numeric_or_bool_variable_names_the_variable(
    tmp_path: Path, var: str, value: str
) -> None:
    [problem] = _problems(tmp_path, None, {var: value})

    assert problem.file == f"${var}"
    assert problem.message.startswith(f"invalid {var}: ")


def test_an_invalid_traces_exporter_is_reported_with_the_contract_message(
    tmp_path: Path,
) -> None:
    [problem] = _problems(tmp_path, None, {"OTEL_TRACES_EXPORTER": "zipkin"})

    assert problem.file == "$OTEL_TRACES_EXPORTER"
    assert (
        problem.message == 'invalid OTEL_TRACES_EXPORTER: must be one of otlp, none (got "zipkin")'
    )


def test_an_invalid_metrics_exporter_is_reported(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path, None, {"OTEL_METRICS_EXPORTER": "statsd"})

    assert problem.file == "$OTEL_METRICS_EXPORTER"
    assert problem.message.startswith(
        "invalid OTEL_METRICS_EXPORTER: must be one of otlp, none, prometheus"
    )


def test_every_invalid_variable_is_reported_at_once(tmp_path: Path) -> None:
    env = {"ONGOINGAI_PORT": "x", "ONGOINGAI_AUTH_ENABLED": "yes", "OTEL_TRACES_EXPORTER": "jaeger"}

    problems = _problems(tmp_path, None, env)

    assert {p.file for p in problems} == {
        "$ONGOINGAI_PORT",
        "$ONGOINGAI_AUTH_ENABLED",
        "$OTEL_TRACES_EXPORTER",
    }


@pytest.mark.parametrize(
    ("env", "pointer", "message"),
    [
        (
            {"ONGOINGAI_PORT": "70000"},
            "/server/port",
            "server.port must be between 1 and 65535 (got 70000)",
        ),
        (
            {"ONGOINGAI_STORAGE_DRIVER": "oracle"},
            "/storage/driver",
            'storage.driver must be one of sqlite, postgres (got "oracle")',
        ),
        (
            {"OTEL_TRACES_SAMPLER_ARG": "2"},
            "/observability/otel/sampling_ratio",
            "observability.otel.sampling_ratio must be between 0 and 1 (got 2.000000)",
        ),
    ],
    ids=["port", "driver", "ratio"],
)
def test_a_rule_broken_by_an_env_value_names_the_variable_as_its_source(
    tmp_path: Path, env: dict[str, str], pointer: str, message: str
) -> None:
    problem = _only(_problems(tmp_path, "server:\n  host: h\n", env), pointer)

    assert problem.file == f"${next(iter(env))}"
    assert problem.message == message


def test_schema_problems_do_not_hide_semantic_problems_elsewhere_in_the_file(
    tmp_path: Path,
) -> None:
    text = "server:\n  port: 0\n  bogus_key: 1\nauth:\n  header: ''\n"

    problems = _problems(tmp_path, text)

    assert {p.pointer for p in problems} == {"/server/port", "/server/bogus_key", "/auth/header"}


def test_an_env_problem_does_not_hide_semantic_problems_in_the_file(tmp_path: Path) -> None:
    problems = _problems(tmp_path, "storage:\n  driver: mysql\n", {"ONGOINGAI_PORT": "x"})

    assert {(p.file, p.pointer) for p in problems} == {
        (str(tmp_path / "ongoingai.yaml"), "/storage/driver"),
        ("$ONGOINGAI_PORT", "/server/port"),
    }
