"""Health monitoring: schedule and backoff on a fake clock, real servers stopped and started for transitions."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from connhub.core.records import InvalidValues
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.services.monitor import Monitor, StatusChange, next_delay
from connhub.storage.repository import InstanceRecord
from connhub.storage.vault import KeyringVault
from tests.support.servers import http_server, throwaway_redis
from tests.support.services import free_port, require_binary

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


class FakeClock:
    """now() only moves when someone sleeps (or `advance` is called); past `stop_at`, sleep parks forever."""

    def __init__(self, start: datetime = T0, stop_at: datetime | None = None):
        self.t = start
        self.stop_at = stop_at
        self.parked = False
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.t

    def advance(self, **delta) -> None:
        self.t += timedelta(**delta)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)
        if self.stop_at is not None and self.t >= self.stop_at:
            self.parked = True
            await asyncio.Event().wait()
        await asyncio.sleep(0)


@pytest.fixture
def hub(tmp_path, memory_keyring):
    hub = Hub(data_dir=tmp_path / "data", registry=Registry.discover(plugins=False),
              vault=KeyringVault(backend=memory_keyring))
    yield hub
    hub.close()


def redis_at(hub: Hub, name: str, port: int, interval: int = 15, on: bool = True) -> InstanceRecord:
    record = hub.instances.create("redis", name, {"host": "127.0.0.1", "port": port})
    return hub.instances.set_monitoring(record.id, on, interval)


# --- schedule ----------------------------------------------------------------------------------------------

def test_backoff_doubles_up_to_eight_times_the_interval_and_never_past_a_day():
    minutes = lambda interval, errors: next_delay(timedelta(minutes=interval), errors) / timedelta(minutes=1)  # noqa: E731
    assert [minutes(15, n) for n in range(7)] == [15, 15, 30, 60, 120, 120, 120]
    assert [minutes(600, n) for n in range(4)] == [600, 600, 1200, 1440]  # 24 h ceiling
    assert [minutes(1440, n) for n in range(4)] == [1440] * 4  # a daily check stays daily
    assert minutes(1, 10_000) == 8


def test_set_monitoring_validates_the_interval_and_makes_the_instance_due(hub):
    record = redis_at(hub, "cache", 6379, interval=5)
    assert (record.monitor_enabled, record.monitor_interval_min, record.monitor_next_run_at) == (True, 5, None)
    for bad in (0, 1441, -3, 2.5, True, "10"):
        with pytest.raises(InvalidValues) as caught:
            hub.instances.set_monitoring(record.id, True, bad)
        assert "1 to 1440" in caught.value.errors["interval"]
    off = hub.instances.set_monitoring(record.id, False)
    assert (off.monitor_enabled, off.monitor_interval_min) == (False, 5)
    assert hub.instances.find("cache").monitor_enabled is False


def test_due_picks_enabled_instances_whose_time_has_come_and_skips_what_cannot_run(hub, caplog):
    port = free_port()
    redis_at(hub, "never-run", port)
    later = redis_at(hub, "later", port)
    past = redis_at(hub, "past", port)
    off = redis_at(hub, "off", port, on=False)
    hub.store.update_monitoring(later.id, monitor_next_run_at=T0 + timedelta(minutes=1))
    hub.store.update_monitoring(past.id, monitor_next_run_at=T0 - timedelta(minutes=1))
    gone = hub.store.add(InstanceRecord(name="plugin-gone", type="uninstalled", monitor_enabled=True))
    asked = redis_at(hub, "asked", port)
    asked.secret_mode, asked.secret_fields = "session", ["password"]
    hub.store.update(asked)
    hub.store.update_monitoring(asked.id, monitor_enabled=True)

    monitor = Monitor(hub.instances, hub.prober, clock=FakeClock())
    with caplog.at_level("INFO", logger="connhub.monitor"):
        assert {r.name for r in monitor.due(hub.instances.list())} == {"never-run", "past"}
        monitor.due(hub.instances.list())  # a second pass logs nothing new
    skipped = [r.getMessage() for r in caplog.records if "skips" in r.getMessage()]
    assert sorted(skipped) == sorted([
        f"monitor skips instance {gone.id}: its type 'uninstalled' is not installed",
        f"monitor skips instance {asked.id}: its secrets are asked every time and none is in memory"])
    hub.secrets.remember(asked.id, {"password": "given this session"})  # typed into the window's prompt
    ready = Monitor(hub.instances, hub.prober, clock=FakeClock())
    assert {r.name for r in ready.due(hub.instances.list())} == {"never-run", "past", "asked"}
    assert off.id not in {r.id for r in ready.due(hub.instances.list(), T0 + timedelta(days=9))}


def test_an_instance_of_a_disabled_type_is_skipped_with_a_log_line(tmp_path, memory_keyring, caplog):
    folder = tmp_path / "half_done"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"manifest_version": 1, "type": "half_done", "name": "Half",
                                                      "group": "nowhere", "icon": "icon.svg"}))
    hub = Hub(data_dir=tmp_path / "data", registry=Registry.from_folders([folder]),
              vault=KeyringVault(backend=memory_keyring))
    try:
        record = hub.store.add(InstanceRecord(name="broken", type="half_done", monitor_enabled=True))
        monitor = Monitor(hub.instances, hub.prober, clock=FakeClock())
        with caplog.at_level("INFO", logger="connhub.monitor"):
            assert asyncio.run(monitor.run_once()) == []
        assert f"monitor skips instance {record.id}: its type 'half_done' is disabled" in caplog.text
        assert hub.instances.find("broken").status == "untested" and hub.prober.history(record.id) == []
    finally:
        hub.close()


def test_failures_back_off_and_a_pass_resets_the_interval(hub):
    port = free_port()
    record = redis_at(hub, "flaky", port, interval=10)
    clock = FakeClock()
    monitor = Monitor(hub.instances, hub.prober, clock=clock, timeout=3)

    def run_at(minute: int) -> InstanceRecord:
        clock.t = T0 + timedelta(minutes=minute)
        asyncio.run(monitor.run_once())
        return hub.instances.find("flaky")

    expected_next = {0: 10, 10: 30, 30: 70, 70: 150, 150: 230}  # 10, 20, 40, 80, 80 minutes of back-off
    for minute, next_minute in expected_next.items():
        now = run_at(minute)
        assert now.monitor_next_run_at == T0 + timedelta(minutes=next_minute)
    assert now.error_count == 5 and now.status == "failing"
    assert run_at(229).error_count == 5  # not due yet: not run
    with throwaway_redis(port):
        back = run_at(230)
    assert (back.status, back.error_count) == ("ok", 0)
    assert back.monitor_next_run_at == T0 + timedelta(minutes=240)  # the plain interval again
    assert len(hub.prober.history(record.id)) == 6


def test_real_server_stopped_and_started_gives_failing_ok_failing(hub):
    require_binary("redis-server", "redis-server")
    port = free_port()
    redis_at(hub, "cache", port, interval=1)
    clock = FakeClock()
    monitor = Monitor(hub.instances, hub.prober, clock=clock, timeout=3)
    seen: list[StatusChange] = []
    monitor.subscribe(seen.append)

    def tick() -> list[StatusChange]:
        changes = asyncio.run(monitor.run_once())
        clock.advance(hours=1)
        return changes

    assert [(c.old, c.new) for c in tick()] == [("untested", "failing")]
    assert tick() == []  # still failing: no news
    with throwaway_redis(port):
        [back] = tick()
        assert tick() == []
    [down] = tick()
    assert [(c.instance.name, c.old, c.new) for c in seen] == [
        ("cache", "untested", "failing"), ("cache", "failing", "ok"), ("cache", "ok", "failing")]
    assert back.result.ok and back.instance.status == "ok" and back.instance.error_count == 0
    assert down.result.error_class.value == "refused" and down.instance.error_count == 1
    assert down.to_dict() == {"name": "cache", "type": "redis", "old": "ok", "new": "failing",
                              "error_class": "refused", "message": down.result.message,
                              "at": (T0 + timedelta(hours=4)).isoformat()}


def test_at_most_n_tests_run_at_once_counted_by_a_real_server(hub):
    lock, inflight, peak = threading.Lock(), [0], [0]

    def slow(request):
        with lock:
            inflight[0] += 1
            peak[0] = max(peak[0], inflight[0])
        time.sleep(0.25)
        with lock:
            inflight[0] -= 1
        return 200, {}, "ok"

    with http_server(slow) as api:
        for i in range(6):
            record = hub.instances.create("http", f"api{i}", {"base_url": api.url, "auth.method": "none"})
            hub.instances.set_monitoring(record.id, True, 5)
        changes = asyncio.run(Monitor(hub.instances, hub.prober, clock=FakeClock(), concurrency=2, timeout=5).run_once())
    assert peak[0] == 2
    assert len(api.requests) == 6
    assert sorted(c.instance.name for c in changes) == [f"api{i}" for i in range(6)]
    assert all((c.old, c.new) == ("untested", "ok") for c in changes)


def test_subscribers_as_callbacks_and_async_iterator_and_a_broken_one_does_not_stop_them(hub):
    redis_at(hub, "a", free_port())
    redis_at(hub, "b", free_port())
    monitor = Monitor(hub.instances, hub.prober, clock=FakeClock(), timeout=3)
    called, awaited = [], []

    def broken(change):
        raise RuntimeError("subscriber bug")

    async def slow_subscriber(change):
        await asyncio.sleep(0)
        awaited.append(change.instance.name)

    monitor.subscribe(broken)
    monitor.subscribe(slow_subscriber)
    unsubscribe = monitor.subscribe(lambda c: called.append(c.instance.name))

    async def scenario():
        iterated = []

        async def consume():
            async for change in monitor.changes():
                iterated.append(change.new)
                if len(iterated) == 2:
                    return

        consumer = asyncio.ensure_future(consume())
        await asyncio.sleep(0)
        await monitor.run_once()
        await asyncio.wait_for(consumer, 5)
        return iterated

    assert asyncio.run(scenario()) == ["failing", "failing"]
    assert sorted(called) == sorted(awaited) == ["a", "b"]
    unsubscribe()
    assert len(monitor._subscribers) == 2  # broken + slow; the iterator unsubscribed itself


def test_run_forever_sleeps_until_the_next_run_with_backoff(hub):
    record = redis_at(hub, "down", free_port(), interval=1)
    clock = FakeClock(stop_at=T0 + timedelta(minutes=15, seconds=1))
    monitor = Monitor(hub.instances, hub.prober, clock=clock, timeout=3)

    async def scenario():
        task = asyncio.ensure_future(monitor.run_forever())
        while not clock.parked:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert len(hub.prober.history(record.id)) == 5  # at 0, 1, 3, 7 and 15 minutes (1, 2, 4, 8 min apart)
    assert max(clock.sleeps) == 30  # never idle longer than MAX_IDLE, to notice changed settings
    assert hub.instances.find("down").monitor_next_run_at == T0 + timedelta(minutes=23)


def test_wake_looks_again_at_once(hub):
    clock = FakeClock()
    monitor = Monitor(hub.instances, hub.prober, clock=clock, timeout=3)

    async def scenario():
        task = asyncio.ensure_future(monitor.run_forever())
        await asyncio.sleep(0.2)  # nothing to watch: asleep for MAX_IDLE (fake, so only one sleep call)
        slept = len(clock.sleeps)
        record = redis_at(hub, "new", free_port())
        monitor.wake()
        for _ in range(200):
            if hub.prober.history(record.id):
                break
            await asyncio.sleep(0.02)
        task.cancel()
        return slept

    assert asyncio.run(scenario()) >= 1
    assert hub.instances.find("new").status == "failing"


def test_an_interval_override_keeps_the_schedule_in_memory(hub):
    record = redis_at(hub, "cache", free_port(), interval=60)
    clock = FakeClock()
    monitor = Monitor(hub.instances, hub.prober, clock=clock, interval=5, timeout=3)
    asyncio.run(monitor.run_once())
    assert hub.instances.find("cache").monitor_next_run_at is None  # the window's own schedule is left alone
    assert monitor.next_run_of(hub.instances.find("cache")) == T0 + timedelta(seconds=5)
    clock.advance(seconds=5)
    assert [r.id for r in monitor.due(hub.instances.list())] == [record.id]
    everything = Monitor(hub.instances, hub.prober, clock=clock, interval=5, select=lambda r: True)
    off = redis_at(hub, "off", free_port(), on=False)
    assert off.id in {r.id for r in everything.due(hub.instances.list())}
