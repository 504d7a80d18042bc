""""Copy as… Command line" (issue 24): the command connhub writes for a type's own client (psql, mysql,
redis-cli) is run, as a user would paste it into a shell, against this machine's servers, over TCP and through
the Unix socket; it answers, and it never holds the password.

The types come from the registry (every manifest with a `command_line`); what each client is asked, and where
this machine's server is, are this test's data: a new type with a client fails here until it gets both.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess

import pytest

from connhub.core.fields import defaults
from connhub.core.url_forms import format_connection
from connhub.plugins.registry import Registry
from tests.support.services import require_service

REGISTRY = Registry.discover(plugins=False)
TYPES = [e for e in REGISTRY.entries() if e.ok and e.manifest.command_line is not None]

#: client → the arguments that make it print 42 and exit
ASK_42 = {"psql": ["-tAc", "SELECT 40 + 2"], "mysql": ["-N", "-B", "-e", "SELECT 40 + 2"], "redis-cli": ["ECHO", "42"]}
#: type → (service, TCP port, values over TCP, the socket this machine's server listens on, values through it)
LOCAL = {
    "postgres": ("PostgreSQL", 5432, {"host": "127.0.0.1", "database": "test", "user": "postgres",
                                      "server_settings": "search_path=public\nstatement_timeout=5s"},
                 "/var/run/postgresql/.s.PGSQL.5432", {"host": "/var/run/postgresql", "database": "test",
                                                       "user": "postgres"}),
    "mysql": ("MariaDB", 3306, {"host": "127.0.0.1", "user": "root", "database": "test"},
              "/run/mysqld/mysqld.sock", {"host": "/run/mysqld/mysqld.sock", "user": "root", "database": "test"}),
    "redis": ("Redis", 6379, {"host": "127.0.0.1", "db": 3}, None, None),
}
CANARY = "Canary-Cmd-77d1"


def test_every_type_with_a_client_has_its_case_here():
    assert TYPES, "no manifest declares a command_line"
    for entry in TYPES:
        assert entry.manifest.command_line.program in ASK_42, entry.type
        assert entry.type in LOCAL, entry.type


def command(entry, values) -> str:
    text = format_connection(entry.manifest, entry.specs, {**defaults(entry.specs), **values, "password": CANARY},
                             "command")
    assert CANARY not in text
    line, _, note = text.partition("  # ")
    assert note == f"password: ${entry.manifest.command_line.password_env}", text
    return line


@pytest.mark.parametrize("way", ["tcp", "socket"])
@pytest.mark.parametrize("entry", TYPES, ids=[e.type for e in TYPES])
def test_the_copied_command_reaches_the_local_server(entry, way):
    service, port, tcp_values, socket_path, socket_values = LOCAL[entry.type]
    program = entry.manifest.command_line.program
    if shutil.which(program) is None:
        pytest.skip(f"{program} is not installed")
    if way == "tcp":
        require_service(service, "127.0.0.1", port)
        values = tcp_values
    else:
        if socket_path is None or not os.path.exists(socket_path):
            pytest.skip(f"no {service} socket here")
        values = socket_values
    line = command(entry, values)
    if way == "socket":
        assert values["host"] in line and f" {port}" not in line.replace(values["host"], "")  # no TCP port
    done = subprocess.run(["bash", "-c", f"{line} {shlex.join(ASK_42[program])}"], capture_output=True, text=True,
                          timeout=20)
    assert done.returncode == 0, (line, done.stderr)
    assert done.stdout.strip() == "42", (line, done.stdout)
