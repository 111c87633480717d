"""Every row of the packaged permission matrix, and every denial reason, against a real gateway.

The matrix is read from the packaged `rbac` data file itself, so what is enforced and what is
tested cannot drift apart: each role (and a role-less key, and a custom role with an explicit
permission) is tried on one concrete request for every route rule.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest
import yaml

from ongoingai.engine.models.rbac import RbacPolicy, RouteRule
from ongoingai.engine.policy_files import packaged_policy_dir
from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess
from tests.integration.auth.gateways import KEYS, PROVIDER_KEY, auth_config, start_gateway, token

RBAC = RbacPolicy.model_validate(
    yaml.safe_load((packaged_policy_dir() / "rbac" / "roles.yaml").read_text())
)
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
GATEWAY_HEADER = "X-OngoingAI-Gateway-Key"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeUpstream]:
    with FakeUpstream("auth") as upstream:
        yield upstream


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, fake: FakeUpstream
) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("auth")
    env = {"ONGOINGAI_STORAGE_PATH": str(workdir / "gw.db")}
    gw = start_gateway(workdir, fake.url, env, auth_config())
    try:
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="module")
def client(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=10) as c:
        yield c


def _sample(rule: RouteRule) -> tuple[str, str]:
    """One concrete request the rule covers."""
    method = next(m for m in (*rule.methods, "POST") if m != "*")
    if rule.provider:
        return method, "/openai/v1/chat/completions"
    assert rule.path is not None
    return method, rule.path.replace("{id}", "t-1").replace("/**", "/traces")


def _request(client: httpx.Client, rule: RouteRule, key_id: str | None) -> httpx.Response:
    method, path = _sample(rule)
    headers = {"Authorization": f"Bearer {PROVIDER_KEY}"} if rule.provider else {}
    if key_id is not None:
        headers[GATEWAY_HEADER] = token(key_id)
    body = json.dumps(CHAT) if rule.provider else ("{}" if method == "POST" else None)
    if body is not None:
        headers["Content-Type"] = "application/json"
    return client.request(method, path, headers=headers, content=body)


def _audit_events(gateway: GatewayProcess, needle: str) -> list[dict[str, object]]:
    """The deny events mentioning `needle`, once the (asynchronous) log has written them."""
    deadline = time.monotonic() + 5
    while True:
        events = [
            json.loads(line)
            for line in gateway.log().splitlines()
            if line.startswith("{") and needle in line and "audit gateway auth deny" in line
        ]
        if events or time.monotonic() > deadline:
            return events
        time.sleep(0.05)


def _granted(key_id: str) -> frozenset[str]:
    _, role, _, _, explicit = KEYS[key_id]
    return RBAC.permissions_for(role) | {p.strip().lower() for p in explicit}


MATRIX = [
    pytest.param(key_id, index, id=f"{key_id}-{_sample(rule)[0]}-{_sample(rule)[1]}")
    for key_id in KEYS
    if key_id != "owner-b"
    for index, rule in enumerate(RBAC.routes)
]


@pytest.mark.parametrize(("key_id", "index"), MATRIX)
def test_permission_matrix_row(client: httpx.Client, key_id: str, index: int):
    rule = RBAC.routes[index]
    response = _request(client, rule, key_id)
    if rule.public or rule.permission in _granted(key_id):
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 403, response.text
        assert "permission_denied" in response.text
        assert "gateway key does not have required permission" in response.text


@pytest.mark.parametrize("index", range(len(RBAC.routes)))
def test_a_request_without_a_key_is_refused_unless_the_route_is_public(
    client: httpx.Client, index: int
):
    rule = RBAC.routes[index]
    response = _request(client, rule, None)
    if rule.public:
        assert response.status_code not in (401, 403)
    else:
        assert response.status_code == 401
        assert "missing_gateway_key" in response.text
        assert "missing or invalid gateway key" in response.text


def test_api_denials_are_json_with_error_code_and_correlation(client: httpx.Client):
    response = client.get("/api/traces", headers={"X-Request-ID": "corr-auth-1"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "missing or invalid gateway key",
        "code": "missing_gateway_key",
    }
    assert response.headers["x-ongoingai-correlation-id"] == "corr-auth-1"
    assert response.headers["access-control-allow-origin"] == "*"

    wrong = client.get("/api/traces", headers={GATEWAY_HEADER: "not-a-key"})
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": "missing or invalid gateway key",
        "code": "invalid_gateway_key",
    }


def test_a_token_in_authorization_is_not_a_gateway_key(client: httpx.Client):
    response = client.get("/api/traces", headers={"Authorization": f"Bearer {token('owner-a')}"})
    assert response.status_code == 401
    assert response.json()["code"] == "missing_gateway_key"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/internal/debug"),
        ("POST", "/api/health"),
        ("GET", "/api/gateway-keys/k1/rotate"),
        ("PUT", "/api/traces"),
    ],
)
def test_unmapped_api_routes_are_refused_before_any_key_is_checked(
    client: httpx.Client, method: str, path: str
):
    for headers in ({}, {GATEWAY_HEADER: token("owner-a")}):
        response = client.request(method, path, headers=headers)
        assert response.status_code == 403
        assert response.json() == {
            "error": "request is not authorized by gateway policy",
            "code": "action_unmapped",
        }


def test_public_probes_and_preflight_need_no_key(client: httpx.Client):
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/ready").status_code == 200
    assert client.get("/").status_code == 200
    preflight = client.options("/api/traces", headers={"Origin": "https://ui.example"})
    assert preflight.status_code == 204
    # Provider preflights are public: forwarded as is (the fake upstream has no OPTIONS route).
    assert client.options("/openai/v1/chat/completions").status_code == 404


def test_openai_sdk_sees_denials_in_its_own_dialect(gateway: GatewayProcess):
    with openai.OpenAI(
        base_url=gateway.url + "/openai/v1", api_key=PROVIDER_KEY, max_retries=0
    ) as oai:
        with pytest.raises(openai.AuthenticationError) as missing:
            oai.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        assert missing.value.status_code == 401
        assert missing.value.code == "missing_gateway_key"
        viewer = oai.with_options(default_headers={GATEWAY_HEADER: token("viewer-a")})
        with pytest.raises(openai.PermissionDeniedError) as denied:
            viewer.chat.completions.create(**CHAT)  # type: ignore[call-overload]
        assert denied.value.code == "permission_denied"
        assert "gateway key does not have required permission" in str(denied.value)


def test_anthropic_sdk_sees_denials_in_its_own_dialect(gateway: GatewayProcess):
    base = gateway.url + "/anthropic"
    with anthropic.Anthropic(base_url=base, api_key=PROVIDER_KEY, max_retries=0) as claude:
        with pytest.raises(anthropic.AuthenticationError) as missing:
            claude.messages.create(
                model="claude-sonnet-4-20250514",
                max_tokens=16,
                messages=[{"role": "user", "content": "hi"}],
            )
        body = missing.value.body
        assert isinstance(body, dict)
        assert body["type"] == "error"
        assert body["error"]["type"] == "authentication_error"
        assert body["error"]["code"] == "missing_gateway_key"


def test_a_proxy_request_needs_a_provider_credential(client: httpx.Client, fake: FakeUpstream):
    fake.clear()
    response = client.post(
        "/openai/v1/chat/completions",
        json=CHAT,
        headers={GATEWAY_HEADER: token("dev-a")},
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "missing_provider_credential"
    assert error["message"] == (
        "missing provider API key — pass your provider key via Authorization or X-API-Key header"
    )
    assert fake.requests == []


def test_the_provider_credential_passes_through_and_the_gateway_key_does_not(
    client: httpx.Client, fake: FakeUpstream
):
    fake.clear()
    response = client.post(
        "/openai/v1/chat/completions",
        json=CHAT,
        headers={GATEWAY_HEADER: token("dev-a"), "Authorization": f"Bearer {PROVIDER_KEY}"},
    )
    assert response.status_code == 200
    (seen,) = fake.wait_for_requests(1)
    assert seen.headers["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert "x-ongoingai-gateway-key" not in seen.headers
    assert token("dev-a") not in json.dumps(dict(seen.headers))


def test_a_denial_is_an_audit_event_with_the_callers_identity(
    client: httpx.Client, gateway: GatewayProcess
):
    client.post(
        "/openai/v1/chat/completions",
        json=CHAT,
        headers={
            GATEWAY_HEADER: token("viewer-a"),
            "Authorization": f"Bearer {PROVIDER_KEY}",
            "X-Request-ID": "audit-viewer-1",
        },
    )
    events = _audit_events(gateway, "audit-viewer-1")
    assert len(events) == 1
    event = events[0]
    assert event["audit_action"] == "gateway_auth"
    assert event["audit_outcome"] == "deny"
    assert event["audit_reason"] == "permission_denied"
    assert event["status_code"] == 403
    assert event["provider"] == "openai"
    assert event["required_permission"] == "proxy:write"
    assert (event["key_id"], event["org_id"], event["workspace_id"]) == (
        "viewer-a",
        "org-a",
        "ws-a",
    )
    assert token("viewer-a") not in gateway.log()


def test_a_minted_correlation_id_is_the_same_in_the_response_and_the_audit_event(
    client: httpx.Client, gateway: GatewayProcess
):
    response = client.get("/api/gateway-keys", headers={GATEWAY_HEADER: token("viewer-a")})
    assert response.status_code == 403
    corr = response.headers["x-ongoingai-correlation-id"]
    events = _audit_events(gateway, corr)
    assert [e["correlation_id"] for e in events] == [corr]
