"""PostgreSQL (and wire-compatible servers) through asyncpg."""

from __future__ import annotations

import ssl
from typing import Any

from connhub.core.context import TestContext
from connhub.core.errors import AuthError, ConfigError, ConnectionTestError, NotFound, PermissionDenied, TlsError
from connhub.core.integration import DriverIntegration, Values
from connhub.core.net import handshake, resolve_host, resolve_hosts, socket_present, tls_context
from connhub.core.results import ProbeInfo
from connhub.core.urls import UrlError, extra_options, split_hosts
from connhub.integrations.postgres.actions import PostgresActions

SSLMODES = ("disable", "prefer", "require", "verify-ca", "verify-full")


class PostgresIntegration(PostgresActions, DriverIntegration):
    """Connect, authenticate and ask the server its version; the connection is always closed."""

    drivers = ("asyncpg",)
    driver_errors = (("asyncpg:InvalidPasswordError", AuthError),
                     ("asyncpg:InvalidAuthorizationSpecificationError", AuthError),
                     ("asyncpg:InvalidCatalogNameError", NotFound),
                     ("asyncpg:InsufficientPrivilegeError", PermissionDenied),
                     # a Server settings name the server does not know, or a value it refuses
                     ("asyncpg:UndefinedObjectError", ConfigError),
                     ("asyncpg:InvalidParameterValueError", ConfigError),
                     ("asyncpg:CantChangeRuntimeParamError", ConfigError))

    @classmethod
    def refine_error(cls, exc: BaseException, ctx: TestContext | None) -> ConnectionTestError | None:
        if isinstance(exc, ConnectionError) and "rejected SSL upgrade" in str(exc):
            return TlsError("The server does not accept TLS connections")
        if type(exc).__name__ == "TargetServerAttributeNotMatched":  # every host answered, none of the kind
            return ConfigError("Each host answered, but none is the kind of server Target session asks for "
                               "(primary, standby, read-only…)")
        return None

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        sslmode = config.get("sslmode") or "prefer"
        conn = await connect(config, secrets, ctx)
        try:
            with ctx.stage("probe"):
                raw = conn.get_settings().server_version  # sent by the server at start-up: no round trip
                try:
                    row = await _whoami(conn, ctx, known_plain=sslmode == "disable")
                except Exception as exc:
                    raise _map_error(exc, ctx) from exc
        except BaseException:
            conn.terminate()  # at once, also when cancelled: nothing left to wait for
            raise
        await conn.close(timeout=ctx.remaining())
        details = {"database": str(row[0]), "user": str(row[1]), "server_version_full": str(raw)}
        if str(config.get("host") or "").startswith("/"):
            details["socket"] = str(config["host"])  # which way it connected: the socket, not TCP
        if row[2] is not None:
            details["tls"] = "yes" if row[2] else "no"
        address = getattr(conn, "_addr", None)  # asyncpg's (host, port) of the server it kept, as given
        if config.get("more_hosts") and isinstance(address, tuple) and len(address) >= 2:
            details["connected_to"] = f"{address[0]}:{address[1]}"  # which of the hosts answered
        # "15.20 (Debian 15.20-0+deb12u1)" → "PostgreSQL 15.20"
        return ProbeInfo(server_version=f"PostgreSQL {str(raw).split()[0]}", details=details)


async def connect(config: Values, secrets: Values, ctx: TestContext) -> Any:
    """One connection, opened the same way for the test and every action: TCP or the Unix socket in the
    folder `host` names (libpq's rule: a host starting with / is a socket folder), TLS as chosen, the
    driver parameters of the Advanced group. With More hosts, the hosts are tried in order (by asyncpg, as
    libpq does) until one answers and is what Target session asks for."""
    import asyncpg

    port = int(config.get("port") or 5432)
    hosts = [(str(config.get("host") or "localhost"), port)]
    if config.get("more_hosts"):
        try:
            hosts += [(host, p or port) for host, p in split_hosts(str(config["more_hosts"]))]
        except UrlError as exc:
            raise ConfigError(f"More hosts: {exc}") from None
    ssl_arg = _ssl_argument(config.get("sslmode") or "prefer", config.get("sslrootcert"))
    if hosts[0][0].startswith("/"):
        await socket_present(hosts[0][0], f".s.PGSQL.{port}", ctx)
        if len(hosts) == 1:
            ssl_arg = False  # libpq never negotiates TLS over a Unix socket
    elif len(hosts) > 1:
        hosts = await resolve_hosts(hosts, ctx)
    else:
        await resolve_host(*hosts[0], ctx)
    timeout = ctx.remaining()
    if config.get("connect_timeout"):
        timeout = min(timeout, float(config["connect_timeout"]))
    options: dict[str, Any] = {}
    settings = dict(extra_options(config.get("server_settings")))  # the Advanced list: GUCs for the session
    if config.get("application_name"):
        settings["application_name"] = str(config["application_name"])
    if settings:
        options["server_settings"] = settings
    if config.get("target_session_attrs") not in (None, "", "any"):
        options["target_session_attrs"] = str(config["target_session_attrs"])
    with handshake(ctx, lambda exc: _map_error(exc, ctx)):
        return await asyncpg.connect(host=[h for h, _ in hosts] if len(hosts) > 1 else hosts[0][0],
                                     port=[p for _, p in hosts] if len(hosts) > 1 else hosts[0][1],
                                     user=str(config.get("user") or "postgres"),
                                     database=str(config.get("database") or "postgres"),
                                     password=secrets.get("password") or None, ssl=ssl_arg,
                                     timeout=timeout, command_timeout=ctx.remaining(), **options)


def _ssl_argument(mode: str, rootcert: Any) -> str | ssl.SSLContext:
    """asyncpg's own string modes, except the verifying ones, which get a context with the given CA."""
    if mode not in SSLMODES:
        raise ConfigError(f"Unknown TLS mode {mode!r}: use one of {', '.join(SSLMODES)}")
    if mode in ("verify-ca", "verify-full"):
        return tls_context(str(rootcert) if rootcert else None, check_hostname=mode == "verify-full")
    if mode == "require":
        return tls_context(None, verify=False)  # encrypted, not verified (libpq's meaning)
    return mode  # disable, prefer (asyncpg falls back to plain text if the server has no TLS)


async def _whoami(conn: Any, ctx: TestContext, known_plain: bool = False) -> Any:
    """Database, user and whether the session is encrypted, in one round trip; the TLS column is NULL on
    compatible servers without pg_stat_ssl. With TLS turned off (`known_plain`) pg_stat_ssl is not asked: it
    scans every backend's status, which made the probe measurably slower than a plain query."""
    import asyncpg

    if known_plain:
        return await conn.fetchrow("SELECT current_database(), current_user, false", timeout=ctx.remaining())
    try:
        return await conn.fetchrow("SELECT current_database(), current_user, "
                                   "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
                                   timeout=ctx.remaining())
    except asyncpg.UndefinedTableError:
        return await conn.fetchrow("SELECT current_database(), current_user, NULL", timeout=ctx.remaining())


def _map_error(exc: Exception, ctx: TestContext) -> ConnectionTestError:
    return PostgresIntegration.classify_driver_error(exc, ctx)
