"""MQTT brokers through aiomqtt (paho-mqtt underneath): CONNECT and its CONNACK, then the broker's version.

aiomqtt's `async with Client(…)` is not used as such: its exit waits for a clean disconnect only after a
successful connect, and a failed or cancelled connect would leave paho's socket, its event-loop reader and
aiomqtt's housekeeping task behind. `_disconnect` closes whatever exists, in every case.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from typing import Any

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    PermissionDenied,
    RateLimited,
    RefusedError,
    TlsError,
    UnknownError,
)
from connhub.core.integration import DriverIntegration, Values
from connhub.core.net import classify_os_chain, exception_chain, handshake, resolve_host, tls_context
from connhub.core.results import ConnectionInfo, ProbeInfo
from connhub.integrations.mqtt.actions import MqttActions

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883
PROTOCOLS = ("3.1.1", "5")
#: Mosquitto publishes its version here, retained, to every client allowed to read `$SYS`.
SYS_VERSION_TOPIC = "$SYS/broker/version"
#: How long to wait for that message: brokers without it (EMQX, HiveMQ) cost this much on each test.
VERSION_WAIT = 0.5
#: Sent in CONNECT; paho also drops a connection that got no CONNACK within it, which bounds what a
#: cancelled test can leave behind while paho's blocking connect still runs in its thread.
KEEPALIVE = 10
#: Seconds left for DISCONNECT after the version probe, out of the test's budget.
CLOSE_MARGIN = 0.2

# CONNACK codes: MQTT 3.1.1 return codes (§3.2.2.3) and MQTT 5 reason codes (§3.2.2.2).
_AUTH = {4, 5, 0x86, 0x87, 0x8C}  # bad user name or password, not authorized, bad authentication method
_BANNED = {0x8A}
_PROTOCOL = {1, 0x84}
_CLIENT_ID = {2, 0x85}
_BUSY = {0x89, 0x97, 0x9F}  # server busy, quota exceeded, connection rate exceeded

_DRIVER_LOG = logging.getLogger("connhub.integrations.mqtt.paho")
_DRIVER_LOG.addHandler(logging.NullHandler())  # paho's socket errors are ours to report, not stderr's


class MqttIntegration(MqttActions, DriverIntegration):
    """One connection, no retries: CONNECT (authentication happens there), then `$SYS/broker/version`."""

    drivers = ("aiomqtt", "aiomqtt.exceptions", "paho.mqtt.client")
    computed_defaults = ("port",)  # 1883/5672, or the TLS port with TLS

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        tls, protocol = bool(config.get("tls")), str(config.get("protocol") or PROTOCOLS[0])
        client, paho = await connect(config, secrets, ctx)
        try:
            with ctx.stage("probe"):
                version = await _broker_version(client, ctx)
        finally:
            await _disconnect(paho)
        details = {"protocol": f"MQTT {'5.0' if protocol == '5' else protocol}", "tls": "yes" if tls else "no"}
        return ProbeInfo(server_version=version, details=details)

    def connection_info(self, config: Values) -> ConnectionInfo:
        """`mqtt://user@host:port` (`mqtts://` with TLS); never the password."""
        info = super().connection_info({k: v for k, v in config.items() if k != "database"})
        if not config.get("host"):
            return info
        scheme = "mqtts" if config.get("tls") else "mqtt"
        url = scheme + info.display_url[info.display_url.index("://"):]
        return ConnectionInfo(url, host=info.host, port=info.port, user=info.user)


async def connect(config: Values, secrets: Values, ctx: TestContext) -> tuple[Any, Any]:
    """(aiomqtt client, paho client) connected the one way the test and every action connect: the version
    chosen, TLS with its CA, the user and password, paho's blocking connect bounded by the timeout. A failed
    connect leaves nothing open."""
    import aiomqtt

    tls = bool(config.get("tls"))
    host = str(config.get("host") or "localhost")
    port = int(config.get("port") or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT))
    protocol = str(config.get("protocol") or PROTOCOLS[0])
    if protocol not in PROTOCOLS:
        raise ConfigError(f"Unknown MQTT version {protocol!r}: use one of {', '.join(PROTOCOLS)}")
    user = str(config.get("user") or "") or None
    password = str(secrets.get("password") or "") or None
    if password and not user:
        raise ConfigError("A password needs a user name: MQTT sends no password without one")
    context = tls_context(str(config.get("ca_file") or "") or None) if tls else None
    await resolve_host(host, port, ctx)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    client = aiomqtt.Client(
        host, port, username=user, password=password, identifier=str(config.get("client_id") or "") or None,
        protocol=aiomqtt.ProtocolVersion.V5 if protocol == "5" else aiomqtt.ProtocolVersion.V311,
        tls_context=context, timeout=ctx.remaining(), keepalive=KEEPALIVE, logger=_DRIVER_LOG)
    paho = client._client  # noqa: SLF001 - aiomqtt keeps paho's client private; nothing else bounds its connect
    paho.connect_timeout = ctx.remaining()  # the blocking TCP connect and TLS handshake in paho's thread
    try:
        with handshake(ctx, lambda exc: _map_error(exc, ctx, tls, protocol, address)):
            await client.__aenter__()
    except BaseException:
        await _disconnect(paho)
        raise
    return client, paho


async def _broker_version(client: Any, ctx: TestContext) -> str | None:
    """The broker's `$SYS/broker/version`, if it publishes one to this client within a short wait."""
    from aiomqtt import MqttError

    budget = min(VERSION_WAIT, ctx.remaining() - CLOSE_MARGIN)
    if budget <= 0:
        return None
    try:
        async with asyncio.timeout(budget):
            codes = await client.subscribe(SYS_VERSION_TOPIC, timeout=math.inf)
            if any(_code(code) >= 0x80 for code in codes):  # refused ($SYS is often for admins only)
                return None
            async for message in client.messages:
                if message.topic.matches(SYS_VERSION_TOPIC):
                    return _version_text(message.payload)
    except (TimeoutError, MqttError):
        return None  # no version is no failure: the broker accepted the connection
    return None


def _version_text(payload: Any) -> str | None:
    text = payload.decode(errors="replace") if isinstance(payload, bytes | bytearray) else str(payload or "")
    text = text.strip()[:200]
    match = re.fullmatch(r"([A-Za-z][\w.-]*) version (\S+)", text)  # "mosquitto version 2.0.11"
    if match:
        name = match.group(1)
        return f"{name[0].upper()}{name[1:]} {match.group(2)}"
    return text or None


async def _disconnect(paho: Any) -> None:
    """DISCONNECT and close, whatever state the connection is in; returns once paho let go of its socket."""
    import paho.mqtt.client as mqtt

    # aiomqtt need not hear of it (the client is dropped), and after a cancelled connect its callback would
    # raise CancelledError out of paho before paho closes the socket.
    paho.on_disconnect = None
    if paho.disconnect() != mqtt.MQTT_ERR_SUCCESS:  # no socket: nothing was left open
        return
    # paho queued DISCONNECT and asked aiomqtt to watch the socket for writing; one or two turns of the event
    # loop send it, after which paho closes the socket, unregisters it and stops aiomqtt's housekeeping task.
    for _ in range(50):
        if paho.socket() is None:
            return
        await asyncio.sleep(0.005)


def _code(code: Any) -> int:
    return int(getattr(code, "value", code))


def _map_error(exc: Exception, ctx: TestContext, tls: bool, protocol: str, address: str) -> ConnectionTestError:
    from aiomqtt.exceptions import MqttCodeError, MqttConnectError

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, MqttConnectError) and exc.rc is not None:
        text = exc.rc.getName() if hasattr(exc.rc, "getName") else str(exc)  # paho's ReasonCode: "Not authorized"
        return _refused(_code(exc.rc), text, protocol)
    if isinstance(exc, TimeoutError):
        return ConnectTimeout(f"No answer within {ctx.timeout:g} s")
    mapped = classify_os_chain(exc, ctx.timeout)  # aiomqtt keeps the OS error as the exception's context
    if isinstance(mapped, RefusedError) and "Host unreachable" not in mapped.detail:
        return RefusedError(f"Nothing accepts connections on {address}")  # paho says only "Connection refused"
    if mapped is not None:
        return mapped
    if tls and isinstance(_os_cause(exc), ConnectionResetError | EOFError):
        return TlsError(f"The server broke off the TLS handshake: is this the broker's TLS port (usually "
                        f"{DEFAULT_TLS_PORT})?")
    if isinstance(exc, MqttCodeError):
        return UnknownError(str(exc))
    return MqttIntegration.classify_driver_error(exc, ctx)


def _os_cause(exc: BaseException) -> BaseException | None:
    return next((cause for cause in exception_chain(exc) if isinstance(cause, OSError | EOFError)), None)


def _refused(code: int, text: str, protocol: str) -> ConnectionTestError:
    """A negative CONNACK. Mosquitto answers "not authorized" (5 / 0x87) to a wrong password and to a missing
    one alike, so both it and "bad user name or password" (4 / 0x86) are authentication failures: at CONNECT
    there is nothing yet a valid user could lack permission for."""
    said = f"The broker refused the connection: {text} (CONNACK {code:#04x})"
    if code in _AUTH:
        return AuthError(said)
    if code in _BANNED:
        return PermissionDenied(said)
    if code in _PROTOCOL:
        other = "5" if protocol == "3.1.1" else "3.1.1"
        return ConfigError(f"The broker does not speak MQTT {protocol}: choose MQTT {other} ({said})")
    if code in _CLIENT_ID:
        return ConfigError(f"The broker does not accept this client id: {said}")
    if code in _BUSY:
        return RateLimited(said)
    return UnknownError(said)
