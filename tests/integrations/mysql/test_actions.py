"""MySQL/MariaDB actions against the machine's MariaDB (root, empty password, database `test`)."""

from __future__ import annotations

import os
import uuid

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
from tests.integrations.mysql.conftest import LOCAL_HOST, LOCAL_PORT
from tests.support.services import free_port, require_service

LOCAL = {"host": LOCAL_HOST, "port": LOCAL_PORT, "database": "test", "user": "root", "ssl_mode": "DISABLED"}


@pytest.fixture
def table(registry):
    require_service("MariaDB", LOCAL_HOST, LOCAL_PORT)
    name = f"act_{uuid.uuid4().hex[:10]}"
    assert_ok(act(registry, "mysql", "execute",
                  {"sql": f"CREATE TABLE {name} (id INT PRIMARY KEY, name VARCHAR(200), price DECIMAL(8,2), "
                          "seen DATETIME)"}, LOCAL))
    yield name
    act(registry, "mysql", "execute", {"sql": f"DROP TABLE IF EXISTS {name}"}, LOCAL)


def count(registry, table_name: str) -> int:
    return assert_ok(act(registry, "mysql", "query", {"sql": f"SELECT COUNT(*) FROM {table_name}"},
                         LOCAL))["rows"][0][0]


def test_the_row_inserted_comes_back_from_a_query(registry, table, fake):
    name = fake.name() + " 100% €"
    inserted = assert_ok(act(registry, "mysql", "execute", {
        "sql": f"INSERT INTO {table} VALUES (%s, %s, %s, %s), (2, 'other', 3, NULL)",
        "parameters": [1, name, "12.50", "2024-05-01 10:20:30"]}, LOCAL))
    assert inserted["rows_affected"] == 2
    got = assert_ok(act(registry, "mysql", "query", {
        "sql": f"SELECT id, name, price, seen FROM {table} WHERE name = %s", "parameters": [name]}, LOCAL))
    assert got == {"columns": ["id", "name", "price", "seen"], "rows": [[1, name, "12.50", "2024-05-01T10:20:30"]],
                   "row_count": 1, "truncated": False}
    literal = assert_ok(act(registry, "mysql", "query", {"sql": "SELECT '100%' AS pct"}, LOCAL))
    assert literal["rows"] == [["100%"]]  # no parameters: a % in the text is not a placeholder


def test_a_write_inside_query_is_refused_and_changes_nothing(registry, table):
    for sql in (f"INSERT INTO {table} (id) VALUES (7)", f"CREATE TABLE {table}_2 (id INT)", f"DROP TABLE {table}",
                f"SELECT * FROM {table} INTO\n OUTFILE '/tmp/{table}.txt'", "SELECT 1 into dumpfile '/tmp/x'"):
        done = act(registry, "mysql", "query", {"sql": sql}, LOCAL)
        assert_failed(done, "permission")
        assert "read-only" in done.message and "execute" in done.message
    assert count(registry, table) == 0 and not os.path.exists(f"/tmp/{table}.txt")
    names = [row[1] for row in assert_ok(act(registry, "mysql", "list_tables", {}, LOCAL))["rows"]]
    assert table in names and f"{table}_2" not in names


def test_max_rows_cuts_the_answer_and_says_so(registry):
    require_service("MariaDB", LOCAL_HOST, LOCAL_PORT)
    got = assert_ok(act(registry, "mysql", "query", {"sql": "SELECT seq FROM seq_1_to_5000", "max_rows": 1200},
                        LOCAL))
    assert got["row_count"] == 1200 and got["truncated"] and got["rows"][-1] == [1200]
    whole = assert_ok(act(registry, "mysql", "query", {"sql": "SELECT seq FROM seq_1_to_3"}, LOCAL))
    assert whole["rows"] == [[1], [2], [3]] and not whole["truncated"]


def test_list_tables_names_the_new_table_and_filters_by_database(registry, table):
    listed = assert_ok(act(registry, "mysql", "list_tables", {}, LOCAL))
    assert ["test", table, "table"] in listed["rows"]
    assert {row[0] for row in listed["rows"]} == {"test"}
    system = assert_ok(act(registry, "mysql", "list_tables", {"schema": "mysql"}, LOCAL))
    assert ["mysql", "user", "view"] in system["rows"] or any(row[1] == "user" for row in system["rows"])


def test_sql_errors_are_classified_with_the_servers_words(registry):
    require_service("MariaDB", LOCAL_HOST, LOCAL_PORT)
    missing = act(registry, "mysql", "query", {"sql": "SELECT * FROM no_such_table_here"}, LOCAL)
    assert_failed(missing, "not_found")
    assert "no_such_table_here" in missing.message
    assert_failed(act(registry, "mysql", "query", {"sql": "SELEC 1"}, LOCAL), "config")
    assert_failed(act(registry, "mysql", "query", {"sql": "SELECT %s, %s", "parameters": [1]}, LOCAL), "config")


def test_bad_params_are_per_field_and_nothing_is_sent(registry, table):
    with pytest.raises(InvalidParams) as caught:
        act(registry, "mysql", "query", {"sql": "", "max_rows": 100001, "parameters": [{"a": 1}]}, LOCAL)
    assert set(caught.value.errors) == {"sql", "max_rows", "parameters"}
    with pytest.raises(InvalidParams):
        act(registry, "mysql", "execute", {"sql": f"INSERT INTO {table} (id) VALUES (1)", "extra": 1}, LOCAL)
    assert count(registry, table) == 0


def test_a_closed_port_is_refused_within_the_timeout(registry):
    done, took = act_timed(registry, "mysql", "query", {"sql": "SELECT 1"}, {**LOCAL, "port": free_port()},
                           timeout=2)
    assert_failed(done, "refused")
    assert took < 2


def test_a_wrong_password_is_auth_and_not_shown(registry, local_account, fake):
    config = {"host": local_account.host, "port": local_account.port, "database": "test",
              "user": local_account.user, "ssl_mode": "DISABLED"}
    wrong = fake.password(length=16)
    assert_failed(act(registry, "mysql", "query", {"sql": "SELECT 1"}, config, {"password": wrong}), "auth", wrong)
    right = assert_ok(act(registry, "mysql", "query", {"sql": "SELECT CURRENT_USER()"}, config,
                          {"password": local_account.password}))
    assert right["rows"][0][0].startswith(local_account.user + "@")


def test_a_slow_query_ends_at_the_timeout_and_a_cancel_lands_at_once(registry):
    require_service("MariaDB", LOCAL_HOST, LOCAL_PORT)
    done, took = act_timed(registry, "mysql", "query", {"sql": "SELECT SLEEP(20)"}, LOCAL, timeout=1)
    assert_failed(done, "timeout")
    assert took < 3
    assert cancel_action(registry, "mysql", "query", {"sql": "SELECT SLEEP(20)"}, LOCAL) < 0.5


def test_a_saved_instance_runs_through_the_hub_and_is_logged(registry, tmp_path, memory_keyring, table):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("mysql", "local maria", dict(LOCAL))
        wrote = run_saved(hub, record, "execute", {"sql": f"INSERT INTO {table} (id, name) VALUES (5, 'five')"})
        read = run_saved(hub, record, "query", {"sql": f"SELECT name FROM {table} WHERE id = %s", "parameters": [5]})
        assert wrote.ok and wrote.result["rows_affected"] == 1
        assert read.ok and read.result["rows"] == [["five"]]
        assert [(r.action, r.ok) for r in hub.actions.history(record.id)] == [("query", True), ("execute", True)]
