"""storage.dsn as users of the original write it: postgres:// URLs with libpq parameters."""

from __future__ import annotations

import logging
import ssl

import certifi
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ongoingai.engine.storage import create_engine_for, postgres_target, redact_dsn
from ongoingai.engine.storage.dsn import DEFAULT_CONNECT_TIMEOUT_S

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_plain_postgres_urls_become_asyncpg_urls(scheme):
    target = postgres_target(f"{scheme}://app:s3cr%40t@db.example:6543/traces")

    assert target.url.drivername == "postgresql+asyncpg"
    assert (target.url.host, target.url.port, target.url.database) == ("db.example", 6543, "traces")
    assert (target.url.username, target.url.password) == ("app", "s3cr@t")
    assert dict(target.url.query) == {}
    assert target.connect_args == {"timeout": DEFAULT_CONNECT_TIMEOUT_S}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("disable", False),
        ("allow", "allow"),
        ("prefer", "prefer"),
        ("require", "require"),
        ("verify-ca", "verify-ca"),
        ("verify-full", "verify-full"),
        ("REQUIRE", "require"),
    ],
)
def test_sslmode_becomes_asyncpgs_ssl_argument(mode, expected):
    target = postgres_target(f"postgres://u@h/db?sslmode={mode}")

    assert target.connect_args["ssl"] == expected
    assert "sslmode" not in target.url.query


def test_verify_modes_with_a_root_certificate_get_an_ssl_context():
    ca = certifi.where()
    full = postgres_target(f"postgres://u@h/db?sslmode=verify-full&sslrootcert={ca}")
    ca_only = postgres_target(f"postgres://u@h/db?sslmode=verify-ca&sslrootcert={ca}")

    assert isinstance(full.connect_args["ssl"], ssl.SSLContext)
    assert full.connect_args["ssl"].check_hostname is True
    assert ca_only.connect_args["ssl"].check_hostname is False
    assert ca_only.connect_args["ssl"].verify_mode == ssl.CERT_REQUIRED


def test_connect_timeout_application_name_and_options_are_translated():
    target = postgres_target(
        "postgres://u@h/db?connect_timeout=3&application_name=gw"
        "&options=-c%20search_path%3Dtenant_a%20-cstatement_timeout=5000"
    )

    assert target.connect_args["timeout"] == 3.0
    assert target.connect_args["server_settings"] == {
        "application_name": "gw",
        "search_path": "tenant_a",
        "statement_timeout": "5000",
    }


def test_options_other_than_settings_are_refused():
    with pytest.raises(ValueError, match="options must be -c name=value"):
        postgres_target("postgres://u@h/db?options=-v")


@pytest.mark.postgres
async def test_search_path_from_options_reaches_the_server(postgres_schema_dsn):
    engine = create_engine_for("postgres", "", postgres_schema_dsn)
    try:
        async with engine.connect() as conn:
            schema = await conn.scalar(text("SELECT current_schema()"))
    finally:
        await engine.dispose()

    assert f"search_path={schema}" in make_url(postgres_schema_dsn).query["options"]


def test_parameters_asyncpg_lacks_are_dropped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        target = postgres_target("postgres://u:pw@h/db?pool_max_conns=10&sslmode=disable")

    assert dict(target.url.query) == {}
    assert "pool_max_conns" in caplog.text
    assert "pw" not in caplog.text


def test_an_unknown_sslmode_is_refused():
    with pytest.raises(ValueError, match="sslmode must be one of"):
        postgres_target("postgres://u@h/db?sslmode=sometimes")


@pytest.mark.parametrize("dsn", ["mysql://u:hunter2@h/db", "host=h user=u password=hunter2"])
def test_a_non_postgres_dsn_is_refused_without_echoing_the_password(dsn):
    with pytest.raises(ValueError, match="postgres:// or postgresql://") as info:
        create_engine_for("postgres", "", dsn)

    assert "hunter2" not in str(info.value)


def test_redacted_dsn_hides_the_password():
    assert "hunter2" not in redact_dsn("postgres://app:hunter2@h:5432/db?sslmode=require")
    assert "***" in redact_dsn("postgres://app:hunter2@h:5432/db?sslmode=require")


def test_an_unsupported_driver_is_refused():
    with pytest.raises(ValueError, match='must be one of sqlite, postgres \\(got "mysql"\\)'):
        create_engine_for("mysql", "", "")


def test_sqlite_creates_the_parent_directory(tmp_path):
    path = tmp_path / "a" / "b" / "ongoingai.db"

    engine = create_engine_for(" sqlite ", str(path), "")

    assert path.parent.is_dir()
    assert engine.dialect.name == "sqlite"


@pytest.mark.postgres
@pytest.mark.parametrize("mode", ["disable", "prefer", "allow"])
async def test_a_real_connection_honours_the_users_sslmode(postgres_test_database, mode):
    dsn = make_url(postgres_test_database).update_query_dict({"sslmode": mode})
    engine = create_engine_for("postgres", "", dsn.render_as_string(hide_password=False))
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
