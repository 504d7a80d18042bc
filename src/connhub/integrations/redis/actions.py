"""Redis's actions: get, set, keys (SCAN, capped) and delete.

Each run opens one connection with the connection test's options (TLS and its CA, ACL user, password, db, no
retries, timeouts within the run's budget), sends its commands and disconnects. Values travel as bytes: text
that is UTF-8 comes back as text, anything else as base64 with `encoding` saying so.
"""

from __future__ import annotations

import base64
from typing import Any

from connhub.core.context import ActionContext
from connhub.core.errors import ConfigError, ConnectionTestError
from connhub.core.integration import Values
from connhub.core.net import handshake
from connhub.core.rows import payload

#: Keys asked of the server per SCAN step (a hint; the server may return more or fewer).
SCAN_COUNT = 500


class RedisActions:
    """Mixed into RedisIntegration: `get`, `set`, `keys`, `delete`."""

    async def get(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        async with _Session(config, secrets, ctx) as session:
            raw = await session.command("GET", params["key"])
        text, encoding = payload(raw) if raw is not None else (None, "utf-8")
        return {"key": params["key"], "exists": raw is not None, "value": text, "encoding": encoding}

    async def set(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        value = params["value"]
        try:
            data = base64.b64decode(value, validate=True) if params.get("encoding") == "base64" else value.encode()
        except ValueError:
            raise ConfigError("The value is not valid base64: choose the encoding utf-8 for text") from None
        args: list[Any] = ["SET", params["key"], data]
        if params.get("ttl_seconds"):
            args += ["EX", int(params["ttl_seconds"])]
        async with _Session(config, secrets, ctx) as session:
            answer = await session.command(*args)
        return {"key": params["key"], "stored": answer in (b"OK", "OK", True),
                "ttl_seconds": int(params.get("ttl_seconds") or 0) or None}

    async def keys(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        pattern = str(params.get("pattern") or "*")
        limit = int(params.get("limit") or 1000)
        found: list[str] = []
        seen: set[bytes] = set()  # SCAN may return a key twice while the keyspace is rehashed
        cursor: Any = 0
        async with _Session(config, secrets, ctx) as session:
            while True:
                cursor, batch = await session.command("SCAN", cursor, "MATCH", pattern, "COUNT", SCAN_COUNT)
                for key in batch:
                    if key not in seen and len(found) < limit + 1:
                        seen.add(key)
                        found.append(key.decode("utf-8", "backslashreplace"))
                if int(cursor) == 0 or len(found) > limit:
                    break
                ctx.progress(f"{len(found)} keys")
        truncated = len(found) > limit
        return {"keys": sorted(found[:limit]), "count": min(len(found), limit), "truncated": truncated}

    async def delete(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        keys = list(params["keys"])
        async with _Session(config, secrets, ctx) as session:
            deleted = await session.command("DEL", *keys)
        return {"deleted": int(deleted)}


class _Session:
    """One connection, made as the connection test makes it; disconnected at the end, also when cancelled."""

    def __init__(self, config: Values, secrets: Values, ctx: ActionContext):
        self.config, self.secrets, self.ctx = config, secrets, ctx
        self.conn: Any = None

    async def __aenter__(self) -> _Session:
        from connhub.integrations.redis import _map_error, connection

        ctx = self.ctx
        self.conn = await connection(self.config, self.secrets, ctx, decode=False)
        try:
            with handshake(ctx, lambda exc: _map_error(exc, ctx)):
                await self.conn.connect()
        except BaseException:
            await self.conn.disconnect(nowait=True)
            raise
        return self

    async def command(self, *args: Any) -> Any:
        from connhub.integrations.redis import _map_error

        try:
            await self.conn.send_command(*args)
            return await self.conn.read_response()
        except Exception as exc:
            if isinstance(exc, ConnectionTestError):
                raise
            if str(exc).startswith("WRONGTYPE"):
                raise ConfigError(f"{exc}: get and set work on string values only") from exc
            raise _map_error(exc, self.ctx) from exc

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.conn.disconnect(nowait=True)
