"""Redaction data kind: schema, packaged default policy, typed model and scope resolution."""

import hashlib
import json
from importlib.resources import files
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from ongoingai.engine.models.redaction import RedactionPolicy, ResolvedRedaction


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        files("ongoingai.schemas").joinpath("redaction.schema.json").read_text()
    )
    return schema


def _data() -> dict[str, Any]:
    text = (files("ongoingai.policies") / "redaction" / "default.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def _errors(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    validator = Draft202012Validator(_schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [(tuple(e.absolute_path), e.message) for e in validator.iter_errors(data)]


def _policy(**overrides: Any) -> RedactionPolicy:
    return RedactionPolicy.model_validate(_data() | overrides)


def _resolve(policy: RedactionPolicy, **request: Any) -> ResolvedRedaction:
    fields = {"org_id": None, "workspace_id": None, "key_id": None, "provider": None, "route": None}
    return policy.resolve(**(fields | request))


FULL_REQUEST = {
    "org_id": "org-a",
    "workspace_id": "ws-a",
    "key_id": "key-1",
    "provider": "openai",
    "route": "/openai/v1/chat/completions",
}


# --- schema ------------------------------------------------------------------------------------


def test_redaction_schema_is_a_valid_draft_2020_12_schema():
    schema = _schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$id"] == "https://ongoingai.dev/schemas/redaction.schema.json"


def test_packaged_default_policy_validates_against_the_schema():
    assert _errors(_data()) == []


def test_schema_accepts_a_file_with_only_kind_and_version():
    assert _errors({"kind": "redaction", "version": 1}) == []


def test_schema_rejects_an_unknown_mode_at_its_json_path():
    errors = _errors(_data() | {"mode": "redact_everything"})
    assert [path for path, _ in errors] == [("mode",)]


@pytest.mark.parametrize(
    ("scope", "path"),
    [
        ({"match": {"workspace_id": "w"}, "mode": "panic"}, ("scopes", 0, "mode")),
        ({"match": {"provider": "OpenAI"}}, ("scopes", 0, "match", "provider")),
        ({"match": {"route_prefix": "openai"}}, ("scopes", 0, "match", "route_prefix")),
        ({"match": {"org_id": ""}}, ("scopes", 0, "match", "org_id")),
        ({"match": {}}, ("scopes", 0, "match")),
        ({"mode": "block"}, ("scopes", 0)),
    ],
)
def test_schema_rejects_a_bad_scope_at_its_json_path(scope, path):
    assert [p for p, _ in _errors(_data() | {"scopes": [scope]})] == [path]


def test_schema_rejects_an_unknown_detector_on_the_detectors_object():
    errors = _errors(_data() | {"detectors": {"email": True, "passport": True}})
    assert len(errors) == 1
    assert errors[0][0] == ("detectors",)
    assert "'passport' was unexpected" in errors[0][1]


# --- defaults ----------------------------------------------------------------------------------


def test_packaged_default_equals_the_contract_defaults():
    packaged = _policy()
    bare = RedactionPolicy.model_validate({"kind": "redaction", "version": 1})
    assert packaged.model_copy(update={"description": None}) == bare
    assert packaged.mode == "auto"
    assert packaged.policy_id == "default/v1"
    assert packaged.replacement.format == "[{type}_REDACTED:{hash}]"
    assert packaged.body.key_denylist == (
        "email",
        "phone",
        "password",
        "token",
        "secret",
        "ssn",
        "api_key",
        "authorization",
    )
    assert all(packaged.stages.model_dump().values())
    assert all(packaged.detectors.model_dump().values())


def test_auto_mode_redacts_storage_only_when_bodies_are_captured():
    policy = _policy()
    assert _resolve(policy).mode == "off"
    assert policy.resolve(None, None, None, None, None, capture_bodies=True).mode == (
        "redact_storage"
    )


def test_contract_pii_block_builds_the_same_policy_as_the_file():
    pii = {k: v for k, v in _data().items() if k not in {"kind", "version", "description"}}
    assert RedactionPolicy.from_pii_config(pii | {"mode": ""}) == _policy(description=None)


def test_mode_and_policy_id_are_accepted_as_the_contract_writes_them():
    policy = RedactionPolicy.from_pii_config(
        {"mode": " BLOCK ", "policy_id": "", "replacement": {"format": ""}}
    )
    assert (policy.mode, policy.policy_id) == ("block", "default/v1")
    assert policy.replacement.format == "[{type}_REDACTED:{hash}]"


def test_explicit_global_mode_is_used_whatever_body_capture_says():
    policy = _policy(mode="shadow")
    assert policy.resolve(None, None, None, None, None, capture_bodies=False).mode == "shadow"


# --- scope resolution (contract §2.4) ----------------------------------------------------------


def test_request_matching_no_scope_gets_the_global_policy():
    policy = _policy(mode="redact_storage", scopes=[{"match": {"workspace_id": "other"}}])
    assert _resolve(policy, **FULL_REQUEST) == ResolvedRedaction(
        mode="redact_storage", policy_id="default/v1", scope_index=None
    )


def test_five_selector_scope_beats_a_two_selector_scope_declared_earlier():
    policy = _policy(
        scopes=[
            {"match": {"org_id": "org-a", "workspace_id": "ws-a"}, "mode": "block"},
            {
                "match": {
                    "org_id": "org-a",
                    "workspace_id": "ws-a",
                    "key_id": "key-1",
                    "provider": "openai",
                    "route_prefix": "/openai/v1",
                },
                "mode": "redact_upstream",
                "policy_id": "key-1/strict",
            },
        ]
    )
    assert _resolve(policy, **FULL_REQUEST) == ResolvedRedaction(
        mode="redact_upstream", policy_id="key-1/strict", scope_index=1
    )


def test_equally_specific_scopes_resolve_to_the_earliest_declared():
    policy = _policy(
        scopes=[
            {"match": {"workspace_id": "ws-a"}, "mode": "block", "policy_id": "first"},
            {"match": {"provider": "openai"}, "mode": "off", "policy_id": "second"},
        ]
    )
    resolved = _resolve(policy, **FULL_REQUEST)
    assert (resolved.mode, resolved.policy_id, resolved.scope_index) == ("block", "first", 0)


def test_scope_that_does_not_match_every_selector_is_ignored_even_if_more_specific():
    policy = _policy(
        scopes=[
            {"match": {"workspace_id": "ws-a"}, "policy_id": "broad"},
            {"match": {"workspace_id": "ws-a", "key_id": "key-2"}, "policy_id": "narrow"},
        ]
    )
    assert _resolve(policy, **FULL_REQUEST).policy_id == "broad"


def test_scope_turns_redaction_on_for_a_workspace():
    policy = _policy(
        scopes=[
            {
                "match": {"workspace_id": "workspace-strict"},
                "mode": "redact_storage",
                "policy_id": "workspace-strict/v1",
            }
        ]
    )
    resolved = _resolve(policy, workspace_id="workspace-strict")
    assert (resolved.mode, resolved.policy_id) == ("redact_storage", "workspace-strict/v1")
    assert _resolve(policy, workspace_id="other").mode == "off"


def test_scope_turns_redaction_off_for_a_key_while_bodies_are_captured():
    policy = _policy(
        scopes=[{"match": {"key_id": "key-dev"}, "mode": "off", "policy_id": "key-dev/off"}]
    )
    resolved = policy.resolve("o", "w", "key-dev", "openai", "/openai/v1", capture_bodies=True)
    assert (resolved.mode, resolved.policy_id) == ("off", "key-dev/off")


def test_scope_setting_only_a_policy_id_keeps_the_resolved_global_mode():
    policy = _policy(scopes=[{"match": {"key_id": "key-1"}, "policy_id": "audited"}])
    resolved = policy.resolve(None, None, "key-1", None, None, capture_bodies=True)
    assert (resolved.mode, resolved.policy_id) == ("redact_storage", "audited")


def test_scope_setting_only_a_mode_keeps_the_global_policy_id():
    policy = _policy(policy_id="acme/v2", scopes=[{"match": {"key_id": "key-1"}, "mode": "shadow"}])
    assert _resolve(policy, key_id="key-1") == ResolvedRedaction(
        mode="shadow", policy_id="acme/v2", scope_index=0
    )


def test_tenant_selectors_match_exactly_after_trimming():
    policy = _policy(scopes=[{"match": {"workspace_id": " ws-a "}, "mode": "block"}])
    assert _resolve(policy, workspace_id="ws-a ").mode == "block"
    assert _resolve(policy, workspace_id="ws-ab").mode == "off"
    assert _resolve(policy, workspace_id="WS-A").mode == "off"
    assert _resolve(policy).mode == "off"


def test_scope_for_another_organisation_does_not_apply():
    policy = _policy(scopes=[{"match": {"org_id": "org-b", "key_id": "key-1"}, "mode": "block"}])
    assert _resolve(policy, **FULL_REQUEST).scope_index is None
    assert _resolve(policy, **(FULL_REQUEST | {"org_id": "org-b"})).scope_index == 0


def test_provider_selector_matches_case_insensitively():
    policy = _policy(scopes=[{"match": {"provider": "openai"}, "mode": "block"}])
    assert _resolve(policy, provider="OpenAI").mode == "block"
    assert _resolve(policy, provider="anthropic").mode == "off"


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        ("/openai/v1", "block"),
        ("/openai/v1/chat", "block"),
        ("/openai/v1x", "off"),
        ("/openai", "off"),
        (None, "off"),
    ],
)
def test_route_prefix_selector_follows_the_path_prefix_rule(route, expected):
    policy = _policy(scopes=[{"match": {"route_prefix": "/openai/v1/"}, "mode": "block"}])
    assert _resolve(policy, route=route).mode == expected


def test_scope_without_any_selector_is_rejected():
    with pytest.raises(ValidationError, match="at least one selector"):
        _policy(scopes=[{"match": {"org_id": "  ", "key_id": ""}, "mode": "block"}])


def test_blank_scope_mode_and_policy_id_mean_keep_the_global_values():
    policy = _policy(
        mode="block", scopes=[{"match": {"key_id": "k"}, "mode": "", "policy_id": " "}]
    )
    assert _resolve(policy, key_id="k") == ResolvedRedaction(
        mode="block", policy_id="default/v1", scope_index=0
    )


def test_null_scope_mode_and_policy_id_mean_keep_the_global_values():
    policy = _policy(scopes=[{"match": {"key_id": "k"}, "mode": None, "policy_id": None}])
    assert _resolve(policy, key_id="k").policy_id == "default/v1"


@pytest.mark.parametrize("field", [{"mode": None}, {"policy_id": 7}])
def test_non_string_global_mode_or_policy_id_is_rejected(field):
    with pytest.raises(ValidationError):
        _policy(**field)


# --- denylists and placeholders ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "denied"),
    [
        ("email", True),
        ("Api-Key", True),
        ("apiKey", True),
        ("AUTHORIZATION", True),
        ("max_tokens", False),
        ("input_tokens", False),
        ("email_address", False),
    ],
)
def test_body_key_denylist_matches_the_normalized_name_exactly(key, denied):
    assert _policy().body.denies(key) is denied


def test_builtin_headers_are_always_denied_and_configured_ones_only_when_enabled():
    headers = _policy(headers={"denylist": ["X-Tenant-Secret"]}).headers
    assert headers.denies("Authorization", include_configured=False)
    assert headers.denies("x-tenant-secret")
    assert not headers.denies("x-tenant-secret", include_configured=False)
    assert not headers.denies("content-type")


def test_placeholder_hash_is_stable_per_workspace_and_salt():
    replacement = _policy(replacement={"hash_salt": "pepper"}).replacement
    expected = hashlib.sha256(b"ws-a:pepper:a@b.co").hexdigest()[:16]
    assert replacement.placeholder("email", "a@b.co", "ws-a") == f"[EMAIL_REDACTED:{expected}]"
    assert replacement.placeholder("email", "a@b.co", "ws-a") == replacement.placeholder(
        "email", "a@b.co", "ws-a"
    )
    assert replacement.placeholder("email", "a@b.co", "ws-b") != replacement.placeholder(
        "email", "a@b.co", "ws-a"
    )


def test_placeholder_uses_the_default_workspace_when_none_is_known():
    replacement = _policy().replacement
    assert replacement.placeholder("ssn", "1", None) == replacement.placeholder(
        "ssn", "1", "default"
    )


def test_custom_placeholder_format_is_rendered_without_str_format_pitfalls():
    replacement = _policy(replacement={"format": "<{type}:{hash}> {x}"}).replacement
    rendered = replacement.placeholder("phone", "555", "w")
    assert rendered.startswith("<PHONE:")
    assert rendered.endswith("> {x}")


def test_redaction_policy_is_immutable():
    policy = _policy()
    with pytest.raises(ValidationError):
        policy.mode = "block"  # type: ignore[misc]
