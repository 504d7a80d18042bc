"""MySQL/MariaDB against real servers: the machine's MariaDB (TLS off) with a throwaway account, and a private
MariaDB with TLS and require_secure_transport for the TLS modes."""

from __future__ import annotations

import pytest

from connhub.core.fields import defaults
from connhub.core.urls import UrlError, parse_url
from tests.integrations import (
    assert_builtin_ok,
    assert_failure,
    assert_no_secrets,
    cancel_quickly,
)
from tests.support.services import free_port, require_service

LOCAL = {"host": "127.0.0.1", "port": 3306, "user": "root", "database": "test", "ssl_mode": "DISABLED"}


def config_for(account, **changes) -> dict:
    return {"host": account.host, "port": account.port, "user": account.user, "ssl_mode": "DISABLED", **changes}


def test_local_server_reports_its_version(run):
    require_service("MariaDB", "127.0.0.1", 3306)
    result = run("mysql", LOCAL)
    assert result.ok, result
    assert result.server_version.startswith(("MariaDB 1", "MySQL ")), result.server_version
    assert result.details["server_version_full"].split("-")[0] == result.server_version.split()[1]
    assert result.details["database"] == "test"
    assert result.details["user"].startswith("root@")
    assert result.details["tls"] == "no"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_password_with_non_latin1_characters(run, local_account):
    """The password holds `@ : + é €`: sent as UTF-8 (aiomysql alone would send Latin-1 or fail)."""
    secrets = {"password": local_account.password}
    result = run("mysql", config_for(local_account, database="test"), secrets)
    assert result.ok, result
    assert result.details["user"] == f"{local_account.user}@%"
    assert_no_secrets(result, secrets)


def test_wrong_password_is_auth(run, local_account, fake):
    secrets = {"password": fake.password(length=16)}
    result = run("mysql", config_for(local_account), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "Access denied" in result.message


def test_unknown_database_is_not_found(run):
    require_service("MariaDB", "127.0.0.1", 3306)
    result = run("mysql", {**LOCAL, "database": "connhub_no_such_db"})
    assert_failure(result, "not_found", stage="auth")
    assert "Unknown database" in result.message


def test_database_without_grant_is_permission(run, local_account):
    """MySQL answers 1044 for a database the user may not use, whether or not it exists: the message says so."""
    secrets = {"password": local_account.password}
    result = run("mysql", config_for(local_account, database="mysql"), secrets)
    assert_failure(result, "permission", secrets)
    assert "may also not exist" in result.message


def test_tls_required_by_the_client_but_not_offered(run, local_account):
    """The machine's MariaDB has TLS off: REQUIRED stops after the greeting, before the password is sent."""
    secrets = {"password": local_account.password}
    result = run("mysql", config_for(local_account, ssl_mode="REQUIRED"), secrets)
    assert_failure(result, "tls", secrets, stage="tls")
    assert "does not offer TLS" in result.message


def test_preferred_falls_back_to_plain_text(run, local_account):
    result = run("mysql", config_for(local_account, ssl_mode="PREFERRED"), {"password": local_account.password})
    assert result.ok, result
    assert result.details["tls"] == "no"


def test_tls_modes_against_a_tls_server(run, tls_server, tls_files):
    secrets = {"password": tls_server.password}
    for changes in ({"ssl_mode": "PREFERRED"}, {"ssl_mode": "REQUIRED"},
                    {"ssl_mode": "VERIFY_CA", "ssl_ca": str(tls_files.ca)},
                    {"ssl_mode": "VERIFY_IDENTITY", "ssl_ca": str(tls_files.ca)}):
        result = run("mysql", config_for(tls_server, **changes), secrets)
        assert result.ok, (changes, result)
        assert result.details["tls"].startswith("TLSv1."), result.details


def test_untrusted_certificate_is_tls(run, tls_server):
    secrets = {"password": tls_server.password}
    result = run("mysql", config_for(tls_server, ssl_mode="VERIFY_IDENTITY"), secrets)  # system CAs: not ours
    assert_failure(result, "tls", secrets, stage="tls")
    assert "not trusted" in result.message


def test_plain_text_refused_by_a_server_that_requires_tls(run, tls_server):
    """require_secure_transport=ON: MariaDB 10.x says only "Access denied", so the message points at TLS."""
    secrets = {"password": tls_server.password}
    result = run("mysql", config_for(tls_server, ssl_mode="DISABLED"), secrets)
    if result.error_class == "tls":  # MySQL, MariaDB ≥ 11.4: ER_SECURE_TRANSPORT_REQUIRED (3159)
        assert "insecure transport" in result.message
        return
    assert_failure(result, "auth", secrets, stage="auth")
    assert "requires TLS" in result.message


def test_missing_ca_file_is_config(run, tmp_path):
    result = run("mysql", {**LOCAL, "ssl_mode": "VERIFY_CA", "ssl_ca": str(tmp_path / "nope.pem")})
    assert_failure(result, "config")


def test_closed_port_is_refused(run):
    result = run("mysql", {**LOCAL, "port": free_port()})
    assert_failure(result, "refused", stage="connect")


def test_silent_server_times_out_on_time(run_timed, blackhole):
    """TCP is accepted, the server's greeting never comes."""
    host, port = blackhole
    result, elapsed = run_timed("mysql", {**LOCAL, "host": host, "port": port}, timeout=1.0)
    assert_failure(result, "timeout", stage="handshake")
    assert elapsed <= 1.1, elapsed


def test_unknown_host_is_dns(run):
    assert_failure(run("mysql", {**LOCAL, "host": "nonexistent.invalid"}), "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    assert cancel_quickly(registry, "mysql", {**LOCAL, "host": host, "port": port}) < 0.3


# --- connection URLs --------------------------------------------------------------------------------------

def from_url(registry, url: str) -> tuple[dict, list[str]]:
    """Form values from a URL as the Hub builds them: the fields' defaults, then what the URL says."""
    entry = registry.get("mysql")
    parsed = parse_url(entry.manifest, entry.specs, url)
    return {**defaults(entry.specs), **parsed.values}, parsed.unknown_params


@pytest.mark.parametrize(("url", "expected", "unknown"), [
    # percent-encoding, and '@ : +' as written in a password; no port: the default
    ("mysql://alice:p%2Fss@w:rd+1@db.example.com/app",
     {"user": "alice", "password": "p/ss@w:rd+1", "host": "db.example.com", "port": 3306, "database": "app"}, []),
    # IPv6 in brackets, the mariadb scheme, no database
    ("mariadb://bob@[2001:db8::5]:3307",
     {"user": "bob", "host": "2001:db8::5", "port": 3307, "ssl_mode": "PREFERRED"}, []),
    # MySQL's own ssl-mode spelling and a CA path; a database name with an encoded space
    ("mysql://db.example.com/my%20db?ssl-mode=VERIFY_IDENTITY&ssl-ca=%2Fetc%2Fssl%2Fca.pem",
     {"database": "my db", "ssl_mode": "VERIFY_IDENTITY", "ssl_ca": "/etc/ssl/ca.pem"}, []),
    # Connector/J's sslMode; a parameter connhub does not use is reported, not dropped silently
    ("mysql://root@localhost/?sslMode=REQUIRED&charset=utf8mb4",
     {"user": "root", "host": "localhost", "ssl_mode": "REQUIRED", "charset": "utf8mb4"}, []),
])
def test_url(registry, url, expected, unknown):
    values, unknown_params = from_url(registry, url)
    assert {key: values.get(key) for key in expected} == expected
    assert unknown_params == unknown
    if "database" not in expected:
        assert "database" not in values


@pytest.mark.parametrize(("url", "words"), [
    ("mysql://db.example.com:99999/app", "port"),
    ("mysql://fe80::1/app", "brackets"),
    ("mysql://db.example.com/app?ssl-mode=sometimes", "one of"),
    ("postgres://db.example.com/app", "scheme"),
    ("mysql://db.example.com/app/extra", "one name"),
])
def test_malformed_url_is_refused(registry, url, words):
    with pytest.raises(UrlError) as caught:
        from_url(registry, url)
    assert words in str(caught.value)


def test_connection_info_has_no_password(registry):
    integration = registry.get("mysql").integration()
    info = integration.connection_info({"host": "db.example.com", "port": 3307, "database": "app", "user": "alice",
                                        "password": "hunter2"})
    assert info.display_url == "mysql://alice@db.example.com:3307/app"
    assert (info.host, info.port, info.database, info.user) == ("db.example.com", 3307, "app", "alice")
    assert integration.connection_info({"host": "::1", "port": 3306, "user": "root"}).display_url == \
        "mysql://root@[::1]:3306"


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "mysql")
