"""The test process: the same results as testing in process, secrets only through its pipe, and a child that
dies or is cancelled ends every waiting test with a clear result instead of hanging the batch."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import pytest

from connhub.core.errors import ErrorClass
from connhub.plugins.registry import Registry, TypeEntry
from connhub.services.hub import Hub
from connhub.services.probe_worker import ProbeWorker, result_from_dict
from connhub.services.runner import run_test
from connhub.storage.vault import KeyringVault
from tests.support.servers import blackhole_server
from tests.support.services import free_port, require_service

REGISTRY = Registry.discover(plugins=False)


def _same(a, b) -> None:
    """Equal but for timings, which differ between any two runs."""
    assert (a.ok, a.error_class, a.failed_stage, a.message, a.hint, a.server_version, a.details) == \
        (b.ok, b.error_class, b.failed_stage, b.message, b.hint, b.server_version, b.details)
    assert [(s.name, s.ok) for s in a.stages] == [(s.name, s.ok) for s in b.stages]


def test_results_are_those_of_a_test_in_process():
    require_service("Redis", "127.0.0.1", 6379)
    entry = REGISTRY.get("redis")
    configs = [{"host": "127.0.0.1", "port": 6379}, {"host": "127.0.0.1", "port": free_port()},
               {"host": "no-such-host.invalid", "port": 6379}]

    async def scenario():
        async with ProbeWorker() as worker:
            there = await asyncio.gather(*(worker.run(entry, c, {}, 5) for c in configs))
        here = [await run_test(entry, c, {}, 5) for c in configs]
        return there, here

    there, here = asyncio.run(scenario())
    assert there[0].ok and there[0].server_version.startswith(("Redis", "Valkey"))
    assert [r.error_class for r in there[1:]] == [ErrorClass.REFUSED, ErrorClass.DNS]
    for a, b in zip(there, here, strict=True):
        _same(a, b)


def test_a_disabled_type_fails_at_once_without_the_child():
    broken = TypeEntry(type="nope", source="plugin x", folder=None, manifest=None, error="manifest.json is missing")

    async def scenario():
        async with ProbeWorker(command=[sys.executable, "-c", "import sys; sys.exit(3)"]) as worker:
            return await worker.run(broken, {}, {}, 5)

    result = asyncio.run(scenario())
    assert not result.ok and "disabled" in result.message and "manifest.json is missing" in result.message


def test_secrets_reach_the_child_only_through_its_pipe_and_cancel_ends_it_at_once():
    canary = "canary-Zq81-" + os.urandom(6).hex()
    entry = REGISTRY.get("redis")
    with blackhole_server() as (host, port):
        async def scenario():
            worker = ProbeWorker()
            await worker.__aenter__()
            task = asyncio.ensure_future(worker.run(entry, {"host": host, "port": port}, {"password": canary}, 30))
            await asyncio.sleep(0.5)
            pid = worker._process.pid
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
            task.cancel()
            started = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await task
            await worker.__aexit__(asyncio.CancelledError, asyncio.CancelledError(), None)
            return cmdline, environ, time.monotonic() - started, worker._process.returncode

        cmdline, environ, took, code = asyncio.run(scenario())
    assert canary.encode() not in cmdline and canary.encode() not in environ
    assert code is not None and code < 0  # killed, not left testing a dead connection for 30 s
    assert took < 5


def test_a_child_that_dies_ends_every_waiting_test_with_the_reason():
    entry = REGISTRY.get("redis")
    with blackhole_server() as (host, port):
        async def scenario():
            async with ProbeWorker() as worker:
                tasks = [asyncio.ensure_future(worker.run(entry, {"host": host, "port": port}, {}, 30))
                         for _ in range(3)]
                await asyncio.sleep(0.5)
                worker._process.kill()
                results = await asyncio.wait_for(asyncio.gather(*tasks), 10)
                after = await worker.run(entry, {"host": host, "port": port}, {}, 30)
            return results + [after]

        results = asyncio.run(scenario())
    assert all(not r.ok and r.error_class is ErrorClass.UNKNOWN for r in results)
    assert all("test process stopped unexpectedly (exit code -9)" in r.message for r in results)


def test_test_many_through_the_worker_records_every_result(tmp_path, memory_keyring):
    require_service("Redis", "127.0.0.1", 6379)
    hub = Hub(data_dir=tmp_path / "data", registry=REGISTRY, vault=KeyringVault(backend=memory_keyring))
    closed = free_port()
    records = [hub.instances.create("redis", f"r{i}", {"host": "127.0.0.1", "port": 6379 if i % 2 else closed})
               for i in range(10)]

    async def scenario():
        async with ProbeWorker() as worker:
            return await hub.prober.test_many(records, concurrency=4, timeout=5, runner=worker.run)

    results = asyncio.run(scenario())
    assert [r.ok for r in results] == [bool(i % 2) for i in range(10)]
    assert {r.name: r.status for r in hub.instances.list()} == {f"r{i}": "ok" if i % 2 else "failing" for i in range(10)}
    hub.close()


def test_the_connhub_command_is_the_worker_of_the_packaged_app():
    """`connhub --test-worker` (what a frozen connhub runs) answers a job line with a result line."""
    require_service("Redis", "127.0.0.1", 6379)
    entry = REGISTRY.get("redis")
    job = {"id": 7, "folder": str(entry.folder), "source": entry.source, "config": {"host": "127.0.0.1", "port": 6379},
           "secrets": {}, "timeout": 5}
    done = subprocess.run([sys.executable, "-m", "connhub", "--test-worker"], input=json.dumps(job) + "\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["id"] == 7 and result_from_dict(answer["result"]).ok


def test_a_child_that_never_answers_is_not_waited_for_past_the_timeout_and_its_grace():
    entry = REGISTRY.get("redis")
    mute = [sys.executable, "-c", "import sys, time\nfor line in sys.stdin: time.sleep(60)"]

    async def scenario():
        async with ProbeWorker(command=mute) as worker:
            worker.grace = 0.5
            started = time.monotonic()
            result = await worker.run(entry, {"host": "127.0.0.1", "port": 1}, {}, 0.5)
            took = time.monotonic() - started
        return result, took, time.monotonic() - started, worker._process.returncode

    result, took, with_exit, code = asyncio.run(scenario())
    assert not result.ok and result.error_class is ErrorClass.UNKNOWN
    assert "gave no answer within 1 s" in result.message and 0.9 < took < 5
    assert code is not None and code < 0 and with_exit < took + 3  # not waited for at the end either: killed


def test_stray_prints_in_the_child_do_not_corrupt_its_answers(tmp_path, monkeypatch):
    """Something printing to stdout, at the interpreter's start or when a driver is imported (some drivers
    do), is neither read as an answer nor mixed into one."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\n"
        "print('hello at start-up')\n"
        "def chatty(event, args):\n"
        "    if event == 'import' and args[0] == 'redis.asyncio':\n"
        "        print('no newline from a chatty driver', end='', flush=True)\n"
        "sys.addaudithook(chatty)\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])))
    entry = REGISTRY.get("redis")

    async def scenario():
        async with ProbeWorker() as worker:
            return await asyncio.gather(*(worker.run(entry, {"host": "127.0.0.1", "port": 1}, {}, 5)
                                          for _ in range(3)))

    results = asyncio.run(scenario())
    assert [r.error_class for r in results] == [ErrorClass.REFUSED] * 3
