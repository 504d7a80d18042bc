"""Redis against real servers: the machine's own, and throwaway ones with a password, ACL users and TLS."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.integrations import (
    assert_builtin_ok,
    assert_failure,
    assert_no_secrets,
    cancel_quickly,
)
from tests.support.servers import throwaway_redis
from tests.support.services import free_port, require_binary, require_service

LOCAL = {"host": "127.0.0.1", "port": 6379}


@pytest.fixture(scope="session")
def secured(fake):
    """requirepass for `default`, `alice` with every command, `carol` who may only GET (no PING, no INFO)."""
    require_binary("redis-server", "redis-server")
    users = SimpleNamespace(default=fake.password(length=20), alice=fake.password(length=20),
                            carol=fake.password(length=20))
    port = free_port()
    with throwaway_redis(port, "--requirepass", users.default,
                         "--user", "alice", "on", f">{users.alice}", "~*", "+@all",
                         "--user", "carol", "on", f">{users.carol}", "~*", "+get") as server:
        server.users = users
        yield server


@pytest.fixture(scope="session")
def tls_redis(tls_files):
    require_binary("redis-server", "redis-server")
    with throwaway_redis(free_port(), tls=tls_files) as server:
        yield server


def config_for(server, **changes) -> dict:
    return {"host": server.host, "port": server.port, **changes}


def test_local_server_reports_its_version(run):
    require_service("Redis", "127.0.0.1", 6379)
    result = run("redis", LOCAL)
    assert result.ok, result
    assert result.server_version.startswith("Redis "), result.server_version
    assert result.details["mode"] == "standalone"
    assert result.details["role"] == "master"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_right_password(run, secured):
    secrets = {"password": secured.users.default}
    result = run("redis", config_for(secured), secrets)
    assert result.ok, result
    assert_no_secrets(result, secrets)


def test_wrong_password_is_auth(run, secured, fake):
    secrets = {"password": fake.password(length=20)}
    assert_failure(run("redis", config_for(secured), secrets), "auth", secrets, stage="auth")


def test_no_password_is_auth(run, secured):
    assert_failure(run("redis", config_for(secured)), "auth", stage="probe")


def test_acl_user(run, secured):
    secrets = {"password": secured.users.alice}
    result = run("redis", config_for(secured, username="alice", db=1), secrets)
    assert result.ok, result


def test_acl_user_with_the_wrong_password_is_auth(run, secured):
    secrets = {"password": secured.users.carol}  # carol's password is not alice's
    assert_failure(run("redis", config_for(secured, username="alice"), secrets), "auth", secrets)


def test_restricted_acl_user_is_permission(run, secured):
    secrets = {"password": secured.users.carol}
    result = run("redis", config_for(secured, username="carol"), secrets)
    assert_failure(result, "permission", secrets, stage="probe")
    assert "no permissions" in result.message


def test_database_out_of_range_is_not_found(run, secured):
    secrets = {"password": secured.users.default}
    assert_failure(run("redis", config_for(secured, db=10_000), secrets), "not_found", secrets)


def test_tls_with_the_ca(run, tls_redis, tls_files):
    result = run("redis", config_for(tls_redis, tls=True, ca_file=str(tls_files.ca)))
    assert result.ok, result


def test_tls_with_an_untrusted_certificate(run, tls_redis):
    assert_failure(run("redis", config_for(tls_redis, tls=True)), "tls", stage="tls")


def test_missing_ca_file_is_config(run, tls_redis, tmp_path):
    assert_failure(run("redis", config_for(tls_redis, tls=True, ca_file=str(tmp_path / "nope.pem"))), "config")


def test_closed_port_is_refused(run):
    assert_failure(run("redis", {**LOCAL, "port": free_port()}), "refused", stage="connect")


def test_silent_server_times_out_on_time(run_timed, blackhole):
    host, port = blackhole
    result, elapsed = run_timed("redis", {"host": host, "port": port}, timeout=1.0)
    # TCP is accepted and Redis has no greeting: without AUTH the first silence is the PING's.
    assert_failure(result, "timeout", stage="probe")
    assert elapsed <= 1.1, elapsed


def test_unknown_host_is_dns(run):
    assert_failure(run("redis", {**LOCAL, "host": "nonexistent.invalid"}), "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    assert cancel_quickly(registry, "redis", {"host": host, "port": port}) < 0.3


@pytest.mark.parametrize(("config", "url"), [
    ({"host": "cache.example.com", "port": 6379}, "redis://cache.example.com:6379/0"),
    ({"host": "cache.example.com", "port": 6380, "db": 2, "username": "alice", "tls": True},
     "rediss://alice@cache.example.com:6380/2"),
])
def test_connection_info(registry, config, url):
    info = registry.get("redis").integration().connection_info(config)
    assert info.display_url == url
    assert info.database == str(config.get("db", 0))


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "redis")
