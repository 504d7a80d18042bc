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
    Signal,
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
    ENVIRONMENT = Qt.ItemDataRole.UserRole + 8
    TAGS = Qt.ItemDataRole.UserRole + 9
    #: Sort keys, compared by Qt itself (no Python lessThan: 10,000 rows stay fast): type then name, status
    #: (failing first) then name, the time of the last test (newest first; untested last).
    TYPE_SORT = Qt.ItemDataRole.UserRole + 10
    STATUS_RANK = Qt.ItemDataRole.UserRole + 11
    LAST_TEST = Qt.ItemDataRole.UserRole + 12


SORTS = {"name": ("Name", Qt.ItemDataRole.DisplayRole, Qt.SortOrder.AscendingOrder),
         "type": ("Type", Roles.TYPE_SORT, Qt.SortOrder.AscendingOrder),
         "status": ("Status (failing first)", Roles.STATUS_RANK, Qt.SortOrder.AscendingOrder),
         "tested": ("Last tested", Roles.LAST_TEST, Qt.SortOrder.DescendingOrder)}
STATUS_ORDER = {"failing": 0, "untested": 1, "ok": 2}
ENVIRONMENT_TITLES = {"dev": "dev", "staging": "staging", "prod": "PROD"}


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
    """The saved instances, as plain records; drawn by `InstanceDelegate`. Names are editable in place (F2):
    an edit is only *requested* here (`rename_requested`); the window saves it and upserts the result."""

    rename_requested = Signal(str, str)

    def __init__(self, registry: Registry, parent=None):
        super().__init__(parent)
        self._registry = registry
        self._records: list[InstanceRecord] = []
        self._row_of: dict[str, int] = {}

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._records)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        record = self._records[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return record.name
        if role == Qt.ItemDataRole.DecorationRole:
            return type_icon(self._registry, record.type)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{record.name}\n{record.summary}\n{status_text(record)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            env = f", {record.environment} environment" if record.environment else ""
            return f"{record.name}, {record.type}{env}, {status_text(record)}"
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
            return " ".join(part for part in (record.name, record.type, record.summary, record.environment,
                                              *record.tags) if part).lower()
        if role == Roles.ENVIRONMENT:
            return record.environment
        if role == Roles.TAGS:
            return record.tags
        if role == Roles.TYPE_SORT:
            return f"{record.type}\x00{record.name.casefold()}"
        if role == Roles.STATUS_RANK:
            return f"{STATUS_ORDER.get(record.status, 1)}\x00{record.name.casefold()}"
        if role == Roles.LAST_TEST:
            return record.last_test_at.timestamp() if record.last_test_at else 0.0
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

    def records(self) -> list[InstanceRecord]:
        return list(self._records)


class InstanceFilter(QSortFilterProxyModel):
    """Filter-as-you-type over name, type, summary (host), environment and tags, optionally one type only;
    sorted by one of `SORTS`, ties by name."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._words: list[str] = []
        self._type: str | None = None
        self.sort_key = "name"
        self.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setSortRole(Qt.ItemDataRole.DisplayRole)

    def set_sort(self, key: str) -> None:
        _title, role, order = SORTS[key]
        self.sort_key = key
        self.setSortRole(role)
        self.sort(0, order)


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
