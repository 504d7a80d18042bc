"""MySQL, MariaDB and wire-compatible servers through aiomysql."""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
from typing import Any

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    NotFound,
    PermissionDenied,
    RateLimited,
    TlsError,
    UnknownError,
)
from connhub.core.integration import DriverIntegration, Values
from connhub.core.net import classify_os_chain, handshake, resolve_host, socket_present, tls_context
from connhub.core.results import ProbeInfo
from connhub.core.urls import EXTRA_NAME, extra_options
from connhub.integrations.mysql.actions import MysqlActions

#: MySQL's --ssl-mode values, weakest first.
SSL_MODES = ("DISABLED", "PREFERRED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY")

# Server error codes (https://dev.mysql.com/doc/mysql-errors/8.4/en/server-error-reference.html and MariaDB's
# https://mariadb.com/kb/en/mariadb-error-code-reference/), client codes (CR_*) from aiomysql/PyMySQL.
_AUTH = {
    1045: "",  # ER_ACCESS_DENIED_ERROR
    1698: "",  # ER_ACCESS_DENIED_NO_PASSWORD_ERROR (e.g. an account that only allows unix_socket login)
    1820: "",  # ER_MUST_CHANGE_PASSWORD
    1862: "",  # ER_MUST_CHANGE_PASSWORD_LOGIN (password expired)
    3118: "",  # ER_ACCOUNT_HAS_BEEN_LOCKED (MySQL)
    4151: "",  # ER_ACCOUNT_HAS_BEEN_LOCKED (MariaDB)
    2059: ": connhub's MySQL driver (aiomysql) cannot use this account's authentication method",
}
_PERMISSION = {
    1044: ": the database may also not exist (the server does not tell a user without access to it)",
    1130: "",  # ER_HOST_NOT_PRIVILEGED: no account for this client address
    1129: "",  # ER_HOST_IS_BLOCKED: too many broken connections from this address (FLUSH HOSTS unblocks it)
    1142: "",  # ER_TABLEACCESS_DENIED_ERROR
    1143: "",  # ER_COLUMNACCESS_DENIED_ERROR
    1227: "",  # ER_SPECIFIC_ACCESS_DENIED_ERROR
}
_NOT_FOUND = {1049}  # ER_BAD_DB_ERROR
_RATE_LIMITED = {1040, 1203, 1226}  # too many connections (server, user), user resource limit reached
_TLS = {3159, 2026}  # ER_SECURE_TRANSPORT_REQUIRED, CR_SSL_CONNECTION_ERROR
_CONFIG = {1193, 1231, 1232}  # unknown system variable, a value it cannot take, a value of the wrong type
_CR_CONN_HOST_ERROR, _CR_SERVER_LOST = 2003, 2013
_CLIENT_SSL = 2048  # the capability flag a server sets when it offers TLS (pymysql.constants.CLIENT.SSL)


class MysqlIntegration(MysqlActions, DriverIntegration):
    """Connect (TLS and authentication happen there), then ask the server who and what it is."""

    drivers = ("aiomysql.connection", "pymysql.err")

    @classmethod
    def refine_error(cls, exc: BaseException, ctx: TestContext | None) -> ConnectionTestError | None:
        """The server's error codes (1045 access denied, 1049 unknown database, …), for an action's leftovers
        as for the test; other exceptions go down the common path."""
        from pymysql.err import MySQLError

        if isinstance(exc, MySQLError) and exc.args and isinstance(exc.args[0], int) and ctx is not None:
            return _map_error(exc, ctx, None, "")
        return None

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        conn, mode = await open_connection(config, secrets, ctx)
        try:
            with ctx.stage("probe"):
                try:
                    async with asyncio.timeout(ctx.remaining()):
                        version, comment, current_db, current_user = await _one(
                            conn, "SELECT VERSION(), @@version_comment, DATABASE(), CURRENT_USER()")
                        tls_row = await _one(conn, "SHOW SESSION STATUS LIKE 'Ssl_version'")
                except Exception as exc:
                    raise _map_error(exc, ctx, conn, mode) from exc
        except BaseException:
            conn.close()  # at once, also when cancelled
            raise
        await _quit(conn, ctx)
        details = {"server_version_full": str(version), "user": str(current_user),
                   "tls": str(tls_row[1]) if tls_row and tls_row[1] else "no"}
        if current_db is not None:
            details["database"] = str(current_db)
        if comment:
            details["version_comment"] = str(comment)
        if str(config.get("host") or "").startswith("/"):
            details["socket"] = str(config["host"])  # which way it connected: the socket, not TCP
        return ProbeInfo(server_version=_product_version(str(version), str(comment or "")), details=details)


async def open_connection(config: Values, secrets: Values, ctx: TestContext) -> tuple[Any, str]:
    """One connection, opened the same way for the test and every action: TCP, or the Unix socket file `host`
    names when it starts with / (MySQL's --socket); TLS as chosen (never over a socket, which does not leave
    the machine); the Advanced group's character set, connect timeout and init command. Returns it with the TLS
    mode, which error messages need."""
    host = str(config.get("host") or "localhost")
    port = int(config.get("port") or 3306)
    socket_path = host if host.startswith("/") else None
    mode = _ssl_mode(config.get("ssl_mode"))
    if socket_path:
        mode = "DISABLED"  # MySQL counts a socket as secure transport: it does not leave the machine
    context = _ssl_context(mode, config.get("ssl_ca"))
    if socket_path:
        await socket_present(os.path.dirname(socket_path) or "/", os.path.basename(socket_path), ctx)
    else:
        await resolve_host(host, port, ctx)
    timeout = ctx.remaining()
    if config.get("connect_timeout"):
        timeout = min(timeout, float(config["connect_timeout"]))
    conn = _connection_class()(
        host="localhost" if socket_path else host, port=port, unix_socket=socket_path,
        user=str(config.get("user") or "root"), password=_wire_password(secrets.get("password")),
        db=str(config.get("database") or "") or None, charset=str(config.get("charset") or "utf8mb4"),
        init_command=str(config.get("init_command") or "") or None, connect_timeout=timeout, ssl=context,
        autocommit=None, program_name="connhub")
    conn.require_tls = mode not in ("DISABLED", "PREFERRED")
    variables = extra_options(config.get("session_variables"))
    if bad := [name for name, _ in variables if not EXTRA_NAME.fullmatch(name)]:  # inside backticks below
        raise ConfigError(f"Session variables: {bad[0]!r} is not a variable name")
    try:
        with handshake(ctx, lambda exc: _map_error(exc, ctx, conn, mode)):
            async with asyncio.timeout(ctx.remaining()):  # aiomysql bounds only the TCP connect itself
                await conn._connect()
                if variables:
                    async with conn.cursor() as cursor:
                        await cursor.execute("SET SESSION " + ", ".join(f"`{name}` = %s" for name, _ in variables),
                                             [_sql_value(value) for _, value in variables])
    except BaseException:
        conn.close()  # at once, also when cancelled
        raise
    return conn, mode


@functools.cache
def _connection_class() -> type:
    """aiomysql's Connection, made to refuse a server without TLS when TLS is required.

    aiomysql asks for TLS only if the server offers it and otherwise carries on in plain text (MySQL's
    PREFERRED). For REQUIRED and the verify modes the check happens after the server's greeting and before
    anything is sent, so a password never leaves unencrypted.
    """
    from aiomysql.connection import Connection

    class _TestConnection(Connection):
        require_tls = False

        async def _request_authentication(self) -> None:
            if self.require_tls and not self.server_capabilities & _CLIENT_SSL:
                raise TlsError("The server does not offer TLS, which the TLS mode requires: nothing was sent")
            await super()._request_authentication()

    return _TestConnection


def _sql_value(text: str) -> int | float | str:
    """A session variable's value as MySQL wants it: numeric variables refuse a quoted number."""
    for kind in (int, float):
        try:
            number = kind(text)
        except ValueError:
            continue
        return number if number == number and abs(number) != float("inf") else text  # not nan, not inf
    return text


def _wire_password(password: Any) -> str:
    """The password as UTF-8 bytes on the wire (what the mysql client and servers use), not Latin-1.

    aiomysql encodes the password with Latin-1, so `€` fails and `é` is sent as a byte no server hashed
    (PyMySQL issues #804 and #1252); a str whose Latin-1 encoding *is* the UTF-8 bytes gets it right.
    """
    return str(password or "").encode("utf-8").decode("latin-1")


def _ssl_mode(value: Any) -> str:
    mode = str(value or "PREFERRED").strip().upper().replace("-", "_")
    if mode not in SSL_MODES:
        raise ConfigError(f"Unknown TLS mode {value!r}: use one of {', '.join(SSL_MODES)}")
    return mode


def _ssl_context(mode: str, ca_file: Any) -> ssl.SSLContext | None:
    if mode == "DISABLED":
        return None
    if mode in ("PREFERRED", "REQUIRED"):
        return tls_context(None, verify=False)  # encrypted, certificate not checked (MySQL's meaning)
    return tls_context(str(ca_file) if ca_file else None, check_hostname=mode == "VERIFY_IDENTITY")


async def _one(conn: Any, sql: str) -> tuple:
    async with conn.cursor() as cursor:
        await cursor.execute(sql)
        return await cursor.fetchone()


async def _quit(conn: Any, ctx: TestContext) -> None:
    """Say goodbye (COM_QUIT), so the server does not count an aborted connection."""
    try:
        async with asyncio.timeout(ctx.remaining()):
            await conn.ensure_closed()
    except (OSError, TimeoutError):
        pass
    finally:
        conn.close()


def _product_version(raw: str, comment: str) -> str:
    """"10.11.19-MariaDB-0+deb12u1" → "MariaDB 10.11.19"; "8.4.3" → "MySQL 8.4.3"."""
    number = raw.split("-", 1)[0]
    if "mariadb" in raw.lower():
        return f"MariaDB {number}"
    if "tidb" in raw.lower():
        return f"TiDB {raw.rsplit('TiDB-', 1)[-1]}"
    if "percona" in comment.lower():
        return f"Percona Server {number}"
    return f"MySQL {number}"


def _map_error(exc: BaseException, ctx: TestContext, conn: Any, mode: str) -> ConnectionTestError:
    from pymysql.err import MySQLError

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, TimeoutError):
        return ConnectTimeout(f"No answer within {ctx.timeout:g} s")
    if not (isinstance(exc, MySQLError) and exc.args and isinstance(exc.args[0], int)):
        return MysqlIntegration.classify_driver_error(exc, ctx)
    code, text = exc.args[0], str(exc.args[1]) if len(exc.args) > 1 else type(exc).__name__
    if code in _AUTH:
        if code == 1045 and mode == "DISABLED" and getattr(conn, "server_capabilities", 0) & _CLIENT_SSL:
            # MariaDB before 11.4 answers a refused plain-text login (REQUIRE SSL, require_secure_transport)
            # with this same error: say so, since the server does offer TLS.
            return AuthError(f"{text}; if the account or the server requires TLS, choose a TLS mode that uses it")
        return AuthError(text + _AUTH[code])
    if code in _PERMISSION:
        return PermissionDenied(text + _PERMISSION[code])
    if code in _NOT_FOUND:
        return NotFound(text)
    if code in _RATE_LIMITED:
        return RateLimited(text)
    if code in _TLS:
        return TlsError(text)
    if code in _CONFIG:
        return ConfigError(f"{text}: check Session variables")
    if code in (_CR_CONN_HOST_ERROR, _CR_SERVER_LOST):
        mapped = classify_os_chain(exc, ctx.timeout)
        if mapped is not None:
            return mapped
        if code == _CR_SERVER_LOST:
            return UnknownError("The server closed the connection: is this a MySQL or MariaDB port?")
    return UnknownError(f"{text} (error {code})")
