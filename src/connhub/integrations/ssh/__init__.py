"""SSH servers through asyncssh: host-key check, password or key login, and an optional SFTP check.

The host key is checked before any credential is sent: asyncssh asks `_Client.validate_host_public_key` about
every key it cannot match itself, and the policy decides there. connhub only ever *reads* known_hosts files.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    NotFound,
    PermissionDenied,
    UnknownError,
)
from connhub.core.integration import DriverIntegration, Values
from connhub.core.net import classify_os_chain, handshake, resolve_host
from connhub.core.results import ProbeInfo
from connhub.integrations.ssh.actions import SshActions

if TYPE_CHECKING:
    import asyncssh

POLICIES = ("known_hosts", "accept-new", "fingerprint")
DEFAULT_KNOWN_HOSTS = "~/.ssh/known_hosts"
_SHA256 = re.compile(r"SHA256:([A-Za-z0-9+/]{43})=?")
_MD5 = re.compile(r"MD5:((?:[0-9a-fA-F]{2}:){15}[0-9a-fA-F]{2})")


@dataclass
class _HostKeyCheck:
    """The host-key policy of one test, and what it saw (the callback runs inside asyncssh's handshake)."""

    policy: str
    known_hosts: Any  # asyncssh.SSHKnownHosts
    known_hosts_label: str  # the file, for messages
    pinned: str | None = None  # "SHA256:…" or "MD5:…"
    offered: str | None = None  # "ssh-ed25519 SHA256:…" of the key the server showed
    problem: str | None = None  # why the key was refused, in words
    verdict: str = ""  # how the accepted key was trusted

    def decide(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        """Called for a key that known_hosts does not list for this host (or for every key when pinning)."""
        fingerprint = key.get_fingerprint("sha256")
        self.offered = f"{key.get_algorithm()} {fingerprint}"
        where = host if port == 22 else f"[{host}]:{port}"
        if self.policy == "fingerprint":
            if self.pinned.startswith("MD5:"):
                matches = key.get_fingerprint("md5").lower() == self.pinned.lower()
            else:
                matches = fingerprint == self.pinned
            if matches:
                self.verdict = "pinned fingerprint"
                return True
            self.problem = (f"Host key mismatch for {where}: the server offers {self.offered}, but the pinned "
                            f"fingerprint is {self.pinned}. If the server was not reinstalled, someone may be "
                            "intercepting the connection: check the key on the server (ssh-keygen -lf "
                            "/etc/ssh/ssh_host_*_key.pub) before changing the pin.")
            return False
        listed = self.known_hosts.match(host, addr, port if port != 22 else None)
        if listed[0] or listed[1]:  # the host has keys (or a CA) in known_hosts, and this key is not one of them
            self.problem = (f"Host key mismatch for {where}: the server offers {self.offered}, which is not the key "
                            f"{self.known_hosts_label} lists for it. If the server was not reinstalled, someone "
                            "may be intercepting the connection: check the key on the server before you remove "
                            "the old line (ssh-keygen -R).")
            return False
        if self.policy == "accept-new":
            self.verdict = "accepted on first use (not verified)"
            return True
        self.problem = (f"{where} is not in {self.known_hosts_label}; the server offers {self.offered}. If that is "
                        "the server's key, connect once with ssh to add it, choose 'Accept a new host', or pin "
                        "this fingerprint.")
        return False


class SshIntegration(SshActions, DriverIntegration):
    """Connect (key exchange and host-key check), log in, then report the server's version and host key."""

    drivers = ("asyncssh",)

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        import asyncssh

        host, port, user, method, auth, check = login_settings(config, secrets)
        await resolve_host(host, port, ctx)
        loop = asyncio.get_running_loop()
        auth_begun: asyncio.Future[None] = loop.create_future()
        banner: list[str] = []

        class _Client(asyncssh.SSHClient):
            def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
                return check.decide(host, addr, port, key)

            def auth_banner_received(self, msg: str, lang: str) -> None:
                banner.append(msg)

            def begin_auth(self, username: str) -> None:
                if not auth_begun.done():
                    auth_begun.set_result(None)

        async def connect() -> asyncssh.SSHClientConnection:
            return await asyncssh.connect(
                host, port, username=user, known_hosts=check.known_hosts, client_factory=_Client,
                connect_timeout=ctx.remaining(), login_timeout=ctx.remaining(),
                config=None, agent_path=None, agent_forwarding=False, gss_auth=False, gss_kex=False,
                host_based_auth=False, **auth)

        connecting = asyncio.ensure_future(connect())
        try:
            # The `connect` stage: TCP, version exchange, key exchange and the host-key check (the policy above),
            # up to the moment the server accepts the user-auth service; then `auth`.
            with handshake(ctx, lambda exc: _map_error(exc, ctx, check, method, user)):
                await asyncio.wait([connecting, auth_begun], return_when=asyncio.FIRST_COMPLETED)
                if connecting.done() and not auth_begun.done():
                    connecting.result()
            with ctx.stage("auth"):
                try:
                    conn = await connecting
                except Exception as exc:
                    raise _map_error(exc, ctx, check, method, user) from exc
        except BaseException:
            connecting.cancel()  # asyncssh aborts a half-open connection when cancelled
            raise
        try:
            with ctx.stage("probe"):
                details = await _probe(conn, config, check, method, banner, ctx, user)
        except BaseException:
            conn.abort()  # at once, also when cancelled
            raise
        conn.close()
        try:
            async with asyncio.timeout(ctx.remaining()):
                await conn.wait_closed()
        except TimeoutError:
            conn.abort()
        return ProbeInfo(server_version=str(conn.get_extra_info("server_version") or "") or None, details=details)


def login_settings(config: Values, secrets: Values) -> tuple[str, int, str, str, dict[str, Any], Any]:
    """(host, port, user, login method, asyncssh's auth options, the host-key check), checked the one way the
    test and the actions read them."""
    host = str(config.get("host") or "").strip()
    port = int(config.get("port") or 22)
    user = str(config.get("user") or "").strip()
    if not host:
        raise ConfigError("Enter the server's host name")
    if not user:
        raise ConfigError("Enter the user name to log in as")
    method = str(config.get("auth.method") or "password")
    return host, port, user, method, _auth_options(method, config, secrets), _host_key_check(config)


def _auth_options(method: str, config: Values, secrets: Values) -> dict[str, Any]:
    """Exactly one way to log in: nothing from ~/.ssh, the agent or ssh_config is tried behind the user's back."""
    if method == "password":
        return dict(password=str(secrets.get("auth.password") or ""), client_keys=None,
                    preferred_auth="password,keyboard-interactive")
    if method == "key":
        return dict(client_keys=_load_key(config.get("auth.key_file"), secrets.get("auth.passphrase")),
                    password=None, kbdint_auth=False, preferred_auth="publickey")
    raise ConfigError(f"Unknown authentication method {method!r}: use password or key")


def _load_key(raw_path: Any, passphrase: Any) -> list[Any]:
    """Load the key (and a '-cert.pub' beside it) here, so a key problem is named as such, not as a login one."""
    import asyncssh

    text = str(raw_path or "").strip()
    if not text:
        raise ConfigError("Choose the private key file")
    path = Path(text).expanduser()
    if not path.is_file():
        raise ConfigError(f"Private key file not found: {path}")
    try:
        return list(asyncssh.load_keypairs([str(path)], passphrase=passphrase or None))
    except PermissionError:
        raise ConfigError(f"connhub may not read the private key file {path}") from None
    except OSError as exc:
        raise ConfigError(f"Cannot read the private key file {path}: {exc.strerror or exc}") from None
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
        raise ConfigError(_key_problem(str(exc), path, bool(passphrase))) from None


def _key_problem(reason: str, path: Path, has_passphrase: bool) -> str:
    if "bcrypt" in reason:
        return (f"{path} is encrypted in OpenSSH's format, which needs the Python package 'bcrypt' to decrypt; "
                "install it, or use a key in PEM format (ssh-keygen -p -m PEM)")
    if "Passphrase must be specified" in reason:
        return f"{path} is encrypted: enter its passphrase"
    if has_passphrase and ("decrypt" in reason.lower() or "passphrase" in reason.lower()):
        return f"The passphrase does not decrypt {path} (the server was not contacted)"
    return f"{path} is not a private key asyncssh can read ({reason}); choose the private key, not the .pub file"


def _host_key_check(config: Values) -> _HostKeyCheck:
    import asyncssh

    policy = config.get("host_key_policy") or "known_hosts"
    if policy not in POLICIES:
        raise ConfigError(f"Unknown host-key check {policy!r}: use one of {', '.join(POLICIES)}")
    if policy == "fingerprint":
        return _HostKeyCheck(policy, asyncssh.SSHKnownHosts(), "", pinned=_pinned(config.get("host_key_fingerprint")))
    given = str(config.get("known_hosts_file") or "").strip()
    path = Path(given or DEFAULT_KNOWN_HOSTS).expanduser()
    label = str(path) if given else DEFAULT_KNOWN_HOSTS
    if not path.exists():
        if given:
            raise ConfigError(f"known_hosts file not found: {path}")
        return _HostKeyCheck(policy, asyncssh.SSHKnownHosts(), f"{label} (which does not exist)")
    try:
        known = asyncssh.read_known_hosts(str(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read the known_hosts file {path}: {exc}") from None
    return _HostKeyCheck(policy, known, label, verdict=f"listed in {label}")


def _pinned(raw: Any) -> str:
    """`SHA256:…` (or legacy `MD5:…`) out of whatever was pasted, e.g. a whole `ssh-keygen -l` line."""
    text = str(raw or "")
    if match := _SHA256.search(text):
        return f"SHA256:{match.group(1)}"
    if match := _MD5.search(text):
        return f"MD5:{match.group(1).lower()}"
    raise ConfigError("Enter the host key fingerprint as SHA256:… (43 characters after the colon), as printed "
                      "by ssh-keygen -lf")


async def _probe(conn: asyncssh.SSHClientConnection, config: Values, check: _HostKeyCheck, method: str,
                 banner: list[str], ctx: TestContext, user: str) -> dict[str, str]:
    key = conn.get_server_host_key()
    details = {"user": user, "auth": {"password": "password", "key": "public key"}.get(method, method),
               "host_key_check": check.verdict}
    if key is not None:
        details["host_key"] = f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"
        details["host_key_fingerprint"] = key.get_fingerprint("sha256")
    if banner:
        details["auth_banner"] = " ".join(banner[0].split())[:200]
    if config.get("check_sftp"):
        import asyncssh

        try:
            async with asyncio.timeout(ctx.remaining()):
                async with conn.start_sftp_client() as sftp:
                    home = await sftp.realpath(".")
                    attrs = await sftp.stat(home)
        except asyncssh.ChannelOpenError as exc:
            raise PermissionDenied(f"The server refused SFTP for {user} ({exc.reason}): SFTP may be disabled on "
                                   "the server (no 'Subsystem sftp' in sshd_config) or not allowed for this "
                                   "account") from None
        except asyncssh.SFTPPermissionDenied as exc:
            raise PermissionDenied(f"SFTP: {exc.reason or 'permission denied'} for the home directory") from None
        except asyncssh.SFTPNoSuchFile as exc:
            raise NotFound(f"SFTP: the home directory does not exist ({exc.reason})") from None
        except asyncssh.SFTPError as exc:
            raise UnknownError(f"SFTP failed: {exc.reason or type(exc).__name__}") from None
        details["sftp"] = "ok"
        details["sftp_home"] = home
        if attrs.permissions is not None:
            details["sftp_home_mode"] = oct(attrs.permissions & 0o7777)
    return details


def _map_error(exc: Exception, ctx: TestContext, check: _HostKeyCheck, method: str, user: str
               ) -> ConnectionTestError:
    import asyncssh

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        # Not `tls` (SSH is not TLS) nor `auth` (the user's credentials were never sent): the settings say
        # which key to trust, so a key they do not accept is a settings problem; the detail says which key.
        return ConfigError(check.problem or f"The server's host key was refused: {exc.reason}")
    if isinstance(exc, asyncssh.PermissionDenied):
        how = "the password" if method == "password" else "the private key"
        return AuthError(f"The server refused {how} for user {user}")
    if isinstance(exc, asyncssh.PasswordChangeRequired):
        return AuthError(f"The server requires a new password for user {user}: change it with ssh first")
    if isinstance(exc, asyncssh.IllegalUserName):
        return ConfigError(f"The server does not accept the user name {user!r}")
    if isinstance(exc, TimeoutError) or (isinstance(exc, asyncssh.ConnectionLost) and "timeout" in exc.reason):
        return ConnectTimeout(f"No answer within {ctx.timeout:g} s")
    if isinstance(exc, asyncssh.KeyExchangeFailed):
        return UnknownError(f"No key-exchange, cipher or host-key algorithm in common with the server: {exc.reason}")
    if isinstance(exc, asyncssh.ProtocolNotSupported | asyncssh.ProtocolError):
        return UnknownError(f"The server does not speak SSH as expected: {exc.reason}")
    if isinstance(exc, asyncssh.ConnectionLost | ConnectionResetError | BrokenPipeError) \
            and ctx.current_stage == "connect":
        return UnknownError("The server closed the connection before the SSH handshake was done: check that "
                            "this port is an SSH server's (and that it accepts this client's address)")
    if isinstance(exc, asyncssh.DisconnectError):
        mapped = classify_os_chain(exc, ctx.timeout)
        return mapped or UnknownError(f"The server closed the connection: {exc.reason}")
    return SshIntegration.classify_driver_error(exc, ctx)
