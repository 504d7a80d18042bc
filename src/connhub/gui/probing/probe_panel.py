"""The strip that shows a running test (spinner, stage, Cancel) and then its result with a hint."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from connhub.core.errors import TITLES
from connhub.core.results import TestResult
from connhub.gui.theme import styled

STAGE_TEXT = {"resolve": "Resolving host…", "connect": "Connecting…", "tls": "Negotiating TLS…",
              "auth": "Authenticating…", "probe": "Checking the server…"}


class ProbePanel(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("testPanel")
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: a spinner that keeps moving while the loop is free
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(6)
        self.busy.setAccessibleName("Test in progress")
        self.stage = QLabel()
        self.cancel = QPushButton("Cancel test")
        self.cancel.setAccessibleName("Cancel test")
        self.cancel.clicked.connect(self.cancel_requested)
        self.headline = styled(QLabel(), "testHeadline")
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.headline.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setObjectName("testHint")
        self.hint.setWordWrap(True)
        self.hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        for label in (self.stage, self.headline, self.hint):  # a server's words, shown as it sent them
            label.setTextFormat(Qt.TextFormat.PlainText)

        running = QHBoxLayout()
        running.addWidget(self.stage, 1)
        running.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.busy)
        layout.addLayout(running)
        layout.addWidget(self.headline)
        layout.addWidget(self.hint)
        self.clear()

    @property
    def running(self) -> bool:
        return self.busy.isVisibleTo(self)

    def clear(self) -> None:
        for widget in (self.busy, self.stage, self.cancel, self.headline, self.hint):
            widget.hide()

    def start(self) -> None:
        self.clear()
        self.stage.setText("Starting…")
        for widget in (self.busy, self.stage, self.cancel):
            widget.show()
        self.cancel.setFocus()

    def set_stage(self, name: str) -> None:
        self.stage.setText(STAGE_TEXT.get(name, f"{name.capitalize()}…"))

    def show_result(self, result: TestResult) -> None:
        self.clear()
        if result.ok:
            latency = f" in {result.latency_ms:.0f} ms" if result.latency_ms is not None else ""
            version = f" · {result.server_version}" if result.server_version else ""
            self._headline(f"✔ Connected{latency}{version}", ok=True)
        else:
            title = TITLES[result.error_class]
            where = f" (at {result.failed_stage})" if result.failed_stage else ""
            self._headline(f"✖ {title}{where}: {result.message}", ok=False)
            self.hint.setText(result.hint)
            self.hint.show()

    def show_cancelled(self) -> None:
        self.clear()
        self._headline("Test cancelled.", ok=None)

    def _headline(self, text: str, ok: bool | None) -> None:
        self.headline.setText(text)
        self.headline.setProperty("outcome", {True: "ok", False: "failed", None: "neutral"}[ok])
        self.headline.style().unpolish(self.headline)
        self.headline.style().polish(self.headline)
        self.headline.setAccessibleName(text)
        self.headline.show()
