"""NATS's actions: publish a message, and send a request and wait for its reply.

Each run connects as the connection test does (one attempt, no reconnects, callbacks that only record, the
instance's token or user and password, TLS required when chosen) and closes the client after. A publish is
flushed (a PING/PONG round trip) before it is reported sent, so "sent" means the server has it.
"""

from __future__ import annotations

from typing import Any

from connhub.core.context import ActionContext
from connhub.core.errors import ConnectionTestError, ConnectTimeout, NotFound
from connhub.core.integration import Values
from connhub.core.rows import payload


class NatsActions:
    """Mixed into NatsIntegration: `publish`, `request`."""

    async def publish(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        data = str(params.get("payload") or "").encode()
        async with _Client(config, secrets, ctx) as client:
            await client.publish(params["subject"], data, headers=_headers(params))
            await client.flush(timeout=max(0.05, ctx.remaining()))
        return {"subject": params["subject"], "bytes": len(data)}

    async def request(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        from nats.errors import NoRespondersError
        from nats.errors import TimeoutError as NatsTimeout

        wait = min(float(params.get("timeout") or 5), ctx.remaining())
        async with _Client(config, secrets, ctx) as client:
            try:
                reply = await client.request(params["subject"], str(params.get("payload") or "").encode(),
                                             timeout=wait, headers=_headers(params))
            except NoRespondersError:
                raise NotFound(f"Nothing answers requests on {params['subject']!r}") from None
            except NatsTimeout:
                raise ConnectTimeout(f"No reply on {params['subject']!r} within {wait:g} s") from None
        text, encoding = payload(reply.data)
        headers = {str(k): str(v) for k, v in (reply.headers or {}).items()}
        return {"subject": params["subject"], "reply": text, "encoding": encoding, "headers": headers}


def _headers(params: Values) -> dict[str, str] | None:
    headers = {str(k): str(v) for k, v in (params.get("headers") or {}).items()}
    return headers or None


class _Client:
    """A client connected as the connection test connects it; closed at the end, also when cancelled."""

    def __init__(self, config: Values, secrets: Values, ctx: ActionContext):
        self.config, self.secrets, self.ctx = config, secrets, ctx
        self.client: Any = None
        self.connected = False

    async def __aenter__(self) -> Any:
        from connhub.integrations.nats import connect

        self.client, _, self.seen = await connect(self.config, self.secrets, self.ctx, "connhub action")
        self.connected = True
        return self.client

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        await self._close(hurry=exc is not None and not isinstance(exc, Exception))
        if exc is None and self.seen:  # e.g. a permissions violation, reported by the server asynchronously
            from connhub.integrations.nats import _map_error

            error = _map_error(self.seen[-1], self.seen, self.ctx, "")
            if isinstance(error, ConnectionTestError):
                raise error

    async def _close(self, hurry: bool = False) -> None:
        """Closed with time to flush after a run that worked; at once after a cancel (nobody waits for it)."""
        from connhub.integrations.nats import CLOSE_WAIT, FAILED_CLOSE_WAIT, _close

        if self.client is None:
            return
        if hurry or not self.connected:
            await _close(self.client, FAILED_CLOSE_WAIT / 4 if hurry else FAILED_CLOSE_WAIT)
        else:
            await _close(self.client, min(self.ctx.remaining(), CLOSE_WAIT))
