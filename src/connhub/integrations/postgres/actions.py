"""PostgreSQL's actions: a read-only query, a statement that changes data, and the list of tables.

Each run opens one connection exactly as the connection test does (same TLS mode, CA, password, timeouts) and
closes it; a cancelled run terminates it at once. `query` runs inside a READ ONLY transaction, so the server
itself refuses a write hidden in it (a CTE, a function with side effects), not a guess about the SQL text.
"""

from __future__ import annotations

import re
from typing import Any

from connhub.core.context import ActionContext
from connhub.core.errors import ConfigError, ConnectionTestError, NotFound, PermissionDenied, UnknownError
from connhub.core.integration import Values
from connhub.core.rows import jsonable

#: Rows fetched from the server per round trip while reading a query's answer.
PREFETCH = 500
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


class PostgresActions:
    """Mixed into PostgresIntegration: `query`, `execute`, `list_tables`."""

    async def query(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        if _first_word(params["sql"]) == "copy":
            raise PermissionDenied("The query action does not run COPY: a read-only transaction still lets it write "
                                   "files on the server. Use the execute action")
        max_rows = int(params.get("max_rows") or 1000)
        args = list(params.get("parameters") or [])
        conn = await _connect(config, secrets, ctx)
        try:
            try:
                # Never committed: closing the connection ends it (a read-only transaction has nothing to keep),
                # one round trip fewer than COMMIT.
                await conn.transaction(readonly=True).start()
                statement = await conn.prepare(params["sql"], timeout=ctx.remaining())
                columns = [attribute.name for attribute in statement.get_attributes()]
                rows: list[list[Any]] = []
                truncated = False
                async for record in statement.cursor(*args, prefetch=min(PREFETCH, max_rows + 1),
                                                     timeout=ctx.remaining()):
                    if len(rows) >= max_rows:
                        truncated = True
                        break
                    rows.append([jsonable(value) for value in record])
                    if len(rows) % PREFETCH == 0:
                        ctx.progress(f"{len(rows)} rows")
            except Exception as exc:
                raise _sql_error(exc, ctx) from exc
        except BaseException:
            conn.terminate()
            raise
        await _close(conn, ctx)
        return {"columns": columns, "rows": rows, "row_count": len(rows), "truncated": truncated}

    async def execute(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        args = list(params.get("parameters") or [])
        conn = await _connect(config, secrets, ctx)
        try:
            try:
                status = await conn.execute(params["sql"], *args, timeout=ctx.remaining())
            except Exception as exc:
                raise _sql_error(exc, ctx) from exc
        except BaseException:
            conn.terminate()
            raise
        await _close(conn, ctx)
        return {"rows_affected": _affected(status), "status": str(status)}

    async def list_tables(self, params: Values, config: Values, secrets: Values, ctx: ActionContext
                          ) -> dict[str, Any]:
        schema = params.get("schema")
        sql = ("SELECT table_schema, table_name, lower(table_type) FROM information_schema.tables "
               + ("WHERE table_schema = $1 " if schema else "WHERE table_schema <> ALL($1::text[]) ")
               + "ORDER BY 1, 2")
        conn = await _connect(config, secrets, ctx)
        try:
            try:
                records = await conn.fetch(sql, schema or list(_SYSTEM_SCHEMAS), timeout=ctx.remaining())
            except Exception as exc:
                raise _sql_error(exc, ctx) from exc
        except BaseException:
            conn.terminate()
            raise
        await _close(conn, ctx)
        rows = [[r[0], r[1], "table" if r[2] == "base table" else r[2]] for r in records]
        return {"columns": ["schema", "name", "type"], "rows": rows, "row_count": len(rows), "truncated": False}


async def _connect(config: Values, secrets: Values, ctx: ActionContext) -> Any:
    """The connection test's connect (integrations/postgres `connect`): the same socket, TLS and options."""
    from connhub.integrations.postgres import connect

    return await connect(config, secrets, ctx)


async def _close(conn: Any, ctx: ActionContext) -> None:
    try:
        await conn.close(timeout=ctx.remaining())
    except Exception:
        conn.terminate()


_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|/\*.*?\*/|\()*", re.S)


def _first_word(sql: str) -> str:
    """The statement's first keyword, past whitespace, comments and parentheses (COPY cannot be nested, so
    this is where it would be). Nested block comments are not unwound: such a text fails to prepare anyway."""
    rest = sql[_LEADING.match(sql).end():]
    return re.match(r"[A-Za-z]*", rest).group().lower()


def _affected(status: str) -> int:
    """"INSERT 0 3" → 3, "UPDATE 2" → 2; statements without a count (CREATE TABLE) → 0."""
    last = str(status or "").rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


def _sql_error(exc: BaseException, ctx: ActionContext) -> ConnectionTestError:
    """The server's refusal of the statement, classified by its SQLSTATE; the message is the server's own."""
    import asyncpg

    from connhub.integrations.postgres import _map_error

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        text = f"{exc} (SQLSTATE {state})" if state else str(exc)
        if state in ("25006", "25001"):  # read_only_sql_transaction; a try to make it read-write
            return PermissionDenied(f"The query action runs in a read-only transaction, and the server refused "
                                    f"a change: {exc}. Use the execute action to change data")
        if state in ("42P01", "42703", "42883", "3F000"):  # undefined table, column, function, schema
            return NotFound(text)
        if state == "42501":
            return PermissionDenied(text)
        if state.startswith(("42", "22")):  # syntax or access rule; bad data
            return ConfigError(f"The server refused the SQL: {text}")
        if not isinstance(exc, asyncpg.PostgresConnectionError | asyncpg.InvalidAuthorizationSpecificationError):
            return UnknownError(text)
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.DataError):  # argument count or type, before sending
        return ConfigError(f"The parameters do not fit the SQL: {exc}")
    return _map_error(exc, ctx)  # type: ignore[arg-type]
