"""The connection strings MySQL and MariaDB users paste (issue 24), read into the form's values and, where they
name this machine's MariaDB (its Unix socket, or TCP on 127.0.0.1:3306), tested against it.

The table's strings follow MySQL Connector/J's "Connection URL Syntax"
(https://dev.mysql.com/doc/connector-j/en/connector-j-reference-jdbc-url-format.html), SQLAlchemy's MySQL
dialect ("Unix Domain Connections", "Charset Selection") and PyMySQL's `connect()` keywords (unix_socket,
charset, init_command).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from connhub.core.fields import defaults, validate_values
from connhub.core.url_forms import format_url
from connhub.core.urls import UrlError, parse_url
from tests.support.services import require_service

#: Debian's MariaDB socket (its `socket` setting); the same path the form proposes first.
SOCKET = "/run/mysqld/mysqld.sock"
LOCAL_TCP = {"host": "127.0.0.1", "port": 3306, "user": "root", "database": "test", "ssl_mode": "DISABLED"}

#: (pasted text, the values it fills, the parameters reported as unknown, the form it was read as)
DOCUMENTED = [
    ("jdbc:mysql://myhost1:1111/db", {"host": "myhost1", "port": 1111, "database": "db"}, [], "jdbc"),
    ("jdbc:mysql://localhost:3306/sakila?profileSQL=true", {"host": "localhost", "port": 3306, "database": "sakila",
                                                             "session_variables": "profileSQL=true"}, [], "jdbc"),
    ("jdbc:mysql://myhost1:1111/db?user=sandy&password=secret",
     {"host": "myhost1", "port": 1111, "database": "db", "user": "sandy", "password": "secret"}, [], "jdbc"),
    ("jdbc:mysql://sandy:secret@myhost1:1111/db",
     {"host": "myhost1", "port": 1111, "database": "db", "user": "sandy", "password": "secret"}, [], "jdbc"),
    ("mysql://root@localhost/test?unix_socket=/run/mysqld/mysqld.sock",
     {"host": SOCKET, "user": "root", "database": "test"}, [], "url"),
    ("mysql+pymysql://root@/test?unix_socket=/var/run/mysqld/mysqld.sock",
     {"host": "/var/run/mysqld/mysqld.sock", "user": "root", "database": "test"}, [], "sqlalchemy"),
    ("mysql+pymysql://scott:tiger@localhost/test?charset=utf8mb4",
     {"host": "localhost", "user": "scott", "password": "tiger", "database": "test", "charset": "utf8mb4"}, [],
     "sqlalchemy"),
    ("mariadb://app@db:3307/orders?charset=latin1&connect_timeout=5",
     {"host": "db", "port": 3307, "user": "app", "database": "orders", "charset": "latin1", "connect_timeout": 5},
     [], "url"),
]


def read(registry, text):
    entry = registry.get("mysql")
    return parse_url(entry.manifest, entry.specs, text)


@pytest.mark.parametrize(("text", "values", "unknown", "form"), DOCUMENTED, ids=[d[0][:60] for d in DOCUMENTED])
def test_each_documented_form_reads_into_the_fields(registry, text, values, unknown, form):
    parsed = read(registry, text)
    assert parsed.values == values
    assert parsed.unknown_params == unknown
    assert parsed.form == form


@pytest.mark.parametrize(("text", "says"), [
    ("mysql://db.example.com/x?unix_socket=/run/mysqld/mysqld.sock", "twice"),  # a remote host and a socket
    ("mysql://localhost/x?unix_socket=mysqld.sock", "absolute path"),
    ("mysql://localhost/x?connect_timeout=ten", "connect_timeout"),
])
def test_a_bad_string_says_what_is_wrong(registry, text, says):
    with pytest.raises(UrlError) as caught:
        read(registry, text)
    assert says in str(caught.value)


@pytest.mark.parametrize(("text", "field", "says"), [
    ("mysql://localhost/x?charset=utf-8", "charset", "not a Java name"),  # a Java name, not a MySQL charset
    ("mysql://localhost/x?connect_timeout=0", "connect_timeout", "1"),
    ("mysql://localhost/x?connect_timeout=601", "connect_timeout", "600"),
])
def test_an_out_of_range_parameter_is_named_on_its_field(registry, text, field, says):
    """Read as typed, then refused by the form's own check, on the field, with the range."""
    entry = registry.get("mysql")
    values = {**defaults(entry.specs), **read(registry, text).values}
    problems = validate_values(entry.manifest.credentials, entry.specs, values)
    assert field in problems and says in problems[field], problems


def test_a_socket_connection_is_shown_as_mysql_and_sqlalchemy_write_it(registry):
    entry = registry.get("mysql")
    values = {"host": SOCKET, "port": 3306, "user": "root", "database": "test", "password": "Canary-3c1d"}
    assert format_url(entry.manifest, entry.specs, values) == \
        "mysql://root@localhost/test?unix_socket=/run/mysqld/mysqld.sock"
    assert format_url(entry.manifest, entry.specs, values, "sqlalchemy").startswith("mysql+pymysql://root@localhost/")
    with pytest.raises(UrlError, match="socket"):
        format_url(entry.manifest, entry.specs, values, "jdbc")  # Connector/J has no socket of its own


def test_the_local_server_through_its_socket_with_no_password(run):
    """root@localhost on Debian's MariaDB signs in by unix_socket authentication: the OS user, no password."""
    if not os.path.exists(SOCKET):
        pytest.skip(f"no MariaDB socket at {SOCKET}")
    if os.geteuid() != 0:
        pytest.skip("unix_socket authentication maps the OS user: root@localhost needs the root OS user")
    result = run("mysql", {"host": SOCKET, "port": 3306, "user": "root", "database": "test"})
    assert result.ok, result
    assert result.details["socket"] == SOCKET  # the way it went is said
    assert result.details["user"] == "root@localhost"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]


def test_a_missing_socket_is_refused_before_connecting(run, tmp_path):
    result = run("mysql", {"host": str(tmp_path / "mysqld.sock"), "port": 3306, "user": "root"})
    assert not result.ok and result.error_class.value == "refused"
    assert result.failed_stage == "resolve"
    assert "running locally" in result.message


def test_charset_and_init_command_reach_the_server(registry):
    """The Advanced group's options are what the session runs with: its character set, and the time zone the
    init command set — read back through the query action, over TCP."""
    require_service("MariaDB", "127.0.0.1", 3306)
    from connhub.services.actions import execute

    entry = registry.get("mysql")
    config = read(registry, "mysql://root@127.0.0.1/test?charset=latin1&init_command=SET%20time_zone%3D'%2B02:00'")
    config.values["ssl_mode"] = "DISABLED"
    action = entry.manifest.action("query")
    run = asyncio.run(execute(entry, action, {"sql": "SELECT @@character_set_client, @@time_zone", "parameters": [],
                                              "max_rows": 10}, config.values, {}, 5.0))
    assert run.ok, run.message
    assert run.result["rows"] == [["latin1", "+02:00"]]


def test_session_variables_reach_the_server_and_an_unknown_one_is_a_config_error(registry, run):
    """A pasted URL's other parameters are kept as Session variables (SET SESSION at connect); a variable the
    server does not know ends the test as a configuration error."""
    require_service("MariaDB", "127.0.0.1", 3306)
    from connhub.services.actions import execute

    entry = registry.get("mysql")
    parsed = read(registry, "mysql://root@127.0.0.1/test?time_zone=%2B03:00&wait_timeout=321")
    assert parsed.kept_params == ["time_zone", "wait_timeout"]
    values = {**parsed.values, "ssl_mode": "DISABLED"}
    done = asyncio.run(execute(entry, entry.manifest.action("query"),
                               {"sql": "SELECT @@session.time_zone, @@session.wait_timeout", "parameters": [],
                                "max_rows": 10}, values, {}, 5.0))
    assert done.ok, done.message
    assert done.result["rows"] == [["+03:00", 321]]
    result = run("mysql", {**LOCAL_TCP, "session_variables": "no_such_variable_x=1"})
    assert not result.ok and result.error_class.value == "config", result
    assert "no_such_variable_x" in result.message
