"""The Webhooks tab: Listen starts the in-process receiver on the qasync loop (127.0.0.1), the URL to paste
into the provider, the inbox newest first (filtered by event and verdict, refreshed as deliveries arrive), the
selected delivery's masked headers and pretty JSON body (plain text: it is untrusted) with its errors' lines
highlighted, Replay (validate again), Re-send to URL… and Send test event (signed through the service).

Given a callable returning the webhooks service, never the Hub; every store read runs off the loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QFontDatabase, QGuiApplication, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTextEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from connhub.gui.events.json_lines import line_of, pretty, split_error
from connhub.gui.ops import background, dialog_result, spawn

if TYPE_CHECKING:
    from connhub.core.records import Delivery, InstanceRecord
    from connhub.plugins.registry import Registry
    from connhub.services.webhooks import Receiver, Webhooks

VERDICTS = ("accepted", "bad_signature", "unsigned", "stale", "replayed", "invalid_payload", "unknown_event",
            "too_large")
STYLE = ('QLabel#webhooksMessage[outcome="ok"] { color: #15803d; font-weight: 600; }'
         'QLabel#webhooksMessage[outcome="failed"] { color: #d93025; font-weight: 600; }')


def _plain(label: QLabel) -> QLabel:
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _text_box(name: str) -> QPlainTextEdit:
    box = QPlainTextEdit()
    box.setObjectName(name)
    box.setReadOnly(True)
    box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    box.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    return box


class WebhooksView(QWidget):
    """One per window; `show_record(record)` shows an instance, `applies_to(record)` says whether its type
    signs webhooks (the tab is hidden otherwise)."""

    def __init__(self, webhooks: Callable[[], Webhooks], registry: Registry, parent=None):
        super().__init__(parent)
        self.setObjectName("webhooksView")
        self.setStyleSheet(STYLE)
        self._service, self._registry = webhooks, registry
        self._record: InstanceRecord | None = None
        self._receiver: Receiver | None = None
        self._deliveries: list[Delivery] = []
        self._watched: QObject | None = None
        self._starting = None
        self.refreshing = None  # the task reading the inbox, for tests

        self.listen_button = QPushButton("&Listen")
        self.listen_button.setObjectName("listenButton")
        self.listen_button.setCheckable(True)
        self.listen_button.setToolTip("Receive this connection's deliveries on this machine (127.0.0.1)")
        self.listen_button.toggled.connect(self._toggled)
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setSpecialValueText("any free port")
        self.port.setAccessibleName("Port")
        self.url = QLineEdit()
        self.url.setObjectName("webhookUrl")
        self.url.setReadOnly(True)
        self.url.setPlaceholderText("Press Listen for the URL to paste into the provider")
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setToolTip("Copy the URL")
        self.copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.url.text()))
        self.message = _plain(QLabel())
        self.message.setObjectName("webhooksMessage")

        self.event_filter = QComboBox()
        self.event_filter.setAccessibleName("Event filter")
        self.verdict_filter = QComboBox()
        self.verdict_filter.setAccessibleName("Verdict filter")
        self.verdict_filter.addItem("All verdicts", None)
        for verdict in VERDICTS:
            self.verdict_filter.addItem(verdict.replace("_", " "), verdict)
        for box in (self.event_filter, self.verdict_filter):
            box.currentIndexChanged.connect(lambda *_: self.refresh())

        self.list = QTreeWidget()
        self.list.setObjectName("deliveryList")
        self.list.setAccessibleName("Deliveries")
        self.list.setHeaderLabels(["Received at", "Event", "Verdict"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.currentItemChanged.connect(lambda *_: self._show_delivery())

        self.summary = _plain(QLabel())
        self.headers = _text_box("deliveryHeaders")
        self.headers.setMaximumHeight(self.headers.fontMetrics().lineSpacing() * 6)
        self.body = _text_box("deliveryBody")
        self.errors = QListWidget()
        self.errors.setObjectName("deliveryErrors")
        self.errors.setAccessibleName("Validation errors")
        self.replay_button = QPushButton("&Replay")
        self.replay_button.setToolTip("Validate the stored payload again against the event's schema")
        self.replay_button.clicked.connect(lambda: spawn(self.replay()))
        self.resend_button = QPushButton("Re-&send to URL…")
        self.resend_button.setToolTip("POST the stored body to a URL, signed afresh with this connection's secret")
        self.resend_button.clicked.connect(lambda: spawn(self.ask_resend()))

        self.test_event = QComboBox()
        self.test_event.setAccessibleName("Test event")
        self.test_url = QLineEdit()
        self.test_url.setAccessibleName("Test event URL")
        self.test_url.setPlaceholderText("the listening URL, or another")
        self.send_button = QPushButton("Send &test event")
        self.send_button.setToolTip("Send a schema-valid payload, signed as the provider signs it")
        self.send_button.clicked.connect(lambda: spawn(self.send_test()))

        top = QHBoxLayout()
        for widget in (self.listen_button, QLabel("Port"), self.port):
            top.addWidget(widget)
        top.addWidget(self.url, 1)
        top.addWidget(self.copy_button)
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Event"))
        filters.addWidget(self.event_filter, 1)
        filters.addWidget(QLabel("Verdict"))
        filters.addWidget(self.verdict_filter, 1)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.replay_button)
        buttons.addWidget(self.resend_button)
        detail_layout.addLayout(buttons)
        detail_layout.addWidget(self.headers)
        detail_layout.addWidget(self.body, 1)
        detail_layout.addWidget(self.errors)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self.list)
        splitter.addWidget(detail)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        send = QHBoxLayout()
        send.addWidget(self.test_event)
        send.addWidget(QLabel("to"))
        send.addWidget(self.test_url, 1)
        send.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.message)
        layout.addLayout(filters)
        layout.addWidget(splitter, 1)
        layout.addLayout(send)
        self._update_buttons()

    # --- the instance -----------------------------------------------------------------------------------

    def applies_to(self, record: InstanceRecord) -> bool:
        entry = self._registry.get(record.type) if record.type in self._registry else None
        return bool(entry and entry.manifest and entry.manifest.webhooks)

    def show_record(self, record: InstanceRecord | None) -> None:
        before = self._record
        self._record = record
        if before is not None and record is not None and before.id == record.id:
            if (before.name, before.updated_at) != (record.name, record.updated_at) and self.listening():
                self.stop()  # an edit (name, signing secret): the receiver serves what it was started with
                self._set_message("Stopped: the connection was edited. Press Listen again.", None)
            return
        self.stop()
        self._set_message("", None)
        self._deliveries = []
        self.list.clear()
        self._show_delivery()
        if record is None or not self.applies_to(record):
            return
        events = [e.type for e in self._registry.get(record.type).manifest.events]
        for box, first in ((self.event_filter, "All events"), (self.test_event, None)):
            box.blockSignals(True)
            box.clear()
            if first:
                box.addItem(first, None)
            for event in events:
                box.addItem(event, event)
            box.blockSignals(False)
        self.verdict_filter.blockSignals(True)
        self.verdict_filter.setCurrentIndex(0)
        self.verdict_filter.blockSignals(False)
        self.refresh()

    # --- listening --------------------------------------------------------------------------------------

    def listening(self) -> bool:
        return self._receiver is not None

    def _toggled(self, on: bool) -> None:
        if on and self._receiver is None and self._starting is None:
            self._starting = spawn(self.start())
        elif not on:
            self.stop()

    async def start(self) -> None:
        record = self._record
        try:
            if record is None:
                return
            self.listen_button.setText("Starting…")
            service = await background(self._service)
            from connhub.services.credentials import NotReady

            try:
                secret = await service.signing_secret(record)
                receiver = await service.listen([record], "127.0.0.1", self.port.value(),
                                                on_delivery=lambda *_: self.refresh())
            except NotReady as exc:
                self._set_message(f"Not listening: {exc}", False)
                return
            except OSError as exc:
                port = self.port.value()
                self._set_message(f"Not listening: port {port} cannot be used ({exc.strerror or exc}). Choose "
                                  "another port, or 0 for any free one.", False)
                return
            if self._record is not record or not self.listen_button.isChecked():
                spawn(receiver.close())  # the instance changed (or Listen was undone) meanwhile
                return
            self._receiver = receiver
            self.url.setText(receiver.url(record.name))
            self.url.setCursorPosition(0)  # the start of the URL in view, not its end
            self._watch_window()
            if secret:
                self._set_message(f"Listening on port {receiver.port}: point the provider (or a tunnel) at the "
                                  "URL.", True)
            else:
                self._set_message("Listening, but this connection has no signing secret saved: every delivery "
                                  "will be refused as unsigned. Edit it and fill in its webhook secret.", False)
        finally:
            self._starting = None
            self.listen_button.blockSignals(True)
            self.listen_button.setChecked(self._receiver is not None)
            self.listen_button.blockSignals(False)
            self.listen_button.setText("Stop &listening" if self._receiver is not None else "&Listen")
            self._update_buttons()

    def stop(self) -> None:
        """Close the receiver's socket now (the port is free at once); the rest of its closing runs on."""
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            receiver.server.close()
            spawn(receiver.close())
            self._set_message("Stopped listening.", None)
        self.url.clear()
        self.listen_button.blockSignals(True)
        self.listen_button.setChecked(False)
        self.listen_button.blockSignals(False)
        self.listen_button.setText("&Listen")
        self._update_buttons()

    def _watch_window(self) -> None:
        window = self.window()
        if window is not self and window is not self._watched:
            window.installEventFilter(self)
            self._watched = window

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        """The window closed (or hidden to the tray): no socket stays open behind it. A minimise is kept."""
        if watched is self._watched and event.type() in (QEvent.Type.Hide, QEvent.Type.Close) \
                and not event.spontaneous():
            self.stop()
        return super().eventFilter(watched, event)

    # --- the inbox --------------------------------------------------------------------------------------

    def refresh(self):
        self.refreshing = spawn(self._refresh())
        return self.refreshing

    async def _refresh(self) -> None:
        record = self._record
        if record is None or not self.applies_to(record):
            return
        event, verdict = self.event_filter.currentData(), self.verdict_filter.currentData()
        service = self._service
        try:
            deliveries = await background(lambda: service().log(record.id, 200, event, verdict))
        except Exception as exc:  # noqa: BLE001 - an unreadable inbox: said in the tab
            self._set_message(f"The inbox cannot be read: {exc}", False)
            return
        if self._record is None or self._record.id != record.id:
            return
        chosen = self.selected()
        self._deliveries = deliveries
        self.list.blockSignals(True)
        self.list.clear()
        for d in deliveries:
            item = QTreeWidgetItem([f"{d.received_at.astimezone():%Y-%m-%d %H:%M:%S}", d.event or "—",
                                    f"{d.verdict.replace('_', ' ')} ({d.status})"])
            item.setData(0, Qt.ItemDataRole.UserRole, d.id)
            item.setToolTip(2, d.reason)
            self.list.addTopLevelItem(item)
            if chosen is not None and d.id == chosen.id:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        for column in range(3):
            self.list.resizeColumnToContents(column)
        self._show_delivery()

    def rows(self) -> list[tuple[str, str, str]]:
        return [tuple(self.list.topLevelItem(i).text(c) for c in range(3)) for i in range(self.list.topLevelItemCount())]

    def selected(self) -> Delivery | None:
        item = self.list.currentItem()
        if item is None:
            return None
        wanted = item.data(0, Qt.ItemDataRole.UserRole)
        return next((d for d in self._deliveries if d.id == wanted), None)

    def _show_delivery(self) -> None:
        d = self.selected()
        self._update_buttons()
        if d is None:
            self.summary.setText("Select a delivery to see its headers and body." if self._deliveries
                                 else "No deliveries yet.")
            self.headers.clear()
            self.body.clear()
            self._show_errors([])
            return
        self.summary.setText(f"#{d.id} · {d.status} · {d.reason or d.verdict} · {d.body_size} bytes")
        self.headers.setPlainText("\n".join(f"{k}: {v}" for k, v in d.headers.items()))
        self._show_errors(d.errors)

    def _show_errors(self, errors: list[str]) -> None:
        """The body as pretty JSON (literal text), each error's line highlighted and listed with its path."""
        d = self.selected()
        self.errors.clear()
        self.errors.setVisible(bool(errors))
        if d is None:
            return
        from connhub.core.webhooks import parse_json

        payload = parse_json(d.body)
        text, where = pretty(payload) if payload is not None else (d.body.decode("utf-8", "replace"), {})
        self.body.setPlainText(text)
        marks = []
        for error in errors:
            parts, _message = split_error(error)
            line = line_of(parts, where) if parts is not None else None
            self.errors.addItem(error if line is None else f"line {line + 1}  {error}")
            if line is not None:
                mark = QTextEdit.ExtraSelection()
                mark.format.setBackground(QColor("#fde2e1"))
                mark.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
                mark.cursor = QTextCursor(self.body.document().findBlockByNumber(line))
                marks.append(mark)
        self.body.setExtraSelections(marks)
        rows = max(1, min(self.errors.count(), 6))  # as tall as its errors: no empty box under two of them
        self.errors.setFixedHeight(self.errors.sizeHintForRow(0) * rows + 2 * self.errors.frameWidth() + 2
                                   if self.errors.count() else 0)

    def highlighted_lines(self) -> list[int]:
        return sorted(m.cursor.blockNumber() for m in self.body.extraSelections())

    # --- replay, re-send, test events -------------------------------------------------------------------

    async def replay(self) -> list[str] | None:
        record, d = self._record, self.selected()
        if record is None or d is None:
            return None
        service = self._service
        problems = await background(lambda: service().revalidate(record, d))
        self._show_errors(problems)
        self._set_message(f"Replayed #{d.id}: valid against the event's schema." if not problems else
                          f"Replayed #{d.id}: {len(problems)} problem(s) against the event's schema.",
                          not problems)
        return problems

    async def ask_resend(self) -> int | None:
        dialog = QInputDialog(self)
        dialog.setObjectName("resendUrl")
        dialog.setWindowTitle("Re-send to URL")
        dialog.setLabelText("Send the stored body, signed afresh, to:")
        dialog.setTextValue(self.url.text() or "http://127.0.0.1:8787/")
        if await dialog_result(dialog) != QInputDialog.DialogCode.Accepted:
            return None
        return await self.resend(dialog.textValue().strip())

    async def resend(self, url: str) -> int | None:
        record, d = self._record, self.selected()
        if record is None or d is None or not url:
            return None
        import httpx

        from connhub.services.credentials import NotReady

        try:
            service = await background(self._service)
            secret = await service.signing_secret(record)
            status = await service.resend(d, url, secret, record.type)
        except (httpx.HTTPError, NotReady, ValueError) as exc:
            self._set_message(f"Not sent to {url}: {type(exc).__name__} {exc}".strip(), False)
            return None
        self._set_message(f"Re-sent #{d.id} to {url}: HTTP {status}", 200 <= status < 300)
        self.refresh()
        return status

    async def send_test(self) -> int | None:
        record, event = self._record, self.test_event.currentData()
        url = self.test_url.text().strip() or self.url.text()
        if record is None or not event:
            return None
        if not url:
            self._set_message("Not sent: press Listen, or type the URL to send the test event to.", False)
            return None
        import httpx

        from connhub.services.credentials import NotReady

        try:
            service = await background(self._service)
            secret = await service.signing_secret(record)
            if not secret:
                self._set_message("Not sent: this connection has no signing secret saved. Edit it and fill in its "
                                  "webhook secret.", False)
                return None
            status, _payload = await service.trigger(record.type, event, url, secret)
        except (httpx.HTTPError, NotReady, ValueError) as exc:
            self._set_message(f"Not sent to {url}: {type(exc).__name__} {exc}".strip(), False)
            return None
        self._set_message(f"Sent a test {event} to {url}: HTTP {status}", 200 <= status < 300)
        self.refresh()
        return status

    # --- helpers ----------------------------------------------------------------------------------------

    def _set_message(self, text: str, ok: bool | None) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        self.message.setProperty("outcome", "neutral" if ok is None else ("ok" if ok else "failed"))
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        self.replay_button.setEnabled(chosen)
        self.resend_button.setEnabled(chosen)
        self.copy_button.setEnabled(bool(self.url.text()))
        self.port.setEnabled(self._receiver is None)

    def texts(self) -> list[str]:
        """Every text the tab shows (for the secret canary test)."""
        out = [w.text() for w in self.findChildren(QLabel) + self.findChildren(QPushButton)
               + self.findChildren(QLineEdit)]
        out += [w.toPlainText() for w in self.findChildren(QPlainTextEdit)]
        out += [self.errors.item(i).text() for i in range(self.errors.count())]
        out += [" ".join(row) for row in self.rows()]
        return out
