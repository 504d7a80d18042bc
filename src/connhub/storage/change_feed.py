"""Is the catalog changed by someone else? A change feed calls `on_change()` (on its own thread) soon after any
commit to the catalog, by another window, the CLI or another member.

- PostgreSQL: `LISTEN connhub_catalog` on a connection of its own; the triggers of migration 0007 NOTIFY after
  every statement that changes what a window shows. While the server is away the feed retries every
  `retry_s`, and calls `on_change()` once it is back (what changed meanwhile was not announced).
- SQLite: `PRAGMA data_version`, which changes when another connection commits, read about once a second on a
  connection of its own: a few microseconds of an idle window's time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

CHANNEL = "connhub_catalog"
log = logging.getLogger("connhub")


class ChangeFeed:
    """One daemon thread that watches until `stop()`; `on_change` must be cheap (the window queues a reload)."""

    def __init__(self) -> None:
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_change: Callable[[], None]) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, args=(on_change,), name="connhub-changes",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _watch(self, on_change: Callable[[], None]) -> None:
        raise NotImplementedError


class PostgresFeed(ChangeFeed):
    def __init__(self, conninfo: str, retry_s: float = 2.0):
        super().__init__()
        self._conninfo = conninfo
        self.retry_s = retry_s

    def _watch(self, on_change: Callable[[], None]) -> None:
        import psycopg

        missed = False
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    if missed:
                        on_change()  # back after an outage: what changed meanwhile was not announced
                    while not self._stopping.is_set():
                        for _notice in conn.notifies(timeout=1.0, stop_after=1):
                            on_change()
            except psycopg.Error as exc:
                missed = True
                log.info("change feed: the catalog does not answer (%s); retrying", type(exc).__name__)
                self._stopping.wait(self.retry_s)


class SqliteFeed(ChangeFeed):
    def __init__(self, db_file: Path, interval_s: float = 1.0):
        super().__init__()
        self._db_file = db_file
        self.interval_s = interval_s

    def _watch(self, on_change: Callable[[], None]) -> None:
        import sqlite3

        conn = sqlite3.connect(f"file:{self._db_file}?mode=ro", uri=True, timeout=1, check_same_thread=False)
        try:
            seen = conn.execute("PRAGMA data_version").fetchone()[0]
            while not self._stopping.wait(self.interval_s):
                try:
                    now = conn.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error:
                    continue  # busy or briefly gone: the next tick asks again
                if now != seen:
                    seen = now
                    on_change()
        finally:
            conn.close()


def feed_for(engine: Engine) -> ChangeFeed:
    """The feed that suits the catalog this engine opens."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PostgresFeed(url.set(drivername="postgresql").render_as_string(hide_password=False))
    return SqliteFeed(Path(url.database or ""))
