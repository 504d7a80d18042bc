"""The main window: types on the left, saved connections in the middle, details on the right.

Wiring only: what the actions do lives in the rooms (gui/instances/list_actions.py, gui/probing/single_test.py,
gui/shell/menus.py, gui/shell/workspaces.py, gui/transfer/)."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from connhub.gui.icons import app_icon, forget_type_icons
from connhub.gui.instances import list_pane
from connhub.gui.instances.filter import InstanceFilter
from connhub.gui.instances.list_actions import InstanceActions
from connhub.gui.instances.models import InstanceListModel, Roles
from connhub.gui.ops import background, dialog_result, spawn
from connhub.gui.probing.probe_all import ProbeAllController
from connhub.gui.probing.single_test import SingleTest
from connhub.gui.shell import live_refresh, menus, workspaces
from connhub.gui.theme import styled
from connhub.services.first_paint import FirstPaint

if TYPE_CHECKING:  # dialogs and the Hub are imported when first used: the first paint needs none of them
    from connhub.core.records import InstanceRecord, VaultStatus
    from connhub.gui.instances.detail_pane import DetailPane
    from connhub.gui.probing.monitoring import MonitoringController
    from connhub.gui.transfer.actions import TransferActions
    from connhub.services.hub import Hub


class MainWindow(QMainWindow):
    def __init__(self, hub: Hub | FirstPaint, start_after_paint: bool = True):
        """From a Hub, or (the app's start, gui/shell/app.py) from a `FirstPaint`: then the window paints from
        it alone, and holds the real Hub once `startup.finish` hands it over (`take_hub`)."""
        super().__init__()
        first = hub if isinstance(hub, FirstPaint) else FirstPaint.of(hub)
        self._first = first
        self._hub: Hub | None = None if first is hub else hub
        self._started = False
        self.vault_status: VaultStatus | None = None
        if (workspace := QSettings().value("main/workspace")) and isinstance(workspace, str):
            first.use_workspace(workspace)  # where the user was last time
        self.active_dialog = None
        self.single_test = SingleTest(self)  # Test (gui/probing/single_test.py)
        self.instance_actions = a = InstanceActions(self)  # New, Edit, Rename… (gui/instances/list_actions.py)
        self.workspaces = workspaces.Workspaces(self)  # the workspace box (gui/shell/workspaces.py)
        self.create_flow, self.edit_flow, self.duplicate, self.rename = (a.create_flow, a.edit_flow, a.duplicate,
                                                                         a.rename)
        self.delete, self.delete_many, self.set_environment, self.settings_flow = (
            a.delete, a.delete_many, a.set_environment, a.settings_flow)
        self.test, self.ask_secrets, self.cancel_test = (self.single_test.test, self.single_test.ask_secrets,
                                                         self.single_test.cancel)
        self.new_workspace, self.switch_workspace = self.workspaces.new, self.workspaces.switch
        self.setWindowIcon(app_icon())
        self.update_title(first.workspace)
        self.setObjectName("mainWindow")
        self.resize(1180, 720)

        self.model = InstanceListModel(first.types, self)  # its catalog draws the sidebar and the row icons
        self.proxy = InstanceFilter(self)
        self.proxy.setSourceModel(self.model)  # the model keeps the rows sorted (see InstanceListModel)

        left, middle = list_pane.build_type_sidebar(self), list_pane.build_list(self)
        self.list_view.selectionModel().currentChanged.connect(self._current_changed)
        self.list_view.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.list_view.activated.connect(lambda _index: self.instance_actions.edit_selected())
        self.list_view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list_view.customContextMenuRequested.connect(lambda pos: menus.show_context_menu(self, pos))
        self.model.rename_requested.connect(lambda instance_id, name: spawn(self.rename(instance_id, name)))

        # The detail pane (tabs, history, events) is built right after the first paint, or when first needed;
        # until then its "nothing selected" page stands in its place (see `detail`).
        self._detail: DetailPane | None = None
        self._transfer: TransferActions | None = None
        self._empty_detail = list_pane.empty_detail()

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
        self.test_all = ProbeAllController(self)  # Test all / selected: progress, live rows, cancel (gui/probing/probe_all.py)
        menus.build_actions(self, first.workspace)
        self.keyring_label = QLabel("Keyring: checking…")
        self.statusBar().addPermanentWidget(self.keyring_label)
        self.monitoring: MonitoringController | None = None  # with the detail pane, after the first paint
        self._show_records(first.instances())
        workspaces.restore_geometry(self)
        if start_after_paint:
            from connhub.gui.shell.startup import after_first_paint

            after_first_paint(self, self.start)  # the first paint waits for no keyring and no database

    @property
    def hub(self) -> Hub:
        """The real Hub. Until `startup.finish` hands it over (right after the first paint), asking for it
        waits for it: only a click in the first moments does."""
        if self._hub is None:
            self._hub = self._first.load_hub()
        return self._hub

    def take_hub(self, hub: Hub) -> None:
        """The real Hub, built after the first paint. A first start drew the sidebar from the manifests as
        they are: if the validated registry says otherwise (a broken manifest, plugins), it is drawn again."""
        self._hub = hub
        painted, self.model.catalog = self.model.catalog, hub.registry
        if painted.summaries() != hub.registry.summaries():
            forget_type_icons()
            list_pane.reload_types(self)
            self.list_view.viewport().update()
        if self._started:
            self._start_with_hub()

    def start(self) -> None:
        """What the first paint does not wait for; needs the asyncio loop running. At once, the search boxes'
        clear buttons and the keyring's state; once the real Hub is there, the detail pane and its monitoring
        control, what a crash left behind, the workspaces: all off the GUI thread. gui/shell/app.py calls it
        itself, once the loop runs; a window made with a loop running (tests, the screenshots) starts at its
        first paint."""
        for box in (self.type_search, self.search):  # shown once there is text (an icon to load)
            box.setClearButtonEnabled(True)
        self._keyring_check = spawn(self.check_keyring())
        self._started = True
        if self._hub is not None:
            self._start_with_hub()

    def _start_with_hub(self) -> None:
        from connhub.gui.probing import monitoring

        if self.monitoring is None:
            self.monitoring = monitoring.install(self)  # builds the detail pane
            list_pane.detail_after_list_in_tab_order(self)  # its monitoring control too
        spawn(workspaces.reconcile_keyring(self))
        spawn(self.workspaces.refresh())
        self.live_refresh = live_refresh.install(self)  # the list follows the catalog as others change it

    @property
    def transfer(self) -> TransferActions:
        """What Export… and Import… do (gui/transfer/actions.py: dialogs, encryption), imported on first use."""
        if self._transfer is None:
            from connhub.gui.transfer.actions import TransferActions

            self._transfer = TransferActions(self)
        return self._transfer

    @property
    def detail(self) -> DetailPane:
        """The right-hand pane, built on first use (at the latest right after the first paint)."""
        if self._detail is None:
            self._detail = list_pane.build_detail(self)
        return self._detail

    @property
    def _test_task(self):
        return self.single_test.task

    def _testing(self) -> bool:
        return self.single_test.running()

    def check_keyring(self):
        return workspaces.check_keyring(self)

    def context_menu(self):
        return menus.context_menu(self)

    def sort_by(self, key: str) -> None:
        """Re-sort the list; the selected connection stays selected and in view."""
        current = self.selected()
        self.model.set_sort(key)
        if current is not None:
            self.select(current.id)

    def update_title(self, workspace: str) -> None:
        self.setWindowTitle("connhub" if workspace == "default" else f"connhub — {workspace}")

    def changeEvent(self, event) -> None:  # noqa: N802
        """A theme switch: icons made for the other background (dark logos on dark) are drawn again."""
        from PySide6.QtCore import QEvent

        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "types_proxy"):
            list_pane.reload_types(self)
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
        workspaces.save_geometry(self)
        self.cancel_test()
        self.test_all.cancel()
        super().closeEvent(event)

    # --- data -----------------------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the instances (no secrets, no network) and show them."""
        self._show_records(self.hub.instances.list())

    def _show_records(self, records: list[InstanceRecord]) -> None:
        self.model.set_records(records)
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
        from connhub.gui.instances.sparkline import LIMIT  # statistics, fractions, decimal: not for the first paint

        runs = await background(self.hub.prober.history, instance_id, LIMIT)
        if (current := self.selected()) is not None and current.id == instance_id:
            self.detail.show_history(runs)

    def _put(self, record: InstanceRecord) -> None:
        self.model.upsert(record)
        self._update_empty_state()
        self.select(record.id)
        self.detail.show_record(record)

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

