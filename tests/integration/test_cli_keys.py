"""`ongoingai keys list|create|rotate|revoke` as an operator runs it, on both backends."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from ongoingai.engine.auth.tokens import hash_token
from ongoingai.engine.storage import create_engine_for
from ongoingai.engine.storage.gateway_keys import GatewayKeyStore, StoredKey
from ongoingai.engine.storage.key_tables import gateway_keys
from tests.api_server import ApiServer
from tests.gateway_proc import ONGOINGAI, free_port
from tests.integration.traces_db import Backend
from tests.postgres_admin import run_in_thread

YAML_TOKEN = "yaml-declared-token-0001"
YAML_CONFIG = f"""
auth:
  keys:
    - id: yaml-admin
      role: admin
      token: {YAML_TOKEN}
      org_id: org-a
      workspace_id: ws-a
"""
TOKEN_LINE = re.compile(r"^  (\S+)$", re.MULTILINE)


class Cli:
    """Runs the installed `ongoingai` in a directory, with the backend's storage env."""

    def __init__(self, workdir: Path, backend: Backend, *, storage_env: bool = True) -> None:
        self.workdir = workdir
        self.backend = backend
        self.storage_env = storage_env

    def __call__(self, *args: str):
        environ = {**os.environ, **(self.backend.env if self.storage_env else {})}
        out = subprocess.run(
            [ONGOINGAI, "keys", *args],
            cwd=self.workdir,
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "Traceback" not in out.stderr, out.stderr
        return out

    def json(self, *args: str) -> dict:
        out = self(*args, "--format", "json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def stored(self) -> list[StoredKey]:
        async def read() -> list[StoredKey]:
            engine = create_engine_for(self.backend.driver, self.backend.path, self.backend.dsn)
            try:
                return await GatewayKeyStore(engine).active_keys()
            finally:
                await engine.dispose()

        return run_in_thread(read)

    def rows(self) -> list[dict]:
        async def read() -> list[dict]:
            engine = create_engine_for(self.backend.driver, self.backend.path, self.backend.dsn)
            try:
                async with engine.connect() as conn:
                    return [dict(r) for r in (await conn.execute(gateway_keys.select())).mappings()]
            finally:
                await engine.dispose()

        return run_in_thread(read)


@pytest.fixture
def cli(tmp_path, backend) -> Cli:
    return Cli(tmp_path, backend)


def _token(stdout: str) -> str:
    """The indented token line after the 'shown once' note."""
    assert "will not be shown again" in stdout
    (token,) = TOKEN_LINE.findall(stdout.split("will not be shown again", 1)[1])
    return token


# --- lifecycle ---------------------------------------------------------------------------------
def test_full_lifecycle_in_text_form(cli):
    created = cli("create", "--name", "CI", "--permission", "Proxy:Write")
    assert created.returncode == 0, created.stderr
    key_id = re.search(r"Created gateway key (gk_[0-9a-f]{16})", created.stdout).group(1)
    first = _token(created.stdout)
    assert re.fullmatch(r"ogk_[A-Za-z0-9_-]{32}", first)
    assert "permissions    proxy:write" in created.stdout

    listed = cli("list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "ORG/WORKSPACE", "ROLE", "CREATED", "LAST", "USED", "NAME"]
    assert lines[1].split()[:3] == [key_id, "default/default", "developer"]
    assert lines[-1] == "1 key"
    assert first not in listed.stdout

    rotated = cli("rotate", key_id)
    assert rotated.returncode == 0, rotated.stderr
    second = _token(rotated.stdout)
    assert second != first
    (row,) = cli.rows()
    assert row["token_hash"] == hash_token(second)
    assert row["token"] == f"redacted:{key_id}"

    revoked = cli("revoke", key_id)
    assert revoked.returncode == 0
    assert revoked.stdout == f"Revoked gateway key {key_id} (default/default).\n"
    assert cli("list").stdout == "No gateway keys.\n"
    assert cli.stored() == []


def test_create_and_rotate_in_json_form(cli):
    created = cli.json(
        "create",
        "--id",
        "ci-key",
        "--org",
        "acme",
        "--workspace",
        "app",
        "--name",
        "CI",
        "--description",
        "the pipeline",
        "--role",
        " Admin ",
        "--permission",
        " Keys:Manage",
        "--permission",
        "keys:manage",
        "--token",
        "an-operator-chosen-token",
    )
    created.pop("created_at")
    assert created == {
        "id": "ci-key",
        "org_id": "acme",
        "workspace_id": "app",
        "name": "CI",
        "description": "the pipeline",
        "created_by": "cli",
        "role": "admin",
        "permissions": ["keys:manage"],
        "source": "database",
        "token": "an-operator-chosen-token",
    }

    rotated = cli.json("rotate", "ci-key", "--token", "another-operator-token")

    assert rotated["token"] == "another-operator-token"
    assert [k.token_hash for k in cli.stored()] == [hash_token("another-operator-token")]
    revoked = cli.json("revoke", "ci-key")
    assert revoked["revoked"] is True and revoked["id"] == "ci-key"


def test_list_filters_by_org_and_workspace_and_shows_yaml_keys(cli, tmp_path):
    (tmp_path / "ongoingai.yaml").write_text(YAML_CONFIG)
    cli.json("create", "--id", "a1", "--org", "org-a", "--workspace", "ws-a")
    cli.json("create", "--id", "a2", "--org", "org-a", "--workspace", "ws-b")
    cli.json("create", "--id", "b1", "--org", "org-b", "--workspace", "ws-a")

    def ids(*flags: str) -> list[str]:
        return [item["id"] for item in cli.json("list", *flags)["items"]]

    assert ids() == ["yaml-admin", "a1", "a2", "b1"]
    assert ids("--org", "org-a") == ["yaml-admin", "a1", "a2"]
    assert ids("--workspace", "ws-a") == ["yaml-admin", "a1", "b1"]
    assert ids("--org", "org-a", "--workspace", "ws-b") == ["a2"]
    yaml_key = cli.json("list")["items"][0]
    assert yaml_key["source"] == "config" and "created_at" not in yaml_key
    text = cli("list").stdout.splitlines()
    assert text[1].split() == ["yaml-admin", "org-a/ws-a", "admin", "config", "-"]
    assert text[-1] == "4 keys (1 declared in the config, read-only)"


def test_text_output_fits_80_columns(cli):
    cli.json("create", "--name", "a very long name that would never fit in the listing " * 3)
    cli.json("create", "--role", "viewer")

    for args in (("list",), ("create", "--name", "x" * 50)):
        out = cli(*args)
        assert out.returncode == 0
        assert max(len(line) for line in out.stdout.splitlines()) <= 80, out.stdout


def test_a_key_created_by_the_cli_is_served_by_a_running_gateway(cli, tmp_path, backend):
    with ApiServer(tmp_path, backend) as api:
        key_id = cli.json("create", "--id", "from-cli")["id"]
        assert [i["id"] for i in api.get("/api/gateway-keys").json()["items"]] == [key_id]

        assert api.client.delete(f"/api/gateway-keys/{key_id}").status_code == 204
        assert cli("list").stdout == "No gateway keys.\n"


def test_the_token_is_not_stored(cli, tmp_path):
    created = cli("create", "--token", "cli-token-never-stored-01")
    assert created.returncode == 0
    assert "cli-token-never-stored-01" not in repr(cli.rows())
    if cli.backend.driver == "sqlite":
        files = list(tmp_path.rglob("*.db*"))
        assert files
        for path in files:
            assert b"cli-token-never-stored-01" not in path.read_bytes()


# --- refusals and failures ---------------------------------------------------------------------
def test_refused_operations_exit_1_with_one_line_on_stderr(cli, tmp_path):
    (tmp_path / "ongoingai.yaml").write_text(YAML_CONFIG)
    cli.json("create", "--id", "k1", "--token", "token-of-key-one-01")
    cases = [
        (("revoke", "missing"), "ongoingai keys revoke: gateway key not found"),
        (("rotate", "missing"), "ongoingai keys rotate: gateway key not found"),
        (("create", "--id", "k1"), "ongoingai keys create: gateway key already exists"),
        (
            ("create", "--token", "token-of-key-one-01"),
            "ongoingai keys create: gateway key already exists",
        ),
        (("create", "--id", "yaml-admin"), "ongoingai keys create: gateway key already exists"),
        (
            ("rotate", "k1", "--token", YAML_TOKEN),
            "ongoingai keys rotate: gateway key token already exists",
        ),
        (
            ("revoke", "yaml-admin"),
            "ongoingai keys revoke: gateway key mutations are not supported by this config store",
        ),
    ]
    for args, message in cases:
        out = cli(*args)
        assert out.returncode == 1, (args, out.stdout, out.stderr)
        assert out.stderr == message + "\n"
        assert out.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Usage:"),
        (("bogus",), "invalid choice: 'bogus'"),
        (("list", "--format", "xml"), "invalid choice: 'xml'"),
        (("rotate",), "the following arguments are required: ID"),
        (("create", "--nope"), "unrecognized arguments: --nope"),
        (("create", "--token", "short"), "gateway key token must be at least 16 characters"),
        (("create", "--token", "   "), "gateway key token cannot be empty"),
        (("create", "--id", "k" * 129), "must be at most 128 characters"),
    ],
    ids=[
        "no-command",
        "bad-command",
        "bad-format",
        "missing-id",
        "bad-flag",
        "short",
        "blank",
        "long-id",
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    cli = Cli(tmp_path, Backend("sqlite", path=str(tmp_path / "keys.db")))

    out = cli(*args)

    assert out.returncode == 2
    assert message in out.stderr


def test_an_invalid_config_exits_1_with_its_problems(tmp_path):
    (tmp_path / "ongoingai.yaml").write_text("storage:\n  bogus: 1\n")
    cli = Cli(tmp_path, Backend("sqlite", path=str(tmp_path / "keys.db")))

    out = cli("list")

    assert out.returncode == 1
    assert out.stderr.startswith("config is invalid: 1 problem(s)\n")
    assert "/storage/bogus" in out.stderr


def test_the_config_flag_names_the_storage(tmp_path):
    config = tmp_path / "elsewhere" / "gateway.yaml"
    config.parent.mkdir()
    db = tmp_path / "chosen.db"
    config.write_text(f"storage:\n  driver: sqlite\n  path: {db}\n")
    cli = Cli(tmp_path, Backend("sqlite", path=str(db)), storage_env=False)

    out = cli("create", "--id", "k1", "--config", str(config))

    assert out.returncode == 0, out.stderr
    assert [k.id for k in cli.stored()] == ["k1"]


def test_unreachable_storage_exits_1_without_the_password(tmp_path):
    dsn = f"postgres://gateway:s3cret@127.0.0.1:{free_port()}/keys?connect_timeout=2"
    cli = Cli(tmp_path, Backend("postgres", dsn=dsn))

    out = cli("list")

    assert out.returncode == 1
    assert out.stderr.startswith("ongoingai keys list: failed to initialize postgres storage (")
    assert "s3cret" not in out.stderr
    assert len(out.stderr.splitlines()) == 1
