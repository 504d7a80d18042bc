"""Recording many test results in one transaction gives what recording them one by one gives."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from connhub.storage.db import open_engine, sqlite_url
from connhub.storage.repository import InstanceRecord, InstanceStore, TestOutcome

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OUTCOMES = [  # (ok, error class, latency, version, message)
    (False, "refused", 2.5, None, "Connection refused"),
    (True, None, 4.25, "Redis 7.0.15", "Connected"),
    (False, "timeout", None, None, "Timed out"),
    (False, "auth", 1.0, None, "WRONGPASS"),
]


def _pair(tmp_path):
    stores = []
    for name in ("one", "many"):
        (tmp_path / name).mkdir()
        store = InstanceStore(open_engine(sqlite_url(tmp_path / name)))
        stores.append(store)
    return stores


def test_batched_results_equal_one_by_one(tmp_path):
    one, many = _pair(tmp_path)
    ids = []
    for store in (one, many):
        made = [store.add(InstanceRecord(name=f"r{i}", type="redis", id=f"id-{i}")) for i in range(3)]
        ids = [r.id for r in made]
    for step, (ok, error, latency, version, message) in enumerate(OUTCOMES):
        at = T0 + timedelta(seconds=step)
        for instance_id in ids:
            one.record_test(instance_id, ok, error, latency, version, message, at=at)
        assert many.record_tests([TestOutcome(i, ok, error, latency, version, message, at) for i in ids]) == 3

    def comparable(store):
        return [{k: v for k, v in asdict(r).items() if k not in ("created_at", "updated_at")} for r in store.list()]

    assert comparable(many) == comparable(one)
    record = many.get(ids[0])
    assert record.status == "failing" and record.error_count == 2 and record.last_error_class == "auth"
    assert record.last_server_version == "Redis 7.0.15", "a failure keeps the last known version"
    assert many.history(ids[0]) == one.history(ids[0]) and len(many.history(ids[0])) == 4
    one.engine.dispose()
    many.engine.dispose()


def test_a_result_for_a_deleted_instance_is_skipped(tmp_path):
    store = InstanceStore(open_engine(sqlite_url(tmp_path)))
    kept = store.add(InstanceRecord(name="kept", type="redis"))
    gone = store.add(InstanceRecord(name="gone", type="redis"))
    store.delete(gone.id)
    recorded = store.record_tests([TestOutcome(gone.id, True, None, 1.0, "Redis 7", "Connected", T0),
                                   TestOutcome(kept.id, True, None, 1.0, "Redis 7", "Connected", T0)])
    assert recorded == 1
    assert store.get(kept.id).status == "ok" and store.history(gone.id) == []
    assert store.record_tests([]) == 0
    store.engine.dispose()
