"""The instance store on real databases: a SQLite file and the machine's PostgreSQL.

Every store test runs on both, because a team catalog on PostgreSQL must behave like the local file.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect, text

from connhub.storage.db import (
    MIGRATIONS,
    SCHEMA_HEAD,
    current_revision,
    open_engine,
    sqlite_url,
)
from connhub.storage.repository import (
    InstanceNotFound,
    InstanceRecord,
    InstanceStore,
    NameTaken,
)
from tests.support.services import require_service

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"
TABLES = {"instances", "test_runs", "settings", "app_settings", "alembic_version"}


# --- databases --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pg_database():
    """A throwaway PostgreSQL database for this module, dropped afterwards."""
    require_service("postgresql", "127.0.0.1", 5432)
    import psycopg

    name = f"connhub_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path):
    """The URL of an empty database (no tables at all)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    url = request.getfixturevalue("pg_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def engines():
    opened = []

    def open_(url):
        engine = open_engine(url)
        opened.append(engine)
        return engine

    yield open_
    for engine in opened:
        engine.dispose()


@pytest.fixture
def store(empty_url, engines) -> InstanceStore:
    return InstanceStore(engines(empty_url))


def redis_record(name="cache", **kw) -> InstanceRecord:
    return InstanceRecord(name=name, type="redis", config={"host": "127.0.0.1", "port": 6379, "tls": False},
                          secret_fields=["password"], summary="redis://127.0.0.1:6379", **kw)


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


# --- schema and migrations -----------------------------------------------------------------------------

def test_schema_head_is_alembics_newest_revision():
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(_alembic_config()).get_heads()
    assert heads == [SCHEMA_HEAD], "bump SCHEMA_HEAD in storage/db.py with every new migration"


def test_an_empty_database_is_brought_to_head(empty_url, engines):
    engine = engines(empty_url)
    assert TABLES <= set(inspect(engine).get_table_names())
    assert current_revision(engine) == SCHEMA_HEAD


def test_reopening_a_current_database_skips_migrations(empty_url, engines, monkeypatch):
    store = InstanceStore(engines(empty_url))
    saved = store.add(redis_record())

    import alembic.command

    def refuse(*args, **kwargs):
        raise AssertionError("Alembic ran on a database already at head")

    monkeypatch.setattr(alembic.command, "upgrade", refuse)
    reopened = InstanceStore(engines(empty_url))
    assert reopened.get(saved.id).name == "cache"


def test_upgrade_keeps_the_rows_of_an_old_database(empty_url, engines):
    """A database made at revision 0001 (with rows) opens with nothing lost."""
    from alembic import command

    old = create_engine(empty_url)
    config = _alembic_config()
    with old.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    stamp = "2024-03-01 10:00:00+00:00"
    with old.begin() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
        conn.execute(text(
            "INSERT INTO instances (id, name, type, workspace, config, secret_fields, summary, status, "
            "error_count, tags, created_at, updated_at) VALUES ('11111111-1111-1111-1111-111111111111', "
            "'old pg', 'postgres', 'default', '{\"host\": \"db\", \"port\": 5432}', '[\"password\"]', "
            "'postgres://db:5432', 'ok', 0, '[\"prod\"]', :t, :t)"), {"t": stamp})
        conn.execute(text("INSERT INTO test_runs (instance_id, started_at, ok, message) VALUES "
                          "('11111111-1111-1111-1111-111111111111', :t, :ok, 'Connected')"),
                     {"t": stamp, "ok": True})
        conn.execute(text("INSERT INTO settings (key, value) VALUES ('default_timeout', '7.0')"))
    old.dispose()

    store = InstanceStore(engines(empty_url))
    assert current_revision(store.engine) == SCHEMA_HEAD
    record = store.find("old pg")
    assert record.id == "11111111-1111-1111-1111-111111111111"
    assert record.config == {"host": "db", "port": 5432}
    assert record.secret_fields == ["password"]
    assert record.tags == ["prod"]
    assert record.created_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    assert [run.message for run in store.history(record.id)] == ["Connected"]
    assert store.get_setting("default_timeout") == "7.0"


def test_a_sqlite_file_is_created_in_the_data_dir(tmp_path, engines):
    data_dir = tmp_path / "nested"
    data_dir.mkdir()
    InstanceStore(engines(sqlite_url(data_dir))).add(redis_record())
    assert (data_dir / "connhub.db").is_file()


# --- instances -----------------------------------------------------------------------------------------

def test_add_list_get_and_find(store):
    b = store.add(redis_record("beta"))
    a = store.add(InstanceRecord(name="Alpha", type="http", config={"base_url": "https://x.example",
                                                                    "verify_tls": True},
                                 tags=["team"], environment="prod"))
    assert [r.name for r in store.list()] == ["Alpha", "beta"]  # case-insensitive order
    got = store.get(a.id)
    assert (got.type, got.config, got.tags, got.environment) == ("http", {"base_url": "https://x.example",
                                                                          "verify_tls": True}, ["team"], "prod")
    assert got.status == "untested" and got.error_count == 0
    assert store.find("beta").id == b.id
    assert store.find(b.id).name == "beta"  # an id works too
    with pytest.raises(InstanceNotFound, match="connhub list"):
        store.find("gamma")
    with pytest.raises(InstanceNotFound):
        store.get("no-such-id")


def test_list_filters_by_workspace(store):
    store.add(redis_record("a"))
    store.add(redis_record("b", workspace="team"))
    assert [r.name for r in store.list("team")] == ["b"]
    assert {r.name for r in store.list()} == {"a", "b"}
    with pytest.raises(InstanceNotFound):
        store.find("b")  # not in the default workspace
    assert store.find("b", workspace="team").name == "b"


def test_names_are_unique_per_workspace(store):
    store.add(redis_record("cache"))
    with pytest.raises(NameTaken) as caught:
        store.add(redis_record("cache"))
    assert str(caught.value) == ("An instance named 'cache' already exists in workspace 'default': choose "
                                 "another name")
    assert len(store.list()) == 1
    other = store.add(redis_record("cache", workspace="staging"))  # another workspace: fine
    assert store.get(other.id).workspace == "staging"
    assert store.name_taken("cache", "default")
    assert not store.name_taken("cache", "default", except_id=store.find("cache").id)


def test_update_changes_the_record_and_keeps_its_history(store):
    record = store.add(redis_record("cache"))
    store.record_test(record.id, True, None, 3.0, "Redis 7", "Connected")
    record.name = "cache-2"
    record.config = {"host": "10.0.0.5", "port": 6380}
    record.secret_fields = []
    record.tags = ["x"]
    record.environment = "staging"
    before = record.updated_at
    store.update(record)
    got = store.get(record.id)
    assert (got.name, got.config, got.secret_fields, got.tags, got.environment) == (
        "cache-2", {"host": "10.0.0.5", "port": 6380}, [], ["x"], "staging")
    assert got.updated_at >= before and got.created_at == record.created_at
    assert got.status == "ok" and len(store.history(record.id)) == 1


def test_update_to_a_taken_name_is_refused_and_changes_nothing(store):
    store.add(redis_record("a"))
    b = store.add(redis_record("b"))
    b.name = "a"
    with pytest.raises(NameTaken, match="choose another name"):
        store.update(b)
    assert store.get(b.id).name == "b"
    ghost = redis_record("ghost")
    with pytest.raises(InstanceNotFound):
        store.update(ghost)


def test_delete_removes_the_instance_and_its_test_runs(store):
    keep = store.add(redis_record("keep"))
    gone = store.add(redis_record("gone"))
    for record in (keep, gone):
        store.record_test(record.id, False, "refused", 1.0, None, "Connection refused")
    store.delete(gone.id)
    assert [r.name for r in store.list()] == ["keep"]
    with store.engine.connect() as conn:
        owners = conn.execute(text("SELECT instance_id FROM test_runs")).scalars().all()
    assert owners == [keep.id]
    store.delete(gone.id)  # deleting twice is harmless


def test_record_test_updates_status_and_error_count(store):
    record = store.add(redis_record())
    t0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    store.record_test(record.id, False, "refused", 2.5, None, "Connection refused", at=t0)
    failed = store.record_test(record.id, False, "timeout", None, None, "Timed out", at=t0 + timedelta(seconds=1))
    assert (failed.status, failed.error_count, failed.last_error_class, failed.last_message) == (
        "failing", 2, "timeout", "Timed out")
    assert failed.last_test_at == t0 + timedelta(seconds=1)
    ok = store.record_test(record.id, True, None, 4.25, "Redis 7.0.15", "Connected", at=t0 + timedelta(seconds=2))
    got = store.get(record.id)
    assert got == ok
    assert (got.status, got.error_count, got.last_error_class, got.last_latency_ms, got.last_server_version) == (
        "ok", 0, None, 4.25, "Redis 7.0.15")
    # A later failure keeps the last known server version and counts from zero again.
    later = store.record_test(record.id, False, "auth", 1.0, None, "WRONGPASS", at=t0 + timedelta(seconds=3))
    assert (later.error_count, later.last_server_version) == (1, "Redis 7.0.15")
    with pytest.raises(InstanceNotFound):
        store.record_test("no-such-id", True, None, 1.0, None, "x")


def test_history_is_newest_first_with_a_limit(store):
    record = store.add(redis_record())
    t0 = datetime(2025, 6, 1, tzinfo=UTC)
    for i in (2, 0, 4, 1, 3):  # recorded out of order: ordering is by time, not by insertion
        store.record_test(record.id, i % 2 == 0, None if i % 2 == 0 else "refused", float(i), None, f"run {i}",
                          at=t0 + timedelta(minutes=i))
    history = store.history(record.id, limit=3)
    assert [run.message for run in history] == ["run 4", "run 3", "run 2"]
    assert [run.ok for run in history] == [True, False, True]
    assert history[1].error_class == "refused" and history[0].latency_ms == 4.0
    assert len(store.history(record.id)) == 5
    assert store.history("no-such-id") == []


def test_timestamps_are_timezone_aware_utc(store):
    record = store.add(redis_record())
    for stamp in (record.created_at, record.updated_at):
        assert stamp.utcoffset() == timedelta(0)
    got = store.get(record.id)
    assert got.created_at.utcoffset() == timedelta(0)
    assert abs(got.created_at - datetime.now(UTC)) < timedelta(minutes=1)
    # A time given in another zone is the same instant when read back, in UTC.
    karachi = datetime(2025, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    tested = store.record_test(record.id, True, None, 1.0, None, "Connected", at=karachi)
    run = store.history(record.id)[0]
    for stamp in (tested.last_test_at, store.get(record.id).last_test_at, run.started_at):
        assert stamp == karachi
        assert stamp.utcoffset() == timedelta(0)


def test_settings_round_trip(store):
    assert store.get_setting("default_timeout") is None
    assert store.get_setting("default_timeout", "10.0") == "10.0"
    store.set_setting("default_timeout", "5.0")
    store.set_setting("theme", "dark")
    store.set_setting("default_timeout", "7.5")  # overwrite
    assert store.get_setting("default_timeout") == "7.5"
    assert store.get_setting("theme") == "dark"



def test_times_are_utc_on_a_postgresql_server_in_another_time_zone(pg_database, engines):
    """A shared team server may run in local time: connhub still hands out UTC."""
    _empty_postgres(pg_database)
    store = InstanceStore(engines(pg_database + "?options=-c%20timezone%3DAsia/Karachi"))
    record = store.add(redis_record())
    store.record_test(record.id, True, None, 1.0, None, "Connected")
    got = store.get(record.id)
    for stamp in (got.created_at, got.updated_at, got.last_test_at, store.history(record.id)[0].started_at):
        assert stamp.utcoffset() == timedelta(0)
    assert got.created_at == record.created_at


def test_concurrent_failures_are_all_counted(empty_url, engines):
    """The GUI and a CLI `test --all` may record at the same moment: no failure may be lost."""
    from concurrent.futures import ThreadPoolExecutor

    first, second = InstanceStore(engines(empty_url)), InstanceStore(engines(empty_url))
    record = first.add(redis_record())

    def fail(store):
        store.record_test(record.id, False, "refused", 1.0, None, "Connection refused")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(fail, [first, second] * 15))
    got = first.get(record.id)
    assert got.error_count == 30
    assert len(first.history(record.id, limit=100)) == 30



def test_opening_a_new_database_from_several_processes_at_once(empty_url, engines):
    """The window and a script (or parallel CI jobs) may be the first to open a new database together."""
    import subprocess
    import sys

    script = ("import sys, time; import alembic.command, alembic.config; from connhub.storage.db import open_engine; "
              "time.sleep(max(0, float(sys.argv[2]) - time.time())); open_engine(sys.argv[1]).dispose()")
    start = f"{time.time() + 1.5:.3f}"  # all of them migrate at the same moment, once imports are done
    procs = [subprocess.Popen([sys.executable, "-c", script, empty_url, start], stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], "\n".join(errors)
    store = InstanceStore(engines(empty_url))
    assert current_revision(store.engine) == SCHEMA_HEAD and store.list() == []


# --- migration 0002: events on instances, app-level settings ---------------------------------------------

def test_upgrade_from_0001_adds_events_and_app_settings_and_loses_nothing(empty_url, engines):
    """A 0001 database with a row: after the upgrade the row is whole, its events are "not recorded yet"
    (None, not an empty list) and the new columns and table take writes."""
    from alembic import command

    old = create_engine(empty_url)
    config = _alembic_config()
    with old.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with old.begin() as conn:
        conn.execute(text(
            "INSERT INTO instances (id, name, type, workspace, config, secret_fields, summary, status, "
            "error_count, tags, environment, created_at, updated_at) VALUES ('22222222-2222-2222-2222-222222222222', "
            "'old gh', 'github', 'default', '{\"base_url\": \"https://api.github.com\"}', '[\"token\"]', "
            "'https://api.github.com', 'failing', 3, '[]', 'prod', :t, :t)"), {"t": "2024-03-01 10:00:00+00:00"})
    old.dispose()

    engine = engines(empty_url)
    assert current_revision(engine) == SCHEMA_HEAD
    columns = {c["name"] for c in inspect(engine).get_columns("instances")}
    assert "events" in columns
    assert {c["name"] for c in inspect(engine).get_columns("app_settings")} == {"type", "field", "value", "secret",
                                                                                "updated_at"}
    store = InstanceStore(engine)
    record = store.find("old gh")
    assert (record.config, record.secret_fields, record.error_count, record.environment) == (
        {"base_url": "https://api.github.com"}, ["token"], 3, "prod")
    assert record.events is None  # saved before connhub kept events: the type's manifest stands in

    record.events = [{"type": "push", "description": "Commits were pushed.", "schema": "events/push.json"}]
    store.update(record)
    assert store.get(record.id).events == record.events
    store.save_app_settings("github", {"cfg:proxy": "http://proxy:3128"}, {"cfg:oauth_client_secret"})
    assert store.app_settings("github").values == {"cfg:proxy": "http://proxy:3128"}


def test_downgrade_to_0001_and_back(empty_url, engines):
    """The migration is reversible: down to 0001 drops only what 0002 added, up again restores the shape."""
    from alembic import command

    store = InstanceStore(engines(empty_url))
    saved = store.add(redis_record(events=[]))
    engine = create_engine(empty_url)
    config = _alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0001")
        assert "app_settings" not in inspect(engine).get_table_names()
        assert "events" not in {c["name"] for c in inspect(engine).get_columns("instances")}
    finally:
        engine.dispose()
    store.engine.dispose()
    again = InstanceStore(engines(empty_url))
    assert again.get(saved.id).name == "cache" and again.get(saved.id).events is None


# --- migration 0003: monitoring, "ask every time" secrets, OAuth re-auth -----------------------------------

def test_upgrade_from_0002_keeps_rows_and_defaults_the_new_columns(empty_url, engines):
    """A 0002 row comes out whole, unmonitored, keyring-backed and not needing a sign-in; the new columns
    round-trip through `update`."""
    from alembic import command

    old = create_engine(empty_url)
    config = _alembic_config()
    with old.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0002")
    with old.begin() as conn:
        conn.execute(text(
            "INSERT INTO instances (id, name, type, workspace, config, secret_fields, summary, status, "
            "error_count, tags, environment, events, created_at, updated_at) VALUES "
            "('33333333-3333-3333-3333-333333333333', 'old cache', 'redis', 'default', '{\"host\": \"h\"}', "
            "'[\"password\"]', 'h:6379', 'ok', 0, '[\"a\"]', 'staging', '[]', :t, :t)"),
            {"t": "2025-03-01 10:00:00+00:00"})
    old.dispose()

    store = InstanceStore(engines(empty_url))
    assert current_revision(store.engine) == SCHEMA_HEAD
    record = store.find("old cache")
    assert (record.config, record.secret_fields, record.tags, record.environment, record.events) == (
        {"host": "h"}, ["password"], ["a"], "staging", [])
    assert (record.monitor_enabled, record.monitor_interval_min, record.monitor_next_run_at,
            record.secret_mode, record.needs_reauth) == (False, 15, None, "keyring", False)
    record.monitor_enabled, record.monitor_interval_min, record.secret_mode = True, 5, "session"
    record.needs_reauth = True
    record.monitor_next_run_at = datetime(2025, 3, 1, 10, 5, tzinfo=UTC)
    store.update(record)
    again = store.get(record.id)
    assert (again.monitor_enabled, again.monitor_interval_min, again.monitor_next_run_at, again.secret_mode,
            again.needs_reauth) == (True, 5, datetime(2025, 3, 1, 10, 5, tzinfo=UTC), "session", True)


def test_events_round_trip_and_copy_on_update(store):
    events = [{"type": "order.created", "description": "An order was placed.", "schema": "events/order.json"},
              {"type": "ping", "description": "Set-up check.", "schema": "events/ping.json"}]
    record = store.add(redis_record(events=events))
    assert store.get(record.id).events == events
    empty = store.add(redis_record(name="no events", events=[]))
    assert store.get(empty.id).events == []  # "the type has none", kept apart from None
    record.events = events[:1]
    store.update(record)
    assert store.get(record.id).events == events[:1]


def test_app_settings_round_trip(store):
    assert store.app_settings("github").values == {} and store.all_app_settings() == {}
    store.save_app_settings("github", {"cfg:proxy": "http://p:3128", "cfg:retries": 3, "cfg:verbose": True},
                            {"cfg:oauth_client_secret"})
    store.save_app_settings("slack", {"cfg:proxy": "${env:HTTPS_PROXY}"})
    github = store.app_settings("github")
    assert github.values == {"cfg:proxy": "http://p:3128", "cfg:retries": 3, "cfg:verbose": True}  # JSON types kept
    assert github.secret_fields == ["cfg:oauth_client_secret"]
    assert set(store.all_app_settings()) == {"github", "slack"}
    assert store.all_app_settings()["slack"].values == {"cfg:proxy": "${env:HTTPS_PROXY}"}

    # Overwrite one, remove two (one of them a secret marker); the other type is untouched.
    store.save_app_settings("github", {"cfg:retries": 5}, remove={"cfg:verbose", "cfg:oauth_client_secret"})
    github = store.app_settings("github")
    assert github.values == {"cfg:proxy": "http://p:3128", "cfg:retries": 5} and github.secret_fields == []
    assert store.app_settings("slack").values == {"cfg:proxy": "${env:HTTPS_PROXY}"}
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT type, field, secret FROM app_settings ORDER BY type, field")).all()
    assert [tuple(r) for r in rows] == [("github", "cfg:proxy", False), ("github", "cfg:retries", False),
                                        ("slack", "cfg:proxy", False)]


def test_get_many_reads_those_that_still_exist_in_any_workspace(store):
    """What Test all refreshes its rows with: one query per 500 ids, a deleted one simply absent."""
    made = [store.add(InstanceRecord(name=f"r{i}", type="redis", workspace="default" if i % 2 else "prod"))
            for i in range(520)]  # more than one IN list of 500
    store.delete(made[2].id)
    found = store.get_many([r.id for r in made] + ["no-such-id", made[0].id])
    assert set(found) == {r.id for r in made} - {made[2].id}
    assert all(found[r.id].name == r.name and found[r.id].workspace == r.workspace for r in made if r is not made[2])
    assert store.get_many([]) == {}
