"""The first paint's instance list, read with the standard library's sqlite3 (`QuickReader`).

It answers the same `InstanceReader` protocol (core/records.py) as the SQLAlchemy `InstanceStore`,
without importing SQLAlchemy, for the default SQLite file: a missing file lists nothing (the store creates it
after the paint) and a file at the newest migration is read as it is. Anything else (an older or newer
schema, not a connhub database) goes to the full store it was given, which migrates. The rows come back as
the same `InstanceRecord`s `InstanceStore.list` returns (a test pins that).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

from connhub.core.records import InstanceReader, InstanceRecord

#: The newest migration. storage/db.py skips Alembic when a database is already there.
SCHEMA_HEAD = "0007"
#: Settings rows noting keyring items an unfinished operation may leave behind (services/reconcile.py).
JOURNAL_PREFIX = "keyring-journal:"

_JSON = {"config", "secret_fields", "tags", "events"}
_BOOL = {"monitor_enabled", "needs_reauth"}
_STAMPS = {"last_test_at", "monitor_next_run_at", "created_at", "updated_at"}
_FIELDS = [f.name for f in fields(InstanceRecord)]
_EMPTY_JSON = {None, "null", "[]", "{}"}


def _stamps(column: tuple) -> list[datetime | None]:
    """SQLAlchemy keeps SQLite datetimes as naive ISO text in UTC ("2026-01-02 03:04:05.000006"): parsed with the
    offset appended, one C call per value (rather than parsing, then setting the zone). Text that already has
    an offset takes the slow path."""
    parse = datetime.fromisoformat
    try:
        return [None if v is None else parse(v + "+00:00") for v in column]
    except ValueError:
        parsed = [None if v is None else parse(v) for v in column]
        return [None if d is None else d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)
                for d in parsed]


def _jsons(column: tuple) -> list:
    """The whole column in one `json.loads` (not one call per row). Most rows have no tags, no secrets, no
    events: those skip it (each gets its own empty list or dict)."""
    values = [[] if v == "[]" else {} if v == "{}" else None for v in column]
    rows = [i for i, v in enumerate(column) if v not in _EMPTY_JSON]
    if rows:
        for i, value in zip(rows, json.loads(f"[{','.join([column[i] for i in rows])}]")):
            values[i] = value
    return values


def _bools(column: tuple) -> list[bool | None]:
    return [None if v is None else bool(v) for v in column]


#: (column position, converter of the whole column) for the columns that are not stored as they are read.
_CONVERT = [(i, _jsons if name in _JSON else _bools if name in _BOOL else _stamps)
            for i, name in enumerate(_FIELDS) if name in _JSON | _BOOL | _STAMPS]


def _records(rows: list[tuple]) -> list[InstanceRecord]:
    """Column by column (one comprehension per converted column, not a Python call per value)."""
    if not rows:
        return []
    columns: list = list(zip(*rows))
    for i, convert in _CONVERT:
        columns[i] = convert(columns[i])
    return list(map(InstanceRecord, *columns))  # the columns are selected in the dataclass's field order


class QuickReader:
    """`InstanceReader` over the default SQLite file, read-only; `fallback` reads a database it does not know."""

    def __init__(self, db_file: Path, fallback: InstanceReader):
        self.db_file = db_file
        self.fallback = fallback

    def list(self, workspace: str) -> list[InstanceRecord]:
        """The workspace's instances sorted like `InstanceStore.list`."""
        if not self.db_file.is_file():
            return []  # nothing saved yet: the database is created after the first paint
        records = read_instances(self.db_file, workspace)
        return self.fallback.list(workspace) if records is None else records


def read_instances(db_file: Path, workspace: str, settled: bool = False) -> list[InstanceRecord] | None:
    """The workspace's instances sorted like `InstanceStore.list`, or None when this path does not apply;
    with `settled`, None too while the keyring journal holds a note (the full path settles it first)."""
    try:
        conn = sqlite3.connect(f"{db_file.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        head = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        if head is None or head[0] != SCHEMA_HEAD:
            return None
        if settled and conn.execute("SELECT 1 FROM settings WHERE key >= ? AND key < ? LIMIT 1",
                                    (JOURNAL_PREFIX, JOURNAL_PREFIX[:-1] + ";")).fetchone():
            return None
        rows = conn.execute(f"SELECT {', '.join(_FIELDS)} FROM instances WHERE workspace = ? "
                            "ORDER BY lower(name)", (workspace,)).fetchall()
    except sqlite3.Error:  # no such table / column: not a database this version wrote; let SQLAlchemy decide
        return None
    finally:
        conn.close()
    return _records(rows)
