"""MySQL's and MariaDB's actions: a read-only query, a statement that changes data, and the list of tables.

Each run connects exactly as the connection test does (the same TLS-requiring connection class, UTF-8 password,
timeouts) and says goodbye after. `query` runs with the session and its transaction READ ONLY, so the server
refuses a write, DDL included (its implicit commit would otherwise end a read-only transaction).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from connhub.core.context import ActionContext
from connhub.core.errors import ConfigError, ConnectionTestError, NotFound, PermissionDenied
from connhub.core.integration import Values
from connhub.core.rows import jsonable

#: Rows read from the socket per round of `fetchmany` while reading a query's answer.
BATCH = 500
_SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")
#: Text search, not parsing: a literal with these words is refused too, which the message explains.
_INTO_FILE = re.compile(r"\binto\s+(?:outfile|dumpfile)\b", re.I)
_READ_ONLY = 1792  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
_MISSING = {1146, 1054, 1049, 1305}  # no such table, column, database, function
_SYNTAX = {1064, 1149}


class MysqlActions:
    """Mixed into MysqlIntegration: `query`, `execute`, `list_tables`."""

    async def query(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        from aiomysql import SSCursor

        if _INTO_FILE.search(params["sql"]):
            raise PermissionDenied("The query action does not run SELECT … INTO OUTFILE or DUMPFILE: a read-only "
                                   "transaction still lets it write files on the server. Use the execute action")

        max_rows = int(params.get("max_rows") or 1000)
        conn, mode = await _connect(config, secrets, ctx)
        truncated = False
        try:
            try:
                async with asyncio.timeout(ctx.remaining()):
                    cursor = await conn.cursor(SSCursor)  # unbuffered: rows past max_rows are never read
                    await cursor.execute("SET SESSION TRANSACTION READ ONLY")
                    await cursor.execute("START TRANSACTION READ ONLY")
                    await cursor.execute(params["sql"], _args(params))
                    columns = [column[0] for column in cursor.description or ()]
                    rows: list[list[Any]] = []
                    while cursor.description and not truncated:
                        batch = await cursor.fetchmany(min(BATCH, max_rows + 1 - len(rows)))
                        if not batch:
                            break
                        for record in batch:
                            if len(rows) >= max_rows:
                                truncated = True
                                break
                            rows.append([jsonable(value) for value in record])
                        ctx.progress(f"{len(rows)} rows")
            except Exception as exc:
                raise _sql_error(exc, ctx, conn, mode) from exc
        except BaseException:
            conn.close()
            raise
        if truncated:
            conn.close()  # the rest of the answer is still on its way: drop the connection, not wait for it
        else:
            await _goodbye(conn, ctx)
        return {"columns": columns, "rows": rows, "row_count": len(rows), "truncated": truncated}

    async def execute(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        conn, mode = await _connect(config, secrets, ctx)
        try:
            try:
                async with asyncio.timeout(ctx.remaining()):
                    async with conn.cursor() as cursor:
                        affected = await cursor.execute(params["sql"], _args(params))
                    await conn.commit()
            except Exception as exc:
                raise _sql_error(exc, ctx, conn, mode) from exc
        except BaseException:
            conn.close()
            raise
        await _goodbye(conn, ctx)
        return {"rows_affected": max(0, int(affected or 0))}

    async def list_tables(self, params: Values, config: Values, secrets: Values, ctx: ActionContext
                          ) -> dict[str, Any]:
        schema = params.get("schema")
        base = "SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE "
        if schema:
            sql, args = base + "table_schema = %s", (schema,)
        elif config.get("database"):
            sql, args = base + "table_schema = DATABASE()", ()
        else:
            sql, args = base + "table_schema NOT IN (%s, %s, %s, %s)", _SYSTEM_SCHEMAS
        conn, mode = await _connect(config, secrets, ctx)
        try:
            try:
                async with asyncio.timeout(ctx.remaining()):
                    async with conn.cursor() as cursor:
                        await cursor.execute(sql + " ORDER BY 1, 2", args)
                        records = await cursor.fetchall()
            except Exception as exc:
                raise _sql_error(exc, ctx, conn, mode) from exc
        except BaseException:
            conn.close()
            raise
        await _goodbye(conn, ctx)
        kinds = {"BASE TABLE": "table", "VIEW": "view", "SYSTEM VIEW": "system view", "SEQUENCE": "sequence"}
        rows = [[str(r[0]), str(r[1]), kinds.get(str(r[2]), str(r[2]).lower())] for r in records]
        return {"columns": ["schema", "name", "type"], "rows": rows, "row_count": len(rows), "truncated": False}


def _args(params: Values) -> tuple | None:
    """None without parameters, so a `%` in the SQL text is left alone (PyMySQL formats only with args)."""
    values = params.get("parameters") or []
    return tuple(values) if values else None


async def _connect(config: Values, secrets: Values, ctx: ActionContext) -> tuple[Any, str]:
    """The connection test's connect, step for step (socket or TCP, TLS, Advanced options, error mapping)."""
    from connhub.integrations.mysql import open_connection

    return await open_connection(config, secrets, ctx)


async def _goodbye(conn: Any, ctx: ActionContext) -> None:
    from connhub.integrations.mysql import _quit

    await _quit(conn, ctx)


def _sql_error(exc: BaseException, ctx: ActionContext, conn: Any, mode: str) -> ConnectionTestError:
    """The server's refusal of the statement, by its error code; the message is the server's own."""
    from pymysql.err import MySQLError

    from connhub.integrations.mysql import _map_error

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, TypeError | ValueError):  # PyMySQL's "%s" formatting: a count that does not match
        return ConfigError(f"The parameters do not fit the SQL's %s placeholders: {exc}")
    if isinstance(exc, MySQLError) and exc.args and isinstance(exc.args[0], int):
        code, text = exc.args[0], str(exc.args[1]) if len(exc.args) > 1 else ""
        if code == _READ_ONLY:
            return PermissionDenied(f"The query action runs in a read-only transaction, and the server refused a "
                                    f"change: {text}. Use the execute action to change data")
        if code in _MISSING:
            return NotFound(f"{text} (error {code})")
        if code in _SYNTAX:
            return ConfigError(f"The server refused the SQL: {text} (error {code})")
    return _map_error(exc, ctx, conn, mode)
