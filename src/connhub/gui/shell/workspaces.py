"""What the window remembers and reports around its list: the workspace box (a new one, switching to another,
remembered for the next start), its size and columns, the keyring's state in the status bar and banner."""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QSettings

from connhub.gui.ops import HubOp, background, spawn

if TYPE_CHECKING:
    from connhub.gui.shell.main_window import MainWindow

NEW_WORKSPACE = "\x00new"  # the workspace box's last item: "New workspace…"


class Workspaces:
    def __init__(self, window: MainWindow):
        self.window = window

    def fill(self, names: list[str], current: str) -> None:
        box = self.window.workspace_box
        box.clear()
        for name in names:
            box.addItem(name, name)
        box.insertSeparator(box.count())
        box.addItem("New workspace…", NEW_WORKSPACE)
        box.setCurrentIndex(box.findData(current))

    async def refresh(self) -> None:
        w = self.window
        names = await background(w.hub.instances.workspaces)
        if shiboken6.isValid(w):  # the window may be gone by the time the database answers
            self.fill(names, w.hub.instances.workspace)

    def chosen(self, index: int) -> None:
        w = self.window
        name = w.workspace_box.itemData(index)
        if name == NEW_WORKSPACE:
            spawn(self.new(None))
        elif name and name != w.hub.instances.workspace:
            spawn(self.switch(name))

    async def new(self, name: str | None = None) -> str | None:
        from PySide6.QtWidgets import QInputDialog

        w = self.window
        if name is None:
            dialog = QInputDialog(w)
            dialog.setObjectName("newWorkspace")
            dialog.setWindowTitle("New workspace")
            dialog.setLabelText("Name of the new workspace (it starts empty; names of connections are unique "
                                "within a workspace):")
            async with w._dialog(dialog) as code:
                name = dialog.textValue() if code == QInputDialog.DialogCode.Accepted else None
        if not name:
            w.workspace_box.setCurrentIndex(w.workspace_box.findData(w.hub.instances.workspace))
            return None
        op = HubOp(w, "Workspace not created", w.hub.instances.add_workspace, name).field("workspace")
        name = await op.failure(
            lambda _exc: w.workspace_box.setCurrentIndex(w.workspace_box.findData(w.hub.instances.workspace)))
        if op.failed:
            return None
        await self.switch(name)
        return name

    async def switch(self, name: str) -> None:
        """Show another workspace's connections; new ones are created there. Remembered for the next start."""
        w = self.window
        w.cancel_test()
        w.hub.instances.use_workspace(name)
        QSettings().setValue("main/workspace", name)
        records = await background(w.hub.instances.list)
        w.model.set_records(records)
        w._update_empty_state()
        w._current_changed()
        w.update_title(w.hub.instances.workspace)
        await self.refresh()


def restore_geometry(w: MainWindow) -> None:
    """The window's size and columns as the user left them (saved by `save_geometry` when it closes)."""
    settings = QSettings()
    if geometry := settings.value("main/geometry"):
        w.restoreGeometry(geometry)
    if state := settings.value("main/splitter"):
        w.splitter.restoreState(state)


def save_geometry(w: MainWindow) -> None:
    settings = QSettings()
    settings.setValue("main/geometry", w.saveGeometry())
    settings.setValue("main/splitter", w.splitter.saveState())


async def check_keyring(w: MainWindow):
    """Ask which keyring is in use, off the GUI thread; a missing or insecure one gets a banner."""
    status = await background(w._first.vault.status)  # the Hub's vault: no need to wait for the Hub
    w.vault_status = status
    w.keyring_label.setText(f"Keyring: {status.title}" if status.usable else "Keyring: unavailable")
    w.keyring_label.setToolTip(status.backend)
    w.banner.setText(f"⚠ Secrets cannot be saved: {status.problem}" if status.problem else "")
    w.banner.setVisible(bool(status.problem))
    return status


async def reconcile_keyring(w: MainWindow):
    """Repair what a killed process left between the database and the keyring (services/reconcile.py), off
    the GUI thread; secrets the keyring lost, or a locked keyring, are said in the banner."""
    report = await background(w.hub.secrets.reconcile)
    await w._keyring_check  # its banner first: this one only adds to it
    if report.missing:
        w.reload()
    text = report.user_message() or (f"⚠ {report.keyring_problem}" if report.keyring_problem else "")
    if text and not w.banner.isVisible():
        w.banner.setText(text if text.startswith("⚠") else f"⚠ {text}")
        w.banner.show()
    return report
