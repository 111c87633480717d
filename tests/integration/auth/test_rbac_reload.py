"""The role matrix is data: editing the rbac file changes what keys may do, without a restart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml

from ongoingai.engine.policy_files import packaged_policy_dir
from tests.fakes.upstream import FakeUpstream
from tests.integration.auth.gateways import PROVIDER_KEY, auth_config, start_gateway, token

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _write_rbac(directory: Path, viewer: list[str]) -> None:
    policy = yaml.safe_load((packaged_policy_dir() / "rbac" / "roles.yaml").read_text())
    policy["roles"]["viewer"] = viewer
    (directory / "rbac").mkdir(parents=True, exist_ok=True)
    (directory / "rbac" / "roles.yaml").write_text(yaml.safe_dump(policy))


def _viewer_proxies(url: str) -> int:
    headers = {
        "X-OngoingAI-Gateway-Key": token("viewer-a"),
        "Authorization": f"Bearer {PROVIDER_KEY}",
    }
    return httpx.post(url + "/openai/v1/chat/completions", json=CHAT, headers=headers).status_code


def test_granting_a_role_a_permission_takes_effect_on_the_running_gateway(
    tmp_path: Path, upstream: FakeUpstream
):
    policies = tmp_path / "policies"
    _write_rbac(policies, ["analytics:read"])
    gw = start_gateway(
        tmp_path,
        upstream.url,
        {"ONGOINGAI_STORAGE_PATH": str(tmp_path / "gw.db")},
        auth_config(policies="./policies"),
    )
    try:
        assert _viewer_proxies(gw.url) == 403
        _write_rbac(policies, ["analytics:read", "proxy:write"])
        deadline = time.monotonic() + 5
        while _viewer_proxies(gw.url) != 200:
            if time.monotonic() > deadline:
                pytest.fail("the edited role matrix was not applied")
            time.sleep(0.05)
        # A broken edit is refused; the last good matrix keeps serving.
        (policies / "rbac" / "roles.yaml").write_text(
            "kind: rbac\nversion: 1\nroles: {viewer: [x]}\n"
        )
        owner = {"X-OngoingAI-Gateway-Key": token("owner-a")}
        deadline = time.monotonic() + 5
        while (
            httpx.get(gw.url + "/api/diagnostics/config", headers=owner).json()["last_error"]
            is None
        ):
            if time.monotonic() > deadline:
                pytest.fail("the broken edit was not reported")
            time.sleep(0.05)
        assert _viewer_proxies(gw.url) == 200
    finally:
        gw.stop()
