"""Redis and compatible servers (Valkey, KeyDB) through redis.asyncio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from connhub.core.context import TestContext
from connhub.core.errors import AuthError, ConfigError, ConnectionTestError, NotFound, PermissionDenied, UnknownError
from connhub.core.integration import DriverIntegration, Values
from connhub.core.net import handshake, resolve_host, socket_present
from connhub.core.results import ConnectionInfo, ProbeInfo
from connhub.integrations.redis.actions import RedisActions


class RedisIntegration(RedisActions, DriverIntegration):
    """One connection, no retries: connect (AUTH and SELECT happen there), PING, then INFO for the version."""

    drivers = ("redis.asyncio", "redis.asyncio.retry", "redis.backoff")
    driver_errors = (("redis.exceptions:NoPermissionError", PermissionDenied),
                     ("redis.exceptions:AuthenticationError", AuthError),
                     ("redis.exceptions:AuthenticationWrongNumberOfArgsError", AuthError),
                     ("redis.exceptions:ResponseError", UnknownError))
    driver_timeouts = ("redis.exceptions:TimeoutError",)

    @classmethod
    def refine_error(cls, exc: BaseException, ctx: TestContext | None) -> ConnectionTestError | None:
        """Servers and proxies that answer in words only (no typed exception)."""
        text = str(exc)
        if text.startswith("NOPERM"):
            return PermissionDenied(text)
        if text.startswith(("WRONGPASS", "NOAUTH")) or "without any password configured" in text:
            return AuthError(text)
        if "DB index is out of range" in text:
            return NotFound(text)
        return None

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        conn = await connection(config, secrets, ctx, decode=True)
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
        info = _probe_info(server, replication)
        if str(config.get("host") or "").startswith("/"):
            info.details["socket"] = str(config["host"])  # which way it connected: the socket, not TCP
        return info

    def connection_info(self, config: Values) -> ConnectionInfo:
        """`redis://user@host:port/db`, `rediss://` with TLS; never the password."""
        info = super().connection_info({k: v for k, v in config.items() if k != "database"})
        if not config.get("host"):
            return info
        db = int(config.get("db") or 0)
        scheme = "rediss" if config.get("tls") else "redis"
        url = scheme + info.display_url[info.display_url.index("://"):] + f"/{db}"
        return ConnectionInfo(url, host=info.host, port=info.port, database=str(db), user=info.user)


async def connection(config: Values, secrets: Values, ctx: TestContext, decode: bool) -> Any:
    """One unconnected redis-py connection, made the same way for the test and every action: TCP (TLS if
    chosen) or the Unix socket `host` names when it starts with / (redis-py's unix:// form), with the
    Advanced group's client name and socket timeout."""
    from redis.asyncio import Connection, SSLConnection, UnixDomainSocketConnection
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    host = str(config.get("host") or "localhost")
    port = int(config.get("port") or 6379)
    ca_file = config.get("ca_file") or None
    if config.get("tls") and ca_file and not Path(ca_file).is_file():
        raise ConfigError(f"CA certificate file not found: {ca_file}")
    read_timeout = ctx.remaining()
    if config.get("socket_timeout"):
        read_timeout = min(read_timeout, float(config["socket_timeout"]))
    options: dict[str, Any] = dict(
        db=int(config.get("db") or 0), username=config.get("username") or None,
        password=secrets.get("password") or None, socket_connect_timeout=ctx.remaining(),
        socket_timeout=read_timeout,
        retry=Retry(NoBackoff(), 0),  # a test must report the first failure, not retry into the timeout
        protocol=2, driver_info=None, decode_responses=decode, client_name=config.get("client_name") or None,
    )
    if host.startswith("/"):
        folder, _, name = host.rpartition("/")
        await socket_present(folder or "/", name, ctx)
        return UnixDomainSocketConnection(path=host, **options)
    await resolve_host(host, port, ctx)
    if config.get("tls"):
        return SSLConnection(host=host, port=port, ssl_ca_certs=ca_file, ssl_cert_reqs="required",
                             ssl_check_hostname=True, **options)
    return Connection(host=host, port=port, **options)


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
    return RedisIntegration.classify_driver_error(exc, ctx)
