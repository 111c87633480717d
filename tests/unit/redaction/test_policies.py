"""PolicySet: global policy, scope precedence, policy files, auto mode and matching rules."""

from __future__ import annotations

import json
from importlib.resources import files as resources
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from ongoingai.engine.config import PiiConfig, PiiDetectors
from ongoingai.engine.models.redaction import RedactionPolicy
from ongoingai.engine.redaction import PolicySet, Resolution, redactor_for

REQUEST = {
    "org_id": "org-a",
    "workspace_id": "ws-a",
    "key_id": "key-1",
    "provider": "openai",
    "route": "/openai/v1/chat/completions",
}
NEW_DETECTORS = ("credit_card", "ipv4", "provider_key")


def _file(policy_id: str, **fields: Any) -> RedactionPolicy:
    return RedactionPolicy.model_validate(
        {"kind": "redaction", "version": 1, "policy_id": policy_id, **fields}
    )


def _packaged_default() -> RedactionPolicy:
    text = (resources("ongoingai.policies") / "redaction" / "default.yaml").read_text()
    return RedactionPolicy.model_validate(yaml.safe_load(text))


def _pii(**fields: Any) -> PiiConfig:
    return PiiConfig.model_validate(fields)


def _resolve(policies: PolicySet, *, capture_bodies: bool = False, **request: Any) -> Resolution:
    return policies.resolve(**(REQUEST | request), capture_bodies=capture_bodies)


def _scope(mode: str = "", policy_id: str = "", **match: str) -> dict[str, Any]:
    return {"match": match, "mode": mode, "policy_id": policy_id}


# --- the global policy --------------------------------------------------------------------------


@pytest.mark.parametrize(("capture", "mode"), [(False, "off"), (True, "redact_storage")])
def test_auto_mode_follows_body_capture(capture, mode):
    policies = PolicySet.build(PiiConfig(), [_packaged_default()])
    resolution = _resolve(policies, capture_bodies=capture)
    assert (resolution.mode, resolution.policy_id, resolution.scope_index) == (
        mode,
        "default/v1",
        None,
    )


def test_default_config_resolves_to_the_contract_defaults():
    resolution = _resolve(PolicySet.build(PiiConfig(), [_packaged_default()]))
    bare = RedactionPolicy.model_validate({"kind": "redaction", "version": 1})
    rules = ("stages", "detectors", "headers", "body", "replacement")
    assert resolution.policy.model_dump(include=set(rules)) == bare.model_dump(include=set(rules))
    assert resolution.redactor is redactor_for(resolution.policy)


def test_pii_block_keys_override_the_default_file_key_by_key():
    pii = _pii(detectors={"email": False}, replacement={"hash_salt": "pepper"})
    policy = _resolve(PolicySet.build(pii, [_packaged_default()])).policy
    assert policy.detectors.email is False
    assert policy.detectors.phone is True
    assert policy.replacement.hash_salt == "pepper"
    assert policy.replacement.format == "[{type}_REDACTED:{hash}]"


def test_the_file_named_by_pii_policy_id_brings_the_global_rules():
    acme = _file(
        "acme/v1",
        detectors={"ipv4": False, "phone": False},
        replacement={"format": "<{type}>"},
        body={"key_denylist": ["customer_id"]},
    )
    pii = _pii(policy_id="acme/v1", detectors={"phone": True})
    resolution = _resolve(PolicySet.build(pii, [_packaged_default(), acme]))
    assert resolution.policy_id == "acme/v1"
    assert resolution.policy.detectors.ipv4 is False
    assert resolution.policy.detectors.phone is True  # written in the pii block: it wins
    out = resolution.redactor.redact(
        b'{"customer_id":1,"s":"10.0.0.1, 555-123-4567"}', workspace_id="w"
    )
    assert json.loads(out.body) == {"customer_id": "<FIELD>", "s": "10.0.0.1, <PHONE>"}


def test_pii_policy_id_naming_no_file_keeps_the_pii_rules():
    pii = _pii(policy_id="custom/v9", detectors={"ssn": False})
    resolution = _resolve(PolicySet.build(pii, [_packaged_default()]))
    assert resolution.policy_id == "custom/v9"
    assert resolution.policy.detectors.ssn is False


@pytest.mark.parametrize(
    ("pii_mode", "file_mode", "capture", "expected"),
    [
        ("block", "redact_upstream", False, "block"),
        ("", "redact_upstream", False, "redact_upstream"),
        ("", "auto", True, "redact_storage"),
        ("", "auto", False, "off"),
        (" SHADOW ", "off", False, "shadow"),
    ],
)
def test_global_mode_is_pii_mode_else_the_files(pii_mode, file_mode, capture, expected):
    acme = _file("acme/v1", mode=file_mode)
    policies = PolicySet.build(_pii(mode=pii_mode, policy_id="acme/v1"), [acme])
    assert _resolve(policies, capture_bodies=capture).mode == expected


def test_an_empty_pii_policy_id_means_default_v1():
    resolution = _resolve(PolicySet.build(_pii(policy_id=" "), [_packaged_default()]))
    assert resolution.policy_id == "default/v1"


def test_without_scopes_every_request_gets_the_same_decision():
    policies = PolicySet.build(PiiConfig(), [_packaged_default()])
    assert policies.scopes == ()
    first = _resolve(policies)
    assert _resolve(policies, workspace_id="other", route="/anthropic/v1/messages") is first


# --- scopes -------------------------------------------------------------------------------------


def test_no_matching_scope_gives_the_global_policy():
    pii = _pii(mode="redact_storage", scopes=[_scope("block", workspace_id="other")])
    resolution = _resolve(PolicySet.build(pii, []))
    assert (resolution.mode, resolution.scope_index) == ("redact_storage", None)


def test_the_most_specific_matching_scope_wins_whatever_the_order():
    pii = _pii(
        scopes=[
            _scope("block", org_id="org-a", workspace_id="ws-a"),
            _scope(
                "redact_upstream",
                "key-1/strict",
                org_id="org-a",
                workspace_id="ws-a",
                key_id="key-1",
                provider="openai",
                route_prefix="/openai/v1",
            ),
            _scope("shadow", workspace_id="ws-a"),
        ]
    )
    resolution = _resolve(PolicySet.build(pii, []))
    assert (resolution.mode, resolution.policy_id, resolution.scope_index) == (
        "redact_upstream",
        "key-1/strict",
        1,
    )


def test_equally_specific_scopes_go_to_the_first_declared_pii_scopes_first():
    acme = _file("acme/v1", scopes=[_scope("shadow", key_id="key-1")])
    pii = _pii(scopes=[_scope("block", provider="openai")])
    resolution = _resolve(PolicySet.build(pii, [acme]))
    assert (resolution.mode, resolution.scope_index) == ("block", 0)


def test_file_scopes_follow_the_files_order():
    first = _file("first/v1", scopes=[_scope("block", workspace_id="ws-a")])
    second = _file("second/v1", scopes=[_scope("shadow", key_id="key-1")])
    policies = PolicySet.build(PiiConfig(), [first, second])
    resolution = _resolve(policies)
    assert (resolution.mode, resolution.policy_id, resolution.scope_index) == (
        "block",
        "first/v1",
        0,
    )
    assert [s.policy_id for s in policies.scopes] == ["first/v1", "second/v1"]


def test_a_scope_naming_a_file_brings_its_detectors_and_mode():
    strict = _file(
        "workspace-strict/v1",
        mode="block",
        detectors={"email": False},
        replacement={"format": "<{type}>"},
    )
    pii = _pii(scopes=[_scope(policy_id="workspace-strict/v1", workspace_id="ws-a")])
    resolution = _resolve(PolicySet.build(pii, [_packaged_default(), strict]))
    assert (resolution.mode, resolution.policy_id) == ("block", "workspace-strict/v1")
    assert resolution.policy is strict
    out = resolution.redactor.redact(b"a@example.com 555-123-4567", workspace_id="ws-a")
    assert out.body == b"a@example.com <PHONE>"


def test_a_scope_mode_beats_the_named_files_mode():
    strict = _file("strict/v1", mode="block")
    pii = _pii(scopes=[_scope("shadow", "strict/v1", key_id="key-1")])
    assert _resolve(PolicySet.build(pii, [strict])).mode == "shadow"


@pytest.mark.parametrize(("capture", "expected"), [(False, "off"), (True, "redact_storage")])
def test_a_named_file_in_auto_mode_takes_the_global_effective_mode(capture, expected):
    strict = _file("strict/v1", detectors={"ssn": False})
    pii = _pii(scopes=[_scope(policy_id="strict/v1", key_id="key-1")])
    resolution = _resolve(PolicySet.build(pii, [strict]), capture_bodies=capture)
    assert resolution.mode == expected
    assert resolution.policy.detectors.ssn is False


def test_a_scope_naming_no_file_keeps_the_global_rules_with_its_mode_and_id():
    pii = _pii(
        detectors={"ipv4": False},
        scopes=[_scope("off", "key-dev/off", key_id="key-1")],
    )
    policies = PolicySet.build(pii, [_packaged_default()])
    resolution = _resolve(policies, capture_bodies=True)
    assert (resolution.mode, resolution.policy_id, resolution.scope_index) == (
        "off",
        "key-dev/off",
        0,
    )
    assert resolution.policy is _resolve(policies, key_id="other").policy
    assert resolution.policy.detectors.ipv4 is False


def test_a_scope_setting_only_a_mode_keeps_the_global_policy_id():
    pii = _pii(policy_id="acme/v2", scopes=[_scope("Redact_Upstream", workspace_id="ws-a")])
    resolution = _resolve(PolicySet.build(pii, []))
    assert (resolution.mode, resolution.policy_id) == ("redact_upstream", "acme/v2")


def test_a_scope_naming_the_global_policy_id_keeps_the_global_rules():
    pii = _pii(detectors={"email": False}, scopes=[_scope("block", "default/v1", key_id="key-1")])
    policies = PolicySet.build(pii, [_packaged_default()])
    resolution = _resolve(policies)
    assert resolution.mode == "block"
    assert resolution.policy.detectors.email is False


def test_a_scope_declared_in_a_file_applies_that_file():
    acme = _file(
        "acme/v1",
        mode="redact_upstream",
        detectors={"phone": False},
        scopes=[_scope(workspace_id="acme")],
    )
    policies = PolicySet.build(PiiConfig(), [_packaged_default(), acme])
    inside = _resolve(policies, workspace_id="acme")
    assert (inside.mode, inside.policy_id, inside.policy) == ("redact_upstream", "acme/v1", acme)
    outside = _resolve(policies)
    assert (outside.mode, outside.policy_id, outside.scope_index) == ("off", "default/v1", None)


def test_a_later_file_with_the_same_policy_id_wins():
    old = _file("acme/v1", mode="block")
    new = _file("acme/v1", mode="shadow")
    pii = _pii(policy_id="acme/v1")
    assert _resolve(PolicySet.build(pii, [old, new])).mode == "shadow"


# --- selectors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "matched"),
    [("openai", True), ("OpenAI", True), (" OPENAI ", True), ("anthropic", False), ("", False)],
)
def test_the_provider_selector_is_case_insensitive(provider, matched):
    policies = PolicySet.build(_pii(scopes=[_scope("block", provider="openai")]), [])
    assert (_resolve(policies, provider=provider).scope_index == 0) is matched


@pytest.mark.parametrize(
    ("route", "matched"),
    [
        ("/openai/v1", True),
        ("/openai/v1/chat/completions", True),
        ("/openai/v1x", False),
        ("/openai", False),
        ("", False),
    ],
)
def test_the_route_selector_is_a_path_prefix(route, matched):
    policies = PolicySet.build(_pii(scopes=[_scope("block", route_prefix="/openai/v1")]), [])
    assert (_resolve(policies, route=route).mode == "block") is matched


def test_tenant_selectors_match_exactly_after_trimming():
    policies = PolicySet.build(_pii(scopes=[_scope("block", workspace_id=" ws-a ")]), [])
    assert _resolve(policies, workspace_id="ws-a ").mode == "block"
    assert _resolve(policies, workspace_id="WS-A").mode == "off"
    assert _resolve(policies, workspace_id="ws-ab").mode == "off"


def test_repeated_requests_get_the_same_resolution_object():
    policies = PolicySet.build(_pii(scopes=[_scope("block", workspace_id="ws-a")]), [])
    assert _resolve(policies) is _resolve(policies)
    assert _resolve(policies, capture_bodies=True) is not _resolve(policies)


# --- config and schemas know the new detectors --------------------------------------------------


def test_pii_detectors_default_every_detector_on():
    assert PiiDetectors().model_dump() == dict.fromkeys(
        ("email", "phone", "ssn", "token_like", *NEW_DETECTORS), True
    )


@pytest.mark.parametrize("schema", ["config.schema.json", "redaction.schema.json"])
def test_both_schemas_accept_the_new_detector_switches(schema):
    document = json.loads(resources("ongoingai.schemas").joinpath(schema).read_text())
    detectors = dict.fromkeys(NEW_DETECTORS, False)
    data: dict[str, Any] = (
        {"pii": {"detectors": detectors}}
        if schema == "config.schema.json"
        else {"kind": "redaction", "version": 1, "detectors": detectors}
    )
    assert list(Draft202012Validator(document).iter_errors(data)) == []


def test_new_detector_switches_reach_the_global_policy():
    pii = _pii(detectors=dict.fromkeys(NEW_DETECTORS, False))
    policy = _resolve(PolicySet.build(pii, [_packaged_default()])).policy
    assert not any(getattr(policy.detectors, name) for name in NEW_DETECTORS)
    assert policy.detectors.email
