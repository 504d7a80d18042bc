"""The right-hand pane: what the selected instance points at, its last test, and its recent history."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from connhub.core.errors import HINTS, TITLES, ErrorClass
from connhub.gui.icons import type_icon
from connhub.gui.models import age
from connhub.gui.test_panel import TestPanel
from connhub.plugins.registry import Registry
from connhub.storage.repository import InstanceRecord, TestRun


class DetailPane(QStackedWidget):
    test_clicked = Signal()
    edit_clicked = Signal()
    duplicate_clicked = Signal()
    delete_clicked = Signal()

    def __init__(self, registry: Registry, parent=None):
        super().__init__(parent)
        self.registry = registry
        self.setObjectName("detailPane")
        self.setMinimumWidth(300)
        empty = QLabel("Select a connection to see its details,\nor press Ctrl+N to add one.")
        empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.setObjectName("emptyDetail")
        self.addWidget(empty)

        page = QWidget()
        self.icon = QLabel()
        self.title = QLabel()
        self.title.setObjectName("detailTitle")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        heading = QHBoxLayout()
        heading.addWidget(self.icon)
        heading.addWidget(self.title, 1)

        self.summary = QLabel()
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setWordWrap(True)
        # The last outcome in colour ("✖ Connection refused (2 min ago, 3 in a row)"), then what the server
        # said and the hint, in the normal text colour, so a failure reads as a heading plus advice.
        self.status = QLabel()
        self.status.setObjectName("detailStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_detail = QLabel()
        self.status_detail.setObjectName("detailStatusDetail")
        self.status_detail.setWordWrap(True)
        self.status_detail.setTextFormat(Qt.TextFormat.PlainText)
        self.status_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status_box = QWidget()
        status_layout = QVBoxLayout(status_box)
        status_layout.setContentsMargins(0, 0, 0, 0)
        status_layout.setSpacing(2)
        status_layout.addWidget(self.status)
        status_layout.addWidget(self.status_detail)
        self.version = QLabel()
        self.tags = QLabel()
        facts = QFormLayout()
        facts.addRow("Address", self.summary)
        facts.addRow("Status", status_box)
        facts.addRow("Server", self.version)
        facts.addRow("Tags", self.tags)

        self.test_panel = TestPanel()
        self.test_button = QPushButton("&Test")
        self.edit_button = QPushButton("&Edit…")
        self.duplicate_button = QPushButton("D&uplicate")
        self.delete_button = QPushButton("&Delete…")
        for button, signal, tip in ((self.test_button, self.test_clicked, "Test this connection (Ctrl+T)"),
                                    (self.edit_button, self.edit_clicked, "Edit (Enter)"),
                                    (self.duplicate_button, self.duplicate_clicked, "Duplicate, secrets "
                                     "included (Ctrl+D)"),
                                    (self.delete_button, self.delete_clicked, "Delete (Del)")):
            button.clicked.connect(signal)
            button.setToolTip(tip)
        actions = QHBoxLayout()
        for button in (self.test_button, self.edit_button, self.duplicate_button, self.delete_button):
            actions.addWidget(button)
        actions.addStretch(1)

        self.history = QListWidget()
        self.history.setAccessibleName("Test history")
        self.history.setMaximumHeight(220)

        layout = QVBoxLayout(page)
        layout.addLayout(heading)
        layout.addLayout(facts)
        layout.addLayout(actions)
        layout.addWidget(self.test_panel)
        layout.addWidget(QLabel("<b>Recent tests</b>"))
        layout.addWidget(self.history)
        layout.addStretch(1)
        self.addWidget(page)

    def show_record(self, record: InstanceRecord | None) -> None:
        if record is None:
            self.setCurrentIndex(0)
            return
        self.setCurrentIndex(1)
        entry = self.registry.get(record.type) if record.type in self.registry else None
        self.icon.setPixmap(type_icon(self.registry, record.type).pixmap(36, 36))
        type_name = entry.name if entry else record.type
        self.title.setText(f"<span style='font-size: 15pt; font-weight: 600'>{_escape(record.name)}</span>"
                           f"<br>{_escape(type_name)}")
        self.summary.setText(record.summary or "—")
        headline, detail = _status_lines(record)
        self.status.setText(headline)
        self.status.setProperty("outcome", {"ok": "ok", "failing": "failed"}.get(record.status, "neutral"))
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self.status_detail.setText(detail)
        self.status_detail.setVisible(bool(detail))
        self.version.setText(record.last_server_version or "—")
        self.tags.setText(", ".join(record.tags) or "—")

    def show_history(self, runs: list[TestRun]) -> None:
        self.history.clear()
        for run in runs:
            mark = "✔" if run.ok else "✖"
            latency = f"{run.latency_ms:.0f} ms" if run.latency_ms is not None else ""
            if run.ok:
                what = run.server_version or ""
            else:
                cls = run.error_class if run.error_class in ErrorClass._value2member_map_ else ErrorClass.UNKNOWN
                what = TITLES[ErrorClass(cls)]
            parts = [f"{run.started_at.astimezone():%Y-%m-%d %H:%M:%S}", latency, what]
            self.history.addItem(f"{mark}  " + "  ·  ".join(p for p in parts if p))
        if not runs:
            self.history.addItem("Not tested yet.")

    def set_testing(self, testing: bool) -> None:
        for button in (self.test_button, self.edit_button, self.duplicate_button, self.delete_button):
            button.setEnabled(not testing)


def _status_lines(record: InstanceRecord) -> tuple[str, str]:
    """(the outcome, in colour; what the server said and the hint) for the Status row."""
    if record.status == "untested":
        return "Not tested yet", ""
    when = age(record.last_test_at)
    if record.status == "ok":
        latency = f", {record.last_latency_ms:.0f} ms" if record.last_latency_ms is not None else ""
        return f"✔ Working ({when}{latency})", ""
    cls = ErrorClass(record.last_error_class) if record.last_error_class in ErrorClass._value2member_map_ \
        else ErrorClass.UNKNOWN
    message = record.last_message or ""
    return (f"✖ {TITLES[cls]} ({when}, {record.error_count} in a row)",
            "\n".join(line for line in (message if message != TITLES[cls] else "", HINTS[cls]) if line))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
