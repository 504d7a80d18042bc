"""NATS against real servers: the machine's JetStream server, and private ones with a token, a password, TLS."""

from __future__ import annotations

import asyncio

import pytest

from connhub.core.fields import active_keys, defaults
from connhub.core.urls import UrlError, parse_url
from connhub.services.runner import run_test
from tests.integrations import (
    assert_builtin_ok,
    assert_failure,
    assert_no_secrets,
    cancel_quickly,
)
from tests.support.services import free_port, require_service

LOCAL = {"host": "127.0.0.1", "port": 4222}


def with_token(server, token: str | None = None) -> tuple[dict, dict]:
    return ({"host": server.host, "port": server.port, "auth.method": "password"},
            {"auth.password": server.secret if token is None else token})


def with_password(server, password: str | None = None, **changes) -> tuple[dict, dict]:
    return ({"host": server.host, "port": server.port, "auth.method": "password", "auth.username": server.user,
             **changes}, {"auth.password": server.secret if password is None else password})


def test_local_server_reports_version_and_jetstream(run):
    require_service("NATS", *LOCAL.values())
    result = run("nats", LOCAL)
    assert result.ok, result
    assert result.server_version.startswith("NATS 2."), result.server_version
    assert result.details["jetstream"] == "available"
    assert result.details["tls"] == "no"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_right_token(run, token_server):
    config, secrets = with_token(token_server)
    result = run("nats", config, secrets)
    assert result.ok, result
    assert result.details["jetstream"] == "not enabled"  # started without -js
    assert_no_secrets(result, secrets)


def test_wrong_token_is_auth(run, token_server, fake):
    config, secrets = with_token(token_server, fake.password(length=24))
    result = run("nats", config, secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "Authorization Violation" in result.message


def test_no_token_is_auth(run, token_server):
    assert_failure(run("nats", {"host": token_server.host, "port": token_server.port}), "auth", stage="auth")


def test_user_and_password_over_tls(run, tls_server, tls_files):
    config, secrets = with_password(tls_server, tls=True, ca_file=str(tls_files.ca))
    result = run("nats", config, secrets)
    assert result.ok, result
    assert result.details["tls"] == "yes"
    assert_no_secrets(result, secrets)


def test_wrong_password_is_auth(run, tls_server, tls_files, fake):
    config, secrets = with_password(tls_server, fake.password(length=20), tls=True, ca_file=str(tls_files.ca))
    assert_failure(run("nats", config, secrets), "auth", secrets, stage="auth")


def test_untrusted_certificate_is_tls(run, tls_server):
    # The server requires TLS, so the client upgrades even unasked; the system CAs do not know ours.
    for config, secrets in (with_password(tls_server), with_password(tls_server, tls=True)):
        result = run("nats", config, secrets)
        assert_failure(result, "tls", secrets, stage="tls")
        assert "not trusted" in result.message


def test_tls_required_of_a_server_without_tls_is_tls(run):
    # nats-py would quietly go on in plain text: asking for TLS must fail instead.
    require_service("NATS", *LOCAL.values())
    result = run("nats", {**LOCAL, "tls": True})
    assert_failure(result, "tls", stage="tls")
    assert "not use TLS" in result.message


def test_closed_port_is_refused(run):
    port = free_port()
    result = run("nats", {**LOCAL, "port": port})
    assert_failure(result, "refused", stage="connect")
    assert f"127.0.0.1:{port}" in result.message


def test_silent_server_times_out_on_time(run_timed, blackhole):
    host, port = blackhole
    result, elapsed = run_timed("nats", {"host": host, "port": port}, timeout=1.0)
    # TCP is accepted; the server's INFO never comes.
    assert_failure(result, "timeout", stage="handshake")
    assert elapsed <= 1.1, elapsed


def test_no_background_task_outlives_a_test(registry, token_server, tls_server, blackhole, fake):
    """nats-py's reader, pinger and flusher are gone once a test returns, whether it passed or failed."""
    host, port = blackhole
    cases = [(LOCAL, {}), with_token(token_server, fake.password(length=24)), with_password(tls_server, tls=True),
             ({"host": host, "port": port}, {}), ({**LOCAL, "port": free_port()}, {})]

    async def main():
        for config, secrets in cases:
            await run_test(registry.get("nats"), config, secrets, timeout=0.5)
            await asyncio.sleep(0)
            assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == [], config

    asyncio.run(main())


def test_unknown_host_is_dns(run):
    assert_failure(run("nats", {**LOCAL, "host": "nonexistent.invalid"}), "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    assert cancel_quickly(registry, "nats", {"host": host, "port": port}) < 0.3


@pytest.mark.parametrize(("config", "url"), [
    ({"host": "nats.example.com", "port": 4222}, "nats://nats.example.com:4222"),
    ({"host": "nats.example.com", "port": 4222, "auth.method": "password", "auth.username": "svc", "tls": True},
     "tls://svc@nats.example.com:4222"),
    ({"host": "::1", "port": 4223, "auth.method": "password"}, "nats://[::1]:4223"),  # a token is never shown
])
def test_connection_info(registry, config, url):
    info = registry.get("nats").integration().connection_info({**config, "auth.password": "s3cret"})
    assert info.display_url == url
    assert "s3cret" not in info.display_url


# --- connection URLs ------------------------------------------------------------------------------------------

def url_values(registry, url: str) -> dict:
    """What `Hub.values_from_url` gives the form: the defaults, then what the URL says."""
    entry = registry.get("nats")
    return {**defaults(entry.specs), **parse_url(entry.manifest, entry.specs, url).values}


@pytest.mark.parametrize(("url", "expected"), [
    ("nats://nats.example.com", {"host": "nats.example.com", "port": 4222, "tls": False, "auth.method": "none"}),
    ("tls://nats.example.com:4443", {"tls": True, "port": 4443}),
    ("nats://s3cr%40t+token@nats.example.com", {"auth.method": "password", "auth.password": "s3cr@t+token",
                                                "auth.username": None}),
    ("nats://svc:p@ss:w+rd%2F@[fe80::1%25eth0]:4222", {"auth.method": "password", "auth.username": "svc",
                                                       "auth.password": "p@ss:w+rd/", "host": "fe80::1%eth0"}),
])
def test_url(registry, url, expected):
    values = url_values(registry, url)
    assert {key: values.get(key) for key in expected} == expected


def test_url_token_survives_into_the_saved_fields(registry):
    # The token lands in a field the chosen method shows, so saving the form keeps it (hidden fields are dropped).
    entry = registry.get("nats")
    values = url_values(registry, "nats://T0KEN@nats.example.com")
    assert "auth.password" in active_keys(entry.specs, values)


def test_url_unknown_parameter_is_reported(registry):
    entry = registry.get("nats")
    parsed = parse_url(entry.manifest, entry.specs, "nats://nats.example.com?jetstream=true")
    assert parsed.unknown_params == ["jetstream"]


@pytest.mark.parametrize(("url", "complaint"), [
    ("nats://a.example.com:4222,b.example.com:4222", "several hosts"),
    ("nats://nats.example.com/orders", "path"),
    ("nats://nats.example.com:42x", "port"),
    ("wss://nats.example.com", "scheme"),
])
def test_malformed_url_is_refused(registry, url, complaint):
    with pytest.raises(UrlError, match=complaint):
        url_values(registry, url)


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "nats")
