"""MQTT's actions: publish one message, and subscribe to read the next few messages on a topic.

Each run connects as the connection test does (the same client options, TLS and its CA, user and password,
paho's connect bounded by the run's budget) and disconnects in every case, as the test does.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from connhub.core.context import ActionContext
from connhub.core.errors import PermissionDenied
from connhub.core.integration import Values
from connhub.core.rows import payload

#: Seconds kept back from the run's budget to disconnect after a subscription's wait.
CLOSE_MARGIN = 0.2


class MqttActions:
    """Mixed into MqttIntegration: `publish`, `subscribe_once`."""

    async def publish(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        data = str(params.get("payload") or "").encode()
        qos, retain = int(params.get("qos") or 0), bool(params.get("retain"))
        async with _Client(config, secrets, ctx) as client:
            # QoS 1 and 2 return once the broker acknowledged (PUBACK / PUBCOMP); QoS 0 once it was written.
            await client.publish(params["topic"], data, qos=qos, retain=retain, timeout=math.inf)
        return {"topic": params["topic"], "qos": qos, "retain": retain, "bytes": len(data)}

    async def subscribe_once(self, params: Values, config: Values, secrets: Values, ctx: ActionContext
                             ) -> dict[str, Any]:
        wanted = int(params.get("max_messages") or 1)
        wait = float(params.get("wait_seconds") or 5)
        topic = params["topic"]
        messages: list[dict[str, Any]] = []
        async with _Client(config, secrets, ctx) as client:
            codes = await client.subscribe(topic, qos=int(params.get("qos") or 0), timeout=math.inf)
            if any(int(getattr(code, "value", code)) >= 0x80 for code in codes):
                raise PermissionDenied(f"The broker refused the subscription to {topic!r}")
            try:
                async with asyncio.timeout(max(0.0, min(wait, ctx.remaining() - CLOSE_MARGIN))):
                    async for message in client.messages:
                        if not message.topic.matches(topic):  # e.g. a retained $SYS message of the probe
                            continue
                        text, encoding = payload(message.payload if isinstance(message.payload, bytes | bytearray)
                                                 else str(message.payload if message.payload is not None else ""))
                        messages.append({"topic": str(message.topic), "payload": text, "encoding": encoding,
                                         "qos": int(message.qos), "retain": bool(message.retain)})
                        ctx.progress(f"{len(messages)} of {wanted} messages")
                        if len(messages) >= wanted:
                            break
                timed_out = False
            except TimeoutError:
                timed_out = True
        return {"topic": topic, "messages": messages, "count": len(messages), "timed_out": timed_out}


class _Client:
    """A client connected as the connection test connects it; disconnected whatever happens."""

    def __init__(self, config: Values, secrets: Values, ctx: ActionContext):
        self.config, self.secrets, self.ctx = config, secrets, ctx
        self.paho: Any = None

    async def __aenter__(self) -> Any:
        from connhub.integrations.mqtt import connect

        client, self.paho = await connect(self.config, self.secrets, self.ctx)  # as the connection test does
        return client

    async def __aexit__(self, *exc_info: Any) -> None:
        from connhub.integrations.mqtt import _disconnect

        await _disconnect(self.paho)
