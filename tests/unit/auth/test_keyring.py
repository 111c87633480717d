"""YAML keys: hashing, tenant defaults, role permissions resolved against the rbac data."""

from __future__ import annotations

import yaml

from ongoingai.engine.auth.keyring import KeyRing, entry_from_config
from ongoingai.engine.auth.tokens import (
    generate_key_id,
    generate_token,
    hash_token,
    is_token_hash,
    same_hash,
)
from ongoingai.engine.config import GatewayKeyConfig
from ongoingai.engine.models.rbac import RbacPolicy
from ongoingai.engine.policy_files import packaged_policy_dir

RBAC = RbacPolicy.model_validate(
    yaml.safe_load((packaged_policy_dir() / "rbac" / "roles.yaml").read_text())
)


def test_a_plain_token_and_its_hash_identify_the_same_key():
    plain = entry_from_config(GatewayKeyConfig(id="k1", role="developer", token=" secret "))
    hashed = entry_from_config(
        GatewayKeyConfig(id="k1", role="developer", token_hash=hash_token("secret").upper())
    )
    assert plain.token_hash == hashed.token_hash == hash_token("secret")
    assert KeyRing([plain]).find(hash_token("secret")) == plain


def test_tenant_defaults_and_team_fallbacks_follow_the_contract():
    bare = entry_from_config(GatewayKeyConfig(id=" k1 ", role="Viewer", token="t"))
    assert (bare.key_id, bare.org_id, bare.workspace_id, bare.team, bare.role) == (
        "k1",
        "default",
        "default",
        "default",
        "viewer",
    )
    team_only = entry_from_config(
        GatewayKeyConfig(id="k2", role="viewer", token="t2", team="red", workspace_id="")
    )
    assert (team_only.workspace_id, team_only.team) == ("red", "red")


def test_permissions_are_the_roles_plus_the_keys_explicit_ones():
    owner = entry_from_config(GatewayKeyConfig(id="o", role="owner", token="a")).identity(RBAC)
    assert owner.permissions == {"proxy:write", "analytics:read", "keys:manage"}
    viewer = entry_from_config(
        GatewayKeyConfig(id="v", role="viewer", token="b", permissions=(" Keys:Manage ",))
    ).identity(RBAC)
    assert viewer.permissions == {"analytics:read", "keys:manage"}


def test_no_role_or_an_unknown_role_grants_nothing():
    for role in ("", "auditor"):
        identity = entry_from_config(GatewayKeyConfig(id="x", role=role, token="c")).identity(RBAC)
        assert identity.permissions == frozenset()
        assert not identity.allows("proxy:write")


def test_generated_ids_and_tokens_have_the_originals_shape():
    key_id, token = generate_key_id(), generate_token()
    assert key_id.startswith("gk_") and len(key_id) == 19
    assert token.startswith("ogk_") and len(token) == 36
    assert generate_token() != token
    assert is_token_hash(hash_token(token)) and not is_token_hash(token)
    assert same_hash(hash_token(token), hash_token(token).upper())
