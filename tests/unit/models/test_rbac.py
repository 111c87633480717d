"""RBAC data kind: schema, packaged role matrix and route map, typed model and matching."""

import json
from importlib.resources import files
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from ongoingai.engine.models.rbac import (
    RbacPolicy,
    RouteRule,
    has_path_prefix,
    normalize_path_prefix,
)

PREFIXES = ("/openai", "/anthropic")
ALL = frozenset({"proxy:write", "analytics:read", "keys:manage"})


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        files("ongoingai.schemas").joinpath("rbac.schema.json").read_text()
    )
    return schema


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (files("ongoingai.policies") / "rbac" / "roles.yaml").read_text()
    )
    return data


def _errors(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    validator = Draft202012Validator(_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [(tuple(e.absolute_path), e.message) for e in validator.iter_errors(data)]


def _policy() -> RbacPolicy:
    return RbacPolicy.model_validate(_data())


def _rule(method: str, path: str, prefixes: tuple[str, ...] = PREFIXES) -> RouteRule:
    rule = _policy().match(method, path, prefixes)
    assert rule is not None, (method, path)
    return rule


def _with_route(**route: Any) -> dict[str, Any]:
    return {"kind": "rbac", "version": 1, "roles": {}, "routes": [route]}


# --- schema ------------------------------------------------------------------------------------


def test_rbac_schema_is_a_valid_draft_2020_12_schema():
    schema = _schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://ongoingai.dev/schemas/rbac.schema.json"


def test_packaged_roles_file_validates_against_the_schema():
    assert _errors(_data()) == []


def test_schema_rejects_an_unknown_route_key_at_the_route():
    route = {"methods": ["GET"], "path": "/x", "resource": "x", "action": "read", "public": True}
    errors = _errors(_with_route(**route, scope="global"))
    assert len(errors) == 1
    assert errors[0][0] == ("routes", 0)
    assert "'scope' was unexpected" in errors[0][1]


def test_schema_rejects_an_unknown_http_method_at_its_json_path():
    route = {"methods": ["FETCH"], "path": "/x", "resource": "x", "action": "read", "public": True}
    assert [path for path, _ in _errors(_with_route(**route))] == [("routes", 0, "methods", 0)]


def test_schema_rejects_a_route_that_is_both_public_and_permissioned():
    route = {
        "methods": ["GET"],
        "path": "/x",
        "resource": "x",
        "action": "read",
        "public": True,
        "permission": "analytics:read",
    }
    assert [path for path, _ in _errors(_with_route(**route))] == [("routes", 0)]


@pytest.mark.parametrize("path", ["api/health", "/api/", "/api/{ID}", "/api/**/x", "/a b", ""])
def test_schema_rejects_malformed_route_paths(path):
    route = {"methods": ["GET"], "path": path, "resource": "x", "action": "read", "public": True}
    assert [p for p, _ in _errors(_with_route(**route))] == [("routes", 0, "path")]


def test_schema_rejects_a_malformed_permission_in_a_role():
    data = _data()
    data["roles"]["viewer"] = ["analytics"]
    assert [path for path, _ in _errors(data)] == [("roles", "viewer", 0)]


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "permissions"),
    [
        ("owner", ALL),
        ("admin", ALL),
        ("developer", {"proxy:write", "analytics:read"}),
        ("member", {"proxy:write", "analytics:read"}),
        ("viewer", {"analytics:read"}),
    ],
)
def test_every_contract_role_grants_its_contract_permissions(role, permissions):
    assert _policy().permissions_for(role) == frozenset(permissions)


@pytest.mark.parametrize("role", [None, "", "   "])
def test_key_without_a_role_gets_no_permission(role):
    assert _policy().permissions_for(role) == frozenset()


def test_unknown_role_gets_no_permission():
    assert _policy().permissions_for("superuser") == frozenset()


def test_role_lookup_ignores_case_and_surrounding_whitespace():
    assert _policy().permissions_for("  Admin ") == ALL


def test_role_map_cannot_be_mutated_through_the_policy():
    policy = _policy()
    with pytest.raises(TypeError):
        policy.roles["viewer"] = frozenset(ALL)  # type: ignore[index]


# --- route matrix ------------------------------------------------------------------------------

MATRIX = [
    ("GET", "/api/traces", "traces", "read", "analytics:read"),
    ("GET", "/api/traces/trace-1", "traces", "read", "analytics:read"),
    ("GET", "/api/traces/trace-1/replay", "traces", "read", "analytics:read"),
    ("POST", "/api/traces/trace-1/fork", "traces", "read", "analytics:read"),
    ("GET", "/api/analytics/usage", "analytics", "read", "analytics:read"),
    ("GET", "/api/analytics/cost", "analytics", "read", "analytics:read"),
    ("GET", "/api/analytics/models", "analytics", "read", "analytics:read"),
    ("GET", "/api/analytics/keys", "analytics", "read", "analytics:read"),
    ("GET", "/api/analytics/summary", "analytics", "read", "analytics:read"),
    ("GET", "/api/analytics/latency", "analytics", "read", "analytics:read"),
    ("GET", "/api/analytics/errors", "analytics", "read", "analytics:read"),
    ("GET", "/api/diagnostics/trace-pipeline", "diagnostics", "read", "analytics:read"),
    ("GET", "/api/diagnostics/config", "diagnostics", "read", "analytics:read"),
    ("GET", "/api/gateway-keys", "gateway_keys", "manage", "keys:manage"),
    ("POST", "/api/gateway-keys", "gateway_keys", "manage", "keys:manage"),
    ("DELETE", "/api/gateway-keys/gk_1", "gateway_keys", "manage", "keys:manage"),
    ("POST", "/api/gateway-keys/gk_1/rotate", "gateway_keys", "manage", "keys:manage"),
    ("POST", "/openai/v1/chat/completions", "proxy", "forward", "proxy:write"),
    ("GET", "/openai/v1/models", "proxy", "forward", "proxy:write"),
    ("POST", "/anthropic/v1/messages", "proxy", "forward", "proxy:write"),
    ("DELETE", "/openai", "proxy", "forward", "proxy:write"),
]


@pytest.mark.parametrize(
    ("method", "path", "resource", "action", "permission"),
    MATRIX,
    ids=[f"{m} {p}" for m, p, *_ in MATRIX],
)
def test_contract_route_requires_its_permission(method, path, resource, action, permission):
    rule = _policy().match(method, path, PREFIXES)
    assert rule is not None
    assert (rule.resource, rule.action, rule.permission, rule.public) == (
        resource,
        action,
        permission,
        False,
    )


def test_analytics_latency_and_errors_are_mapped_to_analytics_read():
    for path in ("/api/analytics/latency", "/api/analytics/errors"):
        assert _rule("GET", path).permission == "analytics:read"


@pytest.mark.parametrize("path", ["/", "/api/health", "/api/ready"])
def test_root_health_and_ready_are_public(path):
    for method in ("GET", "HEAD"):
        rule = _rule(method, path)
        assert rule.public is True
        assert rule.permission is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/health"),
        ("GET", "/api/internal/debug"),
        ("GET", "/api/gateway-keys/gk_1/rotate"),
        ("GET", "/api/gateway-keys/gk_1"),
        ("PUT", "/api/traces"),
        ("GET", "/api/traces/"),
        ("GET", "/api/traces/a/b/c"),
        ("GET", "/api/analytics/bogus"),
        ("GET", "/api"),
        ("DELETE", "/"),
    ],
)
def test_unmapped_route_is_refused_by_default(method, path):
    assert _policy().match(method, path, PREFIXES) is None


@pytest.mark.parametrize(
    "path",
    [p for m, p, *_ in MATRIX if m == "GET"] + ["/", "/api/health", "/api/ready"],
)
def test_head_is_governed_by_the_same_rule_as_get(path):
    policy = _policy()
    assert policy.match("HEAD", path, PREFIXES) is policy.match("GET", path, PREFIXES)


def test_head_is_implied_by_a_rule_that_lists_only_get():
    rule = RouteRule(methods=("GET",), path="/x", resource="x", action="read", permission="a:read")
    assert rule.allows_method("HEAD")
    assert rule.allows_method("get")
    assert not rule.allows_method("POST")


def test_method_matching_ignores_case():
    assert _rule("post", "/api/traces/t/fork").permission == "analytics:read"


# --- provider routes ---------------------------------------------------------------------------


def test_provider_rules_match_only_the_prefixes_the_caller_configures():
    policy = _policy()
    assert policy.match("POST", "/openai/v1/chat/completions") is None
    assert _rule("POST", "/groq/v1/chat/completions", ("/groq/",)).permission == "proxy:write"


def test_provider_prefix_matches_whole_segments_only():
    assert _policy().match("POST", "/openaiish/v1/chat", PREFIXES) is None


def test_options_preflight_on_protected_prefixes_needs_no_key():
    for path in ("/api", "/api/traces", "/openai/v1/chat/completions"):
        assert _rule("OPTIONS", path).public is True
    assert _policy().match("OPTIONS", "/apiish", PREFIXES) is None


# --- rule construction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"permission": "a:read"}, "exactly one of `path` or `provider"),
        ({"path": "/x", "provider": True, "permission": "a:read"}, "exactly one of `path`"),
        ({"path": "/x"}, "exactly one of `permission` or `public"),
        ({"path": "/x", "permission": "a:read", "public": True}, "exactly one of `permission`"),
    ],
)
def test_route_rule_requires_one_target_and_one_requirement(fields, message):
    with pytest.raises(ValidationError, match=message):
        RouteRule(methods=("GET",), resource="x", action="read", **fields)


def test_prefix_template_covers_the_prefix_and_everything_below_it():
    rule = RouteRule(methods=("*",), path="/v1/**", resource="x", action="read", public=True)
    assert [rule.matches("GET", p) for p in ("/v1", "/v1/a/b", "/v1x", "/v")] == [
        True,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("path", "prefix", "expected"),
    [
        ("/openai/v1", "/openai", True),
        ("/openai", "/openai/", True),
        ("/openai/v1", " openai ", True),
        ("/openaiish", "/openai", False),
        ("/anything", "/", True),
        ("/anything", "", True),
    ],
)
def test_has_path_prefix_follows_the_contract_rule(path, prefix, expected):
    assert has_path_prefix(path, prefix) is expected


def test_normalize_path_prefix_adds_a_leading_slash_and_drops_trailing_ones():
    assert [normalize_path_prefix(p) for p in (" openai/ ", "/a//", "", "/")] == [
        "/openai",
        "/a",
        "/",
        "/",
    ]


def test_remembered_decisions_stay_right_past_the_cache_bound():
    policy = _policy()
    for n in range(5000):  # more distinct paths than the decision cache holds
        found = policy.match("GET", f"/api/traces/t-{n}", PREFIXES)
        assert found is not None and found.path == "/api/traces/{id}"
    assert policy.match("GET", "/api/traces/t-1/x", PREFIXES) is None
    assert policy.match("GET", "/api/traces/t-1/x", PREFIXES) is None  # remembered "unmapped"
