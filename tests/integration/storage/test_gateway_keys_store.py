"""The gateway-key store on both backends: lifecycle, normalization, tenancy, secrets at rest."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import event, inspect, text

from ongoingai.engine.auth.tokens import generate_token, hash_token
from ongoingai.engine.storage import apply_migrations
from ongoingai.engine.storage.filters import Tenant
from ongoingai.engine.storage.gateway_keys import (
    GatewayKeyStore,
    InvalidKey,
    KeyConflict,
    KeyNotFound,
    NewKey,
    StoredKey,
    TokenConflict,
)
from ongoingai.engine.storage.key_tables import gateway_keys, organizations, workspaces

pytestmark = pytest.mark.anyio

TENANT_A = Tenant("org-a", "ws-a")
TENANT_B = Tenant("org-b", "ws-b")


def _new(key_id: str, token: str | None = None, tenant: Tenant = TENANT_A, **fields) -> NewKey:
    return NewKey(
        id=key_id,
        token_hash=hash_token(token or generate_token()),
        org_id=tenant.org_id,
        workspace_id=tenant.workspace_id,
        **fields,
    )


async def _rows(engine, sql: str) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(row) for row in (await conn.execute(text(sql))).mappings()]


# --- schema ------------------------------------------------------------------------------------
async def test_migrations_create_the_key_tables_as_the_core_tables_describe_them(engine):
    async with engine.connect() as conn:

        def columns(sync, table: str) -> set[str]:
            return {c["name"] for c in inspect(sync).get_columns(table)}

        for table in (organizations, workspaces, gateway_keys):
            found = await conn.run_sync(columns, table.name)
            assert found == {c.name for c in table.columns}, table.name


async def test_migrations_seed_the_default_organization_and_workspace(engine):
    assert await _rows(engine, "SELECT id, name FROM organizations") == [
        {"id": "default", "name": "Default Organization"}
    ]
    assert await _rows(engine, "SELECT id, org_id, name FROM workspaces") == [
        {"id": "default", "org_id": "default", "name": "Default Workspace"}
    ]


async def test_migrating_again_keeps_keys_and_the_seed(engine):
    store = GatewayKeyStore(engine)
    await store.create(_new("k1"))

    assert await apply_migrations(engine) == []
    assert [k.id for k in await store.active_keys()] == ["k1"]
    assert len(await _rows(engine, "SELECT id FROM organizations WHERE id = 'default'")) == 1


async def test_polling_active_keys_reads_the_partial_index(engine):
    """The directory's once-a-second poll is an index scan in index order, never a sort."""
    store = GatewayKeyStore(engine)
    for i in range(20):
        await store.create(_new(f"k{i:02d}"))
    await store.revoke("k03", None)
    statements: list[str] = []

    def remember(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", remember)
    try:
        await store.active_keys()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", remember)
    (query,) = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1]) for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
            )
        else:  # the planner prefers a scan of a 20-row table; ask what it can do instead
            await conn.exec_driver_sql("SET enable_seqscan = off")
            await conn.exec_driver_sql("SET enable_sort = off")
            plan = " ".join(str(r[0]) for r in await conn.exec_driver_sql(f"EXPLAIN {query}"))
    assert "idx_gateway_keys_active_created_at_id" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan


# --- create ------------------------------------------------------------------------------------
async def test_create_normalizes_role_permissions_and_tenant(engine):
    store = GatewayKeyStore(engine)

    created = await store.create(
        NewKey(
            id="  k1 ",
            token_hash=hash_token("secret-token-0001").upper(),
            org_id=" ",
            workspace_id="",
            name=" CI key ",
            role=" ",
            permissions=(" Proxy:Write", "analytics:read", "PROXY:WRITE", "  ", "keys:manage"),
        )
    )

    assert created == StoredKey(
        id="k1",
        token_hash=hash_token("secret-token-0001"),
        org_id="default",
        workspace_id="default",
        name="CI key",
        description="",
        created_by="",
        role="developer",
        permissions=("proxy:write", "analytics:read", "keys:manage"),
        created_at=created.created_at,
        last_used_at=None,
    )
    assert created.created_at is not None and created.created_at.tzinfo == dt.UTC
    assert await store.list(None) == [created]
    admin = await store.create(_new("k2", role=" ADMIN "))
    assert admin.role == "admin"


async def test_create_adds_the_organization_and_workspace_in_the_same_transaction(engine):
    store = GatewayKeyStore(engine)

    await store.create(_new("k1", tenant=TENANT_A))
    await store.create(_new("k2", tenant=Tenant("org-a", "ws-other")))
    await store.create(_new("k3", tenant=TENANT_A))

    orgs = await _rows(engine, "SELECT id FROM organizations ORDER BY id")
    spaces = await _rows(engine, "SELECT org_id, id FROM workspaces ORDER BY org_id, id")
    assert [o["id"] for o in orgs] == ["default", "org-a"]
    assert [(w["org_id"], w["id"]) for w in spaces] == [
        ("default", "default"),
        ("org-a", "ws-a"),
        ("org-a", "ws-other"),
    ]


async def test_create_refuses_a_taken_id_or_token(engine):
    store = GatewayKeyStore(engine)
    await store.create(_new("k1", "token-of-the-first-key"))

    with pytest.raises(KeyConflict, match="gateway key already exists"):
        await store.create(_new("k1"))
    with pytest.raises(KeyConflict, match="gateway key already exists"):
        await store.create(_new("k2", "token-of-the-first-key"))
    await store.revoke("k1", None)
    with pytest.raises(KeyConflict):  # a revoked key still owns its id
        await store.create(_new("k1"))
    assert await store.list(None) == []


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (NewKey(id="  ", token_hash=hash_token("t")), "id cannot be empty"),
        (NewKey(id="k", token_hash="not-a-hash"), "SHA-256"),
        (NewKey(id="k\x00", token_hash=hash_token("t")), "NUL"),
        (NewKey(id="k", token_hash=hash_token("t"), name="\ud800"), "surrogates"),
        (NewKey(id="k", token_hash=hash_token("t"), permissions=("a\x00",)), "NUL"),
    ],
    ids=["blank-id", "bad-hash", "nul-id", "surrogate-name", "nul-permission"],
)
async def test_create_refuses_unstorable_keys(engine, key, message):
    with pytest.raises(InvalidKey, match=message):
        await GatewayKeyStore(engine).create(key)


# --- list and tenancy --------------------------------------------------------------------------
async def test_list_is_oldest_first_then_by_id_and_scoped_to_the_tenant(engine):
    store = GatewayKeyStore(engine)
    for key_id, tenant in (("b", TENANT_A), ("z", TENANT_B), ("a", TENANT_A), ("c", TENANT_B)):
        await store.create(_new(key_id, tenant=tenant))
    same_instant = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    async with engine.begin() as conn:
        await conn.execute(
            gateway_keys.update().where(gateway_keys.c.id.in_(["a", "b"])),
            {"created_at": same_instant},
        )

    assert [k.id for k in await store.list(None)] == ["a", "b", "z", "c"]
    assert [k.id for k in await store.list(TENANT_A)] == ["a", "b"]
    assert [k.id for k in await store.list(TENANT_B)] == ["z", "c"]
    assert await store.list(Tenant("org-a", "ws-b")) == []
    assert [k.id for k in await store.active_keys()] == ["a", "b", "z", "c"]


async def test_revoke_and_rotate_never_reach_another_tenants_key(engine):
    store = GatewayKeyStore(engine)
    key = await store.create(_new("k1", tenant=TENANT_A))

    with pytest.raises(KeyNotFound, match="gateway key not found"):
        await store.revoke("k1", TENANT_B)
    with pytest.raises(KeyNotFound):
        await store.rotate("k1", hash_token("another-token-0001"), TENANT_B)

    assert await store.list(None) == [key]


# --- rotate and revoke -------------------------------------------------------------------------
async def test_full_lifecycle_create_rotate_revoke(engine):
    store = GatewayKeyStore(engine)
    old_token, new_token = generate_token(), generate_token()
    created = await store.create(_new("k1", old_token, name="ci", permissions=("x:y",)))

    rotated = await store.rotate("k1", hash_token(new_token), TENANT_A)

    assert rotated == StoredKey(
        **{**_fields(created), "token_hash": hash_token(new_token)}  # everything else kept
    )
    hashes = await _rows(engine, "SELECT token_hash FROM gateway_keys")
    assert hashes == [{"token_hash": hash_token(new_token)}]
    assert await store.active_keys() == [rotated]

    revoked = await store.revoke("k1", TENANT_A)

    assert revoked == rotated
    assert await store.list(None) == []
    assert await store.active_keys() == []
    (row,) = await _rows(engine, "SELECT revoked_at FROM gateway_keys")
    assert row["revoked_at"] is not None


def _fields(key: StoredKey) -> dict:
    return {name: getattr(key, name) for name in StoredKey.__dataclass_fields__}


async def test_revoked_or_unknown_keys_cannot_be_revoked_or_rotated(engine):
    store = GatewayKeyStore(engine)
    await store.create(_new("k1"))
    await store.revoke("k1", None)

    for key_id in ("k1", "missing", "nul\x00id"):
        with pytest.raises(KeyNotFound):
            await store.revoke(key_id, None)
        with pytest.raises(KeyNotFound):
            await store.rotate(key_id, hash_token("fresh-token-00001"), None)


async def test_rotate_refuses_another_keys_token_and_a_malformed_hash(engine):
    store = GatewayKeyStore(engine)
    await store.create(_new("k1", "token-of-key-one-0"))
    second = await store.create(_new("k2", "token-of-key-two-0"))

    with pytest.raises(TokenConflict, match="gateway key token already exists"):
        await store.rotate("k2", hash_token("token-of-key-one-0"), None)
    with pytest.raises(InvalidKey):
        await store.rotate("k2", "plaintext", None)

    assert (await store.list(None))[1] == second


async def test_rotating_to_the_same_token_is_allowed(engine):
    store = GatewayKeyStore(engine)
    key = await store.create(_new("k1", "the-same-token-000"))

    assert await store.rotate("k1", hash_token("the-same-token-000"), None) == key


# --- last use ----------------------------------------------------------------------------------
async def test_touch_last_used_writes_a_batch_and_never_moves_backwards(engine):
    store = GatewayKeyStore(engine)
    for key_id in ("k1", "k2", "k3"):
        await store.create(_new(key_id))
    t1 = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    t2 = t1 + dt.timedelta(seconds=30)

    await store.touch_last_used({"k1": t2, "k2": t1, "missing": t1, "bad\x00": t1})
    await store.touch_last_used({"k1": t1, "k2": t2})  # k1 is not set back
    await store.touch_last_used({})

    used = {k.id: k.last_used_at for k in await store.active_keys()}
    assert used == {"k1": t2, "k2": t2, "k3": None}


# --- secrets at rest ---------------------------------------------------------------------------
async def test_the_token_is_never_stored(engine, store):
    keys = GatewayKeyStore(engine)
    first, second = generate_token(), generate_token()
    await keys.create(_new("k1", first))
    await keys.rotate("k1", hash_token(second), None)
    await keys.create(_new("k2", "plain-token-k2-00"))
    await keys.revoke("k2", None)

    rows = await _rows(engine, "SELECT * FROM gateway_keys ORDER BY id")
    assert [row["token"] for row in rows] == ["redacted:k1", "redacted:k2"]
    dumped = repr(rows)
    for secret in (first, second, "plain-token-k2-00"):
        assert secret not in dumped
    if store.driver == "sqlite":
        await engine.dispose()  # checkpoint the WAL; then read every file the database uses
        files = list(Path(store.path).parent.glob(Path(store.path).name + "*"))
        assert files
        for path in files:
            data = path.read_bytes()
            for secret in (first, second, "plain-token-k2-00"):
                assert secret.encode() not in data, path.name


# --- several replicas --------------------------------------------------------------------------
async def test_a_key_revoked_through_one_replica_is_gone_for_another(engine, store):
    other_engine = store.engine()
    try:
        here, there = GatewayKeyStore(engine), GatewayKeyStore(other_engine)
        await here.create(_new("k1"))
        assert [k.id for k in await there.active_keys()] == ["k1"]

        await there.revoke("k1", None)

        assert await here.active_keys() == []
    finally:
        await other_engine.dispose()


async def test_concurrent_creates_of_one_id_store_exactly_one_key(engine):
    store = GatewayKeyStore(engine)

    results = await asyncio.gather(
        *(store.create(_new("same")) for _ in range(8)), return_exceptions=True
    )

    assert sum(isinstance(r, StoredKey) for r in results) == 1
    assert all(isinstance(r, StoredKey | KeyConflict) for r in results)


# --- adopting the original's PostgreSQL tables -------------------------------------------------
@pytest.mark.postgres
async def test_postgres_adopts_the_originals_tables_and_scrubs_plaintext_tokens(postgres_store):
    engine = postgres_store.engine()
    try:
        async with engine.begin() as conn:
            for statement in (
                "CREATE TABLE organizations (id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',"
                " created_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
                "CREATE TABLE workspaces (id TEXT NOT NULL, org_id TEXT NOT NULL"
                " REFERENCES organizations (id), name TEXT NOT NULL DEFAULT '',"
                " created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(), UNIQUE (org_id, id))",
                "INSERT INTO organizations (id, name) VALUES ('default', 'Default Organization')",
                "INSERT INTO workspaces (id, org_id, name)"
                " VALUES ('default', 'default', 'Default Workspace')",
                # an early release: no role/permissions columns, plaintext tokens
                "CREATE TABLE gateway_keys (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE,"
                " token TEXT, org_id TEXT NOT NULL DEFAULT 'default',"
                " workspace_id TEXT NOT NULL DEFAULT 'default', name TEXT NOT NULL DEFAULT '',"
                " description TEXT NOT NULL DEFAULT '', created_by TEXT NOT NULL DEFAULT '',"
                " last_used_at TIMESTAMPTZ, revoked_at TIMESTAMPTZ,"
                " created_at TIMESTAMPTZ NOT NULL DEFAULT NOW())",
                "INSERT INTO gateway_keys (id, token_hash, token)"
                " VALUES ('legacy', '', '  legacy-plain-token  ')",
                "INSERT INTO gateway_keys (id, token_hash, token) VALUES ('hashed',"
                " '8521c9d74876584095a0fa8fb5b117d5f27bd5af6ad0d56dd973eec2d66cdd3a',"
                " 'hashed-plain-token')",
            ):
                await conn.exec_driver_sql(statement)

        await apply_migrations(engine)

        assert (
            hash_token("hashed-plain-token")
            == "8521c9d74876584095a0fa8fb5b117d5f27bd5af6ad0d56dd973eec2d66cdd3a"
        )
        rows = await _rows(engine, "SELECT id, token, token_hash FROM gateway_keys ORDER BY id")
        assert rows == [
            {
                "id": "hashed",
                "token": "redacted:hashed",
                "token_hash": hash_token("hashed-plain-token"),
            },
            {
                "id": "legacy",
                "token": "redacted:legacy",
                "token_hash": hash_token("legacy-plain-token"),
            },
        ]
        keys = await GatewayKeyStore(engine).active_keys()
        assert {(k.id, k.role, k.permissions) for k in keys} == {
            ("hashed", "developer", ()),
            ("legacy", "developer", ()),
        }
    finally:
        await engine.dispose()


async def test_ids_and_tenants_longer_than_an_index_entry_allows_are_refused(engine):
    store = GatewayKeyStore(engine)
    for key in (
        _new("k" * 129),
        _new("k1", tenant=Tenant("o" * 129, "ws")),
        _new("k1", tenant=Tenant("org", "w" * 129)),
    ):
        with pytest.raises(InvalidKey, match="at most 128 characters"):
            await store.create(key)

    assert (await store.create(_new("k" * 128, tenant=Tenant("o" * 128, "w" * 128)))).id
