"""Private nats-servers for the NATS tests: one that wants a token, one that wants a user and password over TLS.
The machine's own NATS on 4222 (JetStream on, no authentication) serves the rest."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import TlsFiles, wait_for_port
from tests.support.services import free_port, missing, require_binary

HOST = "127.0.0.1"


@dataclass(frozen=True)
class NatsServer:
    host: str
    port: int
    secret: str  # the token, or the user's password
    user: str | None = None


@contextmanager
def throwaway_nats(authorization: dict[str, str], tls: TlsFiles | None = None,
                   timeout: float = 10.0) -> Iterator[NatsServer]:
    """nats-server on a free port of 127.0.0.1, configured by a file (no secret on its command line)."""
    binary = require_binary("nats-server", "nats-server")
    directory = Path(tempfile.mkdtemp(prefix="connhub-nats-"))
    port = free_port()
    # JSON strings are valid NATS configuration strings, escapes included ($, quotes, backslashes).
    lines = [f"listen: {HOST}:{port}",
             "authorization { " + ", ".join(f"{k}: {json.dumps(v)}" for k, v in authorization.items()) + " }"]
    if tls is not None:
        lines.append(f"tls {{ cert_file: {json.dumps(str(tls.cert))}, key_file: {json.dumps(str(tls.key))} }}")
    config = directory / "nats.conf"
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    log = directory / "log"
    process = subprocess.Popen([binary, "-c", str(config), "-l", str(log)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        if not wait_for_port(HOST, port, timeout, alive=lambda: process.poll() is None):
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"nats-server did not start: {tail}")
        yield NatsServer(HOST, port, authorization.get("token") or authorization["password"], authorization.get("user"))
    finally:
        process.kill()
        process.wait(timeout=timeout)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def nats_servers(fake, tls_files):
    """(token server, user-and-password server with TLS)."""
    with ExitStack() as stack:
        try:
            token = stack.enter_context(throwaway_nats({"token": fake.password(length=24)}))
            secured = stack.enter_context(throwaway_nats({"user": "alice", "password": fake.password(length=20)},
                                                         tls=tls_files))
        except RuntimeError as exc:
            missing(f"cannot start a private nats-server: {exc}")
        yield token, secured


@pytest.fixture
def token_server(nats_servers) -> NatsServer:
    return nats_servers[0]


@pytest.fixture
def tls_server(nats_servers) -> NatsServer:
    return nats_servers[1]
