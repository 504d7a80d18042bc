"""A PostgreSQL action contributed by a plugin: built with the postgres type's Integration, it opens its
connection the way the type's own test and actions do (connhub.integrations.postgres `connect`)."""

from __future__ import annotations


class PgExtras:
    def __init__(self, integration):
        self.integration = integration

    async def database_size(self, params, config, secrets, ctx):
        from connhub.integrations.postgres import connect

        conn = await connect(config, secrets, ctx)
        try:
            name, size, pretty = await conn.fetchrow(
                "SELECT current_database(), pg_database_size(current_database()), "
                "pg_size_pretty(pg_database_size(current_database()))", timeout=ctx.remaining())
        finally:
            await conn.close(timeout=ctx.remaining())
        return {"database": name, "bytes": int(size), "pretty": pretty}
