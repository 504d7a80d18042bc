"""RabbitMQ's actions: publish a message (confirmed by the broker) and read a queue's counts.

Each run connects exactly as the connection test does (the Close-aware connection class, the virtual host
set on the connection, TLS with the instance's CA), opens one channel, and closes both.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from connhub.core.context import ActionContext
from connhub.core.errors import ConfigError, ConnectionTestError, NotFound, PermissionDenied, UnknownError
from connhub.core.integration import Values
from connhub.core.net import handshake, resolve_host, tls_context


class RabbitMqActions:
    """Mixed into RabbitMqIntegration: `publish`, `queue_info`."""

    async def publish(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        from aiormq.exceptions import PublishError
        from pamqp import commands as spec
        from pamqp.commands import Basic

        headers = dict(params.get("headers") or {})
        properties = Basic.Properties(headers=headers or None, content_type=params.get("content_type") or None,
                                      delivery_mode=2 if params.get("persistent") else 1)
        exchange, routing_key = str(params.get("exchange") or ""), str(params.get("routing_key") or "")
        async with _Channel(config, secrets, ctx, confirms=True) as channel:
            try:
                confirmation = await channel.basic_publish(params["body"].encode(), exchange=exchange,
                                                           routing_key=routing_key, properties=properties,
                                                           mandatory=True)
            except PublishError:  # the broker returned it (Basic.Return): no queue is bound for this key
                return {"confirmed": True, "routed": False, "exchange": exchange, "routing_key": routing_key}
            except Exception as exc:
                raise _channel_error(exc, ctx, exchange=exchange) from exc
        return {"confirmed": isinstance(confirmation, spec.Basic.Ack), "routed": True, "exchange": exchange,
                "routing_key": routing_key}

    async def queue_info(self, params: Values, config: Values, secrets: Values, ctx: ActionContext
                         ) -> dict[str, Any]:
        queue = params["queue"]
        async with _Channel(config, secrets, ctx) as channel:
            try:
                declared = await channel.queue_declare(queue, passive=True)  # passive: never creates it
            except Exception as exc:
                raise _channel_error(exc, ctx, queue=queue) from exc
        return {"queue": queue, "messages": int(declared.message_count or 0),
                "consumers": int(declared.consumer_count or 0)}


class _Channel:
    """A connection made as the connection test makes it and one channel on it; both closed at the end."""

    def __init__(self, config: Values, secrets: Values, ctx: ActionContext, confirms: bool = False):
        self.config, self.secrets, self.ctx, self.confirms = config, secrets, ctx, confirms
        self.conn: Any = None

    async def __aenter__(self) -> Any:
        from yarl import URL

        from connhub.integrations.rabbitmq import (
            DEFAULT_PORT,
            DEFAULT_TLS_PORT,
            DEFAULT_VHOST,
            _connection_class,
            _map_error,
            _quiet_driver_logs,
        )

        config, ctx = self.config, self.ctx
        tls = bool(config.get("tls"))
        host = str(config.get("host") or "localhost")
        port = int(config.get("port") or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT))
        vhost = str(config.get("vhost") or DEFAULT_VHOST)
        context = tls_context(str(config.get("ca_file") or "") or None) if tls else None
        _quiet_driver_logs()
        await resolve_host(host, port, ctx)
        url = URL.build(scheme="amqps" if tls else "amqp", host=host, port=port, user=str(config.get("user") or "guest"),
                        password=str(self.secrets.get("password") or ""))
        self.conn = _connection_class()(url, context=context, client_properties={"connection_name": "connhub action"})
        self.conn.vhost = vhost
        try:
            with handshake(ctx, lambda exc: _map_error(exc, ctx, vhost, tls)):
                async with asyncio.timeout(ctx.remaining()):
                    await self.conn.connect()
            channel = await self.conn.channel(publisher_confirms=self.confirms, on_return_raises=True)
        except BaseException:
            await self._close()
            raise
        return channel

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._close()

    async def _close(self) -> None:
        if self.conn is not None:
            with suppress(BaseException):
                await self.conn.close(None, timeout=max(0.05, min(self.ctx.remaining(), 1.0)))


def _channel_error(exc: BaseException, ctx: ActionContext, queue: str | None = None, exchange: str | None = None
                   ) -> ConnectionTestError:
    """The broker's channel-level refusals (AMQP reply codes 404, 403, 405, 406) in words."""
    from aiormq import exceptions as ax

    if isinstance(exc, ConnectionTestError):
        return exc
    text = " ".join(str(arg) for arg in getattr(exc, "args", ())) or type(exc).__name__
    what = f"queue {queue!r}" if queue is not None else f"exchange {exchange!r}"
    if isinstance(exc, ax.ChannelNotFoundEntity):
        return NotFound(f"The broker has no {what}: {text}")
    if isinstance(exc, ax.ChannelAccessRefused):
        return PermissionDenied(f"This user may not use {what}: {text}")
    if isinstance(exc, ax.ChannelLockedResource):
        return PermissionDenied(f"The {what} is exclusive to another connection: {text}")
    if isinstance(exc, ax.ChannelPreconditionFailed):
        return ConfigError(f"The broker refused it: {text}")
    if isinstance(exc, ax.AMQPError):
        return UnknownError(f"{type(exc).__name__}: {text}")
    from connhub.integrations.rabbitmq import _map_error

    return _map_error(exc, ctx, "", False)  # type: ignore[arg-type]
