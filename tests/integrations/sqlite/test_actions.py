"""SQLite's actions on real database files (conftest's `database`: tables users and orders, alice and bob)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from connhub.core.actions import InvalidParams
from tests.integrations.actions_support import (
    act,
    act_timed,
    assert_failed,
    assert_ok,
    cancel_action,
    run_saved,
    saved_hub,
)
from tests.integrations.sqlite.conftest import fingerprint

SLOW = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
        "SELECT count(*) FROM c")


def rw(path) -> dict:
    return {"path": str(path), "mode": "rw"}


def ro(path) -> dict:
    return {"path": str(path), "mode": "ro"}


def test_the_row_inserted_comes_back_from_a_query(registry, database, fake):
    name = fake.name()
    inserted = assert_ok(act(registry, "sqlite", "execute", {"sql": "INSERT INTO users (name) VALUES (?), (?)",
                                                             "parameters": [name, "carol"]}, rw(database)))
    assert inserted == {"rows_affected": 2}
    got = assert_ok(act(registry, "sqlite", "query", {"sql": "SELECT id, name FROM users WHERE name = ?",
                                                      "parameters": [name]}, ro(database)))
    assert got == {"columns": ["id", "name"], "rows": [[3, name]], "row_count": 1, "truncated": False}
    with sqlite3.connect(database) as conn:  # committed: another connection sees it
        assert conn.execute("SELECT name FROM users WHERE id = 3").fetchone() == (name,)


def test_a_write_inside_query_is_refused_and_the_file_is_unchanged(registry, database, tmp_path):
    before = fingerprint(database)
    for sql in ("INSERT INTO users (name) VALUES ('mallory')", "CREATE TABLE t2 (id)", "DROP TABLE orders",
                "UPDATE users SET name = 'x' RETURNING id", "PRAGMA query_only = OFF", "PRAGMA user_version = 7",
                f"VACUUM INTO '{tmp_path / 'copy.db'}'", f"ATTACH '{tmp_path / 'new.db'}' AS other"):
        done = act(registry, "sqlite", "query", {"sql": sql}, rw(database))
        assert_failed(done, "permission")
        assert "read-only" in done.message and "execute" in done.message
    assert fingerprint(database)[0] == before[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db"]  # query_only alone let these create files
    schema = assert_ok(act(registry, "sqlite", "query", {"sql": "PRAGMA table_info(users)"}, ro(database)))
    assert [row[1] for row in schema["rows"]] == ["id", "name"]  # pragmas that read still work


def test_execute_on_a_read_only_instance_is_refused_and_says_which_setting(registry, database):
    before = fingerprint(database)
    done = act(registry, "sqlite", "execute", {"sql": "DELETE FROM users"}, ro(database))
    assert_failed(done, "permission")
    assert "Read and write" in done.message
    assert fingerprint(database)[0] == before[0]


def test_max_rows_cuts_the_answer_and_says_so(registry, database):
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) SELECT x FROM c"
    got = assert_ok(act(registry, "sqlite", "query", {"sql": sql, "max_rows": 1200}, ro(database)))
    assert got["row_count"] == 1200 and got["truncated"] and got["rows"][-1] == [1200]
    blob = assert_ok(act(registry, "sqlite", "query", {"sql": "SELECT x'00ff', 1.5, NULL"}, ro(database)))
    assert blob["rows"] == [["\\x00ff", 1.5, None]]


def test_list_tables_and_an_unknown_schema(registry, database):
    listed = assert_ok(act(registry, "sqlite", "list_tables", {}, ro(database)))
    assert listed["rows"] == [["main", "orders", "table"], ["main", "users", "table"]]
    assert_failed(act(registry, "sqlite", "list_tables", {"schema": 'no"pe'}, ro(database)), "not_found")


def test_sql_errors_are_classified(registry, database):
    missing = act(registry, "sqlite", "query", {"sql": "SELECT * FROM no_such_table_here"}, ro(database))
    assert_failed(missing, "not_found")
    assert "no_such_table_here" in missing.message
    assert_failed(act(registry, "sqlite", "query", {"sql": "SELEC 1"}, ro(database)), "config")
    assert_failed(act(registry, "sqlite", "query", {"sql": "SELECT ?, ?", "parameters": [1]}, ro(database)), "config")
    assert_failed(act(registry, "sqlite", "execute", {"sql": "DELETE FROM users; DELETE FROM orders"}, rw(database)),
                  "config")
    assert len(assert_ok(act(registry, "sqlite", "query", {"sql": "SELECT * FROM users"}, ro(database)))["rows"]) == 2


def test_bad_params_are_per_field_and_nothing_is_run(registry, database):
    before = fingerprint(database)
    with pytest.raises(InvalidParams) as caught:
        act(registry, "sqlite", "execute", {"sql": "DELETE FROM users", "parameters": [[1]], "where": "x"},
            rw(database))
    assert set(caught.value.errors) == {"parameters", "where"}
    assert fingerprint(database) == before


def test_a_missing_file_is_not_found_and_not_created(registry, tmp_path):
    done, took = act_timed(registry, "sqlite", "query", {"sql": "SELECT 1"}, rw(tmp_path / "gone.db"), timeout=2)
    assert_failed(done, "not_found")
    assert took < 2 and not (tmp_path / "gone.db").exists()


def test_a_runaway_query_ends_at_the_timeout_and_a_cancel_interrupts_it(registry, database):
    done, took = act_timed(registry, "sqlite", "query", {"sql": SLOW}, ro(database), timeout=0.5)
    assert_failed(done, "timeout")
    assert took < 2
    assert cancel_action(registry, "sqlite", "query", {"sql": SLOW}, ro(database), after=0.3) < 0.2
    time.sleep(0.3)  # the interrupted statement ends and its thread closes the file
    # no reader is left holding the file: a write that may not wait for a lock goes through
    written = act(registry, "sqlite", "execute", {"sql": "DELETE FROM orders"}, {**rw(database), "busy_timeout": 0})
    assert_ok(written)


def test_a_saved_instance_runs_through_the_hub_and_is_logged(registry, tmp_path, memory_keyring, database):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("sqlite", "app db", rw(database))
        wrote = run_saved(hub, record, "execute", {"sql": "UPDATE users SET name = ? WHERE id = 1",
                                                   "parameters": ["alicia"]})
        read = run_saved(hub, record, "query", {"sql": "SELECT name FROM users ORDER BY id"})
        assert wrote.ok and wrote.result["rows_affected"] == 1
        assert read.ok and read.result["rows"] == [["alicia"], ["bob"]]
        assert [(r.action, r.ok) for r in hub.actions.history(record.id)] == [("query", True), ("execute", True)]
