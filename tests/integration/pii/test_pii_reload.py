"""Redaction policies are data: editing a policy file changes a running gateway's decisions."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.fakes.upstream import FakeUpstream
from tests.gateway_proc import GatewayProcess

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "mail bob@example.org"}]}


def _policy(mode: str) -> str:
    return yaml.safe_dump(
        {
            "kind": "redaction",
            "version": 1,
            "policy_id": "team/v1",
            "scopes": [{"match": {"provider": "openai"}, "mode": mode, "policy_id": "team/v1"}],
        }
    )


def _status(gw: GatewayProcess) -> int:
    headers = {"Authorization": "Bearer sk-test-provider-abcd1234"}
    return httpx.post(
        gw.url + "/openai/v1/chat/completions", json=CHAT, headers=headers
    ).status_code


def test_switching_a_scoped_policy_to_block_takes_effect_without_a_restart(
    tmp_path: Path, upstream: FakeUpstream
):
    policies = tmp_path / "policies" / "redaction"
    policies.mkdir(parents=True)
    (policies / "team.yaml").write_text(_policy("redact_storage"))
    (tmp_path / "ongoingai.yaml").write_text("policies: ./policies\n")
    env = {
        "ONGOINGAI_OPENAI_UPSTREAM": upstream.url,
        "ONGOINGAI_STORAGE_PATH": str(tmp_path / "gw.db"),
    }
    with GatewayProcess(tmp_path, env=env) as gw:
        assert _status(gw) == 200
        (policies / "team.yaml").write_text(_policy("block"))
        deadline = time.monotonic() + 5
        while _status(gw) != 403:
            if time.monotonic() > deadline:
                pytest.fail("the edited redaction policy was not applied")
            time.sleep(0.05)
