"""PostgreSQL (and wire-compatible servers) through asyncpg."""

from __future__ import annotations

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
    TlsError,
    classify,
)
from connhub.core.integration import Integration, Values
from connhub.core.net import classify_os_chain, handshake, resolve_host, tls_context
from connhub.core.results import ProbeInfo

SSLMODES = ("disable", "prefer", "require", "verify-ca", "verify-full")


class PostgresIntegration(Integration):
    """Connect, authenticate and ask the server its version; the connection is always closed."""

    drivers = ("asyncpg",)

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        import asyncpg

        host = str(config.get("host") or "localhost")
        port = int(config.get("port") or 5432)
        database = str(config.get("database") or "postgres")
        user = str(config.get("user") or "postgres")
        sslmode = config.get("sslmode") or "prefer"
        ssl_arg = _ssl_argument(sslmode, config.get("sslrootcert"))

        await resolve_host(host, port, ctx)
        with handshake(ctx, lambda exc: _map_error(exc, ctx)):
            conn = await asyncpg.connect(host=host, port=port, user=user, database=database,
                                         password=secrets.get("password") or None, ssl=ssl_arg,
                                         timeout=ctx.remaining(), command_timeout=ctx.remaining())
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
        if row[2] is not None:
            details["tls"] = "yes" if row[2] else "no"
        # "15.20 (Debian 15.20-0+deb12u1)" → "PostgreSQL 15.20"
        return ProbeInfo(server_version=f"PostgreSQL {str(raw).split()[0]}", details=details)


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
    import asyncpg

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError):
        return AuthError(str(exc))
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return NotFound(str(exc))
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return PermissionDenied(str(exc))
    if isinstance(exc, TimeoutError):
        return ConnectTimeout(f"No answer within {ctx.timeout:g} s")
    if isinstance(exc, ConnectionError) and "rejected SSL upgrade" in str(exc):
        return TlsError("The server does not accept TLS connections")
    return classify_os_chain(exc, ctx.timeout) or classify(exc)
