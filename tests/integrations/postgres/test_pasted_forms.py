"""The connection strings PostgreSQL users paste (issue 24), read into the form's values and, where they name
this machine's server (its Unix socket in /var/run/postgresql, or TCP on 127.0.0.1:5432), tested against it.

The table's strings are the examples of the PostgreSQL documentation, "Connection Strings" (libpq, §34.1.1:
https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING), plus the JDBC and SQLAlchemy
spellings of the same connections (pgJDBC "Connecting to the Database", SQLAlchemy "Database URLs").
"""

from __future__ import annotations

import asyncio
import os

import pytest

from connhub.core.urls import UrlError, parse_url
from tests.support.services import require_service

SOCKET_DIR = "/var/run/postgresql"

#: (pasted text, the values it fills, the parameters reported as unknown, the form it was read as)
DOCUMENTED = [
    ("postgresql://localhost", {"host": "localhost"}, [], "url"),
    ("postgresql://localhost:5433", {"host": "localhost", "port": 5433}, [], "url"),
    ("postgresql://localhost/mydb", {"host": "localhost", "database": "mydb"}, [], "url"),
    ("postgresql://user@localhost", {"host": "localhost", "user": "user"}, [], "url"),
    ("postgresql://user:secret@localhost", {"host": "localhost", "user": "user", "password": "secret"}, [], "url"),
    ("postgresql://other@localhost/otherdb?connect_timeout=10&application_name=myapp",
     {"host": "localhost", "user": "other", "database": "otherdb", "connect_timeout": 10,
      "application_name": "myapp"}, [], "url"),
    ("postgresql:///mydb?host=localhost&port=5433", {"host": "localhost", "port": 5433, "database": "mydb"}, [],
     "url"),
    ("postgresql://[2001:db8::1234]/database", {"host": "2001:db8::1234", "database": "database"}, [], "url"),
    ("postgresql:///dbname?host=/var/lib/postgresql", {"host": "/var/lib/postgresql", "database": "dbname"}, [],
     "url"),
    ("postgresql://%2Fvar%2Flib%2Fpostgresql/dbname", {"host": "/var/lib/postgresql", "database": "dbname"}, [],
     "url"),
    ("postgresql:///mydb", {"database": "mydb"}, [], "url"),  # no host: the field's default, as libpq's
    ("host=localhost port=5432 dbname=mydb connect_timeout=10",
     {"host": "localhost", "port": 5432, "database": "mydb", "connect_timeout": 10}, [], "keywords"),
    ("host=db port=5432 dbname=orders user=app", {"host": "db", "port": 5432, "database": "orders", "user": "app"},
     [], "keywords"),
    (r"host = db  password='it''s'  dbname=x", None, None, "keywords"),  # '' is not libpq's escape: refused
    (r"password='it\'s a \\ secret' host=db", {"host": "db", "password": "it's a \\ secret"}, [], "keywords"),
    ("jdbc:postgresql://db:5432/orders?user=app&password=s3cret",
     {"host": "db", "port": 5432, "database": "orders", "user": "app", "password": "s3cret"}, [], "jdbc"),
    ("jdbc:postgresql://db/orders?ssl=true&sslmode=require",
     {"host": "db", "database": "orders", "sslmode": "require", "server_settings": "ssl=true"}, [], "jdbc"),
    ("postgresql+psycopg://app:pw@db/orders", {"host": "db", "database": "orders", "user": "app", "password": "pw"},
     [], "sqlalchemy"),
    ("postgresql+asyncpg://app@db:6432/orders?target_session_attrs=any",
     {"host": "db", "port": 6432, "database": "orders", "user": "app", "target_session_attrs": "any"}, [],
     "sqlalchemy"),
    ("postgresql://host1:123,host2:456/somedb?target_session_attrs=any&application_name=myapp",
     {"host": "host1", "port": 123, "more_hosts": "host2:456", "database": "somedb", "target_session_attrs": "any",
      "application_name": "myapp"}, [], "url"),
    ("postgresql://db1,[2001:db8::1]:5433,db3/app", {"host": "db1", "more_hosts": "[2001:db8::1]:5433, db3",
                                                    "database": "app"}, [], "url"),
    ("host=db1,db2 port=5432,5433 dbname=app target_session_attrs=read-write",
     {"host": "db1", "port": 5432, "more_hosts": "db2:5433", "database": "app",
      "target_session_attrs": "read-write"}, [], "keywords"),
    ("host=db1,db2,db3 port=6432 dbname=app", {"host": "db1", "port": 6432, "more_hosts": "db2, db3",
                                               "database": "app"}, [], "keywords"),
    ("jdbc:postgresql://host1:5432,host2:5433/db", {"host": "host1", "port": 5432, "more_hosts": "host2:5433",
                                                   "database": "db"}, [], "jdbc"),
]


def read(registry, text):
    entry = registry.get("postgres")
    return parse_url(entry.manifest, entry.specs, text)


@pytest.mark.parametrize(("text", "values", "unknown", "form"), DOCUMENTED, ids=[d[0][:60] for d in DOCUMENTED])
def test_each_documented_form_reads_into_the_fields(registry, text, values, unknown, form):
    if values is None:
        with pytest.raises(UrlError):
            read(registry, text)
        return
    parsed = read(registry, text)
    assert parsed.values == values
    assert parsed.unknown_params == unknown
    assert parsed.form == form
    assert parsed.userinfo == bool({"user", "password"} & set(values))


def test_a_sqlalchemy_url_keeps_its_driver_as_a_hint(registry):
    assert read(registry, "postgresql+psycopg://db/x").driver_hint == "psycopg"
    assert read(registry, "postgresql://db/x").driver_hint is None


@pytest.mark.parametrize(("text", "says"), [
    ("host=db port", "at character 9: expected keyword=value"),
    ("host=db password='never closed", "at character 18: a quoted value is not closed"),
    ("host=db host=other", "given more than once"),
    ("host=a,b,c port=1,2", "lists 2 ports for 3 hosts"),
    ("postgresql://db1,,db3/x", "a host of the list is empty"),
    ("postgresql://db1,db2:99999/x", "port '99999' is not a number from 1 to 65535"),
    ("postgresql://db/x?host=other", "twice, in its address and as a query parameter"),
    ("jdbc:mysql://db/x", "not a URL"),  # another type's JDBC URL is not this type's
    ("postgresql+no-such!://db/x", "not a URL"),
])
def test_a_malformed_string_says_where_and_what_was_expected(registry, text, says):
    with pytest.raises(UrlError) as caught:
        read(registry, text)
    assert says in str(caught.value)
    assert "never" not in str(caught.value)  # a password's text is not repeated


def test_a_password_in_a_keyword_string_goes_to_the_secret_field_only(tmp_path, memory_keyring):
    """Through the service the window and the CLI use: the password lands in the secret field and nowhere
    in the saved config or the summary."""
    from connhub.services.hub import Hub

    hub = Hub(data_dir=tmp_path)
    parsed = hub.types.values_from_url("postgres", "host=db dbname=orders user=app password=Canary-7f3a")
    assert parsed.values["password"] == "Canary-7f3a"
    record = hub.instances.create("postgres", "orders", parsed.values)
    assert "Canary-7f3a" not in repr(record.config) and "Canary-7f3a" not in record.summary


def test_the_local_server_through_its_unix_socket(run):
    if not os.path.exists(os.path.join(SOCKET_DIR, ".s.PGSQL.5432")):
        pytest.skip(f"no PostgreSQL socket in {SOCKET_DIR}")
    result = run("postgres", {"host": SOCKET_DIR, "port": 5432, "database": "test", "user": "postgres"})
    assert result.ok, result
    assert result.details["socket"] == SOCKET_DIR  # the way it went is said
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_a_socket_folder_without_a_server_is_refused_before_connecting(run, tmp_path):
    result = run("postgres", {"host": str(tmp_path), "port": 5432, "database": "test", "user": "postgres"})
    assert not result.ok and result.error_class.value == "refused"
    assert result.failed_stage == "resolve"
    assert "running locally" in result.message


def test_driver_parameters_reach_the_server(registry):
    """application_name is what the server sees of this session; a pasted URL's connect_timeout and
    application_name fill the Advanced fields and are used."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from connhub.core.context import TestContext
    from connhub.integrations.postgres import connect

    values = read(registry, "postgresql://postgres@127.0.0.1/test?application_name=connhub-test&connect_timeout=3")
    assert values.values["connect_timeout"] == 3

    async def name_seen() -> str:
        conn = await connect(values.values, {}, TestContext(5.0))
        try:
            return await conn.fetchval("SELECT current_setting('application_name')")
        finally:
            await conn.close()

    assert asyncio.run(name_seen()) == "connhub-test"


def test_server_settings_reach_the_server_and_a_bad_one_is_a_config_error(registry, run):
    """A pasted URL's other parameters (and libpq's options=-c …) become the session's settings; a name the
    server does not know ends the test as a configuration error naming it."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from connhub.core.context import TestContext
    from connhub.integrations.postgres import connect

    values = read(registry, "postgresql://postgres@127.0.0.1/test?search_path=connhub_x,public"
                            "&options=-c%20statement_timeout%3D4s").values
    assert values["server_settings"] == "search_path=connhub_x,public\nstatement_timeout=4s"

    async def seen() -> tuple:
        conn = await connect(values, {}, TestContext(5.0))
        try:
            return await conn.fetchval("SHOW search_path"), await conn.fetchval("SHOW statement_timeout")
        finally:
            await conn.close()

    assert asyncio.run(seen()) == ("connhub_x,public", "4s")
    result = run("postgres", {"host": "127.0.0.1", "port": 5432, "database": "test", "user": "postgres",
                              "server_settings": "no_such_setting_x=1"})
    assert not result.ok and result.error_class.value == "config", result
    assert "no_such_setting_x" in result.message


def test_the_postgres_query_action_over_the_socket(registry):
    if not os.path.exists(os.path.join(SOCKET_DIR, ".s.PGSQL.5432")):
        pytest.skip(f"no PostgreSQL socket in {SOCKET_DIR}")
    from connhub.services.actions import execute

    entry = registry.get("postgres")
    action = entry.manifest.action("query")
    run = asyncio.run(execute(entry, action, {"sql": "SELECT 40 + 2 AS n", "parameters": [], "max_rows": 10},
                              {"host": SOCKET_DIR, "port": 5432, "database": "test", "user": "postgres"}, {}, 5.0))
    assert run.ok, run.message
    assert run.result["rows"] == [[42]] or run.result["rows"] == [{"n": 42}]



def test_several_hosts_are_tried_in_order_until_one_answers(run):
    """libpq's host list: a name that does not resolve and a closed port are passed over; the test says which
    host answered, in one resolve stage."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    from tests.support.services import free_port

    result = run("postgres", {"host": "127.0.0.1", "port": free_port(), "database": "test", "user": "postgres",
                              "sslmode": "disable", "more_hosts": "no-such-host.invalid, 127.0.0.1:5432"})
    assert result.ok, result
    assert result.details["connected_to"] == "127.0.0.1:5432"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_a_target_session_no_host_can_give_is_a_config_error(run):
    """The machine's server is a primary: asked for a standby, every host answers and none qualifies."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    result = run("postgres", {"host": "127.0.0.1", "port": 5432, "database": "test", "user": "postgres",
                              "more_hosts": "localhost:5432", "target_session_attrs": "standby"})
    assert not result.ok and result.error_class.value == "config", result
    assert "none is the kind of server Target session asks for" in result.message


def test_no_host_of_the_list_resolves(run):
    result = run("postgres", {"host": "a.invalid", "port": 5432, "database": "test", "user": "postgres",
                              "more_hosts": "b.invalid, c.invalid:5433"})
    assert not result.ok and result.error_class.value == "dns" and result.failed_stage == "resolve"
    assert "Cannot resolve a.invalid" in result.message and "nor any of the other 2 hosts" in result.message


def test_several_hosts_are_shown_in_each_form_and_read_back(registry):
    from connhub.core.url_forms import format_url

    entry = registry.get("postgres")
    values = {"host": "db1", "port": 5432, "database": "app", "user": "me", "more_hosts": "db2:5433, db3"}
    assert format_url(entry.manifest, entry.specs, values) == "postgres://me@db1:5432,db2:5433,db3/app"
    assert format_url(entry.manifest, entry.specs, values, "libpq") == \
        "host=db1,db2,db3 port=5432,5433,5432 dbname=app user=me"
    assert format_url(entry.manifest, entry.specs, values, "jdbc") == \
        "jdbc:postgresql://db1:5432,db2:5433,db3/app?user=me"
    with pytest.raises(UrlError, match="SQLAlchemy URLs name one host"):
        format_url(entry.manifest, entry.specs, values, "sqlalchemy")
