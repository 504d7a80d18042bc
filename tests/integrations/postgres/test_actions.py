"""PostgreSQL's actions against the machine's server (trust auth) and the throwaway password cluster."""

from __future__ import annotations

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
from tests.integrations.postgres.test_postgres import pg  # noqa: F401 - the password cluster fixture
from tests.support.services import free_port, require_service

LOCAL = {"host": "127.0.0.1", "port": 5432, "database": "test", "user": "postgres", "sslmode": "disable"}


@pytest.fixture
def table(registry):
    """A fresh table with one row; dropped afterwards."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"act_{uuid.uuid4().hex[:10]}"
    assert_ok(act(registry, "postgres", "execute",
                  {"sql": f"CREATE TABLE {name} (id int PRIMARY KEY, name text, price numeric(8,2))"}, LOCAL))
    yield name
    act(registry, "postgres", "execute", {"sql": f"DROP TABLE IF EXISTS {name}"}, LOCAL)


def count(registry, table_name: str) -> int:
    return assert_ok(act(registry, "postgres", "query", {"sql": f"SELECT count(*) FROM {table_name}"},
                         LOCAL))["rows"][0][0]


def test_the_row_inserted_comes_back_from_a_query(registry, table, fake):
    name = fake.name()
    inserted = assert_ok(act(registry, "postgres", "execute", {
        "sql": f"INSERT INTO {table} VALUES ($1, $2, $3), ($4, $5, $6)",
        "parameters": [1, name, "12.50", 2, "other", "3"]}, LOCAL))
    assert inserted["rows_affected"] == 2 and inserted["status"] == "INSERT 0 2"
    got = assert_ok(act(registry, "postgres", "query", {
        "sql": f"SELECT id, name, price FROM {table} WHERE name = $1", "parameters": [name]}, LOCAL))
    assert got == {"columns": ["id", "name", "price"], "rows": [[1, name, "12.50"]], "row_count": 1,
                   "truncated": False}


def test_a_write_inside_query_is_refused_and_changes_nothing(registry, table):
    for sql in (f"INSERT INTO {table} VALUES (7, 'x', 1)",
                f"WITH gone AS (DELETE FROM {table} RETURNING id) SELECT * FROM gone",
                f"CREATE TABLE {table}_2 (id int)", f"/* x */ -- y\n COPY (SELECT 1) TO '/tmp/{table}.txt'",
                "SELECT set_config('transaction_read_only', 'off', true)"):
        done = act(registry, "postgres", "query", {"sql": sql}, LOCAL)
        assert_failed(done, "permission")
        assert "read-only" in done.message and "execute" in done.message
    assert count(registry, table) == 0
    assert [r[1] for r in assert_ok(act(registry, "postgres", "list_tables", {"schema": "public"}, LOCAL))["rows"]
            ].count(f"{table}_2") == 0


def test_max_rows_cuts_the_answer_and_says_so(registry):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    got = assert_ok(act(registry, "postgres", "query", {"sql": "SELECT n FROM generate_series(1, 5000) n",
                                                         "max_rows": 1200}, LOCAL))
    assert got["row_count"] == 1200 and got["truncated"] and got["rows"][-1] == [1200]
    whole = assert_ok(act(registry, "postgres", "query", {"sql": "SELECT n FROM generate_series(1, 3) n"}, LOCAL))
    assert whole["rows"] == [[1], [2], [3]] and not whole["truncated"]


def test_list_tables_names_the_new_table_and_filters_by_schema(registry, table):
    listed = assert_ok(act(registry, "postgres", "list_tables", {}, LOCAL))
    assert listed["columns"] == ["schema", "name", "type"]
    assert ["public", table, "table"] in listed["rows"]
    assert not any(row[0] in ("pg_catalog", "information_schema") for row in listed["rows"])
    only = assert_ok(act(registry, "postgres", "list_tables", {"schema": "pg_catalog"}, LOCAL))
    assert only["rows"] and {row[0] for row in only["rows"]} == {"pg_catalog"}


def test_sql_errors_are_classified_with_the_servers_words(registry):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    missing = act(registry, "postgres", "query", {"sql": "SELECT * FROM no_such_table_here"}, LOCAL)
    assert_failed(missing, "not_found")
    assert "no_such_table_here" in missing.message
    assert_failed(act(registry, "postgres", "query", {"sql": "SELEC 1"}, LOCAL), "config")
    assert_failed(act(registry, "postgres", "query", {"sql": "SELECT $1::int", "parameters": []}, LOCAL), "config")


def test_bad_params_are_per_field_and_nothing_is_sent(registry, table):
    with pytest.raises(InvalidParams) as caught:
        act(registry, "postgres", "query", {"sql": "", "max_rows": 0, "nope": 1}, LOCAL)
    assert set(caught.value.errors) == {"sql", "max_rows", "nope"}
    with pytest.raises(InvalidParams) as caught:
        act(registry, "postgres", "execute", {"sql": f"INSERT INTO {table} VALUES (1, 'x', 1)",
                                              "parameters": "1"}, LOCAL)
    assert set(caught.value.errors) == {"parameters"}
    assert count(registry, table) == 0


def test_a_closed_port_is_refused_within_the_timeout(registry):
    done, took = act_timed(registry, "postgres", "query", {"sql": "SELECT 1"}, {**LOCAL, "port": free_port()},
                           timeout=2)
    assert_failed(done, "refused")
    assert took < 2


def test_a_wrong_password_is_auth_and_not_shown(registry, pg, fake):  # noqa: F811
    config = {"host": pg.host, "port": pg.port, "database": "postgres", "user": "postgres", "sslmode": "disable"}
    wrong = fake.password(length=16)
    assert_failed(act(registry, "postgres", "query", {"sql": "SELECT 1"}, config, {"password": wrong}), "auth",
                  wrong)
    right = assert_ok(act(registry, "postgres", "query", {"sql": "SELECT current_user"}, config,
                          {"password": pg.password}))
    assert right["rows"] == [["postgres"]]


def test_a_slow_query_ends_at_the_timeout_and_a_cancel_lands_at_once(registry):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    done, took = act_timed(registry, "postgres", "query", {"sql": "SELECT pg_sleep(20)"}, LOCAL, timeout=1)
    assert_failed(done, "timeout")
    assert took < 3
    assert cancel_action(registry, "postgres", "query", {"sql": "SELECT pg_sleep(20)"}, LOCAL) < 0.5


def test_a_saved_instance_runs_through_the_hub_and_is_logged(registry, tmp_path, memory_keyring, table):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("postgres", "local pg", dict(LOCAL))
        wrote = run_saved(hub, record, "execute", {"sql": f"INSERT INTO {table} VALUES (5, 'five', 5)"},
                          trigger="cli")
        read = run_saved(hub, record, "query", {"sql": f"SELECT name FROM {table} WHERE id = $1",
                                                "parameters": [5]})
        assert wrote.ok and wrote.result["rows_affected"] == 1
        assert read.ok and read.result["rows"] == [["five"]]
        assert [(r.action, r.ok) for r in hub.actions.history(record.id)] == [("query", True), ("execute", True)]
        assert '"five"' in hub.actions.history(record.id)[0].preview
