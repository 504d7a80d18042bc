"""The main window: types on the left, saved connections in the middle, details on the right."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import shiboken6
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from connhub.gui.delegate import InstanceDelegate
from connhub.gui.icons import app_icon
from connhub.gui.instance_dialog import InstanceDialog
from connhub.gui.models import InstanceFilter, InstanceListModel, Roles, type_tree_model
from connhub.gui.settings_dialog import SettingsDialog
from connhub.gui.sparkline import LIMIT as SPARKLINE_RUNS
from connhub.gui.tasks import (
    background,
    dialog_result,
    load_integration,
    show_error,
    spawn,
)
from connhub.gui.test_all import TestAllController
from connhub.gui.type_picker import TypePicker
from connhub.services.hub import Hub
from connhub.storage.repository import InstanceRecord
from connhub.storage.vault import VaultError, VaultStatus

STYLE = """
QLabel#fieldError { color: #d93025; }
QLabel#testHeadline[outcome="ok"] { color: #15803d; font-weight: 600; }
QLabel#testHeadline[outcome="failed"] { color: #d93025; font-weight: 600; }
QLabel#detailStatus[outcome="ok"] { color: #15803d; font-weight: 600; }
QLabel#detailStatus[outcome="failed"] { color: #d93025; font-weight: 600; }
QLabel#keyringBanner { background: #fef3c7; color: #78350f; padding: 8px; border-bottom: 1px solid #f59e0b; }
"""


class MainWindow(QMainWindow):
    def __init__(self, hub: Hub):
        super().__init__()
        self.hub = hub
        self.vault_status: VaultStatus | None = None
        self._test_task: asyncio.Task | None = None
        self.active_dialog = None
        self.setWindowTitle("connhub")
        self.setWindowIcon(app_icon())
        self.setObjectName("mainWindow")
        self.setStyleSheet(STYLE)
        self.resize(1180, 720)

        self.model = InstanceListModel(hub.registry, self)
        self.proxy = InstanceFilter(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.sort(0)

        self.types_view = QTreeView()
        self.types_view.setHeaderHidden(True)
        self.types_view.setAccessibleName("Integration types")
        self.types_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._reload_types()

        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name, type, host or tag  (Ctrl+F)")
        self.search.setAccessibleName("Filter connections")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.set_text)
        self.list_view = QListView()
        self.list_view.setModel(self.proxy)
        self.list_view.setItemDelegate(InstanceDelegate(self.list_view))
        self.list_view.setUniformItemSizes(True)
        self.list_view.setAccessibleName("Connections")
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list_view.selectionModel().currentChanged.connect(self._current_changed)
        self.list_view.activated.connect(lambda _index: self.edit_selected())
        self.empty_label = QLabel("No connections yet.\nPress New (Ctrl+N) to add your first one.")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(self.list_view)
        self.list_stack.addWidget(self.empty_label)
        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.search)
        middle_layout.addWidget(self.list_stack, 1)

        from connhub.gui.detail_pane import DetailPane

        self.detail = DetailPane(hub.registry)
        self.detail.test_clicked.connect(self.test_selected)
        self.detail.edit_clicked.connect(self.edit_selected)
        self.detail.duplicate_clicked.connect(self.duplicate_selected)
        self.detail.delete_clicked.connect(self.delete_selected)
        self.detail.test_panel.cancel_requested.connect(self.cancel_test)

        self.splitter = QSplitter()
        self.splitter.addWidget(self.types_view)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.detail)
        self.splitter.setSizes([220, 520, 440])
        self.splitter.setChildrenCollapsible(False)

        self.banner = QLabel()
        self.banner.setObjectName("keyringBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.banner)
        central_layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)
        self.test_all = TestAllController(self)  # Test all / selected: progress, live rows, cancel (gui/test_all.py)
        self._build_actions()
        self.keyring_label = QLabel("Keyring: checking…")
        self.statusBar().addPermanentWidget(self.keyring_label)

        self.reload()
        self._restore_geometry()
        spawn(self.check_keyring())

    # --- set-up ---------------------------------------------------------------------------------------

    def _build_actions(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(toolbar)

        def action(text: str, shortcut: str | QKeySequence.StandardKey, slot, tip: str) -> QAction:
            act = QAction(text, self)
            act.setShortcut(QKeySequence(shortcut))
            act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.new_action = action("New…", "Ctrl+N", self.new_instance, "Add a connection")
        self.test_action = action("Test", "Ctrl+T", self.test_selected, "Test the selected connection")
        self.edit_action = action("Edit…", "Ctrl+E", self.edit_selected, "Edit the selected connection")
        self.duplicate_action = action("Duplicate", "Ctrl+D", self.duplicate_selected,
                                       "Duplicate, secrets included")
        self.delete_action = action("Delete…", QKeySequence.StandardKey.Delete, self.delete_selected,
                                    "Delete the selected connection")
        self.settings_action = action("Settings…", "Ctrl+,", self.open_settings, "Settings")
        self.find_action = action("Find", "Ctrl+F", self._focus_search, "Filter connections")
        for act in (self.new_action, self.test_action, self.test_all.all_action, self.edit_action,
                    self.duplicate_action, self.delete_action):
            toolbar.addAction(act)
        toolbar.addSeparator()
        toolbar.addAction(self.settings_action)

    def _reload_types(self) -> None:
        self.types_view.setModel(type_tree_model(self.hub.registry))
        self.types_view.expandAll()
        if self.types_view.selectionModel():
            self.types_view.selectionModel().currentChanged.connect(self._type_changed)

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _restore_geometry(self) -> None:
        settings = QSettings()
        if geometry := settings.value("main/geometry"):
            self.restoreGeometry(geometry)
        if state := settings.value("main/splitter"):
            self.splitter.restoreState(state)

    def closeEvent(self, event) -> None:
        settings = QSettings()
        settings.setValue("main/geometry", self.saveGeometry())
        settings.setValue("main/splitter", self.splitter.saveState())
        self.cancel_test()
        self.test_all.cancel()
        super().closeEvent(event)

    # --- data -----------------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the instances (no secrets, no network) and show them."""
        self.model.set_records(self.hub.instances())
        self._update_empty_state()
        self._current_changed()

    def _update_empty_state(self) -> None:
        self.list_stack.setCurrentWidget(self.list_view if self.model.rowCount() else self.empty_label)

    def selected(self) -> InstanceRecord | None:
        index = self.list_view.currentIndex()
        return index.data(Roles.RECORD) if index.isValid() else None

    def select(self, instance_id: str) -> None:
        row = self.model.row_of(instance_id)
        if row is None:
            return
        index = self.proxy.mapFromSource(self.model.index(row))
        if index.isValid():
            self.list_view.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.list_view.scrollTo(index)

    def _testing(self) -> bool:
        return self._test_task is not None and not self._test_task.done()

    def _update_actions(self) -> None:
        enabled = self.selected() is not None and not self._testing() and not self.test_all.running
        for act in (self.test_action, self.edit_action, self.duplicate_action, self.delete_action):
            act.setEnabled(enabled)
        self.test_all.update_actions()

    def _current_changed(self, *_args) -> None:
        record = self.selected()
        self.detail.show_record(record)
        if not self._testing():
            self.detail.test_panel.clear()  # an earlier result belongs to whichever connection it tested
        self._update_actions()
        if record is not None:
            spawn(self._load_history(record.id))

    async def _load_history(self, instance_id: str) -> None:
        runs = await background(self.hub.history, instance_id, SPARKLINE_RUNS)
        if (current := self.selected()) is not None and current.id == instance_id:
            self.detail.show_history(runs)

    def _type_changed(self, current, _previous=None) -> None:
        self.proxy.set_type(current.data(Roles.TYPE) if current.isValid() else None)

    def _put(self, record: InstanceRecord) -> None:
        self.model.upsert(record)
        self._update_empty_state()
        self.select(record.id)
        self.detail.show_record(record)

    # --- keyring --------------------------------------------------------------------------------------

    async def check_keyring(self) -> VaultStatus:
        """Ask which keyring is in use, off the GUI thread; a missing or insecure one gets a banner."""
        status = await background(self.hub.vault.status)
        self.vault_status = status
        # "keyring.backends.SecretService.Keyring" → "SecretService"; a named class → its own name.
        module, _, cls = status.backend.rpartition(".")
        short = module.rsplit(".", 1)[-1] if cls == "Keyring" and module else cls
        self.keyring_label.setText(f"Keyring: {short}" if status.usable else "Keyring: unavailable")
        self.banner.setText(f"⚠ Secrets cannot be saved: {status.problem}" if status.problem else "")
        self.banner.setVisible(bool(status.problem))
        return status

    # --- actions --------------------------------------------------------------------------------------

    def new_instance(self) -> None:
        spawn(self.create_flow())

    async def create_flow(self, type_name: str | None = None) -> InstanceRecord | None:
        if type_name is None:
            picker = TypePicker(self.hub.registry, self)
            async with self._dialog(picker) as code:
                if code != TypePicker.DialogCode.Accepted or not picker.chosen:
                    return None
                type_name = picker.chosen
        dialog = InstanceDialog(self.hub, self.hub.entry(type_name), parent=self)
        async with self._dialog(dialog) as code:
            saved = dialog.saved_record if code == InstanceDialog.DialogCode.Accepted else None
        if saved:
            self._put(saved)
            self.statusBar().showMessage(f"Saved {saved.name}", 4000)
        return saved

    @asynccontextmanager
    async def _dialog(self, dialog):
        """Open a dialog, yield its result code, then let it go (each New or Edit builds a whole new form)."""
        self.active_dialog = dialog
        try:
            yield await dialog_result(dialog)
        finally:
            if self.active_dialog is dialog:
                self.active_dialog = None
            if shiboken6.isValid(dialog):  # gone already if the window closed while it was open
                dialog.deleteLater()

    def edit_selected(self) -> None:
        if (record := self.selected()) is not None:
            spawn(self.edit_flow(record))

    async def edit_flow(self, record: InstanceRecord) -> InstanceRecord | None:
        if record.type not in self.hub.registry or not self.hub.entry(record.type).ok:
            show_error(self, "Cannot edit", f"The type {record.type!r} is not available: it may be disabled "
                       "or its plugin uninstalled.")
            return None
        dialog = InstanceDialog(self.hub, self.hub.entry(record.type), record, parent=self)
        async with self._dialog(dialog) as code:
            saved = dialog.saved_record if code == InstanceDialog.DialogCode.Accepted else None
        if saved:
            self._put(saved)
            self.statusBar().showMessage(f"Saved {saved.name}", 4000)
        return saved

    def duplicate_selected(self) -> None:
        if (record := self.selected()) is not None:
            spawn(self.duplicate(record))

    async def duplicate(self, record: InstanceRecord) -> InstanceRecord | None:
        try:
            copy = await background(self.hub.duplicate, record.id)
        except VaultError as exc:
            show_error(self, "Cannot duplicate", str(exc))
            return None
        self._put(copy)
        self.statusBar().showMessage(f"Duplicated as {copy.name}", 4000)
        return copy

    def delete_selected(self) -> None:
        if (record := self.selected()) is not None:
            spawn(self.delete(record))

    async def delete(self, record: InstanceRecord, confirmed: bool | None = None) -> bool:
        if confirmed is None:
            box = QMessageBox(QMessageBox.Icon.Question, "Delete connection",
                              f"Delete “{record.name}”?\n\nIts saved secrets are removed from the keyring. "
                              "This cannot be undone.",
                              QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
            box.setObjectName("confirmDelete")
            box.setDefaultButton(QMessageBox.StandardButton.Cancel)
            async with self._dialog(box) as code:
                confirmed = code == QMessageBox.StandardButton.Yes
        if not confirmed:
            return False
        try:
            await background(self.hub.delete, record.id)
        except VaultError as exc:
            show_error(self, "Not deleted", f"{exc}\n\nThe connection was kept.")
            return False
        self.model.remove(record.id)
        self._update_empty_state()
        self._current_changed()
        self.statusBar().showMessage(f"Deleted {record.name}", 4000)
        return True

    def test_selected(self) -> None:
        if (record := self.selected()) is not None and not self._testing() and not self.test_all.running:
            self._test_task = spawn(self.test(record))

    async def test(self, record: InstanceRecord):
        """Test a saved instance; its Status row then shows the outcome (with the hint when it failed)."""
        self._test_task = task = asyncio.current_task()
        panel = self.detail.test_panel

        def mine() -> bool:  # a cancelled test must not touch the UI of a test started after it
            return self._test_task is task

        self._set_testing(True)
        panel.start()
        try:
            if record.type in self.hub.registry:
                await load_integration(self.hub.entry(record.type))
            result = await self.hub.test_instance(record, on_stage=lambda stage: mine() and panel.set_stage(stage))
            updated = await background(self.hub.find, record.id)
        except asyncio.CancelledError:
            if mine():
                panel.show_cancelled()
            return None
        finally:
            if mine():
                self._test_task = None
                self._set_testing(False)
        self.model.upsert(updated)
        if (current := self.selected()) is not None and current.id == record.id:
            self.detail.show_record(updated)
            panel.clear()  # the Status row now says the same, hint included: don't say it twice
            spawn(self._load_history(record.id))
        self.statusBar().showMessage(f"{record.name}: {'working' if result.ok else 'failed'}", 4000)
        return result

    def _set_testing(self, testing: bool) -> None:
        self.detail.set_testing(testing)
        self._update_actions()

    def cancel_test(self) -> None:
        """Stop the running test at once; its task unwinds in the background and leaves the UI alone."""
        if self._testing():
            self._test_task.cancel()
            self._test_task = None
            self._set_testing(False)
            self.detail.test_panel.show_cancelled()

    def open_settings(self) -> None:
        spawn(self.settings_flow())

    async def settings_flow(self) -> None:
        """The dialog saves on OK itself (the database and the keyring off the GUI thread), so that a value it
        refuses keeps it open. App-level secrets are never read: the database says which ones are saved."""
        timeout, app_settings, concurrency = await background(
            lambda: (self.hub.default_timeout, self.hub.all_app_settings(), self.hub.concurrency))
        dialog = SettingsDialog(timeout, str(self.hub.data_dir), self.vault_status, self, hub=self.hub,
                                app_types=self.hub.app_types(), app_settings=app_settings, concurrency=concurrency)
        async with self._dialog(dialog) as code:
            pass
        if code == SettingsDialog.DialogCode.Accepted:
            self.statusBar().showMessage("Settings saved", 4000)
