"""The detail pane's "Plugin" row: a plugin hook that failed after this connection was saved or tested
(services/plugin_hooks.py), what it said, and Retry. Hidden while nothing failed.

Given a callable returning the hook service, never the Hub. The service tells it (from its own thread, through
a queued signal) when a hook's outcome is recorded, so a failure shows up while the connection is on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from connhub.gui.ops import background, spawn

if TYPE_CHECKING:
    from connhub.core.records import InstanceRecord
    from connhub.services.plugin_hooks import PluginHooks


class PluginHookFact(QWidget):
    noted = Signal(str)  # an instance id whose hook outcome was just recorded (from the hook thread)

    def __init__(self, service: Callable[[], PluginHooks], parent=None):
        super().__init__(parent)
        self.setObjectName("pluginHookFact")
        self._service = service
        self._record: InstanceRecord | None = None
        self.text = QLabel()
        self.text.setObjectName("pluginHookFailure")
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # a plugin's exception text, shown as written
        self.text.setWordWrap(True)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setToolTip("Run the plugin's hook again (the connection itself is saved)")
        self.retry_button.clicked.connect(lambda: spawn(self.retry()))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.retry_button)
        self.noted.connect(self._refresh_if_shown)
        self._listening = False
        self._row_visible(False)

    def _row_visible(self, visible: bool) -> None:
        """The whole row ("Plugin" and this) shows only when a hook failed."""
        self.setVisible(visible)
        if self.parentWidget() is not None:
            self.parentWidget().setVisible(visible)

    def show_record(self, record: InstanceRecord | None) -> None:
        """Asks the hook service again only for another connection or a new save of it: the pane is shown
        again every few seconds as the test ages tick, which must not cost a database read each time."""
        shown, self._record = self._record, record
        if record is None:
            self._row_visible(False)
            return
        if shown is None or shown.id != record.id or shown.updated_at != record.updated_at:
            spawn(self.refresh())

    def _refresh_if_shown(self, instance_id: str) -> None:
        if self._record is not None and self._record.id == instance_id:
            spawn(self.refresh())

    async def refresh(self) -> None:
        record = self._record
        if record is None:
            return
        service = self._service()
        if not self._listening:
            service.on_noted(self.noted.emit)
            self._listening = True
        failure = await background(service.failure, record.id)
        if self._record is not record:
            return
        if failure is not None:
            self.text.setText(f"⚠ {failure.text} ({failure.at})")
        self._row_visible(failure is not None)

    async def retry(self) -> None:
        record = self._record
        if record is None:
            return
        self.retry_button.setEnabled(False)
        self.text.setText("Running the hook again…")
        try:
            await background(self._service().retry, record.id)
        finally:
            self.retry_button.setEnabled(True)
        await self.refresh()
