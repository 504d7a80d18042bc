"""List models: instances and integration types, for Qt's model/view (no widget per row)."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QStandardItem, QStandardItemModel

from connhub.core.records import InstanceRecord
from connhub.gui.icons import type_icon, warning_icon

if TYPE_CHECKING:
    from connhub.plugins.catalog import TypeCatalog

GROUP_TITLES = {
    "database": "Databases", "cache": "Caches", "messaging": "Messaging", "storage": "Storage",
    "http-api": "HTTP APIs", "devtools": "Developer tools", "communication": "Communication",
    "payments": "Payments", "remote": "Remote access", "other": "Other",
}


class Roles(IntEnum):
    RECORD = Qt.ItemDataRole.UserRole + 1
    TYPE = Qt.ItemDataRole.UserRole + 2
    STATUS = Qt.ItemDataRole.UserRole + 3
    SEARCH_TEXT = Qt.ItemDataRole.UserRole + 4
    SUMMARY = Qt.ItemDataRole.UserRole + 5
    STATUS_TEXT = Qt.ItemDataRole.UserRole + 6
    ID = Qt.ItemDataRole.UserRole + 7
    ENVIRONMENT = Qt.ItemDataRole.UserRole + 8
    TAGS = Qt.ItemDataRole.UserRole + 9
    LIVE = Qt.ItemDataRole.UserRole + 10  # "queued" / "testing" while a Test all runs, else None
    FAVOURITE = Qt.ItemDataRole.UserRole + 11  # pinned at the top by this user


STATUS_ORDER = {"failing": 0, "untested": 1, "ok": 2}
ENVIRONMENT_TITLES = {"dev": "dev", "staging": "staging", "prod": "PROD"}
#: What a row's badge says while a Test all holds it (the delegate draws these instead of the status).
LIVE_TEXT = {"queued": "queued", "testing": "testing…"}
_LIVE_ROLES = [Roles.LIVE, Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole]


def age(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


_DIGITS = re.compile(r"(\d+)")


def status_text(record: InstanceRecord) -> str:
    if record.status == "untested":
        return "untested"
    label = "ok" if record.status == "ok" else (record.last_error_class or "failing")
    return f"{label} · {age(record.last_test_at)}"


def _haystack(record: InstanceRecord) -> str:
    return " ".join(part for part in (record.name, record.type, record.summary, record.environment, *record.tags)
                    if part).lower()


def natural_key(text: str) -> tuple:
    """cache-2 before cache-10, case-insensitively, accents after the letter they sit on (Émile with the Es):
    runs of digits compare by value. The split always starts with text, so texts and numbers alternate at the
    same positions and every two keys compare; the full text breaks ties between spellings."""
    folded = text.casefold()
    parts = _DIGITS.split(_base_letters(folded) if not folded.isascii() else folded)
    parts[1::2] = map(int, parts[1::2])
    return (*parts, folded)


def _base_letters(text: str) -> str:
    """é → e, ß stays ß (casefold made it ss): the letters people sort by, whatever their accents."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _by_name(record: InstanceRecord) -> tuple:
    return natural_key(record.name), record.name, record.id


def _by_last_test(record: InstanceRecord) -> tuple:
    tested = record.last_test_at
    return (0, -tested.timestamp()) if tested else (1, 0.0), *_by_name(record)  # newest first, untested last


#: The list's orders: the title the Sort box shows, and the key the model keeps its rows sorted by.
SORTS = {"name": ("Name", _by_name),
         "type": ("Type", lambda r: (r.type, *_by_name(r))),
         "status": ("Status (failing first)", lambda r: (STATUS_ORDER.get(r.status, 1), *_by_name(r))),
         "tested": ("Last tested", _by_last_test)}


class InstanceListModel(QAbstractListModel):
    """The saved instances, as plain records, kept sorted (by name unless `set_sort` says otherwise); drawn by
    `InstanceDelegate`. The model sorts, not the proxy: a proxy sort calls `data()` from C++ for every
    comparison, which took longer than everything else in the first paint (and seconds at 10,000 rows).
    Names are editable in place (F2): an edit is only *requested* here (`rename_requested`); the window saves
    it and upserts the result."""

    rename_requested = Signal(str, str)

    def __init__(self, types: TypeCatalog, parent=None):
        super().__init__(parent)
        self.catalog: TypeCatalog = types  # the row icons: the first paint's listing, then the validated registry
        self._records: list[InstanceRecord] = []
        self._keys: list[tuple[str, str, str]] = []
        self._row_of: dict[str, int] = {}
        self._haystacks: list[str] | None = None
        self.sort_key = "name"
        self.favourites: frozenset[str] = frozenset()  # ids pinned at the top, whatever the order
        self._live: dict[str, str] = {}  # instance id → "queued" / "testing"; kept by id across resets

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._records)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record = self._records[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return record.name
        if role == Roles.LIVE:
            return self._live.get(record.id)
        if role == Roles.FAVOURITE:
            return record.id in self.favourites
        if role == Qt.ItemDataRole.DecorationRole:
            return type_icon(self.catalog, record.type)
        if role == Qt.ItemDataRole.ToolTipRole:
            tags = "\n" + "  ".join(f"#{tag}" for tag in record.tags) if record.tags else ""
            return f"{record.name}\n{record.summary}{tags}\n{self._status_text(record)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            env = f", {record.environment} environment" if record.environment else ""
            return f"{record.name}, {record.type}{env}, {self._status_text(record)}"
        if role == Roles.RECORD:
            return record
        if role == Roles.ID:
            return record.id
        if role == Roles.TYPE:
            return record.type
        if role == Roles.STATUS:
            return record.status
        if role == Roles.SUMMARY:
            return record.summary
        if role == Roles.STATUS_TEXT:
            return status_text(record)
        if role == Roles.SEARCH_TEXT:
            return self.search_text(index.row())
        if role == Roles.ENVIRONMENT:
            return record.environment
        if role == Roles.TAGS:
            return record.tags
        return None

    def flags(self, index):
        return super().flags(index) | Qt.ItemFlag.ItemIsEditable if index.isValid() else super().flags(index)

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        name = " ".join(str(value).split())
        record = self._records[index.row()]
        if name and name != record.name:
            self.rename_requested.emit(record.id, name)
        return False  # shown once saved: the window upserts the renamed record

    def set_sort(self, key: str) -> None:
        """Re-sort every row by one of `SORTS` (ties by name)."""
        if key != self.sort_key:
            self.sort_key = key
            self.set_records(self._records)

    def search_text(self, row: int) -> str:
        """What the filter matches, lower-case."""
        return self.search_texts()[row]

    def search_texts(self) -> list[str]:
        """Every row's search text, built once per change of the rows (the filter scans them all per key)."""
        if self._haystacks is None:
            self._haystacks = [_haystack(r) for r in self._records]
        return self._haystacks

    def types(self) -> list[str]:
        return [r.type for r in self._records]

    def type_at(self, row: int) -> str:
        return self._records[row].type

    def _key(self, record: InstanceRecord) -> tuple:
        return record.id not in self.favourites, *SORTS[self.sort_key][1](record)

    def set_favourites(self, ids: set[str] | frozenset[str]) -> None:
        """Pin these instances at the top (the user's own: kept in the window's settings, not the catalog)."""
        if frozenset(ids) != self.favourites:
            self.favourites = frozenset(ids)
            self.set_records(self._records)

    def set_records(self, records: list[InstanceRecord]) -> None:
        self.beginResetModel()
        keyed = sorted(zip(map(self._key, records), range(len(records))))  # each key made once (natural keys
        self._keys = [key for key, _i in keyed]  # cost ~1 µs a row); the index breaks no tie: ids are unique
        self._records = [records[i] for _key, i in keyed]
        self._haystacks = [_haystack(r) for r in self._records]  # now rather than on the first key typed
        self._reindex()
        self.endResetModel()

    def _reindex(self) -> None:
        self._row_of = {r.id: i for i, r in enumerate(self._records)}

    def upsert(self, record: InstanceRecord) -> None:
        """Add or replace a record; a new or renamed one goes (or moves) to its sorted place."""
        key = self._key(record)
        hay = self._haystacks
        row = self._row_of.get(record.id)
        if row is None:
            row = bisect_left(self._keys, key)
            self.beginInsertRows(QModelIndex(), row, row)
            self._records.insert(row, record)
            self._keys.insert(row, key)
            if hay is not None:
                hay.insert(row, _haystack(record))
            self._reindex()
            self.endInsertRows()
            return
        self._records[row] = record
        if hay is not None:
            hay[row] = _haystack(record)
        if key != self._keys[row]:
            target = bisect_left(self._keys[:row] + self._keys[row + 1:], key)  # its place among the others
            if target != row:  # Qt counts the destination before the move: one further when moving down
                self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), target + 1 if target > row else target)
                self._records.insert(target, self._records.pop(row))
                del self._keys[row]
                self._keys.insert(target, key)
                if hay is not None:
                    hay.insert(target, hay.pop(row))
                self._reindex()
                self.endMoveRows()
                row = target
            else:
                self._keys[row] = key
        self.dataChanged.emit(self.index(row), self.index(row))

    def remove(self, instance_id: str) -> None:
        row = self._row_of.get(instance_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._records[row]
        del self._keys[row]
        if self._haystacks is not None:
            del self._haystacks[row]
        self.endRemoveRows()
        self._reindex()

    def row_of(self, instance_id: str) -> int | None:
        return self._row_of.get(instance_id)

    # --- live state of a Test all (not saved: a cancelled run leaves each row's saved status showing) -----

    def live(self, instance_id: str) -> str | None:
        return self._live.get(instance_id)

    def set_live(self, instance_ids, state: str | None) -> None:
        """Mark rows "queued" / "testing", or None to show their saved status again. One dataChanged over the
        span of the touched rows, with the roles that change: the filter proxy neither re-sorts nor re-filters."""
        rows = []
        for instance_id in instance_ids:
            if state is None:
                self._live.pop(instance_id, None)
            else:
                self._live[instance_id] = state
            if (row := self._row_of.get(instance_id)) is not None:
                rows.append(row)
        if rows:
            self.dataChanged.emit(self.index(min(rows)), self.index(max(rows)), _LIVE_ROLES)

    def clear_live(self) -> None:
        self.set_live(list(self._live), None)

    def _status_text(self, record: InstanceRecord) -> str:
        live = self._live.get(record.id)
        return LIVE_TEXT.get(live, live) if live else status_text(record)


    def records(self) -> list[InstanceRecord]:
        return list(self._records)


def type_tree_model(types: TypeCatalog, counts: dict[str, int] | None = None) -> QStandardItemModel:
    """Sidebar: "All connections", then one node per group with its types; broken types show why."""
    model = QStandardItemModel()
    counts = counts or {}
    everything = QStandardItem("All connections")
    everything.setData(None, Roles.TYPE)
    everything.setEditable(False)
    model.appendRow(everything)
    groups: dict[str, QStandardItem] = {}
    for entry in sorted(types.summaries(), key=lambda e: e.name.lower()):  # no validation needed
        group = entry.group
        if group not in groups:
            node = QStandardItem(GROUP_TITLES.get(group, group.title()))
            node.setEditable(False)
            node.setSelectable(False)
            groups[group] = node
        item = QStandardItem(entry.name)
        item.setEditable(False)
        item.setData(entry.type, Roles.TYPE)
        if entry.ok:
            item.setIcon(type_icon(types, entry.type))
            item.setToolTip(entry.description)
        else:
            item.setIcon(warning_icon())
            item.setText(f"{entry.name} (disabled)")
            item.setToolTip(f"This type is disabled: {entry.error}")
        groups[group].appendRow(item)
    order = list(GROUP_TITLES)
    for group in sorted(groups, key=lambda g: order.index(g) if g in order else len(order)):
        model.appendRow(groups[group])
    return model
