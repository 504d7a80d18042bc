"""SQLite database files through the standard library's sqlite3, on a thread of each test's own.

Neither aiosqlite nor the loop's shared executor: aiosqlite 0.22 queues a close it never awaits when opening
fails, and its worker thread then dies with "Event loop is closed" once the loop has ended (seen in the tests
here: a missing file under `asyncio.run`); its thread is also not a daemon, so a file on a hung network mount
would keep connhub from exiting. The loop's default executor is shared with the GUI's keyring and storage
work, which one slow file must not hold up. So each test gets one daemon thread that runs its sqlite3 calls
in order and closes the connection itself at the end; a cancelled or timed-out test returns at once and
waits for nothing (SQLite's busy wait is bounded by the time the test has left anyway).

The file is opened through a `file:` URI with `mode=ro` or `mode=rw`, never `rwc`: a missing file is reported
as missing, not silently created as an empty database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from connhub.core.context import TestContext
from connhub.core.errors import (
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    NotFound,
    PermissionDenied,
    UnknownError,
)
from connhub.core.integration import DriverIntegration, Values
from connhub.core.results import ConnectionInfo, ProbeInfo
from connhub.integrations.sqlite.actions import SqliteActions

MODES = ("ro", "rw")
DEFAULT_BUSY_TIMEOUT = 5.0

# SQLite's primary result codes (https://www.sqlite.org/rescode.html); extended codes keep them in the low byte.
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 10, 11, 14, 26


class SqliteIntegration(SqliteActions, DriverIntegration):
    """Open the file (never create it), read its schema and settings, and in read-write mode take the write
    lock and make a change that is rolled back, so "writable" is SQLite's own verdict, not a guess."""

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        path = database_path(config.get("path"))
        mode = str(config["mode"])  # the manifest's default is in (the runner)
        if mode not in MODES:
            raise ConfigError(f"Access mode {mode!r} is not one of {', '.join(MODES)}: connhub opens an existing "
                              "file, read only or read and write, and never creates one")
        busy = _busy_timeout(config.get("busy_timeout"))
        uri = f"file:{quote(path, safe='/')}?mode={mode}"

        worker = _SqliteThread()
        try:
            with ctx.stage("connect"):
                try:
                    await worker.open(uri, busy_timeout=min(busy, ctx.remaining()))
                except Exception as exc:
                    raise _map_error(exc, path, busy) from exc
            with ctx.stage("probe"):
                try:
                    version, tables, journal = await worker.call(_describe)
                    if mode == "rw":
                        await worker.call(_rolled_back_write)
                except Exception as exc:
                    raise _map_error(exc, path, busy) from exc
        except Exception:
            await worker.close()
            raise
        except BaseException:  # cancelled: the thread closes the connection once its call returns; no waiting
            worker.finish()
            raise
        await worker.close()  # the file is let go (and a WAL's -wal and -shm removed) before the answer
        details = {"path": path, "tables": str(tables), "journal_mode": str(journal),
                   "access": "read-write" if mode == "rw" else "read-only"}
        return ProbeInfo(server_version=f"SQLite {version}", details=details)

    def connection_info(self, config: Values) -> ConnectionInfo:
        """`sqlite:///srv/app.db`: the file's path, which is all there is to show."""
        raw = str(config.get("path") or "").strip()
        if not raw:
            return ConnectionInfo(display_url=self.manifest.name)
        path = os.path.expanduser(raw)
        if not os.path.isabs(path):  # not a valid setting (the test says so): shown as typed
            return ConnectionInfo(raw, database=raw)
        path = "/" + path.lstrip("/")
        return ConnectionInfo(f"sqlite://{quote(path, safe='/')}", database=path)


class _SqliteThread:
    """One daemon thread running one test's sqlite3 calls in order; the connection lives and dies on it."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._conn: Any = None  # touched on the thread only
        threading.Thread(target=self._run, name="connhub-sqlite", daemon=True).start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing rolls back whatever a cancelled call left open
                self._conn.close()

    async def open(self, uri: str, busy_timeout: float) -> None:
        import sqlite3

        def connect(_: Any) -> None:
            self._conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)

        await self.call(connect)

    async def call(self, fn: Callable[[Any], Any]) -> Any:
        """`fn(connection)` on the thread; its result or exception comes back here."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def job() -> None:
            try:
                outcome = (fn(self._conn), None)
            except Exception as exc:
                outcome = (None, exc)
            with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits for this answer
                loop.call_soon_threadsafe(_settle, future, *outcome)

        self._jobs.put(job)
        return await future

    async def close(self) -> None:
        """Close the connection and end the thread, waiting for it (unless this wait itself is cancelled)."""

        def close(conn: Any) -> None:
            import sqlite3

            self._conn = None
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):  # the test is over: a failed close changes nothing
                    conn.close()

        try:
            await self.call(close)
        finally:
            self.finish()

    def finish(self) -> None:
        """Close the connection after the call in progress, if any, and end the thread; returns at once."""
        self._jobs.put(None)


def _settle(future: asyncio.Future, result: Any, exc: BaseException | None) -> None:
    if future.done():  # the test was cancelled meanwhile
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _describe(conn: Any) -> tuple[str, int, str]:
    version = conn.execute("SELECT sqlite_version()").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").fetchone()[0]
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    return version, tables, journal


def _rolled_back_write(conn: Any) -> None:
    """Take the write lock and rewrite the header's user_version with its own value, then roll back.

    SQLite opens a file it may not write read-only even in `mode=rw`, and only a write tells (SQLITE_READONLY,
    or SQLITE_READONLY_DIRECTORY when the journal cannot be created next to the file). The rollback leaves
    the file byte for byte as it was.
    """
    import sqlite3

    conn.execute("BEGIN IMMEDIATE")
    try:
        user_version = int(conn.execute("PRAGMA user_version").fetchone()[0] or 0)
        conn.execute(f"PRAGMA user_version = {user_version}")
    finally:
        with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already after a failed write
            conn.execute("ROLLBACK")


def database_path(value: Any) -> str:
    """The absolute path to open; checks that need no disk access (the disk is asked when opening)."""
    raw = str(value or "").strip()
    if not raw:
        raise ConfigError("Choose the database file")
    if Path(raw).name == ":memory:":
        raise ConfigError("An in-memory database exists only inside the program that opened it: there is "
                          "nothing to connect to. Choose a database file")
    path = os.path.expanduser(raw)
    if not os.path.isabs(path):
        raise ConfigError(f"Give the file's absolute path (from /), not {raw!r}: a relative path would depend "
                          "on the folder connhub was started from")
    return "/" + os.path.normpath(path).lstrip("/")  # `//srv/app.db` (SQLAlchemy's 4-slash URL) is `/srv/app.db`


def _busy_timeout(value: Any) -> float:
    if value in (None, ""):
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Busy timeout must be a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise ConfigError("Busy timeout cannot be negative")
    return seconds


def _primary(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _map_error(exc: Exception, path: str, busy: float) -> ConnectionTestError:
    if isinstance(exc, ConnectionTestError):
        return exc
    code, name = _primary(exc), getattr(exc, "sqlite_errorname", "")
    folder = os.path.dirname(path) or "/"
    if code in (_CANTOPEN, _IOERR, _PERM):  # the same few words for a missing file, a folder, no access…
        found = _why_unopenable(path, folder)
        if found is not None:
            return found
    if code == _NOTADB:
        return ConfigError(f"{path} is not a SQLite database (or it is encrypted)")
    if code == _CORRUPT:
        return UnknownError(f"The database file {path} is damaged: {exc}")
    if code == _READONLY:
        if name == "SQLITE_READONLY_DIRECTORY":
            return PermissionDenied(f"This user may not write in the folder {folder}: SQLite cannot create its "
                                    "journal there, so every write would fail")
        return PermissionDenied(f"{path} is read-only for this user, so every write would fail: choose Read only, "
                                "or change the file's permissions")
    if code in (_BUSY, _LOCKED):
        return ConnectTimeout(f"The database stayed locked by another connection for {busy:g} s")
    if code == _CANTOPEN and not _may(folder, os.W_OK):
        return PermissionDenied(f"SQLite cannot open {path} ({exc}): a WAL database also needs its folder "
                                "writable, for the -shm file")
    return UnknownError(f"{exc} ({name})" if name else f"{type(exc).__name__}: {exc}")


def _why_unopenable(path: str, folder: str) -> ConnectionTestError | None:
    """After SQLite failed to open `path`: say which of the usual reasons it is (the disk answered already)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        if not os.path.isdir(folder):
            return NotFound(f"The folder {folder} does not exist")
        return NotFound(f"No database file at {path}: connhub never creates one")
    except NotADirectoryError:
        return ConfigError(f"A part of {path} is a file, not a folder")
    except PermissionError:
        return PermissionDenied(f"This user may not open the folders on the way to {path}")
    if stat.S_ISDIR(info.st_mode):
        return ConfigError(f"{path} is a folder: choose the database file inside it")
    if not stat.S_ISREG(info.st_mode):
        return ConfigError(f"{path} is not a regular file")
    if not _may(path, os.R_OK):
        return PermissionDenied(f"This user may not read {path}")
    return None


def _may(path: str, mode: int) -> bool:
    """Whether this process may access `path`, judged as SQLite's open is: by the effective user and group."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)
