"""The window's toolbar, File menu, shortcuts and the list's context menu: which action does what."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QToolBar

from connhub.gui.instances.models import SORTS
from connhub.gui.ops import HubOp, spawn

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from connhub.gui.shell.main_window import MainWindow


def build_actions(w: MainWindow, workspace: str) -> None:
    toolbar = QToolBar("Main")
    toolbar.setObjectName("mainToolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    w.addToolBar(toolbar)

    def action(text: str, shortcut: str | QKeySequence.StandardKey, slot, tip: str) -> QAction:
        act = QAction(text, w)
        act.setShortcut(QKeySequence(shortcut))
        act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
        act.triggered.connect(slot)
        w.addAction(act)
        return act

    a = w.instance_actions
    w.new_action = action("New…", "Ctrl+N", a.new_instance, "Add a connection")
    w.test_action = action("Test", "Ctrl+T", w.single_test.start_selected, "Test the selected connection")
    w.edit_action = action("Edit…", "Ctrl+E", a.edit_selected, "Edit the selected connection")
    w.rename_action = action("Rename", "F2", a.rename_selected, "Rename the selected connection")
    w.duplicate_action = action("Duplicate", "Ctrl+D", a.duplicate_selected, "Duplicate, secrets included")
    w.delete_action = action("Delete…", QKeySequence.StandardKey.Delete, a.delete_selected,
                             "Delete the selected connections")
    w.settings_action = action("Settings…", "Ctrl+,", a.open_settings, "Settings")
    w.find_action = action("Find", "Ctrl+F", lambda: (w.search.setFocus(), w.search.selectAll()),
                           "Filter connections")
    w.copy_summary_action = action("Copy address", "Ctrl+Shift+C", a.copy_summary,
                                   "Copy the connection's address (never a secret)")
    for act in (w.new_action, w.test_action, w.test_all.all_action, w.edit_action,
                w.duplicate_action, w.delete_action):
        toolbar.addAction(act)
    toolbar.addSeparator()
    toolbar.addAction(w.settings_action)
    # Export… and Import… (gui/transfer/actions.py, loaded on first use), also in the File menu.
    w.import_action = action("&Import…", "Ctrl+Shift+I", lambda: w.transfer.import_clicked(),
                             "Import connections from a file")
    w.export_action = action("E&xport…", "Ctrl+Shift+E", lambda: w.transfer.export_clicked(),
                             "Export connections to a file")
    file_menu = w.menuBar().addMenu("&File")
    toolbar.addSeparator()
    for act in (w.import_action, w.export_action):
        file_menu.addAction(act)
        toolbar.addAction(act)
    file_menu.addSeparator()  # Workflows… (gui/workflows/window.py, loaded on first use)
    w.workflows_action = action("&Workflows…", "Ctrl+Shift+W", lambda: open_workflows(w),
                                "Saved workflows: edit, run, their runs")
    file_menu.addAction(w.workflows_action)
    toolbar.addSeparator()
    file_menu.addSeparator()
    w.quit_action = action("&Quit", _standard(QKeySequence.StandardKey.Quit, "Ctrl+Q"), lambda: quit_app(w),
                           "Quit connhub, monitoring included")
    file_menu.addAction(w.quit_action)
    view_menu = w.menuBar().addMenu("&View")
    w.reload_action = action("&Reload", "F5", lambda: spawn(reload_list(w)),
                             "Show changes made elsewhere (the CLI, another window)")
    view_menu.addAction(w.reload_action)
    help_menu = w.menuBar().addMenu("&Help")
    w.about_action = help_menu.addAction("&About connhub", lambda: show_about(w))
    _count_rows(w)

    w.workspace_box = QComboBox()
    w.workspace_box.setAccessibleName("Workspace")
    w.workspace_box.setToolTip("Each workspace holds its own connections")
    w.workspace_box.setMinimumContentsLength(12)
    w.workspace_box.activated.connect(w.workspaces.chosen)
    w.workspaces.fill([workspace], workspace)
    workspace_label = QLabel(" &Workspace ")
    workspace_label.setBuddy(w.workspace_box)
    toolbar.addWidget(workspace_label)
    toolbar.addWidget(w.workspace_box)
    w.sort_box = QComboBox()
    w.sort_box.setAccessibleName("Sort connections by")
    for key, (title, _key) in SORTS.items():
        w.sort_box.addItem(title, key)
    w.sort_box.currentIndexChanged.connect(lambda _i: w.sort_by(w.sort_box.currentData()))
    if (saved := QSettings().value("main/sort")) in SORTS:  # the order chosen last time
        w.sort_box.setCurrentIndex(w.sort_box.findData(saved))
    w.sort_box.currentIndexChanged.connect(lambda _i: QSettings().setValue("main/sort", w.sort_box.currentData()))
    sort_label = QLabel("  S&ort ")
    sort_label.setBuddy(w.sort_box)
    toolbar.addWidget(sort_label)
    toolbar.addWidget(w.sort_box)


def _standard(key: QKeySequence.StandardKey, fallback: str) -> QKeySequence:
    """The platform's shortcut for a standard action; some platform themes (offscreen, minimal) have none."""
    bindings = QKeySequence.keyBindings(key)
    return bindings[0] if bindings else QKeySequence(fallback)


def quit_app(w: MainWindow) -> None:
    """Quit means quit: not "hide in the tray", which closing the window may do."""
    if w.monitoring is not None:
        w.monitoring.quitting = True
    w.close()
    QApplication.quit()


async def reload_list(w: MainWindow) -> None:
    """Read the list again (off the GUI thread): what the CLI or another window changed shows up."""
    op = HubOp(w, "Not reloaded", w.hub.instances.list)  # a team catalog's server gone: said, list kept
    records = await op
    if op.failed:
        return
    current = w.selected()
    w._show_records(records)
    if current is not None:
        w.select(current.id)
    w.statusBar().showMessage(f"Reloaded: {len(records)} connection{'s' * (len(records) != 1)}", 4000)


def show_about(w: MainWindow) -> None:
    from connhub.gui.shell.about import show_about as show

    w.about_dialog = show(w)


def _count_rows(w: MainWindow) -> None:
    """"12 of 340" beside the keyring in the status bar, as the filter or the rows change; Test all is off
    while there is nothing to test."""
    w.count_label = QLabel()
    w.count_label.setAccessibleName("Connections shown")
    w.statusBar().addPermanentWidget(w.count_label)

    def update(*_args) -> None:
        shown, total = w.proxy.rowCount(), w.model.rowCount()
        noun = "connection" if total == 1 else "connections"
        w.count_label.setText(f"{total} {noun}" if shown == total else f"{shown} of {total} {noun}")
        w.test_all.update_actions()

    for model in (w.proxy, w.model):
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.layoutChanged):
            signal.connect(update)
    update()


def open_workflows(w: MainWindow):
    """The Workflows window (one per main window), built on first use."""
    from connhub.gui.workflows.window import show_workflows

    return show_workflows(w)


def show_context_menu(w: MainWindow, pos) -> None:
    index = w.list_view.indexAt(pos)
    if index.isValid() and not w.list_view.selectionModel().isSelected(index):
        w.list_view.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    context_menu(w).popup(w.list_view.viewport().mapToGlobal(pos))


def context_menu(w: MainWindow) -> QMenu:
    """Everything the toolbar and shortcuts do for the selection, plus the environment."""
    from PySide6.QtWidgets import QMenu

    menu = QMenu(w)
    menu.setObjectName("instanceMenu")
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if not w.selected_records():
        menu.addAction(w.new_action)
        return menu
    for act in (w.test_action, w.test_all.selected_action, w.edit_action, w.rename_action,
                w.duplicate_action, w.copy_summary_action):
        menu.addAction(act)
    environments = menu.addMenu("Environment")
    environments.setObjectName("environmentMenu")
    current = {r.environment for r in w.selected_records()}
    for key, title in (("", "None"), ("dev", "Development"), ("staging", "Staging"), ("prod", "Production")):
        act = environments.addAction(title)
        act.setCheckable(True)
        act.setChecked(current == {key or None})
        act.triggered.connect(lambda _checked=False, key=key: spawn(w.set_environment(key)))
    menu.addSeparator()
    menu.addAction(w.delete_action)
    return menu
