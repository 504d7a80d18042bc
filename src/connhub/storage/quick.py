"""A read-only path to the instance list with the standard library's sqlite3, for the window's first paint.

Importing SQLAlchemy alone costs about as much as starting Qt, so the first paint reads the `instances` table
directly when the database is the default SQLite file and already at the newest migration; anything else (a
new or old database, a server URL) answers None and the caller takes the SQLAlchemy path, which migrates.
The rows come back as the same `InstanceRecord`s `InstanceStore.list` returns (a test pins that).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

from connhub.storage.records import InstanceRecord

#: The newest migration. storage/db.py skips Alembic when a database is already there.
SCHEMA_HEAD = "0003"

_JSON = {"config", "secret_fields", "tags", "events"}
_BOOL = {"monitor_enabled", "needs_reauth"}
_STAMPS = {"last_test_at", "monitor_next_run_at", "created_at", "updated_at"}
_FIELDS = [f.name for f in fields(InstanceRecord)]


def _stamp(value: str | None) -> datetime | None:
    """SQLAlchemy keeps SQLite datetimes as naive ISO text in UTC ("2026-01-02 03:04:05.000006")."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


_EMPTY = {"[]": list, "{}": dict}


def _json(raw: str | None):
    if raw is None or raw == "null":
        return None
    empty = _EMPTY.get(raw)  # most rows: no tags, no secrets (json.loads costs ~1 µs more each)
    return empty() if empty is not None else json.loads(raw)


def _bool(raw) -> bool | None:
    return None if raw is None else bool(raw)


#: (column position, converter) for the columns that are not stored as they are read.
_CONVERT = [(i, _json if name in _JSON else _bool if name in _BOOL else _stamp)
            for i, name in enumerate(_FIELDS) if name in _JSON | _BOOL | _STAMPS]


def _record(row: tuple) -> InstanceRecord:
    values = list(row)
    for i, convert in _CONVERT:
        values[i] = convert(values[i])
    return InstanceRecord(*values)  # the columns are selected in the dataclass's field order


def read_instances(db_file: Path, workspace: str) -> list[InstanceRecord] | None:
    """The workspace's instances sorted like `InstanceStore.list`, or None when this path does not apply."""
    if not db_file.is_file():
        return None
    try:
        conn = sqlite3.connect(f"{db_file.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        head = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if head is None or head[0] != SCHEMA_HEAD:
            return None
        rows = conn.execute(f"SELECT {', '.join(_FIELDS)} FROM instances WHERE workspace = ? "
                            "ORDER BY lower(name)", (workspace,)).fetchall()
    except sqlite3.Error:  # no such table / column: not a database this version wrote; let SQLAlchemy decide
        return None
    finally:
        conn.close()
    return [_record(row) for row in rows]
