"""The gateway-key endpoints over real HTTP on both backends (contract §3.5): lifecycle,
validation messages and status codes, YAML keys, tenancy, audit events, secrets at rest."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from ongoingai.engine.auth.identity import IDENTITY_SCOPE_KEY, Identity
from ongoingai.engine.auth.tokens import hash_token
from ongoingai.engine.storage import create_engine_for
from ongoingai.engine.storage.gateway_keys import GatewayKeyStore
from ongoingai.engine.storage.key_tables import gateway_keys
from tests.api_server import ApiServer
from tests.integration.traces_db import Backend
from tests.postgres_admin import run_in_thread
from tests.tcp_relay import TcpRelay

KEYS = "/api/gateway-keys"
AUDIT = "audit gateway key lifecycle"
AUDIT_FIELDS = {
    "correlation_id",
    "audit_action",
    "audit_outcome",
    "audit_reason",
    "status_code",
    "actor_key_id",
    "org_id",
    "workspace_id",
    "target_key_id",
}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
YAML_TOKEN = "yaml-declared-token-0001"
YAML_CONFIG = f"""
auth:
  keys:
    - id: yaml-admin
      role: Admin
      token: {YAML_TOKEN}
      org_id: org-a
      workspace_id: ws-a
      name: From YAML
      permissions: [" Keys:Manage "]
    - id: yaml-other
      role: viewer
      token_hash: {"b" * 64}
      org_id: org-b
      workspace_id: ws-b
"""


class AsCaller:
    """Stands in for the auth middleware: `X-Test-Caller: key,org,workspace` -> an Identity."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        for name, value in scope.get("headers", []):
            if name == b"x-test-caller":
                key_id, org_id, workspace_id = value.decode().split(",")
                scope[IDENTITY_SCOPE_KEY] = Identity(
                    key_id=key_id,
                    org_id=org_id,
                    workspace_id=workspace_id,
                    team=workspace_id,
                    role="admin",
                    permissions=frozenset({"keys:manage"}),
                )
        await self.app(scope, receive, send)


def _caller(key_id: str, org_id: str, workspace_id: str) -> dict[str, str]:
    return {"X-Test-Caller": f"{key_id},{org_id},{workspace_id}"}


@pytest.fixture
def api(tmp_path, backend):
    with ApiServer(tmp_path, backend) as server:
        assert server.app is not None
        server.app.api = AsCaller(server.app.api)  # type: ignore[assignment]
        yield server


@pytest.fixture
def yaml_api(tmp_path, backend):
    with ApiServer(tmp_path, backend, config=YAML_CONFIG) as server:
        yield server


@pytest.fixture
def audit(caplog):
    caplog.set_level(logging.INFO, logger="ongoingai.audit")

    def events() -> list[dict[str, Any]]:
        found = []
        for record in caplog.records:
            if record.name == "ongoingai.audit" and record.getMessage() == AUDIT:
                assert record.levelno == logging.INFO
                found.append({name: getattr(record, name) for name in AUDIT_FIELDS})
        return found

    return events


def _rows(backend: Backend) -> list[dict[str, Any]]:
    """Every gateway_keys row, revoked ones included, straight from the database."""

    async def read() -> list[dict[str, Any]]:
        engine = create_engine_for(backend.driver, backend.path, backend.dsn)
        try:
            async with engine.connect() as conn:
                query = gateway_keys.select().order_by(gateway_keys.c.id)
                return [dict(row) for row in (await conn.execute(query)).mappings()]
        finally:
            await engine.dispose()

    return run_in_thread(read)


def _active_ids(backend: Backend) -> list[str]:
    async def read() -> list[str]:
        engine = create_engine_for(backend.driver, backend.path, backend.dsn)
        try:
            return [key.id for key in await GatewayKeyStore(engine).active_keys()]
        finally:
            await engine.dispose()

    return run_in_thread(read)


def _error(response, status: int, message: str, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": message, "code": code}


# --- lifecycle ---------------------------------------------------------------------------------
def test_full_lifecycle_create_list_rotate_revoke(api, audit):
    created = api.post(KEYS)
    assert created.status_code == 201, created.text
    key = created.json()
    assert re.fullmatch(r"gk_[0-9a-f]{16}", key["id"])
    assert re.fullmatch(r"ogk_[A-Za-z0-9_-]{32}", key["token"])
    assert ISO.match(key.pop("created_at"))
    first_token = key.pop("token")
    assert key == {
        "id": key["id"],
        "org_id": "default",
        "workspace_id": "default",
        "created_by": "system",
        "role": "developer",
        "source": "database",
    }

    listed = api.get(KEYS).json()["items"]
    assert [item["id"] for item in listed] == [key["id"]]
    assert "token" not in listed[0] and "last_used_at" not in listed[0]

    rotated = api.post(f"{KEYS}/{key['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    second_token = rotated.json()["token"]
    assert second_token != first_token
    assert {k: v for k, v in rotated.json().items() if k != "token"} == listed[0]
    (row,) = _rows(api.backend)
    assert row["token_hash"] == hash_token(second_token)
    assert row["token"] == f"redacted:{key['id']}"

    revoked = api.client.delete(f"{KEYS}/{key['id']}")
    assert revoked.status_code == 204 and revoked.content == b""
    assert api.get(KEYS).json() == {"items": []}
    assert _active_ids(api.backend) == []
    _error(api.client.delete(f"{KEYS}/{key['id']}"), 404, "gateway key not found", "not_found")

    events = audit()
    assert [(e["audit_action"], e["audit_outcome"], e["status_code"]) for e in events] == [
        ("create", "success", 201),
        ("rotate", "success", 200),
        ("revoke", "success", 204),
        ("revoke", "error", 404),
    ]
    assert all(e["target_key_id"] == key["id"] for e in events)


def test_create_keeps_every_field_normalized_and_the_token_it_was_given(api):
    body = {
        "id": "  ci-key  ",
        "token": "  my-own-token-with-32-characters  ",
        "org_id": "org-x",
        "workspace_id": "ws-y",
        "name": " CI ",
        "description": "for the pipeline",
        "role": " Admin ",
        "permissions": [" Proxy:Write", "analytics:read", "PROXY:WRITE", ""],
    }

    created = api.post(KEYS, json=body)

    assert created.status_code == 201, created.text
    key = created.json()
    key.pop("created_at")
    assert key == {
        "id": "ci-key",
        "token": "my-own-token-with-32-characters",
        "org_id": "org-x",
        "workspace_id": "ws-y",
        "name": "CI",
        "description": "for the pipeline",
        "created_by": "system",
        "role": "admin",
        "permissions": ["proxy:write", "analytics:read"],
        "source": "database",
    }
    (row,) = _rows(api.backend)
    assert row["token_hash"] == hash_token("my-own-token-with-32-characters")


def test_head_lists_without_a_body(api):
    api.post(KEYS)

    response = api.client.head(KEYS)

    assert response.status_code == 200 and response.content == b""


def test_last_use_appears_in_the_list_once_recorded(api):
    key = api.post(KEYS).json()

    async def touch() -> None:
        engine = create_engine_for(api.backend.driver, api.backend.path, api.backend.dsn)
        try:
            moment = dt.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC)
            await GatewayKeyStore(engine).touch_last_used({key["id"]: moment})
        finally:
            await engine.dispose()

    run_in_thread(touch)

    (item,) = api.get(KEYS).json()["items"]
    assert item["last_used_at"] == "2026-01-02T03:04:05.12Z"


def test_the_token_is_stored_nowhere_and_logged_nowhere(api, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    token = "never-store-this-token-0001"
    created = api.post(KEYS, json={"id": "k1", "token": token})
    rotated = api.post(f"{KEYS}/k1/rotate", json={"token": "never-store-this-token-0002"})
    assert created.status_code == 201 and rotated.status_code == 200

    dumped = repr(_rows(api.backend))
    logged = caplog.text + repr([vars(record) for record in caplog.records])
    for secret in (token, "never-store-this-token-0002"):
        assert secret not in dumped
        assert secret not in logged
    if api.backend.driver == "sqlite":  # the database file, its WAL and shared memory
        files = list(tmp_path.rglob("*.db*"))
        assert files
        for path in files:
            data = path.read_bytes()
            assert token.encode() not in data and b"never-store-this-token-0002" not in data


# --- validation --------------------------------------------------------------------------------
INVALID_BODIES = [
    pytest.param(b'{"bogus": "x"}', 400, "invalid json body", id="unknown-field"),
    pytest.param(b'{"name": "a"} {"name": "b"}', 400, "invalid json body", id="trailing-json"),
    pytest.param(b'{"name": "a"', 400, "invalid json body", id="truncated"),
    pytest.param(b"[]", 400, "invalid json body", id="not-an-object"),
    pytest.param(b'{"name": 1}', 400, "invalid json body", id="number-for-string"),
    pytest.param(b'{"name": null}', 400, "invalid json body", id="null-for-string"),
    pytest.param(b'{"permissions": "a"}', 400, "invalid json body", id="string-permissions"),
    pytest.param(b'{"permissions": [1]}', 400, "invalid json body", id="number-permission"),
    pytest.param(
        b'{"token": "short"}',
        400,
        "gateway key token must be at least 16 characters",
        id="short-token",
    ),
    pytest.param(b'{"token": "   "}', 400, "gateway key token cannot be empty", id="blank-token"),
    pytest.param(
        '{"token": "tökens-are-ascii-only"}'.encode(),
        400,
        "gateway key token must be printable ASCII without spaces",
        id="non-ascii-token",
    ),
    pytest.param(
        b'{"token": "has a space inside it"}',
        400,
        "gateway key token must be printable ASCII without spaces",
        id="spaced-token",
    ),
    pytest.param(
        b'{"id": "nul\\u0000id"}',
        400,
        "gateway key fields cannot contain NUL or unpaired surrogates",
        id="nul-id",
    ),
    pytest.param(
        b'{"name": "\\ud800"}',
        400,
        "gateway key fields cannot contain NUL or unpaired surrogates",
        id="lone-surrogate",
    ),
    pytest.param(
        ('{"id": "' + "k" * 129 + '"}').encode(),
        400,
        "gateway key id, org_id and workspace_id must be at most 128 characters",
        id="long-id",
    ),
    pytest.param(
        b'{"name": "' + b"x" * (64 * 1024) + b'"}',
        413,
        "request body too large",
        id="oversize",
    ),
]
CODES = {400: "invalid_request", 413: "payload_too_large"}


@pytest.mark.parametrize(("body", "status", "message"), INVALID_BODIES)
def test_create_refuses_bad_bodies_with_the_contract_messages(api, body, status, message):
    response = api.post(KEYS, content=body, headers={"Content-Type": "application/json"})

    _error(response, status, message, CODES[status])
    assert _rows(api.backend) == []


ROTATE_BODIES = [
    pytest.param(b'{"id": "x"}', 400, "invalid json body", id="unknown-field"),
    pytest.param(b"{} {}", 400, "invalid json body", id="trailing-json"),
    pytest.param(b'{"token": 7}', 400, "invalid json body", id="number-token"),
    pytest.param(
        b'{"token": "0123456789"}',
        400,
        "gateway key token must be at least 16 characters",
        id="short-token",
    ),
    pytest.param(
        b'{"token": "' + b"t" * (64 * 1024) + b'"}', 413, "request body too large", id="oversize"
    ),
]


@pytest.mark.parametrize(("body", "status", "message"), ROTATE_BODIES)
def test_rotate_refuses_bad_bodies_and_keeps_the_old_token(api, body, status, message):
    api.post(KEYS, json={"id": "k1", "token": "the-original-token-01"})

    response = api.post(f"{KEYS}/k1/rotate", content=body)

    _error(response, status, message, CODES[status])
    assert _rows(api.backend)[0]["token_hash"] == hash_token("the-original-token-01")


@pytest.mark.parametrize("body", [b"", b"  ", b"null", b"{}"], ids=["empty", "blank", "null", "{}"])
def test_an_empty_body_creates_and_rotates_with_generated_values(api, body):
    created = api.post(KEYS, content=body)
    assert created.status_code == 201, created.text

    rotated = api.post(f"{KEYS}/{created.json()['id']}/rotate", content=body)

    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["token"] != created.json()["token"]


def test_an_empty_token_means_generate_one(api):
    created = api.post(KEYS, json={"token": ""})

    assert created.status_code == 201
    assert created.json()["token"].startswith("ogk_")


def test_unknown_keys_are_not_found_and_duplicates_conflict(api, audit):
    api.post(KEYS, json={"id": "k1", "token": "token-of-key-one-01"})
    api.post(KEYS, json={"id": "k2", "token": "token-of-key-two-01"})

    _error(api.client.delete(f"{KEYS}/missing"), 404, "gateway key not found", "not_found")
    _error(api.post(f"{KEYS}/missing/rotate"), 404, "gateway key not found", "not_found")
    _error(api.post(KEYS, json={"id": "k1"}), 409, "gateway key already exists", "conflict")
    _error(
        api.post(KEYS, json={"token": "token-of-key-one-01"}),
        409,
        "gateway key already exists",
        "conflict",
    )
    _error(
        api.post(f"{KEYS}/k2/rotate", json={"token": "token-of-key-one-01"}),
        409,
        "gateway key token already exists",
        "conflict",
    )

    failures = [(e["audit_action"], e["audit_reason"]) for e in audit() if e["status_code"] >= 400]
    assert failures == [
        ("revoke", "not_found"),
        ("rotate", "not_found"),
        ("create", "conflict"),
        ("create", "conflict"),
        ("rotate", "conflict"),
    ]


def test_a_revoked_key_cannot_be_rotated_and_its_id_stays_taken(api):
    api.post(KEYS, json={"id": "k1"})
    api.client.delete(f"{KEYS}/k1")

    _error(api.post(f"{KEYS}/k1/rotate"), 404, "gateway key not found", "not_found")
    _error(api.post(KEYS, json={"id": "k1"}), 409, "gateway key already exists", "conflict")


def test_wrong_methods_answer_405_with_allow(api):
    response = api.get(f"{KEYS}/k1/rotate")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST, OPTIONS"
    assert api.client.put(KEYS).status_code == 405


# --- YAML keys ---------------------------------------------------------------------------------
def test_yaml_keys_are_listed_first_and_marked_as_config(yaml_api):
    created = yaml_api.post(KEYS, json={"id": "db-key"}).json()

    items = yaml_api.get(KEYS).json()["items"]

    assert items[0] == {
        "id": "yaml-admin",
        "org_id": "org-a",
        "workspace_id": "ws-a",
        "name": "From YAML",
        "role": "admin",
        "permissions": ["keys:manage"],
        "source": "config",
    }
    assert items[1] == {
        "id": "yaml-other",
        "org_id": "org-b",
        "workspace_id": "ws-b",
        "role": "viewer",
        "source": "config",
    }
    assert items[2] == {k: v for k, v in created.items() if k != "token"}
    assert all("created_at" not in item and "token" not in item for item in items[:2])


def test_yaml_keys_cannot_be_changed_or_shadowed(yaml_api, audit):
    message = "gateway key mutations are not supported by this config store"

    _error(yaml_api.client.delete(f"{KEYS}/yaml-admin"), 501, message, "not_implemented")
    _error(yaml_api.post(f"{KEYS}/yaml-admin/rotate"), 501, message, "not_implemented")
    _error(
        yaml_api.post(KEYS, json={"id": "yaml-admin"}),
        409,
        "gateway key already exists",
        "conflict",
    )
    _error(
        yaml_api.post(KEYS, json={"token": YAML_TOKEN}),
        409,
        "gateway key already exists",
        "conflict",
    )
    yaml_api.post(KEYS, json={"id": "db-key"})
    _error(
        yaml_api.post(f"{KEYS}/db-key/rotate", json={"token": YAML_TOKEN}),
        409,
        "gateway key token already exists",
        "conflict",
    )

    reasons = [e["audit_reason"] for e in audit() if e["audit_outcome"] == "error"]
    assert reasons == ["not_implemented", "not_implemented", "conflict", "conflict", "conflict"]


# --- tenancy -----------------------------------------------------------------------------------
def test_an_authenticated_caller_creates_lists_and_changes_only_its_own_tenant(api, audit):
    a = _caller("manager-key", "org-a", "workspace-a")
    b = _caller("other-manager", "org-b", "workspace-b")
    body = {"id": "created-key", "org_id": "org-b", "workspace_id": "elsewhere"}

    created = api.post(KEYS, json=body, headers=a)
    api.post(KEYS, json={"id": "b-key"}, headers=b)

    assert created.status_code == 201, created.text
    assert (created.json()["org_id"], created.json()["workspace_id"]) == ("org-a", "workspace-a")
    assert created.json()["created_by"] == "manager-key"
    assert [i["id"] for i in api.get(KEYS, headers=a).json()["items"]] == ["created-key"]
    assert [i["id"] for i in api.get(KEYS, headers=b).json()["items"]] == ["b-key"]
    assert [i["id"] for i in api.get(KEYS).json()["items"]] == ["created-key", "b-key"]
    _error(
        api.client.delete(f"{KEYS}/created-key", headers=b),
        404,
        "gateway key not found",
        "not_found",
    )
    _error(
        api.post(f"{KEYS}/created-key/rotate", headers=b), 404, "gateway key not found", "not_found"
    )
    assert api.post(f"{KEYS}/created-key/rotate", headers=a).status_code == 200
    assert api.client.delete(f"{KEYS}/created-key", headers=a).status_code == 204
    assert _active_ids(api.backend) == ["b-key"]

    mine = [e for e in audit() if e["actor_key_id"] == "manager-key"]
    assert [(e["audit_action"], e["audit_outcome"]) for e in mine] == [
        ("create", "success"),
        ("rotate", "success"),
        ("revoke", "success"),
    ]
    for event in mine:
        assert event["org_id"] == "org-a" and event["workspace_id"] == "workspace-a"
        assert event["target_key_id"] == "created-key"
    refused = [
        e for e in audit() if e["actor_key_id"] == "other-manager" and e["status_code"] == 404
    ]
    assert [(e["org_id"], e["workspace_id"]) for e in refused] == [("org-b", "workspace-b")] * 2


def test_yaml_keys_of_another_tenant_are_neither_listed_nor_reported_read_only(tmp_path, backend):
    with ApiServer(tmp_path, backend, config=YAML_CONFIG) as server:
        assert server.app is not None
        server.app.api = AsCaller(server.app.api)  # type: ignore[assignment]
        b = _caller("manager-b", "org-b", "ws-b")

        assert [i["id"] for i in server.get(KEYS, headers=b).json()["items"]] == ["yaml-other"]
        response = server.client.delete(f"{KEYS}/yaml-admin", headers=b)
        _error(response, 404, "gateway key not found", "not_found")
        response = server.client.delete(f"{KEYS}/yaml-other", headers=b)
        assert response.status_code == 501


# --- audit -------------------------------------------------------------------------------------
def test_audit_events_carry_every_field_and_the_request_correlation_id(api, audit):
    headers = {**_caller("manager-key", "org-a", "workspace-a"), "X-Request-ID": "req-123"}

    api.post(KEYS, json={"id": "created-key"}, headers=headers)
    api.post(KEYS, content=b"{", headers=headers)
    api.post(KEYS, content=b'{"name": "' + b"x" * 70000 + b'"}', headers=headers)
    api.post(KEYS, json={"token": "short"}, headers=headers)

    events = audit()
    assert events[0] == {
        "correlation_id": "req-123",
        "audit_action": "create",
        "audit_outcome": "success",
        "audit_reason": "",
        "status_code": 201,
        "actor_key_id": "manager-key",
        "org_id": "org-a",
        "workspace_id": "workspace-a",
        "target_key_id": "created-key",
    }
    assert [(e["audit_reason"], e["status_code"]) for e in events[1:]] == [
        ("invalid_json", 400),
        ("body_too_large", 413),
        ("invalid_token", 400),
    ]
    assert all(e["correlation_id"] == "req-123" for e in events)


def test_listing_is_not_audited(api, audit):
    api.get(KEYS)
    api.client.head(KEYS)

    assert audit() == []


# --- storage unavailable -----------------------------------------------------------------------
def test_without_storage_every_endpoint_answers_503(tmp_path, backend, audit):
    message = "gateway key store is not configured"
    with ApiServer(tmp_path, backend, storage=False) as api:
        _error(api.get(KEYS), 503, message, "internal_error")
        _error(api.post(KEYS), 503, message, "internal_error")
        _error(api.client.delete(f"{KEYS}/k1"), 503, message, "internal_error")
        _error(api.post(f"{KEYS}/k1/rotate"), 503, message, "internal_error")

    assert [(e["audit_action"], e["audit_reason"]) for e in audit()] == [
        ("create", "store_unavailable"),
        ("revoke", "store_unavailable"),
        ("rotate", "store_unavailable"),
    ]


@pytest.mark.postgres
def test_a_database_failure_is_a_500_with_the_contract_message(
    tmp_path, postgres_schema_dsn, audit
):
    url = make_url(postgres_schema_dsn)
    relay = TcpRelay(url.host or "127.0.0.1", url.port or 5432).start()
    try:
        dsn = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
        with ApiServer(tmp_path, Backend("postgres", dsn=dsn)) as api:
            assert api.post(KEYS, json={"id": "k1"}).status_code == 201
            relay.cut()
            _error(api.get(KEYS), 500, "failed to list gateway keys", "internal_error")
            _error(api.post(KEYS), 500, "failed to create gateway key", "internal_error")
            _error(
                api.client.delete(f"{KEYS}/k1"),
                500,
                "failed to revoke gateway key",
                "internal_error",
            )
            _error(
                api.post(f"{KEYS}/k1/rotate"), 500, "failed to rotate gateway key", "internal_error"
            )
    finally:
        relay.close()

    reasons = [e["audit_reason"] for e in audit() if e["audit_outcome"] == "error"]
    assert reasons == ["create_failed", "revoke_failed", "rotate_failed"]
