"""The main window: types on the left, saved connections in the middle, details on the right."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QItemSelectionModel, QSettings, QSize, QSortFilterProxyModel, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from connhub.gui.delegate import ROW_HEIGHT, InstanceDelegate
from connhub.gui.icons import app_icon
from connhub.gui.models import SORTS, InstanceFilter, InstanceListModel, Roles, type_tree_model
from connhub.gui.tasks import (
    background,
    dialog_result,
    load_integration,
    show_error,
    spawn,
)
from connhub.gui.test_all import TestAllController
from connhub.gui.theme import styled
from connhub.storage.vault import VaultError

if TYPE_CHECKING:  # dialogs and the Hub are imported when first used: the first paint needs none of them
    import asyncio

    from PySide6.QtWidgets import QMenu

    from connhub.gui.detail_pane import DetailPane
    from connhub.gui.monitoring import MonitoringController
    from connhub.gui.transfer import TransferActions
    from connhub.services.hub import Hub
    from connhub.storage.records import InstanceRecord
    from connhub.storage.vault import VaultStatus

NEW_WORKSPACE = "\x00new"  # the workspace box's last item: "New workspace…"


class MainWindow(QMainWindow):
    def __init__(self, hub: Hub, start_after_paint: bool = True):
        super().__init__()
        self.hub = hub
        self.vault_status: VaultStatus | None = None
        if (workspace := QSettings().value("main/workspace")) and isinstance(workspace, str):
            hub.use_workspace(workspace)  # where the user was last time
        self._test_task: asyncio.Task | None = None
        self.active_dialog = None
        self.setWindowIcon(app_icon())
        self._update_title()
        self.setObjectName("mainWindow")
        self.resize(1180, 720)

        self.model = InstanceListModel(hub.registry, self)
        self.proxy = InstanceFilter(self)
        self.proxy.setSourceModel(self.model)  # the model keeps the rows sorted (see InstanceListModel)

        self.types_view = QTreeView()
        self.types_view.setHeaderHidden(True)
        self.types_view.setAccessibleName("Integration types")
        self.types_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.types_proxy = QSortFilterProxyModel(self)
        self.types_proxy.setRecursiveFilteringEnabled(True)  # a matching type keeps its group heading
        self.types_proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.types_view.setModel(self.types_proxy)
        self._reload_types()
        self.type_search = QLineEdit()
        self.type_search.setPlaceholderText("Search types")
        self.type_search.setAccessibleName("Search integration types")
        self.type_search.textChanged.connect(self._filter_types)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.type_search)
        left_layout.addWidget(self.types_view, 1)

        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name, type, host or tag  (Ctrl+F)")
        self.search.setAccessibleName("Filter connections")
        self.search.textChanged.connect(self.proxy.set_text)
        self.list_view = QListView()
        self.list_view.setModel(self.proxy)
        self.list_view.setItemDelegate(InstanceDelegate(self.list_view))
        self.list_view.setUniformItemSizes(True)
        # Rows as tall as the delegate's and as wide as the view, on a grid: Qt then lays them out without
        # asking the model (a Python call through the filter) for each row's size, 1,000 fewer calls before the
        # first paint (~2 ms), and no row is wider than the view (no horizontal scroll bar).
        self.list_view.setGridSize(QSize(1, ROW_HEIGHT))
        self.list_view.setAccessibleName("Connections")
        self.list_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)  # rename: F2 (an action)
        self.list_view.selectionModel().currentChanged.connect(self._current_changed)
        self.list_view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.list_view.activated.connect(lambda _index: self.edit_selected())
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(self._show_context_menu)
        self.model.rename_requested.connect(lambda instance_id, name: spawn(self.rename(instance_id, name)))
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

        # The detail pane (tabs, history, events) is built right after the first paint, or when first needed;
        # until then its "nothing selected" page stands in its place (see `detail`).
        self._detail: DetailPane | None = None
        self._transfer: TransferActions | None = None
        self._empty_detail = QLabel("Select a connection to see its details,\nor press Ctrl+N to add one.")
        self._empty_detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_detail.setObjectName("emptyDetail")
        self._empty_detail.setMinimumWidth(300)

        self.splitter = QSplitter()
        self.splitter.addWidget(left)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self._empty_detail)
        self.splitter.setSizes([220, 520, 440])
        self.splitter.setChildrenCollapsible(False)

        self.banner = styled(QLabel(), "keyringBanner")
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
        self.monitoring: MonitoringController | None = None  # with the detail pane, after the first paint
        self.reload()
        self._restore_geometry()
        if start_after_paint:
            from connhub.gui.startup import after_first_paint

            after_first_paint(self, self.start)  # the first paint waits for no keyring and no database

    def start(self) -> None:
        """What the first paint does not wait for; needs the asyncio loop running. The detail pane and its
        monitoring control; then the keyring's state, what a crash left behind, the workspaces: all off the GUI
        thread. gui/app.py calls it itself, once the loop runs; a window made with a loop running (tests, the
        screenshots) starts at its first paint."""
        from connhub.gui import monitoring

        for box in (self.type_search, self.search):  # shown once there is text; its icon loads in ~0.7 ms
            box.setClearButtonEnabled(True)
        if self.monitoring is None:
            self.monitoring = monitoring.install(self)  # builds the detail pane
            self._detail_after_list_in_tab_order()  # its monitoring control too
        self._keyring_check = spawn(self.check_keyring())
        spawn(self.reconcile_keyring())
        spawn(self.refresh_workspaces())

    @property
    def transfer(self) -> TransferActions:
        """What Export… and Import… do (gui/transfer.py: dialogs, encryption), imported on first use."""
        if self._transfer is None:
            from connhub.gui.transfer import TransferActions

            self._transfer = TransferActions(self)
        return self._transfer

    @property
    def detail(self) -> DetailPane:
        """The right-hand pane, built on first use (at the latest right after the first paint)."""
        if self._detail is None:
            from connhub.gui.detail_pane import DetailPane

            sizes = self.splitter.sizes()
            pane = DetailPane(self.hub.registry, self._empty_detail)  # takes the placeholder as its first page
            self.splitter.insertWidget(2, pane)
            self.splitter.setSizes(sizes)
            pane.test_clicked.connect(self.test_selected)
            pane.edit_clicked.connect(self.edit_selected)
            pane.duplicate_clicked.connect(self.duplicate_selected)
            pane.delete_clicked.connect(self.delete_selected)
            pane.test_panel.cancel_requested.connect(self.cancel_test)
            self._detail = pane
            self._detail_after_list_in_tab_order()
        return self._detail

    def _detail_after_list_in_tab_order(self) -> None:
        """Tab goes from the list to the detail pane, as it did when the pane was built with the window: a pane
        built later joins the end of the window's focus chain (after the toolbar)."""
        pane, widget, chain = self._detail, self.nextInFocusChain(), []
        while widget is not self:
            if pane.isAncestorOf(widget) and widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
                chain.append(widget)
            widget = widget.nextInFocusChain()
        for first, second in zip([self.list_view, *chain], chain):
            QWidget.setTabOrder(first, second)

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
        self.rename_action = action("Rename", "F2", self.rename_selected, "Rename the selected connection")
        self.duplicate_action = action("Duplicate", "Ctrl+D", self.duplicate_selected,
                                       "Duplicate, secrets included")
        self.delete_action = action("Delete…", QKeySequence.StandardKey.Delete, self.delete_selected,
                                    "Delete the selected connections")
        self.settings_action = action("Settings…", "Ctrl+,", self.open_settings, "Settings")
        self.find_action = action("Find", "Ctrl+F", self._focus_search, "Filter connections")
        self.copy_summary_action = action("Copy address", "Ctrl+Shift+C", self.copy_summary,
                                          "Copy the connection's address (never a secret)")
        for act in (self.new_action, self.test_action, self.test_all.all_action, self.edit_action,
                    self.duplicate_action, self.delete_action):
            toolbar.addAction(act)
        toolbar.addSeparator()
        toolbar.addAction(self.settings_action)
        # Export… and Import… (gui/transfer.py, loaded on first use), also in the File menu.
        self.import_action = action("&Import…", "Ctrl+Shift+I", lambda: self.transfer.import_clicked(),
                                    "Import connections from a file")
        self.export_action = action("E&xport…", "Ctrl+Shift+E", lambda: self.transfer.export_clicked(),
                                    "Export connections to a file")
        file_menu = self.menuBar().addMenu("&File")
        toolbar.addSeparator()
        for act in (self.import_action, self.export_action):
            file_menu.addAction(act)
            toolbar.addAction(act)
        toolbar.addSeparator()

        self.workspace_box = QComboBox()
        self.workspace_box.setAccessibleName("Workspace")
        self.workspace_box.setToolTip("Each workspace holds its own connections")
        self.workspace_box.setMinimumContentsLength(12)
        self.workspace_box.activated.connect(self._workspace_chosen)
        self._fill_workspaces([self.hub.workspace])
        workspace_label = QLabel(" &Workspace ")
        workspace_label.setBuddy(self.workspace_box)
        toolbar.addWidget(workspace_label)
        toolbar.addWidget(self.workspace_box)
        self.sort_box = QComboBox()
        self.sort_box.setAccessibleName("Sort connections by")
        for key, (title, _key) in SORTS.items():
            self.sort_box.addItem(title, key)
        self.sort_box.currentIndexChanged.connect(lambda _i: self.sort_by(self.sort_box.currentData()))
        sort_label = QLabel("  S&ort ")
        sort_label.setBuddy(self.sort_box)
        toolbar.addWidget(sort_label)
        toolbar.addWidget(self.sort_box)

    def sort_by(self, key: str) -> None:
        """Re-sort the list; the selected connection stays selected and in view."""
        current = self.selected()
        self.model.set_sort(key)
        if current is not None:
            self.select(current.id)

    # --- context menu ---------------------------------------------------------------------------------

    def _show_context_menu(self, pos) -> None:
        index = self.list_view.indexAt(pos)
        if index.isValid() and not self.list_view.selectionModel().isSelected(index):
            self.list_view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        menu = self.context_menu()
        menu.popup(self.list_view.viewport().mapToGlobal(pos))

    def context_menu(self) -> QMenu:
        """Everything the toolbar and shortcuts do for the selection, plus the environment."""
        from PySide6.QtWidgets import QMenu

        menu = QMenu(self)
        menu.setObjectName("instanceMenu")
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if not self.selected_records():
            menu.addAction(self.new_action)
            return menu
        for act in (self.test_action, self.test_all.selected_action, self.edit_action, self.rename_action,
                    self.duplicate_action, self.copy_summary_action):
            menu.addAction(act)
        environments = menu.addMenu("Environment")
        environments.setObjectName("environmentMenu")
        current = {r.environment for r in self.selected_records()}
        for key, title in (("", "None"), ("dev", "Development"), ("staging", "Staging"), ("prod", "Production")):
            act = environments.addAction(title)
            act.setCheckable(True)
            act.setChecked(current == {key or None})
            act.triggered.connect(lambda _checked=False, key=key: spawn(self.set_environment(key)))
        menu.addSeparator()
        menu.addAction(self.delete_action)
        return menu

    def _reload_types(self) -> None:
        self.types_proxy.setSourceModel(type_tree_model(self.hub.registry))
        self.types_view.expandAll()
        if self.types_view.selectionModel():
            self.types_view.selectionModel().currentChanged.connect(self._type_changed)

    def _filter_types(self, text: str) -> None:
        self.types_proxy.setFilterFixedString(text.strip())
        self.types_view.expandAll()

    def _update_title(self) -> None:
        workspace = self.hub.workspace
        self.setWindowTitle("connhub" if workspace == "default" else f"connhub — {workspace}")

    # --- workspaces -----------------------------------------------------------------------------------

    def _fill_workspaces(self, names: list[str]) -> None:
        self.workspace_box.clear()
        for name in names:
            self.workspace_box.addItem(name, name)
        self.workspace_box.insertSeparator(self.workspace_box.count())
        self.workspace_box.addItem("New workspace…", NEW_WORKSPACE)
        self.workspace_box.setCurrentIndex(self.workspace_box.findData(self.hub.workspace))

    async def refresh_workspaces(self) -> None:
        names = await background(self.hub.workspaces)
        if shiboken6.isValid(self):  # the window may be gone by the time the database answers
            self._fill_workspaces(names)

    def _workspace_chosen(self, index: int) -> None:
        name = self.workspace_box.itemData(index)
        if name == NEW_WORKSPACE:
            spawn(self.new_workspace())
        elif name and name != self.hub.workspace:
            spawn(self.switch_workspace(name))

    async def new_workspace(self, name: str | None = None) -> str | None:
        from PySide6.QtWidgets import QInputDialog

        from connhub.services.hub import InvalidValues

        if name is None:
            dialog = QInputDialog(self)
            dialog.setObjectName("newWorkspace")
            dialog.setWindowTitle("New workspace")
            dialog.setLabelText("Name of the new workspace (it starts empty; names of connections are unique "
                                "within a workspace):")
            async with self._dialog(dialog) as code:
                name = dialog.textValue() if code == QInputDialog.DialogCode.Accepted else None
        if not name:
            self.workspace_box.setCurrentIndex(self.workspace_box.findData(self.hub.workspace))
            return None
        try:
            name = await background(self.hub.add_workspace, name)
        except InvalidValues as exc:
            show_error(self, "Workspace not created", exc.errors.get("workspace", str(exc)))
            self.workspace_box.setCurrentIndex(self.workspace_box.findData(self.hub.workspace))
            return None
        await self.switch_workspace(name)
        return name

    async def switch_workspace(self, name: str) -> None:
        """Show another workspace's connections; new ones are created there. Remembered for the next start."""
        self.cancel_test()
        self.hub.use_workspace(name)
        QSettings().setValue("main/workspace", name)
        records = await background(self.hub.instances)
        self.model.set_records(records)
        self._update_empty_state()
        self._current_changed()
        self._update_title()
        await self.refresh_workspaces()

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _restore_geometry(self) -> None:
        settings = QSettings()
        if geometry := settings.value("main/geometry"):
            self.restoreGeometry(geometry)
        if state := settings.value("main/splitter"):
            self.splitter.restoreState(state)

    def changeEvent(self, event) -> None:  # noqa: N802
        """A theme switch: icons made for the other background (dark logos on dark) are drawn again."""
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "types_proxy"):
            self._reload_types()
            self.list_view.viewport().update()
        super().changeEvent(event)

    def closeEvent(self, event) -> None:
        if self.monitoring is not None:
            if self.monitoring.hide_instead_of_close():  # keep running (and monitoring) in the tray
                event.ignore()
                self.hide()
                return
            self.monitoring.stop()
            self.monitoring.tray.hide()
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

    def selected_records(self) -> list[InstanceRecord]:
        """The selected rows in list order; the current row alone when nothing else is selected."""
        rows = sorted(self.list_view.selectionModel().selectedRows(), key=lambda i: i.row())
        records = [index.data(Roles.RECORD) for index in rows]
        return records or ([self.selected()] if self.selected() is not None else [])

    def _update_actions(self) -> None:
        busy = self._testing() or self.test_all.running
        one = self.selected() is not None and not busy
        for act in (self.test_action, self.edit_action, self.rename_action, self.duplicate_action,
                    self.copy_summary_action):
            act.setEnabled(one)
        self.delete_action.setEnabled(bool(self.selected_records()) and not busy)
        self.test_all.update_actions()

    def _current_changed(self, *_args) -> None:
        record = self.selected()
        if record is not None or self._detail is not None:  # nothing selected: the placeholder says so already
            self.detail.show_record(record)
            if not self._testing():
                self.detail.test_panel.clear()  # an earlier result belongs to whichever connection it tested
        self._update_actions()
        if record is not None:
            spawn(self._load_history(record.id))

    async def _load_history(self, instance_id: str) -> None:
        from connhub.gui.sparkline import LIMIT  # statistics, fractions, decimal: not for the first paint

        runs = await background(self.hub.history, instance_id, LIMIT)
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

    async def reconcile_keyring(self):
        """Repair what a killed process left between the database and the keyring (services/reconcile.py), off
        the GUI thread; secrets the keyring lost, or a locked keyring, are said in the banner."""
        report = await background(self.hub.reconcile)
        await self._keyring_check  # its banner first: this one only adds to it
        if report.missing:
            self.reload()
        text = report.user_message() or (f"⚠ {report.keyring_problem}" if report.keyring_problem else "")
        if text and not self.banner.isVisible():
            self.banner.setText(text if text.startswith("⚠") else f"⚠ {text}")
            self.banner.show()
        return report

    # --- actions --------------------------------------------------------------------------------------

    def new_instance(self) -> None:
        spawn(self.create_flow())

    async def create_flow(self, type_name: str | None = None) -> InstanceRecord | None:
        from connhub.gui.instance_dialog import InstanceDialog
        from connhub.gui.type_picker import TypePicker

        if type_name is None:
            picker = TypePicker(self.hub.registry, self)
            async with self._dialog(picker) as code:
                if code != TypePicker.DialogCode.Accepted or not picker.chosen:
                    return None
                type_name = picker.chosen
        dialog = InstanceDialog(self.hub, self.hub.entry(type_name), parent=self)
        async with self._dialog(dialog) as code:
            saved = dialog.saved_record if code == InstanceDialog.DialogCode.Accepted else None
            existing = dialog.open_existing
        if saved:
            self._put(saved)
            self.statusBar().showMessage(f"Saved {saved.name}", 4000)
        elif existing is not None:  # the duplicate warning's "Open …": show the one already saved
            self.select(existing.id)
            return await self.edit_flow(existing)
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
        from connhub.gui.instance_dialog import InstanceDialog

        if record.type not in self.hub.registry or not self.hub.entry(record.type).ok:
            show_error(self, "Cannot edit", f"The type {record.type!r} is not available: it may be disabled "
                       "or its plugin uninstalled.")
            return None
        dialog = InstanceDialog(self.hub, self.hub.entry(record.type), record, parent=self)
        async with self._dialog(dialog) as code:
            saved = dialog.saved_record if code == InstanceDialog.DialogCode.Accepted else None
            existing = dialog.open_existing
        if existing is not None:
            self.select(existing.id)
            return await self.edit_flow(existing)
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

    def rename_selected(self) -> None:
        index = self.list_view.currentIndex()
        if index.isValid() and not self._testing():
            self.list_view.edit(index)

    async def rename(self, instance_id: str, name: str) -> InstanceRecord | None:
        from connhub.services.hub import InvalidValues
        from connhub.storage.repository import NameTaken

        try:
            renamed = await background(self.hub.rename, instance_id, name)
        except (NameTaken, InvalidValues) as exc:
            show_error(self, "Not renamed", exc.errors.get("name", str(exc)) if isinstance(exc, InvalidValues)
                       else str(exc))
            return None
        self._put(renamed)
        self.statusBar().showMessage(f"Renamed to {renamed.name}", 4000)
        return renamed

    def copy_summary(self) -> None:
        if (record := self.selected()) is not None:
            QApplication.clipboard().setText(record.summary)
            self.statusBar().showMessage(f"Copied {record.summary}", 4000)

    async def set_environment(self, environment: str) -> None:
        for record in self.selected_records():
            self.model.upsert(await background(self.hub.set_environment, record.id, environment))
        self._current_changed()

    def delete_selected(self) -> None:
        if records := self.selected_records():
            spawn(self.delete(records[0]) if len(records) == 1 else self.delete_many(records))

    async def delete(self, record: InstanceRecord, confirmed: bool | None = None) -> bool:
        return await self.delete_many([record], confirmed)

    async def delete_many(self, records: list[InstanceRecord], confirmed: bool | None = None) -> bool:
        """Confirm, then delete each (keyring entries first). A production connection must be named to go."""
        if confirmed is None:
            confirmed = await self._confirm_delete(records)
        if not confirmed:
            return False
        deleted = []
        for record in records:
            try:
                await background(self.hub.delete, record.id)
            except VaultError as exc:
                show_error(self, "Not deleted", f"{record.name}: {exc}\n\nThe connection was kept.")
                break
            self.model.remove(record.id)
            deleted.append(record.name)
        self._update_empty_state()
        self._current_changed()
        if deleted:
            self.statusBar().showMessage(f"Deleted {', '.join(deleted)}", 4000)
        return len(deleted) == len(records)

    async def _confirm_delete(self, records: list[InstanceRecord]) -> bool:
        from PySide6.QtWidgets import QInputDialog, QMessageBox  # set up on first use, not for the first paint

        prod = [r for r in records if r.environment == "prod"]
        if len(records) == 1:
            text = (f"Delete “{records[0].name}”?\n\nIts saved secrets are removed from the keyring. "
                    "This cannot be undone.")
        else:
            names = "\n".join(f"  • {r.name}" + ("  (production)" if r.environment == "prod" else "")
                              for r in records[:12])
            more = f"\n  … and {len(records) - 12} more" if len(records) > 12 else ""
            text = (f"Delete these {len(records)} connections?\n\n{names}{more}\n\nTheir saved secrets are "
                    "removed from the keyring. This cannot be undone.")
        if prod:
            word = prod[0].name if len(prod) == 1 else "delete production"
            dialog = QInputDialog(self)
            dialog.setObjectName("confirmProdDelete")
            dialog.setWindowTitle("Delete production connection" + ("s" if len(prod) > 1 else ""))
            dialog.setLabelText(f"{text}\n\n⚠ Production. Type “{word}” to confirm:")
            dialog.setOkButtonText("Delete")
            async with self._dialog(dialog) as code:
                return code == QInputDialog.DialogCode.Accepted and dialog.textValue().strip() == word
        box = QMessageBox(QMessageBox.Icon.Question, "Delete connection" if len(records) == 1 else
                          "Delete connections", text,
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmDelete")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        async with self._dialog(box) as code:
            return code == QMessageBox.StandardButton.Yes

    def test_selected(self) -> None:
        if (record := self.selected()) is not None and not self._testing() and not self.test_all.running:
            self._test_task = spawn(self.test(record))

    async def test(self, record: InstanceRecord):
        """Test a saved instance; its Status row then shows the outcome (with the hint when it failed)."""
        import asyncio

        from connhub.storage.repository import InstanceNotFound

        self._test_task = task = asyncio.current_task()
        panel = self.detail.test_panel

        def mine() -> bool:  # a cancelled test must not touch the UI of a test started after it
            return self._test_task is task

        if needed := self.hub.needs_secrets(record):  # "ask every time": once per session, before a test
            if not await self.ask_secrets(record, needed):
                if mine():
                    self._test_task = None
                return None
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
        except InstanceNotFound:  # removed by another window or `connhub remove` meanwhile
            self.model.remove(record.id)
            self._update_empty_state()
            self._current_changed()
            self.statusBar().showMessage(f"{record.name} was deleted elsewhere", 6000)
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

    async def ask_secrets(self, record: InstanceRecord, keys: list[str]) -> bool:
        """Prompt for an "ask every time" instance's secrets; they stay in memory until connhub quits."""
        from connhub.gui.secret_prompt import SecretPrompt

        if record.type not in self.hub.registry:
            return False
        prompt = SecretPrompt(record, [s for s in self.hub.entry(record.type).specs if s.key in keys], self)
        async with self._dialog(prompt) as code:
            values = prompt.values() if code == SecretPrompt.DialogCode.Accepted else None
        if values is None:
            return False
        self.hub.remember_secrets(record.id, values)
        return True

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
        from connhub.gui.settings_dialog import SettingsDialog

        timeout, app_settings, concurrency = await background(
            lambda: (self.hub.default_timeout, self.hub.all_app_settings(), self.hub.concurrency))
        dialog = SettingsDialog(timeout, str(self.hub.data_dir), self.vault_status, self, hub=self.hub,
                                app_types=self.hub.app_types(), app_settings=app_settings, concurrency=concurrency)
        async with self._dialog(dialog) as code:
            pass
        if code == SettingsDialog.DialogCode.Accepted:
            self.statusBar().showMessage("Settings saved", 4000)
