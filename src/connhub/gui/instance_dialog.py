"""Create or edit one instance: name, the generated credential form, Test on the unsaved values, Save."""

from __future__ import annotations

import asyncio
import html

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from connhub.core.fields import defaults
from connhub.gui.form import CredentialForm
from connhub.gui.icons import type_icon
from connhub.gui.tasks import background, load_integration, show_error, spawn
from connhub.gui.test_panel import TestPanel
from connhub.plugins.registry import TypeEntry
from connhub.services.hub import Hub, InvalidValues
from connhub.storage.repository import InstanceRecord, NameTaken
from connhub.storage.vault import VaultError


class InstanceDialog(QDialog):
    def __init__(self, hub: Hub, entry: TypeEntry, record: InstanceRecord | None = None, parent=None):
        super().__init__(parent)
        self.hub, self.entry, self.record = hub, entry, record
        self.saved_record: InstanceRecord | None = None
        self._test_task: asyncio.Task | None = None
        self._save_task: asyncio.Task | None = None
        self._saving = False  # the keyring and the database are being written
        self.setObjectName("instanceDialog")
        self.setWindowTitle(f"Edit {entry.name} connection" if record else f"New {entry.name} connection")
        self.resize(560, 680)

        icon = QLabel()
        icon.setPixmap(type_icon(hub.registry, entry.type).pixmap(32, 32))
        title = QLabel(f"<b>{html.escape(entry.name)}</b>")
        # Rich text has no palette(): a muted colour mixed from the palette, readable on light and dark themes.
        description = QLabel(entry.manifest.description)
        description.setObjectName("typeDescription")
        description.setTextFormat(Qt.TextFormat.PlainText)
        description.setWordWrap(True)
        palette = description.palette()
        text, window = palette.color(QPalette.ColorRole.WindowText), palette.color(QPalette.ColorRole.Window)
        palette.setColor(QPalette.ColorRole.WindowText, QColor(*(round(a * 0.62 + b * 0.38) for a, b in (
            (text.red(), window.red()), (text.green(), window.green()), (text.blue(), window.blue())))))
        description.setPalette(palette)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(title)
        titles.addWidget(description)
        header = QHBoxLayout()
        header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        header.addLayout(titles, 1)

        self.name_edit = QLineEdit(record.name if record else "")
        self.name_edit.setPlaceholderText(f"e.g. {entry.name} production")
        self.name_edit.setAccessibleName("Connection name")
        self.name_error = QLabel()
        self.name_error.setObjectName("fieldError")
        self.name_error.hide()
        name_label = QLabel("&Name *")
        name_label.setBuddy(self.name_edit)
        name_row = QFormLayout()
        name_row.addRow(name_label, self.name_edit)
        name_row.addRow("", self.name_error)
        self._name_row, self._name_label, self._name_aligned = name_row, name_label, False

        self.form = CredentialForm(entry.specs, entry.manifest.credentials)
        self.form.set_values(dict(record.config) if record else defaults(entry.specs))
        if record:
            self.form.mark_saved_secrets(set(record.secret_fields))
        self.form.changed.connect(self._values_changed)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addWidget(self.form)
        holder_layout.addStretch(1)
        scroll.setWidget(holder)

        self.test_panel = TestPanel()
        self.test_panel.cancel_requested.connect(self.cancel_test)
        self.test_button = QPushButton("&Test connection")
        self.test_button.setToolTip("Test the values as they are now, without saving (Ctrl+T)")
        self.test_button.clicked.connect(self.start_test)
        QShortcut(QKeySequence("Ctrl+T"), self, activated=self.start_test)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setDefault(True)
        self.buttons.accepted.connect(self.start_save)
        self.buttons.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.test_button)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addLayout(name_row)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.test_panel)
        layout.addLayout(bottom)
        self.name_edit.setFocus()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._name_aligned:
            self._name_aligned = True
            self._align_name_row()

    def _align_name_row(self) -> None:
        """Line the Name row up with the form's label and field columns (the form indents its top rows to
        match its group boxes, so a plain form layout here would sit a few pixels off)."""
        self.layout().activate()
        best = None
        for layout in self.form.findChildren(QFormLayout):
            for row in range(layout.rowCount()):
                label, field = (layout.itemAt(row, role) for role in (QFormLayout.ItemRole.LabelRole,
                                                                      QFormLayout.ItemRole.FieldRole))
                if not (label and field and label.widget() and field.widget()
                        and label.widget().isVisibleTo(self)):
                    continue
                x = label.widget().mapTo(self, QPoint(0, 0)).x()
                if best is None or x < best[0]:
                    best = (x, field.widget())
        if best is None:
            return
        label_x, field = best
        field_x = field.mapTo(self, QPoint(0, 0)).x()
        outer = self.layout().contentsMargins()
        left = max(0, label_x - outer.left())
        right = max(0, self.width() - outer.right() - (field_x + field.width()))
        self._name_row.setContentsMargins(left, 0, right, 0)
        spacing = max(self._name_row.horizontalSpacing(), 0)
        width = field_x - label_x - spacing
        if width >= self._name_label.sizeHint().width():
            self._name_label.setFixedWidth(width)

    # --- test -------------------------------------------------------------------------------------------

    def start_test(self) -> None:
        if self._test_task and not self._test_task.done():
            return
        self._test_task = spawn(self.run_test())

    async def run_test(self):
        self._test_task = task = asyncio.current_task()

        def mine() -> bool:  # once cancelled, this test must leave the UI to whatever came after it
            return self._test_task is task

        values = self.form.values()
        errors = self.form.validate()
        if errors:
            self.form.show_errors(errors)
            return None
        self._set_busy(True)
        self.test_panel.start()
        try:
            await load_integration(self.entry)
            result = await self.hub.test_values(self.entry.type, values,
                                                on_stage=lambda stage: mine() and self.test_panel.set_stage(stage),
                                                saved_from=self.record)
        except asyncio.CancelledError:
            if mine():
                self.test_panel.show_cancelled()
            return None
        except VaultError as exc:
            if mine():
                self.test_panel.clear()
                show_error(self, "Keyring", str(exc))
            return None
        finally:
            if mine():
                self._set_busy(False)
        if mine():
            self.test_panel.show_result(result)
        return result

    def cancel_test(self) -> None:
        if self._test_task and not self._test_task.done():
            self._test_task.cancel()
            # Unlock at once; the task's own cleanup finishes in the background, and a new test may start
            # before it has (the old task no longer counts as running).
            self._test_task = None
            self._set_busy(False)
            self.test_panel.show_cancelled()

    def _set_busy(self, busy: bool) -> None:
        self.form.set_read_only(busy)
        self.name_edit.setReadOnly(busy)
        self.test_button.setEnabled(not busy)
        self.save_button.setEnabled(not busy)

    def _values_changed(self) -> None:
        if not self.test_panel.running:
            self.test_panel.clear()  # a result that no longer matches the values would mislead

    # --- save -------------------------------------------------------------------------------------------

    def start_save(self) -> None:
        if self._save_task and not self._save_task.done():
            return
        self._save_task = spawn(self.save())

    async def save(self) -> InstanceRecord | None:
        name = self.name_edit.text().strip()
        self._show_name_error("" if name else "Give the connection a name")
        errors = self.form.validate()
        if errors or not name:
            return None
        values = self.form.values()
        self._set_busy(True)
        self._saving = True
        try:
            if self.record:
                saved = await background(self.hub.update, self.record.id, values, name=name)
            else:
                saved = await background(self.hub.create, self.entry.type, name, values)
        except NameTaken as exc:
            self._show_name_error(str(exc))
            return None
        except InvalidValues as exc:
            self._show_name_error(exc.errors.pop("name", ""))
            self.form.show_errors(exc.errors)
            return None
        except VaultError as exc:
            show_error(self, "Secrets not saved", f"{exc}\n\nNothing was saved.")
            return None
        finally:
            self._saving = False
            self._set_busy(False)
        self.saved_record = saved
        self.accept()
        return saved

    def _show_name_error(self, text: str) -> None:
        self.name_error.setText(text)
        self.name_error.setVisible(bool(text))

    def reject(self) -> None:
        if self._saving:
            return  # a save is writing (bounded by the keyring's timeout): closing now would hide its outcome
        self.cancel_test()
        super().reject()
