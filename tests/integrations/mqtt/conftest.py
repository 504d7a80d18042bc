"""A private Mosquitto for the MQTT tests: passwords required, a plain and a TLS listener, `$SYS` hidden from one
user. The machine's own Mosquitto on 1883 lets anyone in, so it cannot show an authentication failure."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.servers import TlsFiles, wait_for_port
from tests.support.services import free_port, missing, require_binary

HOST = "127.0.0.1"


@dataclass
class Broker:
    host: str
    port: int  # plain MQTT
    tls_port: int  # MQTT over TLS, certificate signed by the session's throwaway CA
    passwords: dict[str, str] = field(default_factory=dict)  # alice may read $SYS, bob may not


@contextmanager
def throwaway_mosquitto(passwords: dict[str, str], tls: TlsFiles, hidden_sys: set[str],
                        timeout: float = 10.0) -> Iterator[Broker]:
    """mosquitto on two free ports of 127.0.0.1 with a password file; stopped and deleted on exit."""
    binary = require_binary("mosquitto", "mosquitto")
    hasher = require_binary("mosquitto_passwd", "mosquitto")
    directory = Path(tempfile.mkdtemp(prefix="connhub-mqtt-"))
    try:
        password_file = directory / "passwd"
        password_file.write_text("".join(f"{user}:{password}\n" for user, password in passwords.items()))
        password_file.chmod(0o600)
        # -U hashes the plain-text file in place: no password on a command line.
        subprocess.run([hasher, "-U", str(password_file)], check=True, capture_output=True, timeout=timeout)
        acl = directory / "acl"
        acl.write_text("".join(
            f"user {user}\n" + ("topic readwrite connhub/#\n" if user in hidden_sys
                                else "topic readwrite #\ntopic read $SYS/#\n")  # '#' never matches $SYS/…
            for user in passwords))
        broker = Broker(HOST, free_port(), free_port(), dict(passwords))
        config = directory / "mosquitto.conf"
        config.write_text("\n".join([
            f"user {pwd.getpwuid(os.geteuid()).pw_name}",  # as root it would switch to 'mosquitto' and lose our files
            "per_listener_settings false",
            "allow_anonymous false",
            f"password_file {password_file}",
            f"acl_file {acl}",
            "persistence false",
            f"log_dest file {directory / 'log'}",
            f"listener {broker.port} {HOST}",
            f"listener {broker.tls_port} {HOST}",
            f"cafile {tls.ca}",
            f"certfile {tls.cert}",
            f"keyfile {tls.key}",
            "",
        ]))
        process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            alive = lambda: process.poll() is None  # noqa: E731
            if not (wait_for_port(HOST, broker.port, timeout, alive) and wait_for_port(HOST, broker.tls_port,
                                                                                      timeout, alive)):
                log = (directory / "log").read_text(errors="replace")[-2000:] if (directory / "log").exists() else ""
                raise RuntimeError(f"mosquitto did not start: {log}")
            yield broker
        finally:
            process.kill()
            process.wait(timeout=timeout)
            if process.stderr:
                process.stderr.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def broker(fake, tls_files) -> Iterator[Broker]:
    passwords = {"alice": fake.password(length=20), "bob": fake.password(length=20)}
    with ExitStack() as stack:
        try:
            server = stack.enter_context(throwaway_mosquitto(passwords, tls_files, hidden_sys={"bob"}))
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            missing(f"cannot start a private mosquitto: {exc}")
        yield server
