"""Canary secrets: plant unique secrets through the Hub and the CLI, then search everything connhub wrote.

A secret belongs in the keyring and nowhere else: not in the database (or its -wal/-shm files), not in
connhub.log, not in any command's output (--json and `show` included), not in exception texts. Each test
also checks that the canaries *are* in the keyring, so it cannot pass by planting nothing.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from logging.handlers import RotatingFileHandler
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from faker import Faker

from connhub.core.records import InvalidValues
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.services.logs import setup_logging
from connhub.services.probe_worker import ProbeWorker
from connhub.storage.repository import NameTaken
from connhub.storage.vault import KeyringVault
from tests.support.services import free_port

USER = "canary-user"


@pytest.fixture
def fake() -> Faker:
    return Faker()


def secret_forms(secret: str) -> set[bytes]:
    """The ways a secret could be written down: as is, URL- or JSON-encoded, or inside a Basic header."""
    texts = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    forms = {t.encode() for t in texts}
    forms.add(base64.b64encode(f"{USER}:{secret}".encode()))
    return forms


def leaks(canaries: list[str], where: dict[str, bytes | str]) -> list[str]:
    found = []
    for name, blob in where.items():
        data = blob.encode() if isinstance(blob, str) else blob
        found += [f"{name}: canary #{i}" for i, canary in enumerate(canaries)
                  if any(form in data for form in secret_forms(canary))]
    return found


def data_files(data_dir: Path) -> dict[str, bytes]:
    files = {path.name: path.read_bytes() for path in sorted(data_dir.iterdir()) if path.is_file()}
    assert "connhub.db" in files and "connhub.log" in files, sorted(files)
    return files


@contextmanager
def wrong_password_redis():
    """(host, port) of a Redis that wants a password the canaries do not match, else a closed port."""
    import shutil

    if shutil.which("redis-server") is None:
        yield "127.0.0.1", free_port()
        return
    from tests.support.servers import throwaway_redis

    with throwaway_redis(free_port(), "--requirepass", "the-right-password") as server:
        yield server.host, server.port


@contextmanager
def app_log(data_dir: Path):
    """connhub.log in `data_dir`, as the app sets it up, at DEBUG; detached again afterwards."""
    logger = logging.getLogger("connhub")
    level = logger.level
    path = setup_logging(data_dir, logging.DEBUG)
    try:
        yield path
    finally:
        for handler in list(logger.handlers):
            if isinstance(handler, RotatingFileHandler) and Path(handler.baseFilename) == path:
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(level)


# --- the Hub ----------------------------------------------------------------------------------------------

def test_canaries_planted_through_the_hub_stay_in_the_keyring(tmp_path, memory_keyring, fake, caplog):
    caplog.set_level(logging.DEBUG)
    basic_pw, token, redis_pw, new_pw = (fake.password(length=24), fake.sha256(), fake.password(length=24),
                                         fake.password(length=24))
    canaries = [basic_pw, token, redis_pw, new_pw]
    closed = free_port()
    data_dir = tmp_path / "data"
    texts: dict[str, str] = {}

    with ExitStack() as stack:
        redis_host, redis_port = stack.enter_context(wrong_password_redis())
        stack.enter_context(app_log(data_dir))
        hub = Hub(data_dir=data_dir, registry=Registry.discover(plugins=False),
                  vault=KeyringVault(backend=memory_keyring))
        stack.callback(hub.close)

        basic = hub.instances.create("http", "basic", {"base_url": f"http://127.0.0.1:{closed}/v1", "auth.method": "basic",
                                             "auth.username": USER, "auth.password": basic_pw})
        bearer = hub.instances.create("http", "bearer", {"base_url": f"http://127.0.0.1:{closed}", "auth.method": "bearer",
                                               "auth.token": token})
        cache = hub.instances.create("redis", "cache", {"host": redis_host, "port": redis_port, "password": redis_pw})
        assert set(memory_keyring.secrets_of().values()) == {basic_pw, token, redis_pw}

        for record in (basic, bearer, cache):
            result = asyncio.run(hub.prober.test_instance(hub.instances.find(record.id), timeout=3))
            assert not result.ok
            texts[f"test {record.name}"] = json.dumps(result.to_dict())
        async def test_all_in_a_child_process():  # the window's Test all: secrets cross the child's pipe only
            async with ProbeWorker() as worker:
                return await hub.prober.test_many([hub.instances.find(r.id) for r in (basic, bearer, cache)], timeout=3,
                                       runner=worker.run)

        outcomes = asyncio.run(test_all_in_a_child_process())
        assert [r.ok for r in outcomes] == [False] * 3
        texts["test all"] = json.dumps([r.to_dict() for r in outcomes])
        texts["unsaved test"] = json.dumps(asyncio.run(hub.prober.test_values(
            "http", {"base_url": f"http://127.0.0.1:{closed}", "auth.method": "bearer", "auth.token": token},
            timeout=3)).to_dict())

        for name, call in {
            "invalid": lambda: hub.instances.create("http", "bad", {"base_url": "ftp://nowhere", "auth.method": "bearer",
                                                          "auth.token": token}),
            "invalid port": lambda: hub.instances.create("redis", "bad", {"host": "h", "port": 70000, "password": redis_pw}),
            "taken": lambda: hub.instances.create("http", "basic", {"base_url": "https://x.example", "auth.method": "basic",
                                                          "auth.username": USER, "auth.password": basic_pw}),
            "bad update": lambda: hub.instances.update(basic.id, {"base_url": "https://x.example", "auth.method": "basic",
                                                        "auth.username": "", "auth.password": new_pw}),
        }.items():
            with pytest.raises((InvalidValues, NameTaken)) as caught:
                call()
            texts[name] = f"{caught.value} {caught.value!r} {getattr(caught.value, 'errors', '')}"

        hub.instances.update(basic.id, {"base_url": f"http://127.0.0.1:{closed}/v1", "auth.method": "basic",
                              "auth.username": USER, "auth.password": new_pw})
        copy = hub.instances.duplicate(bearer.id)
        texts["retest"] = json.dumps(asyncio.run(hub.prober.test_instance(hub.instances.find(basic.id), timeout=3)).to_dict())
        texts["records"] = repr(hub.instances.list())
        texts["history"] = repr([hub.prober.history(r.id) for r in hub.instances.list()])
        texts["log records"] = caplog.text
        while_open = data_files(data_dir)  # the -wal and -shm files exist while the database is open

    assert "connhub.db-wal" in while_open
    after = data_files(data_dir)
    assert leaks(canaries, {**texts, **{f"open {k}": v for k, v in while_open.items()}, **after}) == []
    assert "created instance" in after["connhub.log"].decode()  # the log was written to, just not with secrets
    # The canaries are where they belong: the keyring (the replaced password is gone from it).
    in_keyring = memory_keyring.secrets_of()
    assert in_keyring[f"{basic.id}:auth.password"] == new_pw
    assert in_keyring[f"{bearer.id}:auth.token"] == in_keyring[f"{copy.id}:auth.token"] == token
    assert in_keyring[f"{cache.id}:password"] == redis_pw
    assert basic_pw not in in_keyring.values()


def test_a_server_echoing_basic_credentials_does_not_leak_them(tmp_path, memory_keyring, fake):
    from tests.support.servers import http_server

    password = fake.password(length=24)

    def echo(request):
        return 200, {"Server": f"echo {request.headers.get('Authorization', '')}"}, b"ok"

    hub = Hub(data_dir=tmp_path / "data", registry=Registry.discover(plugins=False),
              vault=KeyringVault(backend=memory_keyring))
    try:
        with http_server(echo) as server:
            record = hub.instances.create("http", "echo", {"base_url": server.url, "auth.method": "basic",
                                                 "auth.username": USER, "auth.password": password})
            result = asyncio.run(hub.prober.test_instance(record, timeout=3))
        assert result.ok
        saved = hub.instances.find(record.id)
        assert leaks([password], {"result": json.dumps(result.to_dict()), "record": repr(saved)}) == []
    finally:
        hub.close()


# --- the command line -----------------------------------------------------------------------------------

def run_cli(data_dir: Path, *args: str, stdin: str = "", env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "CONNHUB_DATA_DIR": str(data_dir), **(env or {})}
    full_env.pop("CONNHUB_DB_URL", None)
    return subprocess.run([sys.executable, "-m", "connhub", *args], input=stdin, capture_output=True, text=True,
                          env=full_env, timeout=60)


def test_canaries_planted_through_the_cli_stay_in_the_keyring(tmp_path, secret_service_keyring, fake):
    basic_pw, token, redis_pw = fake.password(length=24), fake.sha256(), fake.password(length=24)
    canaries = [basic_pw, token, redis_pw]
    closed = free_port()
    data_dir = tmp_path / "data"
    outputs: dict[str, str] = {}

    def record(label: str, done: subprocess.CompletedProcess, code: int) -> None:
        outputs[f"{label} stdout"], outputs[f"{label} stderr"] = done.stdout, done.stderr
        assert done.returncode == code, f"{label}: {done.stderr}"

    ids: dict[str, str] = {}
    try:
        with wrong_password_redis() as (redis_host, redis_port):
            basic = ["add", "http", "basic", "--set", f"base_url=http://127.0.0.1:{closed}/v1",
                     "--set", "auth.method=basic", "--set", f"auth.username={USER}", "--secret-stdin", "auth.password"]
            record("add basic", run_cli(data_dir, *basic, stdin=basic_pw + "\n"), 0)
            record("add bearer", run_cli(data_dir, "add", "http", "bearer", "--set",
                                         f"base_url=http://127.0.0.1:{closed}", "--set", "auth.method=bearer",
                                         "--secret-env", "auth.token=CANARY_TOKEN", env={"CANARY_TOKEN": token}), 0)
            record("add redis", run_cli(data_dir, "add", "redis", "cache", "--set", f"host={redis_host}",
                                        "--set", f"port={redis_port}", "--secret-stdin", "password",
                                        stdin=redis_pw + "\n"), 0)

            commands = {
                "add invalid": (["add", "http", "bad", "--set", "base_url=ftp://x", "--set", "auth.method=bearer",
                                 "--secret-stdin", "auth.token"], token + "\n", 2),
                "test json": (["test", "--all", "--json"], "", 1),
                "test text": (["test", "basic", "bearer", "cache"], "", 1),
                "list json": (["list", "--json"], "", 0),
                "show basic": (["show", "basic"], "", 0),
                "show basic json": (["show", "basic", "--json"], "", 0),
                "show cache": (["show", "cache"], "", 0),  # each command's output, text and --json
            }
            with ThreadPoolExecutor(4) as pool:
                done = dict(zip(commands, pool.map(lambda c: run_cli(data_dir, *c[0], stdin=c[1]),
                                                   commands.values()), strict=True))
        for label, (_, _, code) in commands.items():
            record(label, done[label], code)
        ids = {item["name"]: item["id"] for item in json.loads(done["list json"].stdout)}
        results = {json.loads(line)["name"]: json.loads(line) for line in done["test json"].stdout.splitlines()}
        assert {r["error_class"] for n, r in results.items() if n != "cache"} == {"refused"}
        assert "********" in done["show basic"].stdout

        assert leaks(canaries, {**outputs, **data_files(data_dir)}) == []
        assert secret_service_keyring.get_password("connhub", f"{ids['basic']}:auth.password") == basic_pw
        assert secret_service_keyring.get_password("connhub", f"{ids['bearer']}:auth.token") == token
        assert secret_service_keyring.get_password("connhub", f"{ids['cache']}:password") == redis_pw
    finally:
        vault = KeyringVault(backend=secret_service_keyring)
        for instance_id in ids.values():
            vault.delete(instance_id, ["auth.password", "auth.token", "password"])
