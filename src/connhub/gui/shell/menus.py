"""The window's toolbar, File menu, shortcuts and the list's context menu: which action does what."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QItemSelectionModel, QObject, QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QToolBar, QWidget

from connhub.gui.icons import action_icon
from connhub.gui.instances.models import SORTS
from connhub.gui.ops import HubOp, spawn

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from connhub.gui.shell.main_window import MainWindow


def build_actions(w: MainWindow, workspace: str) -> None:
    toolbar = QToolBar("Main")
    toolbar.setObjectName("mainToolbar")
    toolbar.setMovable(False)
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    w.addToolBar(toolbar)

    def action(text: str, shortcut: str | QKeySequence.StandardKey, slot, tip: str, icon: str = "") -> QAction:
        act = QAction(action_icon(icon), text, w) if icon else QAction(text, w)
        act.setShortcut(QKeySequence(shortcut))
        act.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
        act.triggered.connect(slot)
        w.addAction(act)
        return act

    a = w.instance_actions
    w.new_action = action("New…", "Ctrl+N", a.new_instance, "Add a connection", "new")
    w.test_action = action("Test", "Ctrl+T", w.single_test.start_selected, "Test the selected connection", "test")
    w.edit_action = action("Edit…", "Ctrl+E", a.edit_selected, "Edit the selected connection", "edit")
    w.rename_action = action("Rename", "F2", a.rename_selected, "Rename the selected connection")
    w.duplicate_action = action("Duplicate", "Ctrl+D", a.duplicate_selected, "Duplicate, secrets included",
                                "duplicate")
    w.delete_action = action("Delete…", QKeySequence.StandardKey.Delete, a.delete_selected,
                             "Delete the selected connections", "delete")
    w.settings_action = action("Settings…", "Ctrl+,", a.open_settings, "Settings", "settings")
    w.find_action = action("Find", "Ctrl+F", lambda: (w.search.setFocus(), w.search.selectAll()),
                           "Filter connections")
    w.copy_summary_action = action("Copy address", "Ctrl+Shift+C", a.copy_summary,
                                   "Copy the connection's address (never a secret)")
    w.favourite_action = action("Add to favourites", "Ctrl+B", lambda: toggle_favourites(w),
                                "Pin the selected connections at the top of the list, or unpin them")
    w.model.set_favourites(set(_saved_list("main/favourites")))
    w.test_all.all_action.setIcon(action_icon("test-all"))
    for act in (w.new_action, w.test_action, w.test_all.all_action, w.edit_action,
                w.duplicate_action, w.delete_action):
        toolbar.addAction(act)
    toolbar.addSeparator()
    toolbar.addAction(w.settings_action)
    # Export… and Import… (gui/transfer/actions.py, loaded on first use), also in the File menu.
    w.import_action = action("&Import…", "Ctrl+Shift+I", lambda: w.transfer.import_clicked(),
                             "Import connections from a file", "import")
    w.export_action = action("E&xport…", "Ctrl+Shift+E", lambda: w.transfer.export_clicked(),
                             "Export connections to a file", "export")
    file_menu = w.menuBar().addMenu("&File")
    toolbar.addSeparator()
    for act in (w.import_action, w.export_action):
        file_menu.addAction(act)
        toolbar.addAction(act)
    file_menu.addSeparator()  # Workflows… (gui/workflows/window.py, loaded on first use)
    w.paste_connection_action = action("&Paste connection URL", "Ctrl+Shift+V", a.paste_connection,
                                       "A new connection filled in from the URL on the clipboard")
    file_menu.insertAction(w.import_action, w.paste_connection_action)
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
    w.toolbar_fit = ToolbarFit(toolbar, w)


class ToolbarFit(QObject):
    """Text beside the toolbar's icons while the window is wide enough for all of it, icons alone (names in
    their tooltips) when it is not, instead of pushing actions into the overflow menu."""

    def __init__(self, toolbar: QToolBar, window: QWidget):
        super().__init__(window)
        self.toolbar, self.window = toolbar, window
        self.text_width = 0  # what the toolbar needs with its texts, measured when it last had them
        window.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize:
            self.fit(event.size().width())
        return False

    def fit(self, width: int) -> None:
        beside = Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        if self.toolbar.toolButtonStyle() == beside:
            self.text_width = self.toolbar.sizeHint().width()
            if self.text_width > width:
                self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        elif width >= self.text_width:
            self.toolbar.setToolButtonStyle(beside)


def _saved_list(key: str) -> list[str]:
    value = QSettings().value(key)
    return [value] if isinstance(value, str) else [str(v) for v in value or []]  # one entry reads back as a str


def toggle_favourites(w: MainWindow) -> None:
    """Pin the selection at the top, or unpin it when all of it is pinned; the user's own choice, kept in the
    window's settings (a shared catalog's colleagues keep theirs)."""
    records = w.selected_records()
    if not records:
        return
    current = w.selected()
    ids = {r.id for r in records}
    known = {r.id for r in w.model.records()}  # forget pins of connections deleted since
    pinned = (w.model.favourites & known) - ids if ids <= w.model.favourites else (w.model.favourites & known) | ids
    w.model.set_favourites(pinned)
    QSettings().setValue("main/favourites", sorted(pinned))
    if current is not None:
        w.select(current.id)
    verb = "Pinned" if ids <= pinned else "Unpinned"
    w.statusBar().showMessage(f"{verb} {records[0].name if len(records) == 1 else f'{len(records)} connections'}",
                              3000)


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
    pinned = all(r.id in w.model.favourites for r in w.selected_records())
    w.favourite_action.setText("Remove from favourites" if pinned else "Add to favourites")
    menu.addAction(w.favourite_action)
    _copy_as_menu(w, menu)
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


#: "Copy as…" entries: a form of `Types.connection_forms` → what the menu says.
COPY_FORMS = {"url": "Connection URL", "libpq": "libpq keywords", "jdbc": "JDBC URL",
              "sqlalchemy": "SQLAlchemy URL", "command": "Command line"}


def _copy_as_menu(w: MainWindow, menu: QMenu) -> None:
    """The selected connection in each form other tools read (no secret in any), for one selected row."""
    records = w.selected_records()
    forms = w.hub.types.connection_forms(records[0].type) if len(records) == 1 else []
    if not forms:
        return
    copy_as = menu.addMenu("Copy as")
    copy_as.setObjectName("copyAsMenu")
    for form in forms:
        act = copy_as.addAction(COPY_FORMS.get(form, form))
        act.setData(form)
        act.triggered.connect(lambda _checked=False, form=form: copy_connection(w, records[0], form))


def copy_connection(w: MainWindow, record, form: str) -> None:
    """Put the connection on the clipboard in `form`; a form that cannot say it (JDBC to a socket) says why."""
    from connhub.core.urls import UrlError

    try:
        text = w.hub.types.connection_text(record, form)
    except UrlError as exc:
        w.statusBar().showMessage(f"Cannot copy as {COPY_FORMS.get(form, form)}: {exc}", 8000)
        return
    QApplication.clipboard().setText(text)
    w.statusBar().showMessage(f"Copied {record.name} as {COPY_FORMS.get(form, form)} (no password in it)", 4000)
