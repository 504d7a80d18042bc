"""Redis and compatible servers (Valkey, KeyDB) through redis.asyncio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    NotFound,
    PermissionDenied,
    UnknownError,
    classify,
)
from connhub.core.integration import Integration, Values
from connhub.core.net import classify_os_chain, handshake, resolve_host
from connhub.core.results import ConnectionInfo, ProbeInfo


class RedisIntegration(Integration):
    """One connection, no retries: connect (AUTH and SELECT happen there), PING, then INFO for the version."""

    drivers = ("redis.asyncio", "redis.asyncio.retry", "redis.backoff")

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        from redis.asyncio import Connection, SSLConnection
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        host = str(config.get("host") or "localhost")
        port = int(config.get("port") or 6379)
        ca_file = config.get("ca_file") or None
        if config.get("tls") and ca_file and not Path(ca_file).is_file():
            raise ConfigError(f"CA certificate file not found: {ca_file}")

        await resolve_host(host, port, ctx)
        options: dict[str, Any] = dict(
            host=host, port=port, db=int(config.get("db") or 0),
            username=config.get("username") or None, password=secrets.get("password") or None,
            socket_connect_timeout=ctx.remaining(), socket_timeout=ctx.remaining(),
            retry=Retry(NoBackoff(), 0),  # a test must report the first failure, not retry into the timeout
            protocol=2, driver_info=None, decode_responses=True,
        )
        if config.get("tls"):
            conn = SSLConnection(ssl_ca_certs=ca_file, ssl_cert_reqs="required", ssl_check_hostname=True,
                                 **options)
        else:
            conn = Connection(**options)
        try:
            with handshake(ctx, lambda exc: _map_error(exc, ctx)):
                await conn.connect()
            with ctx.stage("probe"):
                try:
                    await conn.send_command("PING")
                    await conn.read_response()
                    server = await _info(conn, "server")
                    replication = await _info(conn, "replication")
                except Exception as exc:
                    raise _map_error(exc, ctx) from exc
        finally:
            await conn.disconnect(nowait=True)
        return _probe_info(server, replication)

    def connection_info(self, config: Values) -> ConnectionInfo:
        """`redis://user@host:port/db`, `rediss://` with TLS; never the password."""
        info = super().connection_info({k: v for k, v in config.items() if k != "database"})
        if not config.get("host"):
            return info
        db = int(config.get("db") or 0)
        scheme = "rediss" if config.get("tls") else "redis"
        url = scheme + info.display_url[info.display_url.index("://"):] + f"/{db}"
        return ConnectionInfo(url, host=info.host, port=info.port, database=str(db), user=info.user)


async def _info(conn: Any, section: str) -> dict[str, str]:
    await conn.send_command("INFO", section)
    text = await conn.read_response()
    pairs = (line.split(":", 1) for line in str(text).splitlines() if ":" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _probe_info(server: dict[str, str], replication: dict[str, str]) -> ProbeInfo:
    # Valkey answers with a compatible redis_version and its own valkey_version.
    product, version = ("Valkey", server["valkey_version"]) if "valkey_version" in server else \
        ("Redis", server.get("redis_version"))
    details = {"mode": server.get("redis_mode", ""), "role": replication.get("role", "")}
    return ProbeInfo(server_version=f"{product} {version}" if version else None,
                     details={k: v for k, v in details.items() if v})


def _map_error(exc: Exception, ctx: TestContext) -> ConnectionTestError:
    from redis import exceptions as rx

    if isinstance(exc, ConnectionTestError):
        return exc
    text = str(exc)
    if isinstance(exc, rx.NoPermissionError) or text.startswith("NOPERM"):
        return PermissionDenied(text)
    if isinstance(exc, rx.AuthenticationError | rx.AuthenticationWrongNumberOfArgsError) \
            or text.startswith(("WRONGPASS", "NOAUTH")) or "without any password configured" in text:
        return AuthError(text)
    if isinstance(exc, rx.ResponseError) and "DB index is out of range" in text:
        return NotFound(text)
    if isinstance(exc, rx.TimeoutError | TimeoutError):
        return ConnectTimeout(f"No answer within {ctx.timeout:g} s")
    if isinstance(exc, rx.ConnectionError):
        return classify_os_chain(exc, ctx.timeout) or classify(exc)
    if isinstance(exc, rx.ResponseError):
        return UnknownError(text)
    return classify(exc)
