"""Export… and Import…: the window side of services/transfer.py.

Export: choose selected or all, plain JSON (secrets left out, each marked) or an encrypted bundle (passphrase
twice, with a strength hint), then a file. Import: a file, its passphrase when it is a bundle (a wrong one is
said inline and the dialog stays), then a preview of what each incoming instance matches and what will happen
to it; nothing is written until Import is pressed. The window's Export… and Import… actions call
`TransferActions` (`window.transfer`, made on first use). File choosers are its attributes, so tests hand in a
path instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from connhub.gui.instances.models import Roles
from connhub.gui.ops import background, show_error, spawn
from connhub.gui.theme import styled
from connhub.services.transfer import (
    Decision,
    ImportReport,
    Incoming,
    TransferError,
    decision_for,
    is_bundle,
    read_import,
    saved_names,
    still_missing,
    write_export,
)

if TYPE_CHECKING:
    import asyncio


MIN_PASSPHRASE = 8
JSON_FILTER = "connhub exports (*.json);;All files (*)"


def passphrase_strength(text: str) -> tuple[str, str]:
    """(level, hint) from a rough entropy estimate: length × log2(alphabet). Only a hint, never a rule
    beyond the minimum length: a long phrase of lowercase words is strong, and says so."""
    if not text:
        return "empty", f"At least {MIN_PASSPHRASE} characters; a few unrelated words make a strong one."
    if len(text) < MIN_PASSPHRASE:
        return "short", f"Too short: at least {MIN_PASSPHRASE} characters."
    pool = sum(size for present, size in (
        (any(c.islower() for c in text), 26), (any(c.isupper() for c in text), 26),
        (any(c.isdigit() for c in text), 10), (any(not c.isalnum() for c in text), 33)) if present)
    bits = len(text) * math.log2(max(pool, 2)) if len(set(text)) > 2 else 0.0
    if bits < 50:
        return "weak", "Weak: anyone holding the file could guess it. Make it longer."
    if bits < 75:
        return "fair", "Fair: a few more characters or words would make it strong."
    return "strong", "Strong."


def _bind(label_text: str, widget: QWidget, accessible: str) -> QLabel:
    label = QLabel(label_text)
    label.setBuddy(widget)
    widget.setAccessibleName(accessible)
    return label


def _error_label(name: str) -> QLabel:
    label = styled(QLabel(), "fieldError")
    label.setTextFormat(Qt.TextFormat.PlainText)  # an error can quote the file's own text
    label.setAccessibleName(name)
    label.setWordWrap(True)
    label.hide()
    return label


# --- export ----------------------------------------------------------------------------------------------

class ExportDialog(QDialog):
    """What to export and how; the passphrase is checked here (long enough, typed twice alike)."""

    def __init__(self, selected: int, total: int, parent=None):
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export connections")
        self.setAccessibleName("Export connections")

        self.selected_radio = QRadioButton(f"&Selected connection{'s' if selected != 1 else ''} ({selected})")
        self.all_radio = QRadioButton(f"&All connections ({total})")
        self.selected_radio.setEnabled(selected > 0)
        (self.selected_radio if selected else self.all_radio).setChecked(True)
        scope = QGroupBox("Connections")
        scope_layout = QVBoxLayout(scope)
        scope_layout.addWidget(self.selected_radio)
        scope_layout.addWidget(self.all_radio)
        self._scope_group = QButtonGroup(self)
        self._scope_group.addButton(self.selected_radio)
        self._scope_group.addButton(self.all_radio)

        self.plain_radio = QRadioButton("Plain &JSON, without secrets (each secret is marked, to fill in later)")
        self.encrypted_radio = QRadioButton("&Encrypted bundle, secrets included (sealed with a passphrase)")
        self.plain_radio.setChecked(True)
        kind = QGroupBox("Format")
        kind_layout = QVBoxLayout(kind)
        kind_layout.addWidget(self.plain_radio)
        kind_layout.addWidget(self.encrypted_radio)
        self._kind_group = QButtonGroup(self)
        self._kind_group.addButton(self.plain_radio)
        self._kind_group.addButton(self.encrypted_radio)

        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm = QLineEdit()
        self.confirm.setEchoMode(QLineEdit.EchoMode.Password)
        self.strength = QLabel()
        self.strength.setObjectName("passphraseStrength")
        self.strength.setAccessibleName("Passphrase strength")
        self.strength.setWordWrap(True)
        self.passphrase_box = QGroupBox("Passphrase")
        form = QFormLayout(self.passphrase_box)
        form.addRow(_bind("Pass&phrase", self.passphrase, "Passphrase"), self.passphrase)
        form.addRow(_bind("&Confirm", self.confirm, "Confirm passphrase"), self.confirm)
        form.addRow("", self.strength)

        self.error = _error_label("Export problem")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("E&xport…", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(scope)
        layout.addWidget(kind)
        layout.addWidget(self.passphrase_box)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        # Once in the dialog, so the dialog remembers it as its default: Enter exports even after a button had
        # the focus (in the Fusion style's button order, Cancel comes first and would take the role).
        self.export_button.setDefault(True)
        for first, second in ((self.selected_radio, self.all_radio), (self.all_radio, self.plain_radio),
                              (self.plain_radio, self.encrypted_radio), (self.encrypted_radio, self.passphrase),
                              (self.passphrase, self.confirm), (self.confirm, self.buttons)):
            self.setTabOrder(first, second)

        self.encrypted_radio.toggled.connect(self._kind_changed)
        self.passphrase.textChanged.connect(self._update_strength)
        self.confirm.textChanged.connect(lambda _text: self.error.hide())
        self._kind_changed(False)
        self._update_strength("")

    @property
    def encrypted(self) -> bool:
        return self.encrypted_radio.isChecked()

    @property
    def all_selected(self) -> bool:
        return self.all_radio.isChecked()

    def _kind_changed(self, encrypted: bool) -> None:
        self.passphrase_box.setEnabled(encrypted)
        self.error.hide()

    def _update_strength(self, text: str) -> None:
        level, hint = passphrase_strength(text)
        self.strength.setText(hint)
        self.strength.setProperty("level", level)
        self.error.hide()

    def problem(self) -> str | None:
        if not self.encrypted:
            return None
        text = self.passphrase.text()
        if not text:
            return "Type a passphrase: the bundle holds your secrets."
        if len(text) < MIN_PASSPHRASE:
            return f"The passphrase must have at least {MIN_PASSPHRASE} characters."
        if self.confirm.text() != text:
            return "The two passphrases differ: type the same one twice."
        return None

    def accept(self) -> None:
        if (problem := self.problem()) is not None:
            self.error.setText(problem)
            self.error.show()
            (self.confirm if "differ" in problem else self.passphrase).setFocus()
            return
        super().accept()


# --- import: passphrase ------------------------------------------------------------------------------------

class PassphraseDialog(QDialog):
    """The passphrase of a bundle, checked (decrypted) off the GUI thread; a wrong one is said here and the
    dialog stays open for another try."""

    def __init__(self, text: str, file_name: str, parent=None):
        super().__init__(parent)
        self.setObjectName("importPassphraseDialog")
        self.setWindowTitle("Encrypted bundle")
        self.setAccessibleName("Passphrase of the encrypted bundle")
        self._text = text
        self.document: dict[str, Any] | None = None
        self.check_task: asyncio.Task | None = None
        intro = QLabel(f"“{file_name}” is an encrypted bundle. Type the passphrase it was exported with.")
        intro.setTextFormat(Qt.TextFormat.PlainText)  # the file's name is the user's (or an attacker's)
        intro.setWordWrap(True)
        self.passphrase = QLineEdit()
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = _error_label("Passphrase problem")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("&Open")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(_bind("Pass&phrase", self.passphrase, "Passphrase"), self.passphrase)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.passphrase.textChanged.connect(lambda _text: self.error.hide())
        self.passphrase.setFocus()

    def accept(self) -> None:
        if self.check_task is not None and not self.check_task.done():
            return
        if not self.passphrase.text():
            self._refuse("Type the passphrase.")
            return
        self.check_task = spawn(self._check(self.passphrase.text()))

    async def _check(self, passphrase: str) -> None:
        self.ok_button.setEnabled(False)
        self.passphrase.setEnabled(False)
        try:
            document = await background(read_import, self._text, passphrase)
        except TransferError as exc:
            if shiboken6.isValid(self):
                self._refuse(str(exc)[:1].upper() + str(exc)[1:] + ".")
            return
        finally:
            if shiboken6.isValid(self):
                self.ok_button.setEnabled(True)
                self.passphrase.setEnabled(True)
        self.document = document
        if shiboken6.isValid(self):
            super().accept()

    def _refuse(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()
        self.passphrase.setFocus()
        self.passphrase.selectAll()


# --- import: preview --------------------------------------------------------------------------------------

MATCH_TEXT = {True: "Same name and type exists", False: "New"}
DECISION_TEXT = {Decision.SKIP: "Skip", Decision.OVERWRITE: "Overwrite", Decision.KEEP_BOTH: "Keep both"}
NEW_DECISION_TEXT = {Decision.KEEP_BOTH: "Import", Decision.SKIP: "Skip"}


def decision_choices(item: Incoming) -> dict[Decision, str]:
    """What can happen to one incoming instance: a match is skipped, overwritten or kept beside the saved one;
    a new one is imported or skipped."""
    return DECISION_TEXT if item.existing is not None else NEW_DECISION_TEXT


class ImportPlanModel(QAbstractTableModel):
    """The preview's rows: name, type, match, decision (editable) and the outcome (saved as, missing secrets)."""

    HEADERS = ("Name", "Type", "Match", "Decision", "What will happen")  # nothing has happened yet
    NAME, TYPE, MATCH, DECISION, OUTCOME = range(5)

    def __init__(self, plan: list[Incoming], taken: set[str], notes: Callable[[Incoming, list[str]], str | None],
                 parent=None):
        super().__init__(parent)
        self.plan = plan
        self.taken = taken
        self._notes = notes
        self.decisions: dict[int, Decision] = {i: item.default_decision for i, item in enumerate(plan)}
        self._names = saved_names(plan, self.decisions, taken)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.plan)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def flags(self, index):
        flags = super().flags(index)
        if index.isValid() and index.column() == self.DECISION:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def saved_name(self, row: int) -> str | None:
        """The name the row will be saved under (None: skipped)."""
        return self._names[row]

    def outcome(self, row: int) -> str:
        item, name = self.plan[row], self._names[row]
        decision = decision_for(self.plan, row, self.decisions)
        if decision is Decision.SKIP:
            return "Will be skipped: one with the same name and type is saved" if item.existing else "Will be skipped"
        if decision is Decision.OVERWRITE:
            text = "Will replace the saved one"
        else:
            text = "Will be added" if name == item.name else f"Will be added as “{name}”"
        note = self._notes(item, still_missing(self.plan, row, self.decisions))
        return f"{text}; {note}" if note else text

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        item = self.plan[row]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            if column == self.NAME:
                return item.name
            if column == self.TYPE:
                return item.type
            if column == self.MATCH:
                return MATCH_TEXT[item.existing is not None]
            if column == self.DECISION:
                return decision_choices(item)[self.decisions[row]]
            return self.outcome(row)
        if role == Qt.ItemDataRole.EditRole and column == self.DECISION:
            return self.decisions[row]
        if role == Roles.RECORD:
            return item
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):
        if not index.isValid() or index.column() != self.DECISION or role != Qt.ItemDataRole.EditRole:
            return False
        decision = Decision(value)
        if decision not in decision_choices(self.plan[index.row()]):
            return False
        self.set_decision(index.row(), decision)
        return True

    def set_decision(self, row: int, decision: Decision) -> None:
        self.decisions[row] = decision
        self._names = saved_names(self.plan, self.decisions, self.taken)  # "keep both" names shift
        self.dataChanged.emit(self.index(row, self.DECISION), self.index(row, self.DECISION))
        self.dataChanged.emit(self.index(0, self.OUTCOME), self.index(len(self.plan) - 1, self.OUTCOME))

    def apply_to_matches(self, decision: Decision) -> None:
        for row, item in enumerate(self.plan):
            if item.existing is not None:
                self.decisions[row] = decision
        self._names = saved_names(self.plan, self.decisions, self.taken)
        if self.plan:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.plan) - 1, len(self.HEADERS) - 1))


class DecisionDelegate(QStyledItemDelegate):
    """A combo box for the Decision column, offering only the choices that row has."""

    def createEditor(self, parent, option, index):
        combo = QComboBox(parent)
        combo.setAccessibleName(f"Decision for {index.siblingAtColumn(0).data()}")
        item = index.data(Roles.RECORD)
        for decision, text in decision_choices(item).items():
            combo.addItem(text, decision.value)
        combo.activated.connect(lambda _i, c=combo: self.commitData.emit(c))
        return combo

    def setEditorData(self, editor, index):
        editor.setCurrentIndex(max(0, editor.findData(Decision(index.data(Qt.ItemDataRole.EditRole)).value)))

    def setModelData(self, editor, model, index):
        model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)


class ImportPreviewDialog(QDialog):
    """Every incoming instance, what it matches and what will happen to it; Import writes, nothing before."""

    def __init__(self, hub, plan: list[Incoming], taken: set[str], file_name: str, parent=None):
        super().__init__(parent)
        self.setObjectName("importPreviewDialog")
        self.setWindowTitle("Import connections")
        self.setAccessibleName("Import preview")
        self.resize(820, 420)
        self.hub = hub
        self.report: ImportReport | None = None
        self.import_task: asyncio.Task | None = None
        self.model = ImportPlanModel(plan, taken, lambda item, missing: hub.transfer.missing_note(item.type, missing), self)
        matches = sum(item.existing is not None for item in plan)
        intro = QLabel(f"“{file_name}”: {len(plan)} connection{'s' if len(plan) != 1 else ''}, "
                       f"{matches} with the same name and type as a saved one. Nothing is written until you "
                       "press Import.")
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(ImportPlanModel.DECISION, DecisionDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        triggers = QAbstractItemView.EditTrigger
        self.table.setEditTriggers(triggers.EditKeyPressed | triggers.AnyKeyPressed | triggers.DoubleClicked
                                   | triggers.SelectedClicked)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; arrows move in it, F2 or typing edits
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(ImportPlanModel.OUTCOME, QHeaderView.ResizeMode.Stretch)
        self.table.resizeColumnsToContents()
        table_label = _bind("&Connections in the file (F2 changes a decision)", self.table, "Incoming connections")
        if plan:
            self.table.setCurrentIndex(self.model.index(0, ImportPlanModel.DECISION))

        self.all_choice = QComboBox()
        for decision, text in DECISION_TEXT.items():
            self.all_choice.addItem(text, decision.value)
        self.apply_all_button = QPushButton("Apply to a&ll")
        self.apply_all_button.setAccessibleName("Apply the choice to every match")
        self.apply_all_button.clicked.connect(self.apply_to_all)
        all_row = QHBoxLayout()
        all_row.addWidget(_bind("For every &match:", self.all_choice, "Decision for every match"))
        all_row.addWidget(self.all_choice)
        all_row.addWidget(self.apply_all_button)
        all_row.addStretch(1)
        for widget in (self.all_choice, self.apply_all_button):
            widget.setEnabled(matches > 0)

        self.error = _error_label("Import problem")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = self.buttons.addButton("&Import", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(table_label)
        layout.addWidget(self.table, 1)
        layout.addLayout(all_row)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.import_button.setDefault(True)  # once in the dialog (see ExportDialog)
        for first, second in ((self.table, self.all_choice), (self.all_choice, self.apply_all_button),
                              (self.apply_all_button, self.buttons)):
            self.setTabOrder(first, second)
        self.table.setFocus()

    def apply_to_all(self) -> None:
        self.table.setFocus()  # closes an open decision editor first (committing it), then overrides it
        self.model.apply_to_matches(Decision(self.all_choice.currentData()))

    def accept(self) -> None:
        if self.import_task is not None and not self.import_task.done():
            return
        self.import_task = spawn(self._import())

    async def _import(self) -> None:
        from connhub.core.records import InvalidValues, NameTaken, VaultError

        self.table.setFocus()
        for widget in (self.import_button, self.table, self.all_choice, self.apply_all_button):
            widget.setEnabled(False)
        try:
            self.report = await background(self.hub.transfer.apply_import, self.model.plan, dict(self.model.decisions))
        except (VaultError, InvalidValues, NameTaken) as exc:
            if shiboken6.isValid(self):
                self.error.setText(f"Not imported: {exc}")
                self.error.show()
            return
        finally:
            if shiboken6.isValid(self):
                for widget in (self.import_button, self.table):
                    widget.setEnabled(True)
                matches = any(item.existing is not None for item in self.model.plan)
                self.all_choice.setEnabled(matches)
                self.apply_all_button.setEnabled(matches)
        if shiboken6.isValid(self):
            super().accept()

    def summary(self) -> str:
        report = self.report or ImportReport()
        lines = [f"{len(report.created)} created, {len(report.overwritten)} overwritten, "
                 f"{len(report.skipped)} skipped."]
        decisions = self.model.decisions
        for row, item in enumerate(self.model.plan):
            note = self.hub.transfer.missing_note(item.type, still_missing(self.model.plan, row, decisions))
            if note:
                lines.append(f"“{self.model.saved_name(row)}” {note}.")
        return "\n".join(lines)


# --- the actions ----------------------------------------------------------------------------------------

def start_folder() -> str:
    """Where the file dialogs open: the folder used last, else the user's documents (not the directory the
    app happened to be started from)."""
    from PySide6.QtCore import QSettings, QStandardPaths

    last = QSettings().value("transfer/folder")
    if isinstance(last, str) and Path(last).is_dir():
        return last
    return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())


def remember_folder(path: str | None) -> str | None:
    from PySide6.QtCore import QSettings

    if path:
        QSettings().setValue("transfer/folder", str(Path(path).parent))
    return path or None


def _default_export_path(parent: QWidget, suggested: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Export connections", str(Path(start_folder()) / suggested),
                                          JSON_FILTER)
    return remember_folder(path)


def _default_import_path(parent: QWidget) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Import connections", start_folder(), JSON_FILTER)
    return remember_folder(path)


class TransferActions:
    """What the window's Export… and Import… actions do. `choose_export_path(parent, suggested)` and
    `choose_import_path(parent)` return a path or None (cancelled); tests replace them. The actions themselves
    are the window's (gui/shell/main_window.py): this module loads on their first use, not for the first paint."""

    def __init__(self, window):
        self.window = window
        self.choose_export_path: Callable[[QWidget, str], str | None] = _default_export_path
        self.choose_import_path: Callable[[QWidget], str | None] = _default_import_path

    def export_clicked(self) -> None:
        spawn(self.export_flow())

    def import_clicked(self) -> None:
        spawn(self.import_flow())

    async def _dialog(self, dialog: QDialog) -> int:
        """Open, wait, let go: the window's own way (MainWindow._dialog)."""
        async with self.window._dialog(dialog) as code:
            return code

    def _selected_records(self) -> list:
        view = self.window.list_view
        records = [index.data(Roles.RECORD) for index in view.selectionModel().selectedIndexes()]
        if not records and (current := self.window.selected()) is not None:
            records = [current]
        return [r for r in records if r is not None]

    async def export_flow(self) -> Path | None:
        """The export dialog, then a file; returns where it was written, or None."""
        window = self.window
        selected = self._selected_records()
        everything = await background(window.hub.instances.list)
        dialog = ExportDialog(len(selected), len(everything), window)
        if await self._dialog(dialog) != QDialog.DialogCode.Accepted:
            return None
        encrypted, records = dialog.encrypted, everything if dialog.all_selected else selected
        passphrase = dialog.passphrase.text() if encrypted else ""
        suggested = "connhub-bundle.json" if encrypted else "connhub-export.json"
        chosen = self.choose_export_path(window, suggested)
        if not chosen:
            return None
        path = Path(chosen)
        from connhub.core.records import VaultError

        def write() -> None:
            text = window.hub.transfer.export_bundle(records, passphrase) if encrypted else window.hub.transfer.export_plain(records)
            write_export(path, text)

        try:
            await background(write)
        except (VaultError, TransferError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            show_error(window, "Not exported", f"Cannot export to {path.name}: {reason}")
            return None
        what = "encrypted bundle, secrets included" if encrypted else "no secrets"
        window.statusBar().showMessage(f"Exported {len(records)} connection{'s' if len(records) != 1 else ''} to "
                                       f"{path.name} ({what})", 6000)
        return path

    async def import_flow(self) -> ImportReport | None:
        """A file, its passphrase if it is a bundle, the preview; returns what was written, or None."""
        window = self.window
        chosen = self.choose_import_path(window)
        if not chosen:
            return None
        path = Path(chosen)
        try:
            text = await background(_read_text, path)
        except (OSError, UnicodeDecodeError, TransferError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            show_error(window, "Cannot import", f"{path.name}: {reason}")
            return None
        if is_bundle(text):
            asking = PassphraseDialog(text, path.name, window)
            if await self._dialog(asking) != QDialog.DialogCode.Accepted:
                return None
            document = asking.document
        else:
            try:
                document = await background(read_import, text)
            except TransferError as exc:
                show_error(window, "Cannot import", f"{path.name}: {exc}")
                return None

        def plan_it():
            return window.hub.transfer.plan_import(document), {r.name for r in window.hub.instances.list()}

        try:
            plan, taken = await background(plan_it)
        except TransferError as exc:
            show_error(window, "Cannot import", f"{path.name}: {exc}")
            return None
        preview = ImportPreviewDialog(window.hub, plan, taken, path.name, window)
        code = await self._dialog(preview)
        report, summary = preview.report, preview.summary()
        if code != QDialog.DialogCode.Accepted or report is None:
            return None
        window.reload()
        box = QMessageBox(QMessageBox.Icon.Information, "Import finished", f"Imported from {path.name}:\n{summary}",
                          QMessageBox.StandardButton.Ok, window)
        box.setObjectName("importSummary")
        window.statusBar().showMessage(f"Imported from {path.name}: {summary.splitlines()[0]}", 6000)
        await self._dialog(box)
        return report


def _read_text(path: Path) -> str:
    from connhub.services.transfer import MAX_IMPORT_BYTES

    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise TransferError("the file is larger than 32 MB: not a connhub export")
    return path.read_text(encoding="utf-8-sig")
