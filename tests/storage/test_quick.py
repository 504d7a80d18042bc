"""The first paint's sqlite3 read of the list must give exactly what the SQLAlchemy store gives, or hand over
to it."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from connhub.storage.db import open_engine, sqlite_url
from connhub.storage.quick import QuickReader, _jsons, _stamps, read_instances
from connhub.storage.repository import InstanceRecord, InstanceStore


def _store(tmp_path) -> InstanceStore:
    return InstanceStore(open_engine(sqlite_url(tmp_path)))


def test_quick_read_equals_the_store_for_every_field(tmp_path):
    store = _store(tmp_path)
    store.add(InstanceRecord(name="beta", type="postgres", config={"host": "db", "port": 5432, "ssl": True},
                             secret_fields=["password"], summary="postgres://db:5432", tags=["prod", "eu"],
                             environment="prod", events=[{"type": "push", "description": "d", "schema": "s"}]))
    store.add(InstanceRecord(name="Alpha", type="redis", monitor_enabled=True, monitor_interval_min=5,
                             monitor_next_run_at=datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
                             secret_mode="session", needs_reauth=True, events=None))
    gamma = store.add(InstanceRecord(name="gamma", type="http", config={"nested": {"a": [1, None]}}))
    store.add(InstanceRecord(name="other", type="http", workspace="elsewhere"))
    store.record_test(gamma.id, False, "refused", 12.5, None, "connection refused",
                      at=datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))))
    store.record_test(gamma.id, False, "refused", None, None, "again")

    quick = read_instances(tmp_path / "connhub.db", "default")

    assert quick == store.list("default")
    assert [r.name for r in quick] == ["Alpha", "beta", "gamma"], "sorted case-insensitively, one workspace"
    assert quick[2].error_count == 2 and quick[2].status == "failing"
    assert quick[0].monitor_next_run_at == datetime(2030, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert read_instances(tmp_path / "connhub.db", "elsewhere") == store.list("elsewhere")
    store.engine.dispose()


class Refuse:
    """A full store that must not be asked."""

    def list(self, workspace):
        raise AssertionError("the quick reader handed over a database it can read itself")


def test_quick_read_steps_aside_for_a_missing_or_older_database(tmp_path):
    assert QuickReader(tmp_path / "connhub.db", fallback=Refuse()).list("default") == [], \
        "no database yet: nothing saved, nothing to migrate before the first paint"
    assert read_instances(tmp_path / "connhub.db", "default") is None
    assert not (tmp_path / "connhub.db").exists(), "the read-only path must not create the database"

    shutil.copyfile(Path(__file__).parent / "fixtures" / "connhub-0002.db", tmp_path / "connhub.db")
    assert read_instances(tmp_path / "connhub.db", "default") is None, "not at head: SQLAlchemy must migrate"
    opened = []

    class Store:  # the full store, opened (and so migrating) only when asked
        def list(self, workspace):
            opened.append(_store(tmp_path))
            return opened[0].list(workspace)

    records = QuickReader(tmp_path / "connhub.db", fallback=Store()).list("default")
    assert opened and records == opened[0].list("default") and records, "the full store migrated and answered"
    assert read_instances(tmp_path / "connhub.db", "default") == records, "at head now: the quick path applies"
    opened[0].engine.dispose()

    (tmp_path / "junk.db").write_bytes(b"not a database at all")
    assert read_instances(tmp_path / "junk.db", "default") is None


def test_columns_convert_as_each_value_would():
    """A column's JSON is parsed in one call and its timestamps with the offset appended: same values as one at
    a time, each row with its own empty list (editing one record's tags must not edit another's)."""
    texts = ("[]", "[]", '{"a": [1, null]}', None, "{}", "null", '["x"]')
    values = _jsons(texts)
    assert values == [None if text is None else json.loads(text) for text in texts]
    assert values[0] is not values[1] and values[4] is not _jsons(("{}",))[0]
    assert _stamps(("2026-05-01 12:00:00.000006", None)) == [datetime(2026, 5, 1, 12, 0, 0, 6, tzinfo=UTC), None]
    assert _stamps(("2026-05-01 12:00:00+02:00",)) == [datetime(2026, 5, 1, 10, 0, tzinfo=UTC)], \
        "text that has an offset already is converted to UTC, not rejected"
