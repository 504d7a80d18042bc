"""The right-hand pane: what the selected instance points at, its last test, its recent history, and the events
its type sends, with a box to check a payload against the event's schema (locally, at once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from connhub.core.errors import HINTS, TITLES, ErrorClass
from connhub.gui.icons import type_icon
from connhub.gui.instances.models import age
from connhub.gui.instances.sparkline import Sparkline
from connhub.gui.probing.probe_panel import ProbePanel
from connhub.gui.theme import styled

if TYPE_CHECKING:  # the window's first paint does without these (pydantic, SQLAlchemy): see gui/shell/startup.py
    from connhub.core.records import InstanceRecord, TestRun
    from connhub.plugins.registry import Registry, TypeEntry
    from connhub.services.events import PayloadError


class DetailPane(QStackedWidget):
    test_clicked = Signal()
    edit_clicked = Signal()
    duplicate_clicked = Signal()
    delete_clicked = Signal()

    def __init__(self, registry: Registry, empty: QWidget, parent=None):
        """`empty` is shown while nothing is selected: the window's own, painted before this pane is built."""
        super().__init__(parent)
        self.registry = registry
        self.setObjectName("detailPane")
        self.setMinimumWidth(300)
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

        # What a user or a server wrote (an address, a status, a version banner, tags) is shown as typed:
        # a QLabel would otherwise guess rich text from the text itself and draw `<img src=…>` as an image.
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary.setWordWrap(True)
        # The last outcome in colour ("✖ Connection refused (2 min ago, 3 in a row)"), then what the server
        # said and the hint, in the normal text colour, so a failure reads as a heading plus advice.
        self.status = styled(QLabel(), "detailStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
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
        for label in (self.version, self.tags):
            label.setTextFormat(Qt.TextFormat.PlainText)
        facts = QFormLayout()
        self._extra_facts: list[QWidget] = []
        facts.addRow("Address", self.summary)
        facts.addRow("Status", status_box)
        facts.addRow("Server", self.version)
        facts.addRow("Tags", self.tags)

        self.test_panel = ProbePanel()
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
        # An OAuth sign-in that can no longer be refreshed: the edit dialog's sign-in row renews it.
        self.reauth_button = QPushButton("Sign in again…")
        self.reauth_button.setObjectName("reauthButton")
        self.reauth_button.setToolTip("The sign-in expired or was revoked: sign in again (settings are kept)")
        self.reauth_button.clicked.connect(self.edit_clicked)
        self.reauth_button.hide()
        actions.insertWidget(0, self.reauth_button)

        self.history = QListWidget()
        self.history.setAccessibleName("Test history")
        self.sparkline = Sparkline()  # the last 20 latencies at a glance, above the list of the runs
        history_page = QWidget()
        history_layout = QVBoxLayout(history_page)
        history_layout.setContentsMargins(0, 4, 0, 0)
        history_layout.addWidget(self.sparkline)
        history_layout.addWidget(self.history, 1)
        self.events = EventsPanel()
        self.tabs = QTabWidget()
        self.tabs.setObjectName("detailTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(history_page, "Recent tests")
        self.tabs.addTab(self.events, "Events")
        self.tabs.setTabVisible(1, False)

        layout = self._page_layout = QVBoxLayout(page)
        layout.addLayout(heading)
        layout.addLayout(facts)
        layout.addLayout(actions)
        layout.addWidget(self.test_panel)
        layout.addWidget(self.tabs, 1)
        self.addWidget(page)

    def show_record(self, record: InstanceRecord | None) -> None:
        if record is None:
            self.setCurrentIndex(0)
            for widget in self._extra_facts:
                if hasattr(widget, "applies_to"):  # a tab that holds something open (a receiver) lets it go
                    widget.show_record(None)
            return
        self.setCurrentIndex(1)
        entry = self.registry.get(record.type) if record.type in self.registry else None
        self.icon.setPixmap(type_icon(self.registry, record.type).pixmap(36, 36))
        type_name = (entry.name if entry else f"{record.type} · type missing: its plugin is not installed (the "
                     "connection is kept)")
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
        self.reauth_button.setVisible(record.needs_reauth)
        from connhub.services.events import event_records

        # Kept on the record when it was saved; one saved before connhub kept them shows its type's current ones.
        events = record.events if record.events is not None else (event_records(entry) if entry else [])
        self.events.show_events(record.id, entry, events)
        self.tabs.setTabText(1, f"Events ({len(events)})")
        self.tabs.setTabVisible(1, bool(events))
        for widget in self._extra_facts:
            widget.show_record(record)
            if hasattr(widget, "applies_to") and (index := self.tabs.indexOf(widget)) >= 0:
                self.tabs.setTabVisible(index, widget.applies_to(record))  # only for types it is about

    def add_fact(self, label: str, widget: QWidget) -> None:
        """One more row under the facts (a feature's own control); it gets `show_record(record)` calls too."""
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(QLabel(label))
        line.addWidget(widget, 1)
        self._page_layout.insertWidget(self._page_layout.indexOf(self.test_panel), row)
        self._extra_facts.append(widget)

    def add_tab(self, widget: QWidget, title: str) -> None:
        """A feature's own tab (gui/actions); it gets `show_record(record)` calls too."""
        self.tabs.addTab(widget, title)
        self._extra_facts.append(widget)

    def show_history(self, runs: list[TestRun]) -> None:
        self.sparkline.set_runs(runs)
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
        for button in (self.test_button, self.edit_button, self.duplicate_button, self.delete_button,
                       self.reauth_button):
            button.setEnabled(not testing)


class EventsPanel(QWidget):
    """The events of the shown instance, and a payload box validated against the chosen event's schema.

    Validation is local (the schema files beside the type's manifest) and takes milliseconds, so it runs on
    the GUI thread when Validate (or Ctrl+Enter in the box) is pressed."""

    STYLE = ('QLabel#eventResult[outcome="ok"] { color: #15803d; font-weight: 600; }'
             'QLabel#eventResult[outcome="failed"] { color: #d93025; font-weight: 600; }')

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("eventsPanel")
        self.setStyleSheet(self.STYLE)
        self._shown: tuple[str, list] | None = None  # (instance id, events) on screen
        self._entry: TypeEntry | None = None

        self.list = QTreeWidget()
        self.list.setObjectName("eventList")
        self.list.setAccessibleName("Events")
        self.list.setColumnCount(2)
        self.list.setHeaderLabels(["Event", "When it is sent"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setWordWrap(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.currentItemChanged.connect(self._event_changed)

        self.payload_label = QLabel()
        self.payload_label.setTextFormat(Qt.TextFormat.RichText)
        self.payload = QPlainTextEdit()
        self.payload.setObjectName("eventPayload")
        self.payload.setAccessibleName("Event payload (JSON)")
        self.payload.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.payload.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.payload.setTabChangesFocus(True)
        self.payload.setMinimumHeight(self.payload.fontMetrics().lineSpacing() * 6)
        self.payload.textChanged.connect(self._payload_changed)
        self.payload_label.setBuddy(self.payload)
        self.validate_button = QPushButton("&Validate")
        self.validate_button.setToolTip("Check the payload against the event's JSON Schema (Ctrl+Enter)")
        self.validate_button.clicked.connect(self.validate)
        self.payload.installEventFilter(self)  # Ctrl+Enter validates
        self.result = QLabel()
        self.result.setObjectName("eventResult")
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.PlainText)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors = QListWidget()
        self.errors.setObjectName("eventErrors")
        self.errors.setAccessibleName("Payload errors")
        self.errors.setWordWrap(True)
        self.errors.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.errors.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.errors.hide()

        row = QHBoxLayout()
        row.addWidget(self.validate_button)
        row.addWidget(self.result, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.list)
        layout.addWidget(self.payload_label)
        layout.addWidget(self.payload, 1)
        layout.addLayout(row)
        layout.addWidget(self.errors)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if (watched is self.payload and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.validate()
            return True
        return super().eventFilter(watched, event)

    # --- showing ------------------------------------------------------------------------------------------

    def show_events(self, instance_id: str, entry: TypeEntry | None, events: list[dict]) -> None:
        """Show an instance's events. The same instance shown again (after a test, an edit) keeps what was
        pasted and its result."""
        self._entry = entry
        if self._shown == (instance_id, events):
            return
        self._shown = (instance_id, [dict(e) for e in events])
        self.list.clear()
        for event in events:
            item = QTreeWidgetItem([event.get("type", ""), event.get("description", "")])
            item.setToolTip(1, event.get("description", ""))
            item.setData(0, Qt.ItemDataRole.UserRole, event.get("type"))
            self.list.addTopLevelItem(item)
        self.list.resizeColumnToContents(0)
        self._fit(self.list, len(events), header=True)
        self.payload.clear()
        if events:
            self.list.setCurrentItem(self.list.topLevelItem(0))
        self._show_result("", None)

    def current_event(self) -> str | None:
        item = self.list.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def select_event(self, event: str) -> None:
        for index in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(index)
            if item.data(0, Qt.ItemDataRole.UserRole) == event:
                self.list.setCurrentItem(item)
                return
        raise KeyError(event)

    def _event_changed(self, *_args) -> None:
        event = self.current_event()
        shown = _escape(event) if event else "an event"
        self.payload_label.setText(f"&Payload of <b>{shown}</b> (JSON)")
        self.payload.setPlaceholderText(f"Paste the {event} payload here, then press Validate." if event else "")
        self._show_result("", None)

    def _payload_changed(self) -> None:
        if self.result.text():
            self._show_result("", None)  # a verdict about other text would mislead

    # --- validating ---------------------------------------------------------------------------------------

    def validate(self) -> list[PayloadError] | None:
        """Validate the box against the chosen event; returns the errors ([] when valid), or None when it could
        not be checked (nothing pasted, not JSON, a broken schema)."""
        event = self.current_event()
        text = self.payload.toPlainText()
        if not event or self._entry is None:
            self._show_result("This type is not available: its events cannot be checked.", False)
            return None
        if not text.strip():
            self._show_result(f"Nothing to check: paste the {event} payload first.", False)
            return None
        from connhub.services.events import EventSchemaError, PayloadSyntaxError, UnknownEvent, validate_text

        try:
            errors = validate_text(self._entry, event, text)
        except PayloadSyntaxError as exc:
            self._show_result(f"Not JSON — line {exc.line}, column {exc.column}: {exc.message}", False)
            self._move_cursor(exc.line, exc.column)
            return None
        except (EventSchemaError, UnknownEvent) as exc:
            self._show_result(f"Cannot check this event: {exc}", False)
            return None
        if errors:
            count = len(errors)
            self._show_result(f"✖ Not a valid {event} payload: {count} error{'s' if count != 1 else ''}", False,
                              errors)
        else:
            self._show_result(f"✔ Valid {event} payload", True)
        return errors

    def _show_result(self, text: str, ok: bool | None, errors: list[PayloadError] = ()) -> None:
        self.result.setText(text)
        self.result.setProperty("outcome", "neutral" if ok is None else ("ok" if ok else "failed"))
        self.result.style().unpolish(self.result)
        self.result.style().polish(self.result)
        self.errors.clear()
        for error in errors:
            item = QListWidgetItem(f"{error.path}  —  {error.message}")
            item.setToolTip(str(error))
            self.errors.addItem(item)
        self._fit(self.errors, len(errors))
        self.errors.setVisible(bool(errors))

    @staticmethod
    def _fit(view, rows: int, header: bool = False, most: int = 6) -> None:
        """As tall as its rows (up to `most`, then it scrolls): no empty box under two events."""
        row = view.sizeHintForRow(0) if rows else view.fontMetrics().height() + 4
        extra = view.header().sizeHint().height() if header else 0
        view.setFixedHeight(max(row, 1) * max(1, min(rows, most)) + extra + 2 * view.frameWidth() + 2)

    def _move_cursor(self, line: int, column: int) -> None:
        block = self.payload.document().findBlockByNumber(line - 1)
        if block.isValid():
            cursor = QTextCursor(block)
            cursor.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.MoveAnchor,
                                min(column - 1, block.length() - 1))
            self.payload.setTextCursor(cursor)
        self.payload.setFocus()

    def error_lines(self) -> list[str]:
        return [self.errors.item(i).text() for i in range(self.errors.count())]


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
