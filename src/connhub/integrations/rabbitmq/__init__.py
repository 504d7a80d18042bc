"""RabbitMQ (and other AMQP 0-9-1 brokers) through aiormq, the protocol layer underneath aio-pika.

aio-pika's `connect()` adds nothing a connection test needs (robust reconnects, exchanges), and it hides the
broker's reason when the virtual host is refused: aiormq checks the frame type before it looks for a
Connection.Close, so "vhost not found" and "access to vhost refused" both arrive as an InvalidFrameError
without the broker's words. A small subclass reads the Close frame first; the broker's reply text decides
between `not_found` and `permission`.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from functools import cache
from typing import Any
from urllib.parse import quote

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConnectionTestError,
    ConnectTimeout,
    NotFound,
    PermissionDenied,
    TlsError,
    UnknownError,
)
from connhub.core.integration import DriverIntegration, Values
from connhub.core.net import classify_os_chain, handshake, resolve_host, tls_context
from connhub.core.results import ConnectionInfo, ProbeInfo
from connhub.integrations.rabbitmq.actions import RabbitMqActions

DEFAULT_PORT = 5672
DEFAULT_TLS_PORT = 5671
DEFAULT_VHOST = "/"
#: AMQP reply codes (AMQP 0-9-1 §1.9): 403 ACCESS_REFUSED at login, 530 NOT_ALLOWED for a virtual host.
ACCESS_REFUSED = 403
NOT_ALLOWED = 530


class BrokerClosed(Exception):
    """The broker closed the connection during the handshake (Connection.Close) with this reply."""

    def __init__(self, code: int, text: str):
        super().__init__(f"{code} {text}")
        self.code = code
        self.text = text


class RabbitMqIntegration(RabbitMqActions, DriverIntegration):
    """Connect (login and virtual host happen there), open and close a channel, report the broker's version."""

    drivers = ("aiormq", "pamqp", "yarl")
    computed_defaults = ("port",)  # 1883/5672, or the TLS port with TLS

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        from yarl import URL

        tls = bool(config.get("tls"))
        host = str(config["host"])  # the manifest's defaults are in (the runner)
        port = int(config.get("port") or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT))
        vhost, user = str(config["vhost"]), str(config["user"])
        context = tls_context(str(config.get("ca_file") or "") or None) if tls else None
        _quiet_driver_logs()

        await resolve_host(host, port, ctx)
        # The URL only carries what aiormq reads from it (scheme → TLS, host, port, PLAIN credentials);
        # the virtual host is set on the connection itself, so no path encoding can change it.
        url = URL.build(scheme="amqps" if tls else "amqp", host=host, port=port, user=user,
                        password=str(secrets.get("password") or ""))
        conn = _connection_class()(url, context=context,
                                   client_properties={"connection_name": "connhub connection test"})
        conn.vhost = vhost
        with handshake(ctx, lambda exc: _map_error(exc, ctx, vhost, tls)):
            async with asyncio.timeout(ctx.remaining()):
                await conn.connect()
        try:
            with ctx.stage("probe"):
                try:
                    async with asyncio.timeout(ctx.remaining()):
                        channel = await conn.channel(publisher_confirms=False)
                        await channel.close()
                except Exception as exc:
                    raise _map_error(exc, ctx, vhost, tls) from exc
        finally:
            # Connection.Close and its Close-Ok: the broker logs no "client unexpectedly closed TCP connection".
            with suppress(Exception):
                await conn.close(None, timeout=max(0.05, min(ctx.remaining(), 1.0)))
        return _probe_info(dict(conn.server_properties or {}), vhost, tls)

    def connection_info(self, config: Values) -> ConnectionInfo:
        """`amqp://user@host:port/vhost` (`amqps://` with TLS); the default virtual host '/' is left out."""
        info = super().connection_info({k: v for k, v in config.items() if k != "database"})
        if not config.get("host"):
            return info
        vhost = str(config.get("vhost") or DEFAULT_VHOST)
        scheme = "amqps" if config.get("tls") else "amqp"
        url = scheme + info.display_url[info.display_url.index("://"):]
        if vhost != DEFAULT_VHOST:
            url += "/" + quote(vhost, safe="")  # the AMQP URI form: '/' inside a vhost name is %2F
        return ConnectionInfo(url, host=info.host, port=info.port, database=vhost, user=info.user)


@cache
def _connection_class() -> type:
    """aiormq's Connection, reading a Connection.Close during the handshake as the broker's own answer."""
    import aiormq
    from pamqp import commands as spec

    class _CloseAwareReceiver:
        def __init__(self, receiver: Any):
            self._receiver = receiver

        async def get_frame(self) -> Any:
            received = await self._receiver.get_frame()
            frame = received[2]
            if isinstance(frame, spec.Connection.Close):
                raise BrokerClosed(int(frame.reply_code or 0), str(frame.reply_text or ""))
            return received

    class _Connection(aiormq.Connection):
        @staticmethod
        async def _rpc(request: Any, writer: Any, frame_receiver: Any, wait_response: bool = True) -> Any:
            return await aiormq.Connection._rpc(request, writer, _CloseAwareReceiver(frame_receiver), wait_response)

    return _Connection


def _quiet_driver_logs() -> None:
    """aiormq logs a refused connection at ERROR; without a handler of its own that would reach stderr
    through logging's last resort. The record still propagates to whatever the application configured."""
    logger = logging.getLogger("aiormq")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _probe_info(properties: dict[str, Any], vhost: str, tls: bool) -> ProbeInfo:
    def text(key: str) -> str:
        value = properties.get(key)
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value or "")

    product, version = text("product"), text("version")
    details = {"vhost": vhost, "cluster": text("cluster_name"), "platform": text("platform"),
               "tls": "yes" if tls else "no"}
    server_version = f"{product or 'AMQP broker'} {version}".strip() if version or product else None
    return ProbeInfo(server_version=server_version, details={k: v for k, v in details.items() if v})


def _map_error(exc: Exception, ctx: TestContext, vhost: str, tls: bool) -> ConnectionTestError:
    from aiormq import exceptions as ax

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, BrokerClosed):
        return _closed(exc.code, exc.text, vhost)
    if isinstance(exc, ax.ProbableAuthenticationError):  # aiormq's own reading of a 403 at login
        return AuthError(_reply_text(exc))
    if isinstance(exc, ax.ConnectionNotAllowed):
        return _closed(NOT_ALLOWED, _reply_text(exc), vhost)
    if isinstance(exc, ax.AuthenticationError):  # no SASL mechanism in common
        return AuthError(f"The broker offers no login mechanism connhub supports (PLAIN): {exc.args[0]!s}")
    if isinstance(exc, ax.InvalidFrameError) and "Connection.Close" in str(exc):
        # Only if the subclass above is bypassed: the broker refused Connection.Open without saying why here.
        return PermissionDenied(f"The broker refused virtual host {vhost!r}: it does not exist, or this user may "
                                "not use it")
    if isinstance(exc, TimeoutError):
        return ConnectTimeout(f"No answer within {ctx.timeout:g} s")
    mapped = classify_os_chain(exc, ctx.timeout)
    if isinstance(mapped, TlsError) and tls and "WRONG_VERSION_NUMBER" in mapped.detail:
        return TlsError(f"The server does not speak TLS on this port ({mapped.detail}): brokers usually take "
                        f"TLS (amqps) on {DEFAULT_TLS_PORT}")
    if mapped is not None:
        return mapped
    if isinstance(exc, ax.IncompatibleProtocolError):  # closed right after our protocol header
        return UnknownError("The server closed the connection without an AMQP greeting: it may expect TLS "
                            "(amqps), or not be an AMQP 0-9-1 broker")
    if isinstance(exc, ax.AMQPError):
        return UnknownError(f"{type(exc).__name__}: {_reply_text(exc)}")
    return RabbitMqIntegration.classify_driver_error(exc, ctx)


def _closed(code: int, text: str, vhost: str) -> ConnectionTestError:
    """RabbitMQ's words: 'ACCESS_REFUSED - Login was refused …', 'NOT_ALLOWED - vhost x not found',
    'NOT_ALLOWED - access to vhost 'x' refused for user 'u''."""
    if code == ACCESS_REFUSED:
        return AuthError(text)
    if code == NOT_ALLOWED:
        if "not found" in text.lower():
            return NotFound(text or f"Virtual host {vhost!r} not found")
        return PermissionDenied(text or f"This user may not use virtual host {vhost!r}")
    return UnknownError(f"The broker closed the connection: {code} {text}".rstrip())


def _reply_text(exc: BaseException) -> str:
    return " ".join(str(arg) for arg in exc.args) or type(exc).__name__
