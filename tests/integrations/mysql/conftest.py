"""Fixtures for the MySQL/MariaDB tests: a throwaway account on the machine's MariaDB, and a private MariaDB
with TLS and `require_secure_transport` for the TLS modes (the machine's own server has TLS off)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import TlsFiles, wait_for_port
from tests.support.services import free_port, missing, require_service

LOCAL_HOST, LOCAL_PORT = "127.0.0.1", 3306
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])


@dataclass
class Account:
    host: str
    port: int
    user: str
    password: str


async def as_root(sql: list[tuple[str, tuple]], host: str = LOCAL_HOST, port: int = LOCAL_PORT,
                  unix_socket: str | None = None) -> None:
    """Run statements as root with an empty password (TESTING.md: how the machine's MariaDB is set up)."""
    import aiomysql

    conn = await aiomysql.connect(host=host, port=port, unix_socket=unix_socket, user="root", password="",
                                  charset="utf8mb4", connect_timeout=5, autocommit=True)
    try:
        async with conn.cursor() as cursor:
            for statement, args in sql:
                await cursor.execute(statement, args or None)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def local_account(fake) -> Iterator[Account]:
    """`connhub_t_<random>`@'%' with a password (with `@ : +` and non-Latin-1 `€`), granted only `test.*`."""
    require_service("MariaDB", LOCAL_HOST, LOCAL_PORT)
    user = f"connhub_t_{secrets.token_hex(4)}"
    password = fake.password(length=16) + "@:+é€"
    try:
        try:
            asyncio.run(as_root([("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password)),
                                 (f"GRANT ALL ON test.* TO '{user}'@'%'", ())]))
        except Exception as exc:  # the server runs but root cannot log in over TCP without a password
            missing(f"cannot create a test account on MariaDB {LOCAL_HOST}:{LOCAL_PORT} as root: {exc}")
        yield Account(LOCAL_HOST, LOCAL_PORT, user, password)
    finally:
        with contextlib.suppress(Exception):  # also after a half-done setup
            asyncio.run(as_root([("DROP USER IF EXISTS %s@'%%'", (user,))]))


@pytest.fixture(scope="session")
def tls_server(tls_files, fake) -> Iterator[Account]:
    """A private MariaDB on a free port: TLS with the throwaway CA's certificate, `require_secure_transport=ON`,
    and an account `tls_user` with a password. Stopped and deleted at the end of the session."""
    install = shutil.which("mariadb-install-db", path=SBIN_PATH) or shutil.which("mysql_install_db", path=SBIN_PATH)
    server = shutil.which("mariadbd", path=SBIN_PATH) or shutil.which("mysqld", path=SBIN_PATH)
    if not install or not server:
        missing("mariadb-install-db / mariadbd not found — install it (apt-get install mariadb-server)")
    password = fake.password(length=16)
    with throwaway_mariadb(Path(install), Path(server), tls_files) as (port, socket_path):
        asyncio.run(as_root([("CREATE USER 'tls_user'@'%%' IDENTIFIED BY %s", (password,))],
                            unix_socket=socket_path))
        yield Account("127.0.0.1", port, "tls_user", password)


@contextmanager
def throwaway_mariadb(install: Path, server: Path, tls: TlsFiles, timeout: float = 30.0,
                      attempts: int = 3) -> Iterator[tuple[int, str]]:
    """Yields (TCP port, socket path). A port taken between `free_port()` and the bind (other test runs share
    this machine) costs another attempt on a new port, not the session."""
    directory = Path(tempfile.mkdtemp(prefix="connhub-my-"))
    data, socket_path, log = directory / "data", str(directory / "sock"), directory / "error.log"
    as_root = ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses to run as root without it
    small = ["--innodb-buffer-pool-size=8M", "--innodb-log-file-size=4M"]
    process = None
    try:
        done = subprocess.run([str(install), "--no-defaults", f"--datadir={data}", *as_root, "--skip-test-db",
                               "--auth-root-authentication-method=normal", "--skip-name-resolve", *small],
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"{install.name} failed ({done.returncode}): {done.stderr[-2000:]}")
        for _ in range(attempts):
            port = free_port()
            process = subprocess.Popen(
                [str(server), "--no-defaults", f"--datadir={data}", *as_root, f"--port={port}",
                 "--bind-address=127.0.0.1", f"--socket={socket_path}", f"--pid-file={directory / 'pid'}",
                 f"--log-error={log}", "--skip-log-bin", "--skip-name-resolve", *small, f"--ssl-cert={tls.cert}",
                 f"--ssl-key={tls.key}", f"--ssl-ca={tls.ca}", "--require-secure-transport=ON"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if wait_for_port("127.0.0.1", port, timeout, alive=lambda: process.poll() is None) \
                    and _wait_for_file(socket_path, timeout, alive=lambda: process.poll() is None):
                break  # TCP listens a moment before the socket exists: setup goes through the socket
            _stop(process, timeout)
            process = None
        else:
            text = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"mariadbd did not start in {attempts} attempts: {text}")
        yield port, socket_path
    finally:
        if process is not None:
            _stop(process, timeout)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_for_file(path: str, timeout: float, alive) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


def _stop(process: subprocess.Popen, timeout: float) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)
