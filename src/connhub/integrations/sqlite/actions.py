"""SQLite's actions: a read-only query, a statement that changes data, and the list of tables.

Each run opens the file as the connection test does (a `file:` URI in the instance's access mode, never
creating it, on a daemon thread of its own) and closes it after. `query` sets `PRAGMA query_only`, so SQLite
itself refuses any write, DDL included. A cancelled or timed-out run interrupts the statement on its thread
(`sqlite3.Connection.interrupt` is safe from another thread), so a runaway query does not keep the file busy.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from connhub.core.context import ActionContext
from connhub.core.errors import ConfigError, ConnectionTestError, NotFound, PermissionDenied
from connhub.core.integration import Values
from connhub.core.rows import jsonable

BATCH = 500


class SqliteActions:
    """Mixed into SqliteIntegration: `query`, `execute`, `list_tables`."""

    async def query(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        max_rows = int(params.get("max_rows") or 1000)
        sql, args = params["sql"], list(params.get("parameters") or [])

        def work(conn: Any) -> dict[str, Any]:
            conn.execute("PRAGMA query_only = ON")
            conn.set_authorizer(_read_only_authorizer)
            cursor = conn.execute(sql, args)
            columns = [column[0] for column in cursor.description or ()]
            rows: list[list[Any]] = []
            truncated = False
            while cursor.description is not None:
                batch = cursor.fetchmany(min(BATCH, max_rows + 1 - len(rows)))
                if not batch:
                    break
                for record in batch:
                    if len(rows) >= max_rows:
                        truncated = True
                        break
                    rows.append([jsonable(value) for value in record])
                if truncated:
                    break
            cursor.close()
            return {"columns": columns, "rows": rows, "row_count": len(rows), "truncated": truncated}

        return await _run(config, ctx, work, read_only_query=True)

    async def execute(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> dict[str, Any]:
        sql, args = params["sql"], list(params.get("parameters") or [])

        def work(conn: Any) -> dict[str, Any]:
            cursor = conn.execute(sql, args)  # autocommit (isolation_level=None): committed when it returns
            affected = cursor.rowcount
            cursor.close()
            return {"rows_affected": max(0, affected)}

        return await _run(config, ctx, work)

    async def list_tables(self, params: Values, config: Values, secrets: Values, ctx: ActionContext
                          ) -> dict[str, Any]:
        schema = str(params.get("schema") or "main")
        quoted = '"' + schema.replace('"', '""') + '"'

        def work(conn: Any) -> dict[str, Any]:
            found = conn.execute(f"SELECT name, type FROM {quoted}.sqlite_master WHERE type IN ('table', 'view') "
                                 "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").fetchall()
            rows = [[schema, str(name), str(kind)] for name, kind in found]
            return {"columns": ["schema", "name", "type"], "rows": rows, "row_count": len(rows), "truncated": False}

        return await _run(config, ctx, work)


#: Pragmas that take an argument and only read (a schema question), allowed in `query`.
_READING_PRAGMAS = frozenset({"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
                              "foreign_key_list", "foreign_key_check", "integrity_check", "quick_check",
                              "function_list", "pragma_list", "collation_list", "database_list", "compile_options"})


def _read_only_authorizer(code: int, arg1: Any, arg2: Any, database: Any, trigger: Any) -> int:
    """Beside `query_only`, which still lets ATTACH and VACUUM INTO create files: only reading is allowed
    (SELECT, reading columns, functions, recursive CTEs, and pragmas that read)."""
    import sqlite3

    if code in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, _SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if code == sqlite3.SQLITE_PRAGMA and (arg2 is None or str(arg1).lower() in _READING_PRAGMAS):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


_SQLITE_RECURSIVE, _SQLITE_AUTH = 33, 23


async def _run(config: Values, ctx: ActionContext, work: Any, read_only_query: bool = False) -> Any:
    """Open as the connection test does, run `work(connection)` on the file's thread, close."""
    from connhub.integrations.sqlite import MODES, _busy_timeout, _map_error, _SqliteThread, database_path

    path = database_path(config.get("path"))
    mode = str(config.get("mode") or "ro")
    if mode not in MODES:
        raise ConfigError(f"Access mode {mode!r} is not one of {', '.join(MODES)}")
    busy = _busy_timeout(config.get("busy_timeout"))
    worker = _SqliteThread()
    try:
        with ctx.stage("connect"):
            try:
                await worker.open(f"file:{quote(path, safe='/')}?mode={mode}", busy_timeout=min(busy, ctx.remaining()))
            except Exception as exc:
                raise _map_error(exc, path, busy) from exc
        with ctx.stage("run"):
            try:
                result = await worker.call(work)
            except Exception as exc:
                raise _sql_error(exc, path, busy, mode, read_only_query) from exc
    except Exception:
        await worker.close()
        raise
    except BaseException:  # cancelled or timed out: stop the statement, let the thread close the file
        _interrupt(worker)
        worker.finish()
        raise
    await worker.close()
    return result


def _interrupt(worker: Any) -> None:
    conn = getattr(worker, "_conn", None)
    if conn is not None:
        try:
            conn.interrupt()
        except Exception:  # already closed
            pass


def _sql_error(exc: BaseException, path: str, busy: float, mode: str, read_only_query: bool) -> ConnectionTestError:
    import sqlite3

    from connhub.integrations.sqlite import _READONLY, _map_error, _primary

    if isinstance(exc, ConnectionTestError):
        return exc
    text = str(exc)
    if _primary(exc) in (_READONLY, _SQLITE_AUTH) or (read_only_query and "not authorized" in text):
        if read_only_query:
            return PermissionDenied(f"The query action runs read-only, and SQLite refused a change ({text}): use "
                                    "the execute action to change data")
        if mode == "ro":
            return PermissionDenied(f"This instance opens {path} read only ({text}): choose the access mode Read "
                                    "and write to change data")
    if isinstance(exc, sqlite3.ProgrammingError | sqlite3.Warning):  # binding count, several statements
        return ConfigError(f"SQLite cannot run this SQL as given: {text}")
    if isinstance(exc, sqlite3.OperationalError) and _primary(exc) == 1:  # SQLITE_ERROR: the SQL itself
        if text.startswith(("no such table", "no such column", "no such function", "unknown database")):
            return NotFound(text)
        return ConfigError(f"SQLite refused the SQL: {text}")
    if isinstance(exc, sqlite3.InterfaceError):  # a parameter of a type SQLite cannot bind
        return ConfigError(f"A parameter cannot be used by SQLite: {text}")
    return _map_error(exc, path, busy)  # type: ignore[arg-type]

