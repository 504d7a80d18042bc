"""SQLite against real database files: what is reported, what is refused, and that the file never changes."""

from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager

import pytest

from connhub.core.fields import defaults
from connhub.core.urls import UrlError, parse_url
from tests.integrations import assert_builtin_ok, assert_failure, cancel_quickly
from tests.integrations.sqlite.conftest import as_ordinary_user, fingerprint, make_database, nobody


@contextmanager
def locked(path):
    """Another connection holding an exclusive lock: nobody else may read or write until it lets go."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_read_only_reports_version_and_schema(run, database):
    before = fingerprint(database)
    result = run("sqlite", {"path": str(database), "mode": "ro"})
    assert result.ok, result
    assert result.server_version == f"SQLite {sqlite3.sqlite_version}"
    assert result.details == {"path": str(database), "tables": "2", "journal_mode": "delete",
                              "access": "read-only"}
    assert [s.name for s in result.stages] == ["connect", "probe"]
    assert fingerprint(database) == before


def test_read_write_checks_with_a_write_that_is_rolled_back(run, tmp_path):
    database = make_database(tmp_path / "wal.db", journal_mode="wal")
    before = fingerprint(database)
    result = run("sqlite", {"path": str(database), "mode": "rw"})
    assert result.ok, result
    assert (result.details["journal_mode"], result.details["access"]) == ("wal", "read-write")
    assert fingerprint(database) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wal.db"]  # no journal, -wal or -shm left behind


def test_missing_file_is_not_found_and_not_created(run, tmp_path):
    for mode in ("ro", "rw"):
        result = run("sqlite", {"path": str(tmp_path / "nope.db"), "mode": mode})
        assert_failure(result, "not_found", stage="connect")
        assert "never creates" in result.message
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_not_found(run, tmp_path):
    result = run("sqlite", {"path": str(tmp_path / "gone" / "app.db")})
    assert_failure(result, "not_found", stage="connect")
    assert "folder" in result.message


def test_a_file_that_is_not_a_database_is_config(run, tmp_path):
    path = tmp_path / "random.bin"
    path.write_bytes(os.urandom(4096))
    result = run("sqlite", {"path": str(path)})
    assert_failure(result, "config", stage="probe")
    assert "is not a SQLite database" in result.message


def test_a_folder_is_config(run, tmp_path):
    for mode in ("ro", "rw"):
        result = run("sqlite", {"path": str(tmp_path), "mode": mode})
        assert_failure(result, "config")
        assert "is a folder" in result.message


def test_read_only_file_with_read_write_requested_is_permission(run, open_dir):
    """chmod 0444. As root the test runs as `nobody`: root may write any file, so it would (rightly) pass."""
    database = make_database(open_dir / "app.db")
    database.chmod(0o444)
    open_dir.chmod(0o777)  # the folder is writable: only the file is read-only
    with as_ordinary_user():
        read_write = run("sqlite", {"path": str(database), "mode": "rw"})
        read_only = run("sqlite", {"path": str(database), "mode": "ro"})
    assert_failure(read_write, "permission", stage="probe")
    assert "read-only for this user" in read_write.message
    assert read_only.ok, read_only


def test_read_only_folder_with_read_write_requested_is_permission(run, open_dir):
    """The file is writable, its folder is not: SQLite could not create its journal, so writes would fail."""
    database = make_database(open_dir / "app.db")
    if os.geteuid() == 0:
        os.chown(database, nobody().pw_uid, -1)  # `nobody` owns the file, root the 0755 folder
    else:
        open_dir.chmod(0o555)
    with as_ordinary_user():
        result = run("sqlite", {"path": str(database), "mode": "rw"})
    assert_failure(result, "permission", stage="probe")
    assert f"may not write in the folder {open_dir}" in result.message


def test_unreadable_file_is_permission(run, open_dir):
    database = make_database(open_dir / "app.db")
    database.chmod(0o200)
    with as_ordinary_user():
        result = run("sqlite", {"path": str(database)})
    assert_failure(result, "permission", stage="connect")
    assert f"may not read {database}" in result.message


def test_locked_database_times_out_after_the_busy_timeout(run, database):
    with locked(database):
        result = run("sqlite", {"path": str(database), "busy_timeout": 0.2}, timeout=5)
    assert_failure(result, "timeout", stage="probe")
    assert "locked by another connection for 0.2 s" in result.message


def test_locked_database_times_out_on_time(run_timed, database):
    with locked(database):
        result, elapsed = run_timed("sqlite", {"path": str(database), "busy_timeout": 60}, timeout=1.0)
    assert_failure(result, "timeout")
    assert elapsed <= 1.1, elapsed


def test_cancel_stops_at_once(registry, database):
    with locked(database):
        assert cancel_quickly(registry, "sqlite", {"path": str(database), "busy_timeout": 60}) < 0.3


@pytest.mark.parametrize(("config", "words"), [
    ({"path": "app.db"}, "absolute path"),
    ({"path": ":memory:"}, "in-memory"),
    ({"path": "/:memory:"}, "in-memory"),  # what sqlite:///:memory: gives
    ({"path": ""}, "Choose the database file"),
    ({"path": "/srv/app.db", "mode": "rwc"}, "never creates"),
])
def test_settings_refused_before_touching_the_disk(run, config, words):
    result = run("sqlite", config)
    assert_failure(result, "config")
    assert words in result.message


# --- connection URLs --------------------------------------------------------------------------------------

def from_url(registry, url: str) -> tuple[dict, list[str]]:
    """Form values from a URL as the Hub builds them: the fields' defaults, then what the URL says."""
    entry = registry.get("sqlite")
    parsed = parse_url(entry.manifest, entry.specs, url)
    return {**defaults(entry.specs), **parsed.values}, parsed.unknown_params


@pytest.mark.parametrize(("url", "expected", "unknown"), [
    ("sqlite:///srv/app%20data/caf%C3%A9.db", {"path": "/srv/app data/café.db", "mode": "ro"}, []),
    ("sqlite:////srv/app.db", {"path": "/srv/app.db"}, []),  # SQLAlchemy's absolute form
    ("sqlite:///srv/app.db?mode=rw", {"path": "/srv/app.db", "mode": "rw"}, []),
    ("sqlite:///srv/app.db?cache=shared&mode=ro", {"path": "/srv/app.db", "mode": "ro"}, ["cache"]),
])
def test_url(registry, url, expected, unknown):
    values, unknown_params = from_url(registry, url)
    assert {key: values.get(key) for key in expected} == expected
    assert values["busy_timeout"] == 5
    assert unknown_params == unknown


@pytest.mark.parametrize(("url", "words"), [
    ("sqlite://srv/app.db", "three slashes"),  # a host where the path should start
    ("sqlite://alice:pw@/srv/app.db", "user name"),
    ("sqlite:///srv/app.db?mode=rwc", "one of"),
    ("sqlite:///srv/100%.db", "%25"),
])
def test_malformed_url_is_refused(registry, url, words):
    with pytest.raises(UrlError) as caught:
        from_url(registry, url)
    assert words in str(caught.value)
    assert "pw" not in str(caught.value)


def test_file_from_a_url_is_tested(registry, run, database):
    values, _ = from_url(registry, f"sqlite://{database}?mode=rw")
    result = run("sqlite", values)
    assert result.ok, result
    assert result.details["access"] == "read-write"


def test_connection_info(registry):
    integration = registry.get("sqlite").integration()
    info = integration.connection_info({"path": "/srv/app data/app.db", "mode": "rw"})
    assert info.display_url == "sqlite:///srv/app%20data/app.db"
    assert (info.host, info.port, info.database, info.user) == (None, None, "/srv/app data/app.db", None)
    assert integration.connection_info({}).display_url == "SQLite"


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "sqlite")
