"""RabbitMQ against the machine's broker: guest on '/', and a throwaway user on a throwaway virtual host."""

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
from tests.integrations.rabbitmq.conftest import HOST, PORT
from tests.support.services import free_port, require_service

LOCAL = {"host": HOST, "port": PORT, "user": "guest"}
GUEST = {"password": "guest"}


def config_for(account, **changes) -> dict:
    return {"host": HOST, "port": PORT, "vhost": account.vhost, "user": account.user, **changes}


def test_guest_on_the_default_vhost_reports_the_version(run):
    require_service("RabbitMQ", HOST, PORT)
    result = run("rabbitmq", LOCAL, GUEST)
    assert result.ok, result
    assert result.server_version.startswith("RabbitMQ 3."), result.server_version
    assert result.details["vhost"] == "/"
    assert result.details["platform"].startswith("Erlang/OTP")
    assert result.details["tls"] == "no"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_own_user_on_its_vhost(run, account):
    secrets = {"password": account.password}
    result = run("rabbitmq", config_for(account), secrets)
    assert result.ok, result
    assert result.details["vhost"] == account.vhost
    assert_no_secrets(result, secrets)


def test_wrong_password_is_auth(run, account, fake):
    secrets = {"password": fake.password(length=20)}
    result = run("rabbitmq", config_for(account), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "ACCESS_REFUSED" in result.message


def test_vhost_without_permission_is_permission(run, account):
    # The user has every permission on its own vhost and none on '/': RabbitMQ refuses Connection.Open.
    secrets = {"password": account.password}
    result = run("rabbitmq", config_for(account, vhost="/"), secrets)
    assert_failure(result, "permission", secrets, stage="auth")
    assert f"refused for user '{account.user}'" in result.message


def test_unknown_vhost_is_not_found(run, account):
    secrets = {"password": account.password}
    result = run("rabbitmq", config_for(account, vhost=account.vhost + "-missing"), secrets)
    assert_failure(result, "not_found", secrets, stage="auth")
    assert "not found" in result.message


def test_tls_on_the_plain_port_is_tls(run, account):
    secrets = {"password": account.password}
    result = run("rabbitmq", config_for(account, tls=True), secrets)
    assert_failure(result, "tls", secrets, stage="tls")
    assert "5671" in result.message


def test_missing_ca_file_is_config(run, tmp_path):
    result = run("rabbitmq", {**LOCAL, "tls": True, "ca_file": str(tmp_path / "nope.pem")}, GUEST)
    assert_failure(result, "config")


def test_closed_port_is_refused(run):
    assert_failure(run("rabbitmq", {**LOCAL, "port": free_port()}, GUEST), "refused", stage="connect")


def test_silent_server_times_out_on_time(run_timed, blackhole):
    host, port = blackhole
    result, elapsed = run_timed("rabbitmq", {**LOCAL, "host": host, "port": port}, GUEST, timeout=1.0)
    # TCP is accepted and the protocol header sent; Connection.Start never comes.
    assert_failure(result, "timeout", stage="handshake")
    assert elapsed <= 1.1, elapsed


def test_unknown_host_is_dns(run):
    assert_failure(run("rabbitmq", {**LOCAL, "host": "nonexistent.invalid"}, GUEST), "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    assert cancel_quickly(registry, "rabbitmq", {**LOCAL, "host": host, "port": port}) < 0.3


@pytest.mark.parametrize(("config", "url"), [
    ({"host": "mq.example.com", "port": 5672, "vhost": "/", "user": "guest"}, "amqp://guest@mq.example.com:5672"),
    ({"host": "mq.example.com", "port": 5671, "vhost": "prod/eu", "user": "app", "tls": True},
     "amqps://app@mq.example.com:5671/prod%2Feu"),
    ({"host": "::1", "port": 5672, "vhost": "", "user": "guest"}, "amqp://guest@[::1]:5672"),
])
def test_connection_info(registry, config, url):
    info = registry.get("rabbitmq").integration().connection_info({**config, "password": "s3cret"})
    assert info.display_url == url
    assert info.database == (config["vhost"] or "/")
    assert "s3cret" not in info.display_url


# --- connection URLs (the AMQP URI spec: https://www.rabbitmq.com/docs/uri-spec) -----------------------------

def url_values(registry, url: str) -> dict:
    """What `Hub.values_from_url` gives the form: the defaults, then what the URL says."""
    entry = registry.get("rabbitmq")
    return {**defaults(entry.specs), **parse_url(entry.manifest, entry.specs, url).values}


@pytest.mark.parametrize(("url", "expected"), [
    ("amqp://mq.example.com", {"host": "mq.example.com", "port": 5672, "vhost": "/", "tls": False}),
    ("amqp://mq.example.com/%2f", {"vhost": "/"}),
    ("amqp://mq.example.com/%2Fprod", {"vhost": "/prod"}),
    ("amqp://mq.example.com/orders%20eu", {"vhost": "orders eu"}),
    ("amqps://mq.example.com", {"tls": True, "port": 5671}),
    ("amqps://mq.example.com:5999/app", {"tls": True, "port": 5999, "vhost": "app"}),
    ("amqp://al%40ice:p@ss:w+rd%2F@[::1]:5673/v", {"user": "al@ice", "password": "p@ss:w+rd/", "host": "::1",
                                                   "port": 5673, "vhost": "v"}),
    ("amqps://mq.example.com?cacertfile=/etc/ssl/ca.pem", {"ca_file": "/etc/ssl/ca.pem"}),
])
def test_url(registry, url, expected):
    values = url_values(registry, url)
    assert {key: values.get(key) for key in expected} == expected


def test_url_with_a_trailing_slash_is_the_default_vhost(registry):
    # As aiormq and pika read it (the URI spec's empty vhost "" exists on no broker).
    assert url_values(registry, "amqp://mq.example.com/")["vhost"] == "/"


def test_url_unknown_parameter_is_reported(registry):
    entry = registry.get("rabbitmq")
    parsed = parse_url(entry.manifest, entry.specs, "amqp://mq.example.com/?heartbeat=30&cacertfile=/ca.pem")
    assert parsed.unknown_params == ["heartbeat"]
    assert parsed.values["ca_file"] == "/ca.pem"


@pytest.mark.parametrize(("url", "complaint"), [
    ("amqp://mq.example.com:99999", "port"),
    ("http://mq.example.com", "scheme"),
    ("amqp://::1/", "brackets"),
    ("amqp://mq.example.com/v#frag", "fragment"),
    ("amqp://mq.example.com/prod/eu", "%2F"),
])
def test_malformed_url_is_refused(registry, url, complaint):
    with pytest.raises(UrlError, match=complaint):
        url_values(registry, url)


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "rabbitmq")
