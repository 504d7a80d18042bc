"""Upgrades: a database made by each released schema version (tests/storage/fixtures/connhub-<rev>.db, made by
that version's own code with scripts/make-db-fixtures) opens with today's code, migrates to the head, and
keeps every row, field and history entry."""

from __future__ import annotations

import runpy
import shutil
import sqlite3
from pathlib import Path

import pytest

from connhub.storage.db import SCHEMA_HEAD, current_revision, open_engine, sqlite_url
from connhub.storage.repository import InstanceStore

FIXTURES = Path(__file__).parent / "fixtures"
DATA = runpy.run_path(str(FIXTURES / "dataset.py"))
#: What a column added by a later migration reads as in a database made before it.
ADDED_IN = {
    "events": ("0002", None),
    "monitor_enabled": ("0003", False), "monitor_interval_min": ("0003", 15), "monitor_next_run_at": ("0003", None),
    "secret_mode": ("0003", "keyring"), "needs_reauth": ("0003", False), "version": ("0007", 0),
}
VERSIONS = sorted(p.stem.removeprefix("connhub-") for p in FIXTURES.glob("connhub-*.db"))


def test_every_released_schema_has_a_fixture():
    migrations = Path(__file__).parents[2] / "src/connhub/storage/migrations/versions"
    released = sorted(p.name[:4] for p in migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert VERSIONS == released, "run scripts/make-db-fixtures after adding a migration"
    assert released[-1] == SCHEMA_HEAD


def expected(row: dict, version: str) -> dict:
    return {key: (ADDED_IN[key][1] if key in ADDED_IN and ADDED_IN[key][0] > version else value)
            for key, value in row.items()}


@pytest.fixture(params=VERSIONS)
def upgraded(request, tmp_path):
    version = request.param
    made_with = sqlite3.connect(FIXTURES / f"connhub-{version}.db")
    assert made_with.execute("SELECT version_num FROM alembic_version").fetchone() == (version,)
    made_with.close()
    shutil.copy(FIXTURES / f"connhub-{version}.db", tmp_path / "connhub.db")
    engine = open_engine(sqlite_url(tmp_path))
    yield version, engine, InstanceStore(engine)
    engine.dispose()


def test_opens_at_head_with_every_instance_field(upgraded):
    version, engine, store = upgraded
    assert current_revision(engine) == SCHEMA_HEAD
    records = {record.id: record for record in store.list()}
    assert sorted(records) == sorted(row["id"] for row in DATA["INSTANCES"])
    for row in DATA["INSTANCES"]:
        record = records[row["id"]]
        for key, value in expected(row, version).items():
            assert getattr(record, key) == value, (version, row["name"], key)


def test_history_settings_and_app_settings_survive(upgraded):
    version, _engine, store = upgraded
    for row in DATA["INSTANCES"]:
        runs = [(r.started_at, r.ok, r.error_class, r.latency_ms, r.server_version, r.message)
                for r in store.history(row["id"], limit=100)]
        want = sorted((r[1:] for r in DATA["TEST_RUNS"] if r[0] == row["id"]), key=lambda r: r[0], reverse=True)
        assert runs == want, (version, row["name"])
    for key, value in DATA["SETTINGS"].items():
        assert store.get_setting(key) == value
    app = store.all_app_settings()
    if version >= "0002":
        for type_, field, value, secret, _at in DATA["APP_SETTINGS"]:
            if secret:
                assert field in app[type_].secret_fields
            else:
                assert app[type_].values[field] == value
    else:
        assert app == {}


def test_the_execution_log_survives(upgraded):
    from connhub.storage.runs import ActionLog

    version, engine, _store = upgraded
    log = ActionLog(engine)
    for row in DATA["INSTANCES"]:
        runs = [(r.action, r.params, r.started_at, r.duration_ms, r.ok, r.error_class, r.message, r.result_size,
                 r.preview, r.truncated, r.trigger) for r in log.history(row["id"], limit=100)]
        want = [r[1:] for r in DATA["ACTION_RUNS"] if r[0] == row["id"]] if version >= "0004" else []
        assert runs == sorted(want, key=lambda r: r[2], reverse=True), (version, row["name"])


def test_upgraded_database_stays_usable(upgraded):
    """After the upgrade the old rows can be changed, tested and deleted like new ones."""
    version, engine, store = upgraded
    first = store.get(DATA["INSTANCES"][1]["id"])
    first.tags = [*first.tags, f"upgraded-from-{version}"]
    first.monitor_enabled = True
    store.update(first)
    store.record_test(first.id, True, None, 1.0, "7.2.4", "Connected")
    again = store.get(first.id)
    assert again.tags[-1] == f"upgraded-from-{version}" and again.monitor_enabled and again.error_count == 0
    before = len(store.history(first.id, limit=100))
    store.delete(DATA["INSTANCES"][0]["id"])
    assert len(store.list()) == len(DATA["INSTANCES"]) - 1
    assert len(store.history(first.id, limit=100)) == before  # deleting one never cascades into another's
