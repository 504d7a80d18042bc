"""A real SSH server for the tests: asyncssh's own, in a thread with its own event loop.

The tests call `run_test` through `asyncio.run` (one short-lived loop per test), so the server cannot live
in the test's loop; it runs for the whole module in a daemon thread. It accepts user `alice` with a password
and `bob` with a public key, serves SFTP chrooted to a temporary folder, and records what it was offered so
a test can check that a refused host key stopped the client before any credential was sent.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import pytest

#: Sent before login, as sshd's `Banner` does.
BANNER = "Authorized use only.\nConnections are logged.\n"


@dataclass
class SshServer:
    host: str
    port: int
    host_key: asyncssh.SSHKey
    password: str
    client_key: asyncssh.SSHKey
    sftp_root: Path
    #: (user, method) of every authentication attempt the server saw
    attempts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return self.host_key.get_fingerprint("sha256")

    def known_hosts_line(self, key: asyncssh.SSHKey | None = None) -> str:
        public = (key or self.host_key).export_public_key().decode().strip()
        return f"[{self.host}]:{self.port} {public}\n"


class _LoopThread:
    """An event loop running in a daemon thread; `call(coro)` runs a coroutine there and returns its result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="ssh-test-server", daemon=True)
        self.thread.start()

    def call(self, coro: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@contextmanager
def ssh_server(tmp: Path, *, sftp: bool = True, session_factory: Callable | None = None) -> Iterator[SshServer]:
    """asyncssh server on 127.0.0.1 (free port): `alice` logs in with a password, `bob` with `client_key`."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    root = tmp / "sftp-root"
    (root / "files").mkdir(parents=True, exist_ok=True)
    state = SshServer("127.0.0.1", 0, host_key, "alice-Pw@1:+", client_key, root)
    authorized = asyncssh.import_authorized_keys(client_key.export_public_key().decode())

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            self._conn.send_auth_banner(BANNER)
            if username == "bob":
                self._conn.set_authorized_keys(authorized)
            return True

        def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
            self._conn = conn

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            state.attempts.append((username, "password"))
            return username == "alice" and password == state.password

        def public_key_auth_supported(self) -> bool:
            return True

        def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
            state.attempts.append((username, "publickey"))
            return False  # bob's key is accepted through set_authorized_keys, nobody else's

        def session_requested(self):
            return session_factory() if session_factory else False

    class ChrootSftp(asyncssh.SFTPServer):
        def __init__(self, chan: asyncssh.SSHServerChannel):
            super().__init__(chan, chroot=str(root).encode())

    loop = _LoopThread()
    try:
        async def start() -> asyncssh.SSHAcceptor:
            return await asyncssh.create_server(
                Server, "127.0.0.1", 0, server_host_keys=[host_key], sftp_factory=ChrootSftp if sftp else None,
                allow_scp=False, agent_forwarding=False, x11_forwarding=False)

        server = loop.call(start())
        state.port = server.sockets[0].getsockname()[1]
        try:
            yield state
        finally:
            server.close()
            loop.call(server.wait_closed())
    finally:
        loop.close()


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> Iterator[SshServer]:
    with ssh_server(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def no_home(tmp_path, monkeypatch) -> Path:
    """HOME is an empty folder: no ~/.ssh/known_hosts, and nothing of the real one is read or written."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home
