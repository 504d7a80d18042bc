"""List models: instances and integration types, for Qt's model/view (no widget per row)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QStandardItem, QStandardItemModel

from connhub.gui.icons import type_icon, warning_icon
from connhub.plugins.registry import Registry
from connhub.storage.repository import InstanceRecord

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
    LIVE = Qt.ItemDataRole.UserRole + 8  # "queued" / "testing" while a Test all runs, else None


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


def status_text(record: InstanceRecord) -> str:
    if record.status == "untested":
        return "untested"
    label = "ok" if record.status == "ok" else (record.last_error_class or "failing")
    return f"{label} · {age(record.last_test_at)}"


class InstanceListModel(QAbstractListModel):
    """The saved instances, as plain records; drawn by `InstanceDelegate`."""

    def __init__(self, registry: Registry, parent=None):
        super().__init__(parent)
        self._registry = registry
        self._records: list[InstanceRecord] = []
        self._row_of: dict[str, int] = {}
        self._live: dict[str, str] = {}  # instance id → "queued" / "testing"; kept by id across resets

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._records)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record = self._records[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return record.name
        if role == Roles.LIVE:
            return self._live.get(record.id)
        if role == Qt.ItemDataRole.DecorationRole:
            return type_icon(self._registry, record.type)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{record.name}\n{record.summary}\n{self._status_text(record)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{record.name}, {record.type}, {self._status_text(record)}"
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
            return " ".join([record.name, record.type, record.summary, *record.tags]).lower()
        return None

    def set_records(self, records: list[InstanceRecord]) -> None:
        self.beginResetModel()
        self._records = list(records)
        self._row_of = {r.id: i for i, r in enumerate(self._records)}
        self.endResetModel()

    def upsert(self, record: InstanceRecord) -> None:
        row = self._row_of.get(record.id)
        if row is None:
            row = len(self._records)
            self.beginInsertRows(QModelIndex(), row, row)
            self._records.append(record)
            self._row_of[record.id] = row
            self.endInsertRows()
        else:
            self._records[row] = record
            self.dataChanged.emit(self.index(row), self.index(row))

    def remove(self, instance_id: str) -> None:
        row = self._row_of.get(instance_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._records[row]
        self.endRemoveRows()
        self._row_of = {r.id: i for i, r in enumerate(self._records)}

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


class InstanceFilter(QSortFilterProxyModel):
    """Filter-as-you-type over name, type, summary and tags, optionally one type only; sorted by name."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._words: list[str] = []
        self._type: str | None = None
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setSortRole(Qt.ItemDataRole.DisplayRole)

    def set_text(self, text: str) -> None:
        self.beginFilterChange()  # invalidateRowsFilter() is deprecated since Qt 6.10 (a warning per call)
        self._words = text.lower().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def set_type(self, type_name: str | None) -> None:
        self.beginFilterChange()
        self._type = type_name
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        index = self.sourceModel().index(source_row, 0, source_parent)
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
    for entry in sorted(registry.entries(), key=lambda e: e.name.lower()):
        group = entry.manifest.group if entry.manifest else "other"
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
            item.setToolTip(entry.manifest.description)
        else:
            item.setIcon(warning_icon())
            item.setText(f"{entry.name} (disabled)")
            item.setToolTip(f"This type is disabled: {entry.error}")
        groups[group].appendRow(item)
    order = list(GROUP_TITLES)
    for group in sorted(groups, key=lambda g: order.index(g) if g in order else len(order)):
        model.appendRow(groups[group])
    return model
