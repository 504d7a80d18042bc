"""List models: instances and integration types, for Qt's model/view (no widget per row)."""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, datetime
from enum import IntEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QStandardItem, QStandardItemModel

from connhub.gui.icons import type_icon, warning_icon
from connhub.storage.records import InstanceRecord

if TYPE_CHECKING:
    from connhub.plugins.registry import Registry

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


def age(when: datetime | None, now: datetime | None = None) -> str:
    if when is None:
        return ""
    seconds = max(0, int(((now or datetime.now(UTC)) - when).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now"


def status_text(record: InstanceRecord) -> str:
    if record.status == "untested":
        return "untested"
    label = "ok" if record.status == "ok" else (record.last_error_class or "failing")
    return f"{label} · {age(record.last_test_at)}"


def _sort_key(record: InstanceRecord) -> tuple[str, str, str]:
    return record.name.casefold(), record.name, record.id


class InstanceListModel(QAbstractListModel):
    """The saved instances, as plain records, kept sorted by name (case-insensitively); drawn by
    `InstanceDelegate`. The model sorts, not the proxy: a proxy sort calls `data()` from C++ for every
    comparison, which took longer than everything else in the first paint (and seconds at 10,000 rows)."""

    def __init__(self, registry: Registry, parent=None):
        super().__init__(parent)
        self._registry = registry
        self._records: list[InstanceRecord] = []
        self._keys: list[tuple[str, str, str]] = []
        self._row_of: dict[str, int] = {}
        self._haystacks: dict[str, str] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._records)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return record.name
        if role == Qt.ItemDataRole.DecorationRole:
            return type_icon(self._registry, record.type)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{record.name}\n{record.summary}\n{status_text(record)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{record.name}, {record.type}, {status_text(record)}"
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
        return None

    def search_text(self, row: int) -> str:
        """What the filter matches, lower-case; computed once per record version (filtering calls it per row
        per keystroke)."""
        record = self._records[row]
        text = self._haystacks.get(record.id)
        if text is None:
            text = self._haystacks[record.id] = " ".join([record.name, record.type, record.summary,
                                                          *record.tags]).lower()
        return text

    def type_at(self, row: int) -> str:
        return self._records[row].type

    def set_records(self, records: list[InstanceRecord]) -> None:
        self.beginResetModel()
        self._records = sorted(records, key=_sort_key)
        self._keys = [_sort_key(r) for r in self._records]
        self._haystacks = {}
        self._reindex()
        self.endResetModel()

    def _reindex(self) -> None:
        self._row_of = {r.id: i for i, r in enumerate(self._records)}

    def upsert(self, record: InstanceRecord) -> None:
        """Add or replace a record; a new or renamed one goes (or moves) to its sorted place."""
        self._haystacks.pop(record.id, None)
        key = _sort_key(record)
        row = self._row_of.get(record.id)
        if row is None:
            row = bisect_left(self._keys, key)
            self.beginInsertRows(QModelIndex(), row, row)
            self._records.insert(row, record)
            self._keys.insert(row, key)
            self._reindex()
            self.endInsertRows()
            return
        self._records[row] = record
        if key != self._keys[row]:
            target = bisect_left(self._keys[:row] + self._keys[row + 1:], key)  # its place among the others
            if target != row:  # Qt counts the destination before the move: one further when moving down
                self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), target + 1 if target > row else target)
                self._records.insert(target, self._records.pop(row))
                del self._keys[row]
                self._keys.insert(target, key)
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
        self._haystacks.pop(instance_id, None)
        self.endRemoveRows()
        self._reindex()

    def row_of(self, instance_id: str) -> int | None:
        return self._row_of.get(instance_id)

    def records(self) -> list[InstanceRecord]:
        return list(self._records)


class InstanceFilter(QSortFilterProxyModel):
    """Filter-as-you-type over name, type, summary and tags, optionally one type only. The source model keeps
    the rows sorted by name; this proxy only filters."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._words: list[str] = []
        self._type: str | None = None
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setSortRole(Qt.ItemDataRole.DisplayRole)

    def set_text(self, text: str) -> None:
        words = text.lower().split()
        if words == self._words:
            return  # a space typed, or the same filter again: nothing to redo over every row
        self.beginFilterChange()  # invalidateRowsFilter() is deprecated since Qt 6.10 (a warning per call)
        self._words = words
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_type(self, type_name: str | None) -> None:
        self.beginFilterChange()
        self._type = type_name
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        if not self._words and not self._type:
            return True
        model = self.sourceModel()
        if isinstance(model, InstanceListModel):  # plain Python calls, no QModelIndex per row
            if self._type and model.type_at(source_row) != self._type:
                return False
            haystack = model.search_text(source_row)
        else:
            index = model.index(source_row, 0, source_parent)
            if self._type and index.data(Roles.TYPE) != self._type:
                return False
            haystack = index.data(Roles.SEARCH_TEXT)
        return all(word in haystack for word in self._words)


def type_tree_model(registry: Registry, counts: dict[str, int] | None = None) -> QStandardItemModel:
    """Sidebar: "All connections", then one node per group with its types; broken types show why."""
    model = QStandardItemModel()
    counts = counts or {}
    everything = QStandardItem("All connections")
    everything.setData(None, Roles.TYPE)
    everything.setEditable(False)
    model.appendRow(everything)
    groups: dict[str, QStandardItem] = {}
    for entry in sorted(registry.summaries(), key=lambda e: e.name.lower()):  # no validation needed: cached
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
            item.setIcon(type_icon(registry, entry.type))
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
