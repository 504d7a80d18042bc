"""Test all: bounded concurrency against real servers, results in order and recorded, cancel stops the rest."""

from __future__ import annotations

import asyncio

import pytest

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.support.servers import blackhole_server
from tests.support.services import free_port, require_service


@pytest.fixture
def hub(tmp_path, memory_keyring):
    hub = Hub(data_dir=tmp_path / "data", registry=Registry.discover(plugins=False),
              vault=KeyringVault(backend=memory_keyring))
    yield hub
    hub.close()


def test_results_come_in_order_with_at_most_n_running(hub):
    require_service("Redis", "127.0.0.1", 6379)
    closed = free_port()
    records = [hub.instances.create("redis", f"r{i}", {"host": "127.0.0.1", "port": 6379 if i % 3 else closed})
               for i in range(12)]
    running, peak, seen = 0, 0, []

    def started(record):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)

    def finished(record, result):
        nonlocal running
        running -= 1
        seen.append(record.name)

    results = asyncio.run(hub.prober.test_many(records, concurrency=3, timeout=3, on_start=started, on_result=finished))
    assert peak == 3
    assert sorted(seen) == sorted(r.name for r in records)
    assert [r.ok for r in results] == [bool(i % 3) for i in range(12)]
    assert all(r.error_class.value == "refused" for i, r in enumerate(results) if i % 3 == 0)
    assert {r.name: r.status for r in hub.instances.list()} == {f"r{i}": "ok" if i % 3 else "failing" for i in range(12)}


def test_cancel_stops_the_tests_still_waiting(hub):
    with blackhole_server() as (host, port):
        records = [hub.instances.create("redis", f"slow{i}", {"host": host, "port": port}) for i in range(6)]
        started = []

        async def scenario():
            task = asyncio.ensure_future(hub.prober.test_many(records, concurrency=2, timeout=30,
                                                   on_start=lambda r: started.append(r.name)))
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(scenario())
    assert len(started) == 2  # the other four never began
    assert all(r.status == "untested" for r in hub.instances.list())


def test_every_result_is_recorded_before_test_many_returns(hub):
    require_service("Redis", "127.0.0.1", 6379)
    closed = free_port()
    records = [hub.instances.create("redis", f"many{i:02d}", {"host": "127.0.0.1", "port": 6379 if i % 4 else closed})
               for i in range(40)]
    results = asyncio.run(hub.prober.test_many(records, concurrency=8, timeout=3, flush_interval=0.01))
    assert [r.ok for r in results] == [bool(i % 4) for i in range(40)]
    by_name = {r.name: r for r in hub.instances.list()}
    for i, record in enumerate(records):
        saved = by_name[record.name]
        assert saved.status == ("ok" if i % 4 else "failing") and saved.error_count == (0 if i % 4 else 1)
        assert saved.last_test_at is not None
        assert len(hub.prober.history(record.id)) == 1, "one history row per test run"
