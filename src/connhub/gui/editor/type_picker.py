"""Choose the type of a new connection: searchable, with icons; disabled types say why."""

from __future__ import annotations

from PySide6.QtCore import QSize, QSortFilterProxyModel, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListView,
    QVBoxLayout,
)

from connhub.gui.icons import type_icon, warning_icon
from connhub.gui.instances.models import GROUP_TITLES, Roles
from connhub.plugins.registry import Registry


class TypePicker(QDialog):
    def __init__(self, registry: Registry, parent=None):
        super().__init__(parent)
        self.setObjectName("typePicker")
        self.setWindowTitle("New connection")
        self.resize(460, 520)
        self.chosen: str | None = None
        model = QStandardItemModel(self)
        for entry in sorted(registry.entries(), key=lambda e: (not e.ok, e.name.lower())):
            item = QStandardItem(entry.name)
            item.setEditable(False)
            item.setData(entry.type, Roles.TYPE)
            if entry.ok:
                group = GROUP_TITLES.get(entry.manifest.group, entry.manifest.group)
                item.setIcon(type_icon(registry, entry.type))
                item.setText(f"{entry.name}\n{group} · {entry.manifest.description}")
                item.setData(f"{entry.name} {entry.type} {group} {entry.manifest.description}".lower(),
                             Roles.SEARCH_TEXT)
            else:
                item.setIcon(warning_icon())
                item.setText(f"{entry.name} — disabled\n{entry.error}")
                item.setEnabled(False)
                item.setData(entry.type, Roles.SEARCH_TEXT)
            item.setToolTip(item.text())
            model.appendRow(item)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterRole(Roles.SEARCH_TEXT)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Search types…")
        self.search.setAccessibleName("Search types")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.list = QListView()
        self.list.setModel(self.proxy)
        self.list.setAccessibleName("Integration types")
        self.list.setSpacing(2)
        self.list.setWordWrap(True)
        self.list.setIconSize(QSize(28, 28))
        self.list.doubleClicked.connect(self.accept)
        self.list.activated.connect(self.accept)
        self.search.returnPressed.connect(self.accept)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Continue")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("What do you want to connect to?"))
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(buttons)
        self._filter("")
        self.search.setFocus()

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self.list.setCurrentIndex(self.proxy.index(0, 0))  # Enter picks the best match

    def select(self, type_name: str) -> None:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(Roles.TYPE) == type_name:
                self.list.setCurrentIndex(index)
                return
        raise KeyError(type_name)

    def accept(self, *_args) -> None:
        index = self.list.currentIndex()
        if not index.isValid() or not (index.flags() & Qt.ItemFlag.ItemIsEnabled):
            return
        self.chosen = index.data(Roles.TYPE)
        super().accept()
