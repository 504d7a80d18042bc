"""SSH against a real asyncssh server started in-process (see conftest.py): host-key policies, password and
key logins, SFTP, and the failures a user meets (wrong password, wrong passphrase, unknown or changed host key,
closed port, silent server)."""

from __future__ import annotations

import importlib.util
import subprocess

import asyncssh
import pytest

from connhub.core.urls import UrlError, parse_url
from tests.integrations import assert_builtin_ok, assert_failure, assert_no_secrets, cancel_quickly
from tests.integrations.ssh.conftest import ssh_server
from tests.support.services import free_port, require_binary


def pinned(server, **changes) -> dict:
    """Config for `alice` with the server's fingerprint pinned (the policy that needs no files)."""
    return {"host": server.host, "port": server.port, "user": "alice", "auth.method": "password",
            "host_key_policy": "fingerprint", "host_key_fingerprint": server.fingerprint, **changes}


def password(server) -> dict:
    return {"auth.password": server.password}


@pytest.fixture
def bob_key(sshd, tmp_path):
    """bob's private key in a PKCS#8 file encrypted with a passphrase (readable without bcrypt)."""
    path = tmp_path / "id_bob"
    passphrase = "bob-key-Passphrase"
    path.write_bytes(sshd.client_key.export_private_key("pkcs8-pem", passphrase=passphrase))
    path.chmod(0o600)
    return path, passphrase


# --- success ---------------------------------------------------------------------------------------------

def test_password_login_reports_banner_and_host_key(run, sshd):
    secrets = password(sshd)
    result = run("ssh", pinned(sshd), secrets)
    assert result.ok, result
    assert result.server_version == f"SSH-2.0-AsyncSSH_{asyncssh.__version__}"
    assert result.message == f"Connected to {result.server_version}"
    assert result.details["host_key"] == f"ssh-ed25519 {sshd.fingerprint}"
    assert result.details["host_key_fingerprint"] == sshd.fingerprint
    assert result.details["host_key_check"] == "pinned fingerprint"
    assert result.details["auth"] == "password"
    assert result.details["auth_banner"] == "Authorized use only. Connections are logged."
    assert "sftp" not in result.details  # not asked for
    assert [s.name for s in result.stages] == ["resolve", "connect", "auth", "probe"]
    assert all(s.ok for s in result.stages)
    assert_no_secrets(result, secrets)


def test_sftp_check_resolves_the_home_directory(run, sshd):
    result = run("ssh", pinned(sshd, check_sftp=True), password(sshd))
    assert result.ok, result
    assert result.details["sftp"] == "ok"
    assert result.details["sftp_home"] == "/"  # the server's SFTP root (a chroot)
    assert result.details["sftp_home_mode"].startswith("0o")


def test_key_login_with_passphrase(run, sshd, bob_key):
    path, passphrase = bob_key
    config = pinned(sshd, user="bob", **{"auth.method": "key", "auth.key_file": str(path)})
    secrets = {"auth.passphrase": passphrase}
    result = run("ssh", config, secrets)
    assert result.ok, result
    assert result.details["auth"] == "public key"
    assert_no_secrets(result, secrets)


def test_unencrypted_key_with_tilde_path(run, sshd, no_home):
    key_file = no_home / ".ssh" / "id_ed25519"
    key_file.parent.mkdir()
    key_file.write_bytes(sshd.client_key.export_private_key())
    config = pinned(sshd, user="bob", **{"auth.method": "key", "auth.key_file": "~/.ssh/id_ed25519"})
    assert run("ssh", config).ok


# --- credentials -----------------------------------------------------------------------------------------

def test_wrong_password_is_auth(run, sshd, fake):
    secrets = {"auth.password": fake.password(length=16)}
    result = run("ssh", pinned(sshd), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert result.message == "The server refused the password for user alice"


def test_key_the_server_does_not_know_is_auth(run, sshd, tmp_path):
    stranger = tmp_path / "id_stranger"
    stranger.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    config = pinned(sshd, user="bob", **{"auth.method": "key", "auth.key_file": str(stranger)})
    result = run("ssh", config)
    assert_failure(result, "auth", stage="auth")
    assert result.message == "The server refused the private key for user bob"


def test_wrong_passphrase_is_config_before_connecting(run, sshd, bob_key):
    path, _ = bob_key
    secrets = {"auth.passphrase": "not-the-passphrase"}
    before = len(sshd.attempts)
    result = run("ssh", pinned(sshd, user="bob", **{"auth.method": "key", "auth.key_file": str(path)}), secrets)
    assert_failure(result, "config", secrets)
    assert result.message == f"The passphrase does not decrypt {path} (the server was not contacted)"
    assert result.stages == [] and len(sshd.attempts) == before


def test_encrypted_key_without_passphrase_asks_for_it(run, sshd, bob_key):
    path, _ = bob_key
    result = run("ssh", pinned(sshd, user="bob", **{"auth.method": "key", "auth.key_file": str(path)}))
    assert_failure(result, "config")
    assert result.message == f"{path} is encrypted: enter its passphrase"


def test_openssh_format_encrypted_key(run, sshd, tmp_path):
    """ssh-keygen's default format: decrypting it needs bcrypt, which asyncssh treats as optional."""
    ssh_keygen = require_binary("ssh-keygen", "openssh-client")
    path = tmp_path / "id_ed25519"
    subprocess.run([ssh_keygen, "-q", "-t", "ed25519", "-N", "right-passphrase", "-f", str(path)], check=True,
                   capture_output=True, timeout=30)
    secrets = {"auth.passphrase": "wrong-passphrase"}
    result = run("ssh", pinned(sshd, user="bob", **{"auth.method": "key", "auth.key_file": str(path)}), secrets)
    assert_failure(result, "config", secrets)
    if importlib.util.find_spec("bcrypt") is None:
        assert result.message.startswith(f"{path} is encrypted in OpenSSH's format, which needs the Python "
                                          "package 'bcrypt'")
    else:
        assert result.message == f"The passphrase does not decrypt {path} (the server was not contacted)"


@pytest.mark.parametrize(("content", "expected"), [
    (None, "Private key file not found: {path}"),
    ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1nYWJlIHRoaXMgaXMgbm90IGEga2V5IGF0IGFsbA== me", "choose the private key"),
])
def test_unusable_key_file_is_config(run, sshd, tmp_path, content, expected):
    path = tmp_path / "id_test.pub"
    if content is not None:
        path.write_text(content)
    result = run("ssh", pinned(sshd, user="bob", **{"auth.method": "key", "auth.key_file": str(path)}))
    assert_failure(result, "config")
    assert expected.format(path=path) in result.message


# --- host keys -------------------------------------------------------------------------------------------

def test_pinned_fingerprint_accepts_a_pasted_ssh_keygen_line(run, sshd):
    line = f"256 {sshd.fingerprint} root@server (ED25519)"
    assert run("ssh", pinned(sshd, host_key_fingerprint=line), password(sshd)).ok


def test_pinned_fingerprint_mismatch_stops_before_the_password_is_sent(run, sshd):
    other = asyncssh.generate_private_key("ssh-ed25519").get_fingerprint("sha256")
    before = len(sshd.attempts)
    result = run("ssh", pinned(sshd, host_key_fingerprint=other), password(sshd))
    assert_failure(result, "config", password(sshd), stage="connect")
    assert result.message.startswith(f"Host key mismatch for [127.0.0.1]:{sshd.port}: the server offers "
                                      f"ssh-ed25519 {sshd.fingerprint}, but the pinned fingerprint is {other}.")
    assert "intercepting" in result.message
    assert len(sshd.attempts) == before  # no credential reached the server


def test_pinned_md5_fingerprint(run, sshd):
    md5 = sshd.host_key.get_fingerprint("md5")  # legacy form, e.g. from an old inventory
    assert run("ssh", pinned(sshd, host_key_fingerprint="MD5:" + md5.removeprefix("MD5:").upper()), password(sshd)).ok


def test_malformed_fingerprint_is_config(run, sshd):
    result = run("ssh", pinned(sshd, host_key_fingerprint="aa:bb:cc"), password(sshd))
    assert_failure(result, "config")
    assert "SHA256:" in result.message


def test_known_hosts_file_that_lists_the_host(run, sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("other.example.com " + asyncssh.generate_private_key("ssh-ed25519").export_public_key()
                     .decode() + sshd.known_hosts_line())
    config = pinned(sshd, host_key_policy="known_hosts", known_hosts_file=str(known))
    result = run("ssh", config, password(sshd))
    assert result.ok, result
    assert result.details["host_key_check"] == f"listed in {known}"


def test_known_hosts_without_the_host_is_config_and_names_the_key(run, sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text("other.example.com " + asyncssh.generate_private_key("ssh-ed25519").export_public_key()
                     .decode())
    before = len(sshd.attempts)
    result = run("ssh", pinned(sshd, host_key_policy="known_hosts", known_hosts_file=str(known)), password(sshd))
    assert_failure(result, "config", password(sshd), stage="connect")
    assert result.message.startswith(f"[127.0.0.1]:{sshd.port} is not in {known}; the server offers "
                                      f"ssh-ed25519 {sshd.fingerprint}.")
    assert len(sshd.attempts) == before


def test_default_known_hosts_missing_is_config(run, sshd, no_home):
    result = run("ssh", pinned(sshd, host_key_policy="known_hosts"), password(sshd))
    assert_failure(result, "config", stage="connect")
    assert "~/.ssh/known_hosts (which does not exist)" in result.message


def test_known_hosts_with_another_key_for_the_host_is_a_mismatch(run, sshd, tmp_path):
    known = tmp_path / "known_hosts"
    known.write_text(sshd.known_hosts_line(asyncssh.generate_private_key("ssh-ed25519")))
    for policy in ("known_hosts", "accept-new"):  # accept-new trusts new hosts, never changed keys
        result = run("ssh", pinned(sshd, host_key_policy=policy, known_hosts_file=str(known)), password(sshd))
        assert_failure(result, "config", stage="connect")
        assert result.message.startswith(f"Host key mismatch for [127.0.0.1]:{sshd.port}: the server offers "
                                          f"ssh-ed25519 {sshd.fingerprint}, which is not the key {known} lists")


def test_accept_new_reports_the_fingerprint_and_writes_nothing(run, sshd, no_home):
    result = run("ssh", pinned(sshd, host_key_policy="accept-new"), password(sshd))
    assert result.ok, result
    assert result.details["host_key_check"] == "accepted on first use (not verified)"
    assert result.details["host_key_fingerprint"] == sshd.fingerprint  # to pin it
    assert list(no_home.iterdir()) == []  # no ~/.ssh/known_hosts was created


def test_missing_known_hosts_file_is_config(run, sshd, tmp_path):
    result = run("ssh", pinned(sshd, host_key_policy="known_hosts", known_hosts_file=str(tmp_path / "nope")),
                 password(sshd))
    assert_failure(result, "config")
    assert result.message == f"known_hosts file not found: {tmp_path / 'nope'}"


# --- SFTP ------------------------------------------------------------------------------------------------

def test_sftp_refused_is_permission(run, tmp_path):
    class NoSubsystems(asyncssh.SSHServerSession):
        def subsystem_requested(self, subsystem: str) -> bool:
            return False

    with ssh_server(tmp_path, sftp=False, session_factory=NoSubsystems) as server:
        result = run("ssh", pinned(server, check_sftp=True), password(server))
        assert run("ssh", pinned(server), password(server)).ok  # logging in alone still works
    assert_failure(result, "permission", stage="probe")
    assert result.message.startswith("The server refused SFTP for alice")


# --- network ---------------------------------------------------------------------------------------------

def test_closed_port_is_refused(run, sshd):
    result = run("ssh", pinned(sshd, port=free_port()), password(sshd))
    assert_failure(result, "refused", stage="connect")


def test_silent_server_times_out_on_time(run_timed, blackhole, sshd):
    host, port = blackhole
    result, elapsed = run_timed("ssh", pinned(sshd, host=host, port=port), password(sshd), timeout=1.0)
    assert_failure(result, "timeout", stage="handshake")
    assert elapsed <= 1.1, elapsed


def test_not_an_ssh_server(run, sshd):
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))

    def answer():
        conn, _ = listener.accept()
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        result = run("ssh", pinned(sshd, port=listener.getsockname()[1]), password(sshd))
    finally:
        thread.join(timeout=5)
        listener.close()
    assert_failure(result, "unknown", stage="connect")
    assert result.message.startswith("The server closed the connection before the SSH handshake was done")


def test_unknown_host_is_dns(run, sshd):
    assert_failure(run("ssh", pinned(sshd, host="nonexistent.invalid")), "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    config = {"host": host, "port": port, "user": "alice", "host_key_policy": "fingerprint",
              "host_key_fingerprint": "SHA256:" + "A" * 43}
    assert cancel_quickly(registry, "ssh", config) < 0.3


# --- URLs and display ------------------------------------------------------------------------------------

def parse(registry, url: str):
    entry = registry.get("ssh")
    return parse_url(entry.manifest, entry.specs, url)


@pytest.mark.parametrize(("url", "values"), [
    ("ssh://deploy@server.example.com", {"host": "server.example.com", "user": "deploy"}),  # port: the default
    ("ssh://deploy@server.example.com:2222", {"host": "server.example.com", "port": 2222, "user": "deploy"}),
    ("ssh://d%40ploy:p%40ss:w+rd@[2001:db8::1]:22/", {"host": "2001:db8::1", "port": 22, "user": "d@ploy",
                                                      "auth.password": "p@ss:w+rd"}),
    ("SSH://server.example.com", {"host": "server.example.com"}),
])
def test_url_forms(registry, url, values):
    parsed = parse(registry, url)
    assert parsed.values == values
    assert parsed.unknown_params == []


def test_url_unknown_parameter_is_reported(registry):
    parsed = parse(registry, "ssh://deploy@server.example.com?IdentityFile=x")
    assert parsed.values == {"host": "server.example.com", "user": "deploy"}
    assert parsed.unknown_params == ["IdentityFile"]


@pytest.mark.parametrize(("url", "message"), [
    ("ssh://deploy@server.example.com/home", "this type's URL does not take a path: remove it"),
    ("ssh://server.example.com:99999", "port '99999' is not a number from 1 to 65535"),
    ("sftp://server.example.com", "scheme 'sftp' is not one of ssh"),
    ("ssh://2001:db8::1", "must be in brackets"),
])
def test_malformed_urls(registry, url, message):
    with pytest.raises(UrlError) as caught:
        parse(registry, url)
    assert message in str(caught.value)


@pytest.mark.parametrize(("config", "url"), [
    ({"host": "server.example.com", "port": 22, "user": "deploy"}, "ssh://deploy@server.example.com:22"),
    ({"host": "2001:db8::1", "port": 2222, "user": "deploy", "auth.password": "s3cret!"},
     "ssh://deploy@[2001:db8::1]:2222"),
])
def test_connection_info_has_no_secret(registry, config, url):
    info = registry.get("ssh").integration().connection_info(config)
    assert info.display_url == url
    assert info.user == "deploy" and info.database is None


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "ssh")
