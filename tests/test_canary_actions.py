"""Canary secrets and actions: plant unique passwords in saved instances of several driver types, run actions
that work and actions that fail, then search everything the runs left: the ActionRun results, messages and
previews, the action_runs table (the database file's bytes, -wal included), connhub.log and the log records.

The servers know the canaries (a Redis with the canary as its password, SSH and SMTP servers in-process, a
MariaDB account), so the runs that work really logged in with them; a run whose result carries a canary
(a Redis value that contains the password) shows it masked, and so does a param it was typed into.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from contextlib import ExitStack

import pytest

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.integrations.mysql.conftest import LOCAL_HOST, LOCAL_PORT, as_root
from tests.integrations.smtp.test_actions import mail_server
from tests.integrations.ssh.conftest import ssh_server
from tests.integrations.ssh.test_actions import shell
from tests.support.servers import throwaway_redis
from tests.support.services import free_port, require_binary, require_service
from tests.test_canary import app_log, data_files, leaks


def canary(fake, label: str) -> str:
    # Letters, digits and URL-unsafe characters; nothing a shell or a config line would have to quote.
    return f"{label}-{fake.password(length=18, special_chars=False)}-%@:+"


def run(hub, record, name, params, timeout=5):
    return asyncio.run(hub.actions.run(record, name, params, timeout=timeout))


def test_action_runs_keep_no_canary_anywhere(tmp_path, memory_keyring, fake, caplog):
    require_binary("redis-server", "redis-server")
    require_service("MariaDB", LOCAL_HOST, LOCAL_PORT)
    caplog.set_level(logging.DEBUG)
    redis_pw, ssh_pw, smtp_pw, mysql_pw = (canary(fake, "redis"), canary(fake, "ssh"), canary(fake, "smtp"),
                                           canary(fake, "mysql"))
    canaries = [redis_pw, ssh_pw, smtp_pw, mysql_pw]
    mysql_user = f"connhub_canary_{secrets.token_hex(4)}"
    data_dir = tmp_path / "data"
    runs = []

    with ExitStack() as stack:
        redis = stack.enter_context(throwaway_redis(free_port(), "--requirepass", redis_pw))
        sshd = stack.enter_context(ssh_server(tmp_path / "sshd", sftp=False, session_factory=lambda: shell))
        sshd.password = ssh_pw  # the server checks against this
        mail = stack.enter_context(mail_server("canary@example.com", smtp_pw, auth_require_tls=False))
        asyncio.run(as_root([("CREATE USER %s@'%%' IDENTIFIED BY %s", (mysql_user, mysql_pw)),
                             ("GRANT SELECT ON test.* TO %s@'%%'", (mysql_user,))]))
        stack.callback(lambda: asyncio.run(as_root([("DROP USER IF EXISTS %s@'%%'", (mysql_user,))])))
        stack.enter_context(app_log(data_dir))
        hub = Hub(data_dir=data_dir, registry=Registry.discover(plugins=False),
                  vault=KeyringVault(backend=memory_keyring))
        stack.callback(hub.close)
        closed = free_port()

        cache = hub.instances.create("redis", "cache", {"host": redis.host, "port": redis.port, "password": redis_pw})
        box = hub.instances.create("ssh", "box", {
            "host": sshd.host, "port": sshd.port, "user": "alice", "auth.method": "password",
            "auth.password": ssh_pw, "host_key_policy": "fingerprint", "host_key_fingerprint": sshd.fingerprint})
        mailer = hub.instances.create("smtp", "mailer", {"host": mail.host, "port": mail.port, "security": "none",
                                                          "user": mail.user, "password": smtp_pw})
        maria = hub.instances.create("mysql", "maria", {"host": LOCAL_HOST, "port": LOCAL_PORT, "database": "test",
                                                        "user": mysql_user, "password": mysql_pw,
                                                        "ssl_mode": "DISABLED"})
        assert set(memory_keyring.secrets_of().values()) == set(canaries)

        # Runs that work: each logged in with its canary.
        runs.append(run(hub, cache, "set", {"key": "note", "value": f"the password is {redis_pw}"}))
        runs.append(run(hub, cache, "get", {"key": "note"}))
        runs.append(run(hub, box, "run_command", {"command": "echo logged in; whoami >/dev/null 2>&1; true"}))
        runs.append(run(hub, mailer, "send_email", {"to": ["ops@example.com"], "subject": "canary check",
                                                    "body": "hello"}))
        runs.append(run(hub, maria, "query", {"sql": "SELECT CURRENT_USER()"}))
        assert [r.ok for r in runs] == [True] * 5, [(r.action, r.message) for r in runs]
        assert runs[1].result["value"] == "the password is ********"  # the result itself is scrubbed
        # A password typed into a plain param reaches the server as typed, and is masked in the run's record.
        assert runs[0].params["value"] == "the password is ********"
        import redis as redis_py

        with redis_py.Redis(host=redis.host, port=redis.port, password=redis_pw) as raw:
            assert raw.get("note") == f"the password is {redis_pw}".encode()
        assert runs[2].result["stdout"] == "logged in\n"
        assert [m[2]["Subject"] for m in mail.messages] == ["canary check"]

        # Runs that fail: the same instances pointed at a wrong host (closed port, unknown name), a refused
        # write, a wrong database name.
        failing = [
            (hub.instances.update(cache.id, {"host": "127.0.0.1", "port": closed, "password": redis_pw}), "get",
             {"key": "note"}),
            (hub.instances.update(box.id, {"host": "no-such-host.invalid", "port": 22, "user": "alice",
                                           "auth.method": "password", "auth.password": ssh_pw,
                                           "host_key_policy": "fingerprint",
                                           "host_key_fingerprint": sshd.fingerprint}), "run_command",
             {"command": "true"}),
            (hub.instances.update(mailer.id, {"host": "127.0.0.1", "port": closed, "security": "none",
                                              "user": mail.user, "password": smtp_pw}), "send_email",
             {"to": ["ops@example.com"], "subject": "x"}),
            (maria, "query", {"sql": "CREATE TABLE canary_should_not_exist (id INT)"}),
            (hub.instances.update(maria.id, {"host": LOCAL_HOST, "port": LOCAL_PORT, "database": "nope_db",
                                             "user": mysql_user, "password": mysql_pw, "ssl_mode": "DISABLED"}),
             "list_tables", {}),
        ]
        for record, name, params in failing:
            runs.append(run(hub, record, name, params, timeout=3))
        assert [r.ok for r in runs[5:]] == [False] * 5, [(r.action, r.message) for r in runs[5:]]
        assert [r.error_class for r in runs[5:]] == ["refused", "dns", "refused", "permission", "permission"]

        texts = {f"run {n} {r.action}": json.dumps([r.result, r.message, r.preview, r.params], default=str)
                 for n, r in enumerate(runs)}
        logged = [run_ for record in (cache, box, mailer, maria) for run_ in hub.actions.history(record.id)]
        assert len(logged) == 10
        texts["history"] = json.dumps([[r.message, r.preview, r.params] for r in logged], default=str)
        texts["log records"] = caplog.text
        while_open = data_files(data_dir)

    after = data_files(data_dir)
    found = leaks(canaries, {**texts, **{f"open {k}": v for k, v in while_open.items()}, **after})
    assert found == [], found
    assert b"canary check" in after["connhub.db"] + while_open.get("connhub.db-wal", b"")  # the runs are there
    assert "ran action send_email" in after["connhub.log"].decode()
    assert set(memory_keyring.secrets_of().values()) == set(canaries)  # and the canaries are in the keyring


@pytest.fixture
def fake():
    from faker import Faker

    return Faker()
