"""PostgreSQL against real servers: the machine's trust-auth server and a throwaway scram-sha-256 cluster."""

from __future__ import annotations

import asyncio
import os
import pwd

import pytest

from tests.integrations import (
    assert_builtin_ok,
    assert_failure,
    assert_no_secrets,
    cancel_quickly,
)
from tests.support.servers import postgres_bin_dir, throwaway_postgres
from tests.support.services import free_port, missing, require_service

LOCAL = {"host": "127.0.0.1", "port": 5432, "database": "test", "user": "postgres"}


@pytest.fixture(scope="session")
def pg(fake, tls_files):
    """A private cluster with a password, TLS, a `reader` role and a database `reader` may not open."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        missing("PostgreSQL server binaries (initdb, pg_ctl) not found — apt-get install postgresql")
    if os.geteuid() == 0 and not _has_account("postgres"):
        missing("initdb cannot run as root and there is no 'postgres' account to run it as")
    password = fake.password(length=20)
    reader_password = fake.password(length=20)
    with throwaway_postgres(bin_dir, free_port(), password, tls=tls_files) as server:
        asyncio.run(_setup(server, reader_password))
        server.reader_password = reader_password
        yield server


def _has_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


async def _setup(server, reader_password: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(host=server.host, port=server.port, user="postgres", password=server.password,
                                 database="postgres", ssl="disable")
    try:
        literal = reader_password.replace("'", "''")
        await conn.execute(f"CREATE ROLE reader LOGIN PASSWORD '{literal}'")
        await conn.execute("CREATE DATABASE locked")
        await conn.execute("REVOKE CONNECT ON DATABASE locked FROM PUBLIC")
    finally:
        await conn.close()


def config_for(server, **changes) -> dict:
    return {"host": server.host, "port": server.port, "database": "postgres", "user": "postgres",
            "sslmode": "disable", **changes}


def test_local_server_reports_its_version(run):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    result = run("postgres", LOCAL)
    assert result.ok, result
    assert result.server_version.startswith("PostgreSQL 1"), result.server_version
    assert result.details["database"] == "test"
    assert result.details["user"] == "postgres"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]
    assert result.latency_ms > 0


def test_right_password(run, pg):
    secrets = {"password": pg.password}
    result = run("postgres", config_for(pg), secrets)
    assert result.ok, result
    assert result.details["tls"] == "no"
    assert_no_secrets(result, secrets)


def test_wrong_password_is_auth(run, pg, fake):
    secrets = {"password": fake.password(length=20)}
    result = run("postgres", config_for(pg), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "password authentication failed" in result.message


def test_no_password_when_one_is_required_is_auth(run, pg):
    assert_failure(run("postgres", config_for(pg)), "auth", stage="auth")


def test_unknown_database_is_not_found(run, pg, fake):
    secrets = {"password": pg.password}
    result = run("postgres", config_for(pg, database=fake.user_name() + "_db"), secrets)
    assert_failure(result, "not_found", secrets)
    assert "does not exist" in result.message


def test_database_without_connect_privilege_is_permission(run, pg):
    secrets = {"password": pg.reader_password}
    result = run("postgres", config_for(pg, user="reader", database="locked"), secrets)
    assert_failure(result, "permission", secrets)


def test_tls_required_and_verified_against_the_ca(run, pg, tls_files):
    secrets = {"password": pg.password}
    for config in (config_for(pg, sslmode="require"),
                   config_for(pg, sslmode="verify-full", sslrootcert=str(tls_files.ca)),
                   config_for(pg, sslmode="verify-ca", sslrootcert=str(tls_files.ca))):
        result = run("postgres", config, secrets)
        assert result.ok, (config["sslmode"], result)
        assert result.details["tls"] == "yes"


def test_untrusted_certificate_is_tls(run, pg):
    secrets = {"password": pg.password}
    result = run("postgres", config_for(pg, sslmode="verify-full"), secrets)  # the system CAs: not ours
    assert_failure(result, "tls", secrets, stage="tls")


def test_missing_ca_file_is_config(run, pg, tmp_path):
    result = run("postgres", config_for(pg, sslmode="verify-ca", sslrootcert=str(tmp_path / "nope.pem")))
    assert_failure(result, "config")


def test_tls_required_by_a_server_without_tls(run):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    result = run("postgres", {**LOCAL, "sslmode": "require"})
    if result.ok:  # this machine's server has TLS on: nothing to check
        pytest.skip("the local PostgreSQL accepts TLS")
    assert_failure(result, "tls", stage="tls")


def test_closed_port_is_refused(run):
    result = run("postgres", {**LOCAL, "port": free_port()})
    assert_failure(result, "refused", stage="connect")


def test_silent_server_times_out_on_time(run_timed, blackhole):
    host, port = blackhole
    result, elapsed = run_timed("postgres", {**LOCAL, "host": host, "port": port}, timeout=1.0)
    assert_failure(result, "timeout", stage="handshake")
    assert elapsed <= 1.1, elapsed


def test_unknown_host_is_dns(run):
    result = run("postgres", {**LOCAL, "host": "nonexistent.invalid"})
    assert_failure(result, "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    assert cancel_quickly(registry, "postgres", {**LOCAL, "host": host, "port": port}) < 0.3


def test_connection_info_has_no_password(registry):
    info = registry.get("postgres").integration().connection_info(
        {"host": "db.example.com", "port": 5433, "database": "app", "user": "alice", "password": "x"})
    assert info.display_url == "postgres://alice@db.example.com:5433/app"
    assert (info.host, info.port, info.database, info.user) == ("db.example.com", 5433, "app", "alice")


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "postgres")
