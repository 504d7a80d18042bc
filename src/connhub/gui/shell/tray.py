"""The system-tray icon: a menu of failing connections with Show/Quit, and a notification per status change.

The menu and the notification texts are built whether or not the desktop has a tray (offscreen tests, a
window manager without one), so they can be tested; only the QSystemTrayIcon itself needs a tray.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from connhub.core.errors import TITLES, ErrorClass
from connhub.core.records import InstanceRecord
from connhub.gui.icons import app_icon
from connhub.services.monitor import StatusChange

KEEP_IN_TRAY = "monitoring/keep_in_tray"


def keep_in_tray() -> bool:
    """The user's choice: closing the window leaves connhub (and its monitor) running in the tray."""
    return QSettings().value(KEEP_IN_TRAY, False, type=bool)


def error_title(error_class: str | None) -> str:
    cls = ErrorClass(error_class) if error_class in ErrorClass._value2member_map_ else ErrorClass.UNKNOWN
    return TITLES[cls]


def notification(change: StatusChange) -> tuple[str, str] | None:
    """(title, text) worth a desktop notification, or None: a first test that passes is no news. The text is
    the class title and the runner's message, which was scrubbed of secrets."""
    name = change.instance.name
    if change.new == "failing":
        detail = change.result.message
        title = error_title(change.result.error_class.value if change.result.error_class else None)
        return f"{name} is failing", title if detail in ("", title) else f"{title}: {detail}"
    if change.new == "ok" and change.old == "failing":
        return f"{name} works again", change.result.message
    return None


class Tray(QObject):
    show_requested = Signal()
    quit_requested = Signal()
    select_requested = Signal(str)  # an instance id, from a failing connection's menu item

    def __init__(self, parent=None, available: bool | None = None):
        super().__init__(parent)
        self.available = QSystemTrayIcon.isSystemTrayAvailable() if available is None else available
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        self.keep_action = QAction("Keep running in the tray when the window is closed", self)
        self.keep_action.setCheckable(True)
        self.keep_action.setChecked(keep_in_tray())
        self.keep_action.toggled.connect(lambda on: QSettings().setValue(KEEP_IN_TRAY, on))
        self.last_notification: tuple[str, str] | None = None
        self.icon: QSystemTrayIcon | None = None
        if self.available:
            self.icon = QSystemTrayIcon(app_icon(), self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
        self.set_failing([])

    def set_failing(self, records: list[InstanceRecord]) -> None:
        """Rebuild the menu: the failing connections first (click one to see it), then Show, the setting, Quit."""
        self.menu.clear()
        failing = sorted((r for r in records if r.status == "failing"), key=lambda r: r.name.lower())
        header = self.menu.addAction(f"Failing connections ({len(failing)})" if failing
                                     else "No failing connections")
        header.setEnabled(False)
        for record in failing:
            action = self.menu.addAction(f"✖ {record.name} — {error_title(record.last_error_class)}")
            action.triggered.connect(lambda _checked=False, rid=record.id: self.select_requested.emit(rid))
        self.menu.addSeparator()
        self.menu.addAction("Show connhub", self.show_requested.emit)
        self.menu.addAction(self.keep_action)
        self.menu.addSeparator()
        self.menu.addAction("Quit connhub", self.quit_requested.emit)
        tip = f"connhub: {len(failing)} failing" if failing else "connhub: no failing connections"
        if self.icon is not None:
            self.icon.setToolTip(tip)
            self.icon.setVisible(True)

    def menu_texts(self) -> list[str]:
        """The menu as text ("-" for a separator): what a user reads, for tests and accessibility checks."""
        return ["-" if a.isSeparator() else a.text() for a in self.menu.actions()]

    def notify(self, change: StatusChange) -> None:
        message = notification(change)
        if message is None:
            return
        self.last_notification = message
        if self.icon is not None and QSystemTrayIcon.supportsMessages():
            icon = QSystemTrayIcon.MessageIcon.Warning if change.new == "failing" \
                else QSystemTrayIcon.MessageIcon.Information
            self.icon.showMessage(message[0], message[1], icon, 10_000)

    def _activated(self, reason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_requested.emit()

    def hide(self) -> None:
        if self.icon is not None:
            self.icon.hide()
