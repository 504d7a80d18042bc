"""NATS through nats-py: connect (INFO, TLS upgrade, CONNECT and the first PING/PONG), then JetStream.

nats-py is built to stay connected: it retries, reconnects and prints errors from background tasks. Here a
test is one attempt. `allow_reconnect=False` alone does not stop the *first* connect from retrying forever
(nats-io/nats.py#645: the server is never dropped from the pool while `max_reconnect_attempts` is 0), so
the pool allows one retry with no wait, and every callback only records. The client is closed in all cases.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from typing import Any

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    PermissionDenied,
    RefusedError,
    TlsError,
    UnknownError,
)
from connhub.core.integration import DriverIntegration, Values
from connhub.core.net import classify_os_chain, handshake, resolve_host, tls_context
from connhub.core.results import ConnectionInfo, ProbeInfo
from connhub.integrations.nats.actions import NatsActions

DEFAULT_PORT = 4222
#: The longest the JetStream question may take, and the share of what is left of the test it may use.
JETSTREAM_WAIT = 2.0
#: How long closing may take after a test that connected, and after one that did not (nothing to flush).
CLOSE_WAIT = 1.0
FAILED_CLOSE_WAIT = 0.1
#: JetStream API error code for an account without JetStream (nats-server's JSNotEnabledForAccountErr).
JS_NOT_ENABLED_FOR_ACCOUNT = 10039


class NatsIntegration(NatsActions, DriverIntegration):
    """One connection attempt, no reconnects; the server's version and whether JetStream answers."""

    drivers = ("nats", "nats.aio.client", "nats.errors", "nats.js.errors")
    driver_timeouts = ("nats.errors:TimeoutError",)

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        client, info, _ = await connect(config, secrets, ctx, "connhub connection test")
        try:
            with ctx.stage("probe"):
                jetstream = await _jetstream(client, ctx)
        finally:
            await _close(client, min(ctx.remaining(), CLOSE_WAIT))
        return ProbeInfo(server_version=_version(client, info), details=_details(info, jetstream))

    def connection_info(self, config: Values) -> ConnectionInfo:
        """`nats://user@host:port` (`tls://` with TLS); never the password or token."""
        user = config.get("auth.username") if config.get("auth.method") == "password" else None
        summary = {"host": config.get("host"), "port": config.get("port"), "user": user}
        info = super().connection_info(summary)
        if not config.get("host"):
            return info
        scheme = "tls" if config.get("tls") else "nats"
        url = scheme + info.display_url[info.display_url.index("://"):]
        return ConnectionInfo(url, host=info.host, port=info.port, user=info.user)


async def connect(config: Values, secrets: Values, ctx: TestContext, name: str
                  ) -> tuple[Any, dict[str, Any], list[BaseException]]:
    """One connection, opened the same way for the test and every action: (client, the server's INFO, the
    errors the server reported asynchronously so far). A failure closes the client (at once when cancelled)."""
    from nats.aio.client import Client

    tls = bool(config.get("tls"))
    host, port = str(config["host"]), int(config["port"])  # the manifest's defaults are in (the runner)
    credentials = _credentials(config, secrets)
    options: dict[str, Any] = {}
    if tls:
        options["tls"] = tls_context(str(config.get("ca_file") or "") or None)
        options["tls_hostname"] = host

    await resolve_host(host, port, ctx)
    seen: list[BaseException] = []

    async def record(exc: BaseException) -> None:
        seen.append(exc)

    async def ignore(*_: Any) -> None:
        return None

    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    client = Client()
    connected = False
    try:
        with handshake(ctx, lambda exc: _map_error(exc, seen, ctx, netloc)):
            await client.connect(
                servers=[f"nats://{netloc}"], name=name, error_cb=record,
                disconnected_cb=ignore, closed_cb=ignore, reconnected_cb=ignore, discovered_server_cb=ignore,
                lame_duck_mode_cb=ignore, allow_reconnect=False, max_reconnect_attempts=1,
                reconnect_time_wait=0, connect_timeout=ctx.remaining(), dont_randomize=True,
                **credentials, **options)
            connected = True
            info = dict(getattr(client, "_server_info", None) or {})  # nats-py keeps INFO private
            if tls and not info.get("tls_required"):
                # nats-py upgrades only when the server requires TLS, else it goes on in plain text.
                raise TlsError("The server does not use TLS: the connection would not be encrypted")
    except BaseException as exc:
        hurry = not isinstance(exc, Exception)  # cancelled: nobody waits for the close
        await _close(client, FAILED_CLOSE_WAIT / 4 if hurry else
                     min(ctx.remaining(), CLOSE_WAIT) if connected else FAILED_CLOSE_WAIT)
        raise
    return client, info, seen


async def _close(client: Any, wait: float) -> None:
    """Close the client and its background tasks (reader, pinger, flusher). After a failed TLS upgrade the
    socket is already closed but asyncio never tells the original stream, so nats-py would wait forever."""
    with suppress(Exception):
        await asyncio.wait_for(client.close(), wait)


def _credentials(config: Values, secrets: Values) -> dict[str, str]:
    method = str(config.get("auth.method") or "none")
    if method == "none":
        return {}
    if method == "password":
        secret = str(secrets.get("auth.password") or "")
        if not secret:
            raise ConfigError("The password or token is empty")
        user = str(config.get("auth.username") or "")
        return {"user": user, "password": secret} if user else {"token": secret}
    raise ConfigError(f"Unknown authentication method {method!r}")


async def _jetstream(client: Any, ctx: TestContext) -> str:
    """"available", "not enabled", or why the answer is not known; never a failure of the test."""
    from nats.errors import NoRespondersError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.errors import APIError, ServiceUnavailableError

    wait = min(JETSTREAM_WAIT, ctx.remaining() / 2)
    try:
        await client.jetstream(timeout=wait).account_info()
    except (NoRespondersError, ServiceUnavailableError):  # no JetStream on the server
        return "not enabled"
    except APIError as exc:
        if exc.err_code == JS_NOT_ENABLED_FOR_ACCOUNT:
            return "not enabled"
        return f"unknown ({exc.description or exc})"
    except (NatsTimeout, TimeoutError):
        return "no answer"
    return "available"


def _version(client: Any, info: dict[str, Any]) -> str | None:
    version = info.get("version")
    if not version:
        try:
            parsed = client.connected_server_version
            version = f"{parsed.major}.{parsed.minor}.{parsed.patch}"
        except (ValueError, TypeError):
            return None
    return f"NATS {version}"


def _details(info: dict[str, Any], jetstream: str) -> dict[str, str]:
    details = {"jetstream": jetstream, "tls": "yes" if info.get("tls_required") else "no",
               "server_name": str(info.get("server_name") or ""), "cluster": str(info.get("cluster") or "")}
    return {k: v for k, v in details.items() if v}


def _map_error(exc: Exception, seen: list[BaseException], ctx: TestContext, netloc: str) -> ConnectionTestError:
    from nats import errors as nx

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, nx.NoServersError) and seen:
        exc = seen[-1]  # what went wrong with the one server, reported to the error callback
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, nx.AuthorizationError) or "authorization violation" in lowered \
            or "authentication expired" in lowered or "authentication revoked" in lowered:
        return AuthError(text.removeprefix("nats: ").strip("'") or "Authorization violation")
    if "permissions violation" in lowered:
        return PermissionDenied(text.removeprefix("nats: "))
    if isinstance(exc, nx.TimeoutError | TimeoutError) or "authentication timeout" in lowered:
        return ConnectTimeout(f"No answer within {ctx.timeout:g} s")
    if isinstance(exc, nx.NoServersError):
        return RefusedError(f"Cannot connect to {netloc}")
    mapped = classify_os_chain(exc, ctx.timeout)
    if mapped is not None:
        return mapped
    if isinstance(exc, nx.Error):
        return UnknownError(text.removeprefix("nats: ") or type(exc).__name__)
    return NatsIntegration.classify_driver_error(exc, ctx)
