"""A throwaway virtual host and user on the machine's RabbitMQ, made with rabbitmqctl once per module.

Every rabbitmqctl call starts an Erlang VM (~1 s here), so the user, its vhost and its permissions come in one
`import_definitions` call, with the password as a salted hash (never on a command line), and the two deletions
run side by side.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from tests.support.services import missing, require_binary, require_service

HOST, PORT = "127.0.0.1", 5672


@dataclass(frozen=True)
class BrokerAccount:
    vhost: str
    user: str
    password: str


def password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)), 4-byte salt
    (https://www.rabbitmq.com/docs/passwords#computing-password-hash)."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def rabbitmqctl(*args: str, check: bool = True, stdin: str | None = None) -> None:
    done = subprocess.run(["rabbitmqctl", "--quiet", *args], input=stdin, capture_output=True, text=True,
                          timeout=60)
    if check and done.returncode:
        raise RuntimeError(f"rabbitmqctl {args[0]} failed ({done.returncode}): {done.stderr.strip()[-500:]}")


@pytest.fixture(scope="module")
def account(fake):
    """A vhost and a user with every permission on it, and none on '/' (the broker's default vhost)."""
    require_service("RabbitMQ", HOST, PORT)
    require_binary("rabbitmqctl", "rabbitmq-server")
    suffix = secrets.token_hex(4)
    made = BrokerAccount(vhost=f"connhub-test-{suffix}", user=f"connhub_{suffix}", password=fake.password(length=20))
    definitions = json.dumps({
        "users": [{"name": made.user, "password_hash": password_hash(made.password),
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}],
        "vhosts": [{"name": made.vhost}],
        "permissions": [{"user": made.user, "vhost": made.vhost, "configure": ".*", "write": ".*", "read": ".*"}],
    })
    try:  # from stdin: rabbitmqctl runs as the rabbitmq account, which cannot read pytest's private tmp dirs
        rabbitmqctl("import_definitions", "--format", "json", stdin=definitions)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        _delete(made)
        missing(f"cannot set up a RabbitMQ user and vhost with rabbitmqctl: {exc}")
    try:
        yield made
    finally:
        _delete(made)


def _delete(made: BrokerAccount) -> None:
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda args: rabbitmqctl(*args, check=False),
                      [("delete_user", made.user), ("delete_vhost", made.vhost)]))
