"""SMTP against real aiosmtpd servers (see conftest.py): STARTTLS, implicit TLS and plain text, logins, the
certificate check, and the failures a user meets. No test sends mail, and one proves the probe never does."""

from __future__ import annotations

import aiosmtpd
import pytest

from connhub.core.urls import UrlError, parse_url
from tests.integrations import assert_builtin_ok, assert_failure, assert_no_secrets, cancel_quickly
from tests.integrations.smtp.conftest import HOSTNAME
from tests.support.services import free_port


def config_for(server, security="starttls", **changes) -> dict:
    return {"host": server.host, "port": server.port, "security": security, "user": server.user, **changes}


def secrets_for(server) -> dict:
    return {"password": server.password}


# --- success ---------------------------------------------------------------------------------------------

def test_starttls_login_reports_greeting_and_extensions(run, submission, tls_files):
    secrets = secrets_for(submission)
    result = run("smtp", config_for(submission, ca_file=str(tls_files.ca)), secrets)
    assert result.ok, result
    assert result.server_version == f"{HOSTNAME} Python SMTP {aiosmtpd.__version__}"
    assert result.details["tls"].startswith("STARTTLS, TLSv1.")
    assert result.details["auth_mechanisms"] == "LOGIN PLAIN"  # advertised only after STARTTLS
    assert "STARTTLS" not in result.details["extensions"]  # the EHLO after the upgrade is the one reported
    assert "SIZE" in result.details["extensions"]
    assert result.details["max_message_size"] == "32.0 MiB"
    assert result.details["server_name"] == HOSTNAME
    assert result.details["logged_in_as"] == submission.user
    assert [s.name for s in result.stages] == ["resolve", "connect", "tls", "auth", "probe"]
    assert submission.logins[-1] == (submission.user, True)
    assert_no_secrets(result, secrets)


def test_the_probe_never_sends_mail(run, submission, tls_files):
    assert run("smtp", config_for(submission, ca_file=str(tls_files.ca)), secrets_for(submission)).ok
    assert submission.mail_commands == []


def test_implicit_tls_login(run, implicit, tls_files):
    result = run("smtp", config_for(implicit, "tls", ca_file=str(tls_files.ca)), secrets_for(implicit))
    assert result.ok, result
    assert result.details["tls"].startswith("implicit TLS, TLSv1.")
    assert [s.name for s in result.stages] == ["resolve", "connect", "auth", "probe"]


def test_without_a_user_there_is_no_login(run, plain):
    result = run("smtp", config_for(plain, "none", user=""))
    assert result.ok, result
    assert result.details["logged_in_as"] == "(no login)"
    assert result.details["tls"] == "none"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_plain_text_login(run, plain):
    result = run("smtp", config_for(plain, "none"), secrets_for(plain))
    assert result.ok, result
    assert "AUTH" in result.details["extensions"]


# --- credentials -----------------------------------------------------------------------------------------

def test_wrong_password_is_auth(run, submission, tls_files, fake):
    secrets = {"password": fake.password(length=20)}
    result = run("smtp", config_for(submission, ca_file=str(tls_files.ca)), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert result.message == (f"The server refused the login for {submission.user} "
                              "(535 5.7.8 Authentication credentials invalid)")


def test_password_without_user_is_config(run, plain):
    result = run("smtp", config_for(plain, "none", user=""), secrets_for(plain))
    assert_failure(result, "config", secrets_for(plain))
    assert result.stages == []


# --- TLS -------------------------------------------------------------------------------------------------

def test_starttls_required_but_not_offered_is_tls(run, plain):
    result = run("smtp", config_for(plain), secrets_for(plain))
    assert_failure(result, "tls", secrets_for(plain), stage="tls")
    assert result.message.startswith(f"The server does not offer STARTTLS on port {plain.port}")


def test_starttls_refusal_sends_no_password(run, plain):
    before = list(plain.logins)
    run("smtp", config_for(plain), secrets_for(plain))
    assert plain.logins == before  # the password never travelled in plain text


def test_untrusted_certificate_is_tls(run, submission):
    result = run("smtp", config_for(submission), secrets_for(submission))
    assert_failure(result, "tls", secrets_for(submission), stage="tls")
    assert result.message.startswith("Certificate not trusted")


def test_untrusted_certificate_with_implicit_tls(run, implicit):
    result = run("smtp", config_for(implicit, "tls"), secrets_for(implicit))
    assert_failure(result, "tls", secrets_for(implicit), stage="tls")
    assert result.message.startswith("Certificate not trusted")


def test_unverified_tls_is_allowed_when_asked_for(run, submission):
    result = run("smtp", config_for(submission, verify_tls=False), secrets_for(submission))
    assert result.ok, result


def test_implicit_tls_against_a_starttls_port_is_tls(run, submission, tls_files):
    result = run("smtp", config_for(submission, "tls", ca_file=str(tls_files.ca)), secrets_for(submission))
    assert_failure(result, "tls", stage="tls")
    assert result.message.startswith(f"The server on port {submission.port} answered in plain text, not TLS")


def test_login_without_encryption_where_the_server_wants_it_is_tls(run, submission):
    result = run("smtp", config_for(submission, "none"), secrets_for(submission))
    assert_failure(result, "tls", secrets_for(submission), stage="auth")
    assert result.message == "The server offers login only over an encrypted connection: choose STARTTLS"


def test_missing_ca_file_is_config(run, submission, tmp_path):
    result = run("smtp", config_for(submission, ca_file=str(tmp_path / "nope.pem")))
    assert_failure(result, "config")


# --- network ---------------------------------------------------------------------------------------------

def test_closed_port_is_refused(run, plain):
    assert_failure(run("smtp", config_for(plain, "none", port=free_port(), user="")), "refused", stage="connect")


def test_silent_server_times_out_on_time(run_timed, blackhole):
    host, port = blackhole
    result, elapsed = run_timed("smtp", {"host": host, "port": port, "security": "starttls"}, timeout=1.0)
    assert_failure(result, "timeout", stage="handshake")  # no 220 greeting
    assert elapsed <= 1.1, elapsed


def test_unknown_host_is_dns(run):
    assert_failure(run("smtp", {"host": "nonexistent.invalid", "port": 587}), "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    assert cancel_quickly(registry, "smtp", {"host": host, "port": port, "security": "none"}) < 0.3


# --- URLs and display ------------------------------------------------------------------------------------

def parse(registry, url: str):
    entry = registry.get("smtp")
    return parse_url(entry.manifest, entry.specs, url)


@pytest.mark.parametrize(("url", "values"), [
    ("smtp://smtp.example.com", {"host": "smtp.example.com", "security": "starttls"}),  # port: the default, 587
    ("smtps://smtp.example.com", {"host": "smtp.example.com", "security": "tls", "port": 465}),
    ("smtps://smtp.example.com:2465", {"host": "smtp.example.com", "security": "tls", "port": 2465}),
    ("smtp://mailer%40example.com:p%40ss:w+rd@[2001:db8::25]:25",
     {"host": "2001:db8::25", "port": 25, "security": "starttls", "user": "mailer@example.com",
      "password": "p@ss:w+rd"}),
])
def test_url_forms(registry, url, values):
    parsed = parse(registry, url)
    assert parsed.values == values
    assert parsed.unknown_params == []


def test_url_unknown_parameter_is_reported(registry):
    parsed = parse(registry, "smtp://smtp.example.com:587?tls=true")
    assert parsed.values == {"host": "smtp.example.com", "port": 587, "security": "starttls"}
    assert parsed.unknown_params == ["tls"]


@pytest.mark.parametrize(("url", "message"), [
    ("smtp://smtp.example.com/inbox", "this type's URL does not take a path: remove it"),
    ("smtp://smtp.example.com:http", "port 'http' is not a number from 1 to 65535"),
    ("mailto:someone@example.com", "not a URL: expected smtp://"),
])
def test_malformed_urls(registry, url, message):
    with pytest.raises(UrlError) as caught:
        parse(registry, url)
    assert message in str(caught.value)


@pytest.mark.parametrize(("config", "url"), [
    ({"host": "smtp.example.com", "port": 587, "security": "starttls", "user": "mailer@example.com",
      "password": "s3cret!"}, "smtp://mailer%40example.com@smtp.example.com:587"),
    ({"host": "smtp.example.com", "port": 465, "security": "tls"}, "smtps://smtp.example.com:465"),
])
def test_connection_info_has_no_secret(registry, config, url):
    info = registry.get("smtp").integration().connection_info(config)
    assert info.display_url == url
    assert info.database is None


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "smtp")
