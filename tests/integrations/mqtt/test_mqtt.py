"""MQTT against real brokers: the machine's anonymous Mosquitto, and a private one with passwords and TLS."""

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

LOCAL = {"host": "127.0.0.1", "port": 1883}


def config_for(broker, user: str | None = "alice", **changes) -> dict:
    return {"host": broker.host, "port": broker.port, **({"user": user} if user else {}), **changes}


@pytest.mark.parametrize(("protocol", "label"), [("3.1.1", "MQTT 3.1.1"), ("5", "MQTT 5.0")])
def test_local_anonymous_broker_reports_its_version(run, protocol, label):
    require_service("Mosquitto", *LOCAL.values())
    result = run("mqtt", {**LOCAL, "protocol": protocol})
    assert result.ok, result
    assert result.server_version.startswith("Mosquitto 2."), result.server_version
    assert result.details == {"protocol": label, "tls": "no"}
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_right_password(run, broker):
    secrets = {"password": broker.passwords["alice"]}
    result = run("mqtt", config_for(broker, client_id="connhub-test"), secrets)
    assert result.ok, result
    assert result.server_version.startswith("Mosquitto "), result.server_version
    assert_no_secrets(result, secrets)


def test_wrong_password_is_auth(run, broker, fake):
    # Mosquitto answers CONNACK "not authorized" (5 / 0x87) to a wrong password: still an authentication failure.
    secrets = {"password": fake.password(length=20)}
    result = run("mqtt", config_for(broker), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "Not authorized" in result.message


def test_wrong_password_with_mqtt5_is_auth(run, broker, fake):
    secrets = {"password": fake.password(length=20)}
    assert_failure(run("mqtt", config_for(broker, protocol="5"), secrets), "auth", secrets, stage="auth")


def test_anonymous_on_a_broker_that_wants_a_user_is_auth(run, broker):
    assert_failure(run("mqtt", config_for(broker, user=None)), "auth", stage="auth")


def test_password_without_user_is_config(run, broker):
    secrets = {"password": broker.passwords["alice"]}
    result = run("mqtt", config_for(broker, user=None), secrets)
    assert_failure(result, "config", secrets)
    assert "user name" in result.message


def test_broker_that_hides_its_version_still_connects(run, broker):
    # bob may not read $SYS: the subscription is refused or stays silent, and that is no failure.
    secrets = {"password": broker.passwords["bob"]}
    result = run("mqtt", config_for(broker, user="bob"), secrets)
    assert result.ok, result
    assert result.server_version is None
    assert result.message == "Connected"


def test_tls_with_the_ca(run, broker, tls_files):
    secrets = {"password": broker.passwords["alice"]}
    result = run("mqtt", config_for(broker, port=broker.tls_port, tls=True, ca_file=str(tls_files.ca)), secrets)
    assert result.ok, result
    assert result.details["tls"] == "yes"
    assert result.server_version.startswith("Mosquitto ")


def test_tls_with_an_untrusted_certificate(run, broker):
    secrets = {"password": broker.passwords["alice"]}
    result = run("mqtt", config_for(broker, port=broker.tls_port, tls=True), secrets)  # system CAs: not ours
    assert_failure(result, "tls", secrets, stage="tls")
    assert "not trusted" in result.message


def test_tls_on_the_plain_port_is_tls(run, broker, tls_files):
    result = run("mqtt", config_for(broker, tls=True, ca_file=str(tls_files.ca)))
    assert_failure(result, "tls", stage="tls")


def test_closed_port_is_refused(run):
    port = free_port()
    result = run("mqtt", {**LOCAL, "port": port})
    assert_failure(result, "refused", stage="connect")
    assert f"127.0.0.1:{port}" in result.message


def test_silent_server_times_out_on_time(run_timed, blackhole):
    host, port = blackhole
    result, elapsed = run_timed("mqtt", {"host": host, "port": port}, timeout=1.0)
    # TCP is accepted and CONNECT sent; the CONNACK never comes.
    assert_failure(result, "timeout", stage="handshake")
    assert elapsed <= 1.1, elapsed


def test_unknown_host_is_dns(run):
    assert_failure(run("mqtt", {**LOCAL, "host": "nonexistent.invalid"}), "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    assert cancel_quickly(registry, "mqtt", {"host": host, "port": port}) < 0.3


@pytest.mark.parametrize(("config", "url"), [
    ({"host": "broker.example.com", "port": 1883}, "mqtt://broker.example.com:1883"),
    ({"host": "broker.example.com", "port": 8883, "user": "sensor-7", "tls": True},
     "mqtts://sensor-7@broker.example.com:8883"),
    ({"host": "fe80::1", "port": 1883, "user": "a@b"}, "mqtt://a%40b@[fe80::1]:1883"),
])
def test_connection_info(registry, config, url):
    info = registry.get("mqtt").integration().connection_info({**config, "password": "s3cret"})
    assert info.display_url == url
    assert "s3cret" not in info.display_url


# --- connection URLs ------------------------------------------------------------------------------------------

def url_values(registry, url: str) -> dict:
    """What `Hub.values_from_url` gives the form: the defaults, then what the URL says."""
    entry = registry.get("mqtt")
    return {**defaults(entry.specs), **parse_url(entry.manifest, entry.specs, url).values}


@pytest.mark.parametrize(("url", "expected"), [
    ("mqtt://broker.example.com", {"host": "broker.example.com", "port": 1883, "tls": False, "protocol": "3.1.1"}),
    ("mqtts://broker.example.com", {"tls": True, "port": 8883}),
    ("mqtts://broker.example.com:443", {"tls": True, "port": 443}),
    ("mqtt://sensor:p@ss:w+rd%2F%3F@[::1]:1884", {"user": "sensor", "password": "p@ss:w+rd/?", "host": "::1",
                                                  "port": 1884}),
    ("mqtt://broker.example.com/?client_id=probe%201&protocol=5", {"client_id": "probe 1", "protocol": "5"}),
    ("mqtt://broker.example.com?clientId=probe", {"client_id": "probe"}),
])
def test_url(registry, url, expected):
    values = url_values(registry, url)
    assert {key: values.get(key) for key in expected} == expected


def test_url_unknown_parameter_is_reported(registry):
    entry = registry.get("mqtt")
    parsed = parse_url(entry.manifest, entry.specs, "mqtt://broker.example.com?keepalive=30&protocol=5")
    assert parsed.unknown_params == ["keepalive"]
    assert parsed.values["protocol"] == "5"


@pytest.mark.parametrize(("url", "complaint"), [
    ("mqtt://broker.example.com/sensors/temp", "path"),  # a topic is no part of a connection
    ("mqtt://broker.example.com?protocol=4", "one of"),
    ("mqtt://broker.example.com:0", "port"),
    ("mqtt://[::1", "closing"),
    ("tcp://broker.example.com", "scheme"),
])
def test_malformed_url_is_refused(registry, url, complaint):
    with pytest.raises(UrlError, match=complaint):
        url_values(registry, url)


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "mqtt")
