"""A gateway process with auth on, and the keys the auth tests present."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.gateway_proc import GatewayProcess

#: key id -> (token, role, org, workspace, explicit permissions)
KEYS: dict[str, tuple[str, str, str, str, list[str]]] = {
    "owner-a": ("tok-owner-a-0123456789", "owner", "org-a", "ws-a", []),
    "admin-a": ("tok-admin-a-0123456789", "admin", "org-a", "ws-a", []),
    "dev-a": ("tok-dev-a-0123456789ab", "developer", "org-a", "ws-a", []),
    "member-a": ("tok-member-a-012345678", "member", "org-a", "ws-a", []),
    "viewer-a": ("tok-viewer-a-012345678", "viewer", "org-a", "ws-a", []),
    "norole-a": ("tok-norole-a-012345678", "", "org-a", "ws-a", []),
    "custom-a": ("tok-custom-a-012345678", "auditor", "org-a", "ws-a", ["Analytics:Read "]),
    "owner-b": ("tok-owner-b-0123456789", "owner", "org-b", "ws-b", []),
}
PROVIDER_KEY = "sk-user-provider-key-0001"


def token(key_id: str) -> str:
    """The token of a test key."""
    return KEYS[key_id][0]


def auth_config(**extra: object) -> dict[str, object]:
    """`ongoingai.yaml` with auth on and every test key."""
    keys = [
        {
            "id": key_id,
            "token": tok,
            "role": role,
            "org_id": org,
            "workspace_id": ws,
            **({"permissions": perms} if perms else {}),
        }
        for key_id, (tok, role, org, ws, perms) in KEYS.items()
    ]
    return {"auth": {"enabled": True, "keys": keys}, **extra}


def start_gateway(
    workdir: Path, upstream_url: str, env: dict[str, str], config: dict[str, object]
) -> GatewayProcess:
    """Write the config and start a gateway on it."""
    (workdir / "ongoingai.yaml").write_text(yaml.safe_dump(config))
    full_env = {
        "ONGOINGAI_OPENAI_UPSTREAM": upstream_url,
        "ONGOINGAI_ANTHROPIC_UPSTREAM": upstream_url,
        **env,
    }
    return GatewayProcess(workdir, env=full_env).start()
