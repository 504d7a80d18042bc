"""Skip-or-fail for tests that need a real local service or binary, and free ports.

A missing service skips the test with a reason that says how to start it, except under
CONNHUB_REQUIRE_SERVICES=1 (set by CI), where it fails: CI must never go green by skipping.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import NoReturn

import pytest

#: How to start the machine's services (TESTING.md); keys are lower-case service names.
START_HINTS = {
    "postgresql": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "redis": "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no "
             "--dir /var/lib/redis --logfile /var/log/redis/ci.log",
    "rabbitmq": "rabbitmq-server -detached",
    "mosquitto": "mosquitto -d -c /etc/mosquitto/mosquitto.conf",
    "nats": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 "
            "-p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log",
    "mariadb": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
}


def services_required() -> bool:
    return os.environ.get("CONNHUB_REQUIRE_SERVICES") == "1"


def missing(reason: str) -> NoReturn:
    """Skip with `reason`, or fail with it when services are required."""
    if services_required():
        pytest.fail(f"{reason} (CONNHUB_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int, start: str | None = None) -> None:
    """Skip (or fail under CONNHUB_REQUIRE_SERVICES=1) unless something accepts TCP on host:port."""
    if not is_listening(host, port):
        how = start or START_HINTS.get(name.lower(), f"start {name}")
        missing(f"{name} not running on {host}:{port} — start it with: {how}")


def require_binary(name: str, package: str | None = None) -> str:
    """The path of an executable on PATH, or skip/fail naming the Debian package that provides it."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} not found on PATH — install it (apt-get install {package or name})")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (closed again at once: connecting to it is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
