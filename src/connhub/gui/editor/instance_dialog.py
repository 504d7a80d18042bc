"""Create or edit one instance: name, "Paste URL" (gui/editor/url_paste.py, types with URL schemes only), the
generated credential form, Test on the unsaved values, Save."""

from __future__ import annotations

import asyncio
import html
from datetime import UTC, datetime
from typing import Any

import shiboken6
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from connhub.core.errors import TITLES
from connhub.core.fields import defaults
from connhub.core.records import (
    ENVIRONMENTS,
    EditConflict,
    InstanceNotFound,
    InstanceRecord,
    InvalidValues,
    NameTaken,
    VaultError,
)
from connhub.gui.editor.form import CredentialForm
from connhub.gui.editor.url_paste import UrlEdit, UrlPaste, sentence
from connhub.gui.icons import type_icon
from connhub.gui.ops import HubOp, background, dialog_result, load_integration, show_error, spawn
from connhub.gui.probing.probe_panel import ProbePanel
from connhub.gui.theme import muted_color, styled
from connhub.plugins.registry import TypeEntry
from connhub.services.hub import Hub


class InstanceDialog(QDialog):
    def __init__(self, hub: Hub, entry: TypeEntry, record: InstanceRecord | None = None, parent=None):
        super().__init__(parent)
        self.hub, self.entry, self.record = hub, entry, record
        self.saved_record: InstanceRecord | None = None
        #: Set when the user chose to open an existing look-alike instead of saving (duplicate warning).
        self.open_existing: InstanceRecord | None = None
        self._test_task: asyncio.Task | None = None
        self._tested: tuple[dict, Any, datetime] | None = None  # (values, result, when) of the last form test
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
        palette.setColor(QPalette.ColorRole.WindowText, muted_color(palette))
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
        self.name_error = styled(QLabel(), "fieldError")
        self.name_error.hide()
        name_label = QLabel("&Name *")
        name_label.setBuddy(self.name_edit)
        name_row = QFormLayout()
        name_row.addRow(name_label, self.name_edit)
        name_row.addRow("", self.name_error)
        self._name_row, self._name_label, self._name_aligned = name_row, name_label, False
        self.url_paste = UrlPaste(hub, entry, name_row) if entry.manifest.url_schemes else None
        self._url_label = self.url_paste.label if self.url_paste else None

        self.form = CredentialForm(entry.specs, entry.manifest.credentials)
        if self.url_paste is not None:
            self.url_paste.form = self.form
        self.form.set_values(dict(record.config) if record else defaults(entry.specs))
        if record:
            self.form.mark_saved_secrets(set(record.secret_fields))
        from connhub.gui.editor.oauth import attach_sign_in

        self.sign_in = attach_sign_in(self.form, hub, entry, needs_reauth=bool(record and record.needs_reauth))
        self.form.changed.connect(self._values_changed)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Tab goes from the name straight into the fields
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addWidget(self.form)
        holder_layout.addWidget(self._build_details(record))
        holder_layout.addStretch(1)
        scroll.setWidget(holder)
        self._scroll, self._holder = scroll, holder

        self.test_panel = ProbePanel()
        self.test_panel.cancel_requested.connect(self.cancel_test)
        self.test_button = QPushButton("&Test connection")
        self.test_button.setToolTip("Test the values as they are now, without saving (Ctrl+T)")
        self.test_button.clicked.connect(self.start_test)
        self.test_button.setAutoDefault(False)  # Enter in a field saves; it never re-runs the test
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
        self._opened_with = self._state()  # Esc on anything else asks first (see reject)
        self._discard_confirmed = False
        self._asking_discard: asyncio.Task | None = None

    def _state(self) -> tuple:
        return self.name_edit.text().strip(), self.form.values(), self.details()

    def has_changes(self) -> bool:
        return self._state() != self._opened_with

    def _build_details(self, record: InstanceRecord | None) -> QGroupBox:
        """Environment, tags, and where the secrets live: what organises the list, not how to connect."""
        box = QGroupBox("Organise")
        rows = QFormLayout(box)
        self.environment = QComboBox()
        self.environment.setAccessibleName("Environment")
        self.environment.addItem("None", "")
        for env in ENVIRONMENTS:
            self.environment.addItem({"dev": "Development", "staging": "Staging", "prod": "Production"}[env], env)
        self.environment.setCurrentIndex(max(0, self.environment.findData(record.environment or "")) if record
                                         else 0)
        self.environment.setToolTip("Production connections are marked in the list and ask before deletion")
        self.tags_edit = QLineEdit(", ".join(record.tags) if record else "")
        self.tags_edit.setPlaceholderText("e.g. billing, eu-west")
        self.tags_edit.setAccessibleName("Tags")
        self.ask_every_time = QCheckBox("Ask for secrets every time (keep them in memory only)")
        self.ask_every_time.setAccessibleName("Ask for secrets every time")
        self.ask_every_time.setToolTip("Secrets are never saved in the keyring: connhub asks for them once per "
                                       "session, before the first test")
        self.ask_every_time.setChecked(bool(record and record.secret_mode == "session"))
        self.share_secrets = QCheckBox("Share secrets with the team (kept in the team's OpenBao)")
        self.share_secrets.setAccessibleName("Share secrets with the team")
        self.share_secrets.setChecked(bool(record and record.secret_mode == "shared"))
        team = getattr(self.hub, "team_config", None)
        self.share_secrets.setVisible(self.share_secrets.isChecked() or bool(team and team.openbao_addr))
        # Bound methods, not lambdas holding self: those would keep every closed dialog alive (PySide holds a
        # slot's closure from C++, out of the garbage collector's sight).
        self.ask_every_time.toggled.connect(self._asking_every_time)
        self.share_secrets.toggled.connect(self._sharing_secrets)
        self._details_labels = []
        for text, widget in (("&Environment", self.environment), ("T&ags", self.tags_edit)):
            label = QLabel(text)
            label.setBuddy(widget)
            rows.addRow(label, widget)
            self._details_labels.append(label)
        rows.addRow("", self.ask_every_time)
        rows.addRow("", self.share_secrets)
        return box

    def _asking_every_time(self, on: bool) -> None:
        if on:  # one place for the secrets: this session's memory, or the team's OpenBao
            self.share_secrets.setChecked(False)

    def _sharing_secrets(self, on: bool) -> None:
        if on:
            self.ask_every_time.setChecked(False)

    def details(self) -> dict:
        return {"environment": self.environment.currentData() or "",
                "tags": [t for t in (part.strip() for part in self.tags_edit.text().split(",")) if t],
                "secret_mode": "session" if self.ask_every_time.isChecked()
                else "shared" if self.share_secrets.isChecked() else "keyring"}

    # --- paste a URL (gui/editor/url_paste.py) ---------------------------------------------------------

    @property
    def url_edit(self) -> UrlEdit | None:
        return self.url_paste.edit if self.url_paste else None

    @property
    def url_fill(self) -> QPushButton | None:
        return self.url_paste.fill_button if self.url_paste else None

    @property
    def url_message(self) -> QLabel | None:
        return self.url_paste.message if self.url_paste else None

    def fill_from_url(self) -> bool:
        return self.url_paste.fill() if self.url_paste else False

    def fill_from_pasted(self, url: str) -> bool:
        """Quick connect: the URL goes through the URL box, as if pasted there (masked, then forgotten)."""
        return self.url_paste.fill_from(url) if self.url_paste else False

    def url_message_text(self) -> str:
        return self.url_paste.message_text() if self.url_paste else ""

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._name_aligned:
            self._name_aligned = True
            self._fit_to_content()
            self._align_name_row()

    def _size_key(self) -> str:
        return f"instanceDialog/{self.entry.type}/size"

    def _fit_to_content(self) -> None:
        """The size this type's dialog had when last closed; else tall enough for its whole form (no scrolling
        inside a small window), never beyond the screen."""
        from PySide6.QtCore import QSettings, QSize

        screen = (self.screen() or QApplication.primaryScreen()).availableGeometry()
        saved = QSettings().value(self._size_key())
        if isinstance(saved, QSize) and saved.isValid():
            wanted = saved
        else:
            self.layout().activate()
            hidden = max(0, self._holder.sizeHint().height() - self._scroll.viewport().height())
            wanted = QSize(max(self.width(), self._holder.sizeHint().width() + 40), self.height() + hidden)
        self.resize(min(wanted.width(), int(screen.width() * 0.95)), min(wanted.height(), int(screen.height() * 0.9)))

    def done(self, result: int) -> None:
        from PySide6.QtCore import QSettings

        QSettings().setValue(self._size_key(), self.size())  # the size the user left it at, per type
        super().done(result)

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
        labels = [label for label in (self._name_label, self._url_label) if label is not None]
        if all(width >= label.sizeHint().width() for label in labels):
            for label in labels:
                label.setFixedWidth(width)
        # The Organise box's fields start where the form's do.
        box_label_x = self._details_labels[0].mapTo(self, QPoint(0, 0)).x()
        box_width = field_x - box_label_x - spacing
        if all(box_width >= label.sizeHint().width() for label in self._details_labels):
            for label in self._details_labels:
                label.setFixedWidth(box_width)
        self.layout().activate()  # in place before the first paint, not one event later

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
            result = await self.hub.prober.test_values(self.entry.type, values,
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
            self._tested = (values, result, datetime.now(UTC))  # kept by Save while the values stay these
            if not result.ok:
                self._blame(result)
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
        # Disabling the focused control hands the focus to a button, where Enter would press *it*: give the
        # keyboard user's place back afterwards.
        if busy:
            self._focus_before_busy = QApplication.focusWidget()
        self.form.set_read_only(busy)
        self.name_edit.setReadOnly(busy)
        if self.url_edit is not None:
            self.url_edit.setReadOnly(busy)
            self.url_fill.setEnabled(not busy)
        self.test_button.setEnabled(not busy)
        self.save_button.setEnabled(not busy)
        if not busy:
            self.save_button.setDefault(True)  # a button that held the focus meanwhile took the default role
        previous = getattr(self, "_focus_before_busy", None)
        if not busy and previous is not None and shiboken6.isValid(previous) and self.isAncestorOf(previous):
            previous.setFocus()

    def _blame(self, result) -> None:
        """Mark the field most likely wrong (auth → password, dns → host, refused → port) and put the cursor
        there: the first of the candidates the form shows now (a choice may hide some)."""
        from connhub.services.runner import fields_to_blame

        for key in fields_to_blame(result.error_class, self.entry.specs):
            try:
                widget = self.form.field_widget(key)
            except KeyError:
                continue
            if widget.isVisibleTo(self):
                self.form.show_errors({key: f"{TITLES[result.error_class]}: check this value"})
                self._blamed = key
                widget.setFocus()
                return

    def _values_changed(self) -> None:
        self._tested = None
        if getattr(self, "_blamed", None):  # the value is being fixed: the mark has done its job
            self._blamed = None
            self.form.show_errors({})
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
        details = self.details()
        except_id = self.record.id if self.record else None
        self._set_busy(True)
        try:  # a taken name is told first; then a look-alike of a saved connection is worth a question
            taken = await background(self.hub.instances.name_taken, name, except_id)
            similar = [] if taken else await background(self.hub.instances.similar, self.entry.type, values, except_id)
        finally:
            self._set_busy(False)
        if taken:
            self._show_name_error(str(NameTaken(name, self.hub.instances.workspace)))
            return None
        if similar and not await self._confirm_duplicate(similar[0]):
            return None
        tested = self._tested if self._tested is not None and self._tested[0] == values else None
        if tested is not None and not tested[1].ok and not await self._confirm_failed_save(tested[1]):
            return None
        self._set_busy(True)
        self._saving = True
        try:
            if self.record:
                op = HubOp(self, "Secrets not saved", self.hub.instances.update, self.record.id, values, name=name,
                           expected_updated_at=self.record.updated_at, **details)
            else:
                op = HubOp(self, "Secrets not saved", self.hub.instances.create, self.entry.type, name, values,
                           **details)
            op.handle(NameTaken, lambda exc: self._show_name_error(str(exc))).handle(InvalidValues, self._show_invalid)
            op.handle(EditConflict, self._changed_elsewhere).handle(InstanceNotFound, self._deleted_elsewhere)
            saved = await op.worded(lambda exc: f"{exc}\n\nNothing was saved.")  # the keyring refused
            if op.failed:
                return None
            if tested is not None:  # the form's test of exactly these values: the first line of the history
                op = HubOp(self, "Test result not kept", self.hub.prober.record, saved.id, tested[1], tested[2])
                op.handle(InstanceNotFound, lambda _exc: None)
                saved = await op.worded(str) or saved
        finally:
            self._saving = False
            self._set_busy(False)
        self.saved_record = saved
        self.accept()
        return saved

    async def _confirm_duplicate(self, existing: InstanceRecord) -> bool:
        """Same type, same address and user as a saved one: most likely a mistake. Save anyway, open the
        existing one instead, or go back to the form."""
        box = QMessageBox(QMessageBox.Icon.Warning, "Possible duplicate",
                          f"“{existing.name}” already connects to {existing.summary} as this type.\n\n"
                          "Save another connection to the same place?", QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("duplicateWarning")
        save = box.addButton("Save anyway", QMessageBox.ButtonRole.AcceptRole)
        open_existing = box.addButton(f"Open “{existing.name}”", QMessageBox.ButtonRole.ActionRole)
        back = box.addButton("Back to the form", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(back)
        box.setEscapeButton(back)
        await dialog_result(box)
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is open_existing:
            self.open_existing = existing
            super().reject()
        return clicked is save

    async def _confirm_discard(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Question, "Discard changes?",
                          "This connection has changes that are not saved. Discard them?",
                          QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("discardChanges")
        discard = box.addButton("Discard changes", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep editing", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        await dialog_result(box)
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is discard and shiboken6.isValid(self):
            self._discard_confirmed = True
            self.reject()

    async def _confirm_failed_save(self, result) -> bool:
        """The last test of these values failed: saving is allowed (the server may be down now), not silent."""
        box = QMessageBox(QMessageBox.Icon.Warning, "The test failed",
                          f"The last test of these settings failed:\n\n{result.message}\n\nSave anyway?",
                          QMessageBox.StandardButton.NoButton, self)
        box.setObjectName("failedTestWarning")
        box.setTextFormat(Qt.TextFormat.PlainText)  # a server's words, shown as they are
        save = box.addButton("Save anyway", QMessageBox.ButtonRole.AcceptRole)
        back = box.addButton("Back to the form", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(back)
        box.setEscapeButton(back)
        await dialog_result(box)
        clicked = box.clickedButton()
        box.deleteLater()
        return clicked is save

    def _show_invalid(self, exc: InvalidValues) -> None:
        self._show_name_error(exc.errors.pop("name", ""))
        self.form.show_errors(exc.errors)

    def _changed_elsewhere(self, exc: EditConflict) -> None:
        mine = {"name": self.name_edit.text().strip(), **self.form.values()}
        self.record = exc.current  # the next Save replaces what is there now, knowingly
        theirs = {"name": exc.current.name, **exc.current.config}
        secret = set(exc.current.secret_fields) | {s.key for s in self.entry.specs if s.secret}
        differ = [k for k in sorted(set(mine) | set(theirs)) if k not in secret and mine.get(k) != theirs.get(k)]
        both = "".join(f"\n• {k}: theirs {theirs.get(k, '—')!s}, yours {mine.get(k, '—')!s}" for k in differ[:8])
        show_error(self, "Changed elsewhere", f"{sentence(str(exc))}.{both and chr(10) + both}\n\nYour changes "
                   "were not saved. Save again to replace the other changes with yours, or Cancel to keep them.")

    def _deleted_elsewhere(self, _exc: InstanceNotFound) -> None:
        show_error(self, "Not saved", f"“{self.record.name}” was deleted elsewhere (another window or "
                   "`connhub remove`) after you opened it. Nothing was saved.")

    def _show_name_error(self, text: str) -> None:
        self.name_error.setText(text)
        self.name_error.setVisible(bool(text))

    def reject(self) -> None:
        if self._saving:
            return  # a save is writing (bounded by the keyring's timeout): closing now would hide its outcome
        if not self._discard_confirmed and self.has_changes():  # Esc, Cancel or the title bar's close
            if self._asking_discard is None or self._asking_discard.done():
                self._asking_discard = spawn(self._confirm_discard())
            return
        self.cancel_test()
        if self.sign_in is not None:
            self.sign_in.cancel()  # closes the loopback listener
        super().reject()
