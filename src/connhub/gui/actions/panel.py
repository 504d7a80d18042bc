"""The Actions tab: the instance type's actions (an icon for their effect), the chosen one's description and
params form, Run (off the event loop, cancellable: Run becomes Cancel, a busy bar and the elapsed time), its
result (a table when it is rows, JSON otherwise; Copy, Save as JSON / CSV) and the run log of the instance
below it (select a run to see its params and preview; Re-run it with the same params).

The panel is given a callable that returns the actions service (services/actions.py), never the Hub. Every
service call runs off the GUI thread (`gui.ops.background`, or `Actions.run`, which does its own blocking work
on the executor); a `write` action is confirmed once per instance for the session, a `destructive` one every
time, and on a production instance by typing its name.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from connhub.core.actions import MASK, InvalidParams, check_params, param_errors, param_specs, parse_param_text
from connhub.core.errors import HINTS, TITLES, ErrorClass
from connhub.gui.actions.confirm import confirm_typed_name, confirm_yes, forget
from connhub.gui.actions.result_view import ResultView, as_csv, as_json, rows_of, write_private
from connhub.gui.editor.form import CredentialForm
from connhub.gui.icons import _svg_icon
from connhub.gui.ops import background, dialog_result, spawn

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

    from connhub.core.manifest import ActionSpec
    from connhub.core.records import ActionRun, InstanceRecord
    from connhub.services.actions import Actions

STATUS_STYLE = ('QLabel#actionStatus[outcome="ok"] { color: #15803d; font-weight: 600; }'
                'QLabel#actionStatus[outcome="failed"] { color: #d93025; font-weight: 600; }')
EFFECTS = {"read": "Reads only", "write": "Changes data", "destructive": "Deletes data"}
_EFFECT_SVG = {
    # an eye, a pencil, a bin: blue, amber, red
    "read": '<path d="M2 12s3.6-6.5 10-6.5S22 12 22 12s-3.6 6.5-10 6.5S2 12 2 12z" fill="#2563eb"/>'
            '<circle cx="12" cy="12" r="3.2" fill="#fff"/>',
    "write": '<path d="M4 20l1-5L15.5 4.5a2.1 2.1 0 0 1 3 0l1 1a2.1 2.1 0 0 1 0 3L9 19z" fill="#d97706"/>'
             '<path d="M4 20l4.5-1L5 15.5z" fill="#92400e"/>',
    "destructive": '<path d="M8 3h8l1 2h4v2H3V5h4z" fill="#d93025"/><path d="M5 8h14l-1.2 13H6.2z" '
                   'fill="#d93025"/><path d="M10 11v7M14 11v7" stroke="#fff" stroke-width="1.6"/>',
}


@cache
def effect_icon(effect: str) -> QIcon:
    body = _EFFECT_SVG.get(effect, _EFFECT_SVG["write"])
    return _svg_icon(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">{body}</svg>')


class ParamsForm(CredentialForm):
    """The credential form builder over an action's params; values as the action runs them (JSON-typed text
    parsed), and every message worded by core/actions.py, as `connhub run` words it."""

    action: ActionSpec | None = None

    @classmethod
    def for_action(cls, action: ActionSpec) -> ParamsForm:
        form = cls(param_specs(action), action.params)
        form.setObjectName("paramsForm")
        form.action = action
        return form

    def params(self) -> dict[str, Any]:
        """The typed values; raises InvalidParams for text that cannot be what its param wants."""
        out, errors = {}, {}
        for key, value in self.values().items():
            if isinstance(value, str):
                try:
                    value = parse_param_text(self.action, key, value)
                except InvalidParams as exc:
                    errors.update(exc.errors)
                    continue
            out[key] = value
        if errors:
            raise InvalidParams(errors)
        return out

    def set_params(self, params: dict[str, Any]) -> None:
        self.set_values({k: v if isinstance(v, str | int | float | bool) or v is None else json.dumps(v)
                         for k, v in params.items()})

    def _errors(self) -> dict[str, str]:
        if self.action is None:
            return {}
        try:
            return param_errors(self.action, self.params())
        except InvalidParams as exc:
            return exc.errors


class ActionsPanel(QWidget):
    """One per window. `show_record(record)` shows an instance's actions; the same instance again keeps the
    form, the result and a run in flight."""

    ran = Signal(object)  # the ActionRun shown (ok or failed); None when nothing ran (refused, cancelled)
    history_loaded = Signal()

    def __init__(self, actions: Callable[[], Actions], parent=None):
        super().__init__(parent)
        self.setObjectName("actionsPanel")
        self._service = actions
        self._record: InstanceRecord | None = None
        self._actions: list[ActionSpec] = []
        self._sources: dict[str, str] = {}  # action name → the plugin that added it
        self._action: ActionSpec | None = None
        self._forms: dict[str, ParamsForm] = {}
        self._runs: list[ActionRun] = []
        self._task: asyncio.Task | None = None
        self._load: asyncio.Task | None = None
        self._write_ok: set[str] = set()  # instances whose write actions were confirmed this session
        self.shown_run: ActionRun | None = None

        self.list = QListWidget()
        self.list.setObjectName("actionList")
        self.list.setAccessibleName("Actions")
        self.list.setMaximumWidth(180)
        self.list.currentRowChanged.connect(self._action_changed)

        self.title = QLabel()
        self.title.setObjectName("actionTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setStyleSheet("font-weight: 600")
        self.description = QLabel()
        self.description.setObjectName("actionDescription")
        self.description.setTextFormat(Qt.TextFormat.PlainText)
        self.description.setWordWrap(True)
        self.form_stack = QStackedWidget()  # one params form per action, kept: values survive a switch
        self.form_area = QScrollArea()  # the title, description and form scroll together in a short pane
        self.form_area.setWidgetResizable(True)
        self.form_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.run_button = QPushButton("&Run")
        self.run_button.setObjectName("runAction")
        self.run_button.setToolTip("Run this action (Ctrl+Enter)")
        self.run_button.setShortcut("Ctrl+Return")
        self.run_button.clicked.connect(self.run_clicked)
        self.busy = QProgressBar()
        self.busy.setObjectName("actionBusy")
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setMaximumSize(90, 10)
        self.busy.hide()
        self.elapsed = QLabel()
        self.elapsed.setObjectName("actionElapsed")
        self.status = QLabel()
        self.status.setObjectName("actionStatus")
        self.status.setStyleSheet(STATUS_STYLE)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._clock = QElapsedTimer()
        self._ticker = QTimer(self)
        self._ticker.setInterval(100)
        self._ticker.timeout.connect(self._tick)

        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.busy)
        run_row.addWidget(self.elapsed)
        run_row.addWidget(self.status, 1)
        chosen = QWidget()
        chosen_layout = QVBoxLayout(chosen)
        chosen_layout.setContentsMargins(0, 0, 0, 0)
        content = QWidget()
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 6, 0)
        content_layout.addWidget(self.title)
        content_layout.addWidget(self.description)
        content_layout.addWidget(self.form_stack)
        content_layout.addStretch(1)
        self.form_area.setWidget(content)
        chosen_layout.addWidget(self.form_area, 1)
        chosen_layout.addLayout(run_row)
        top = QWidget()
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.list)
        top_layout.addWidget(chosen, 1)

        self.result_view = ResultView()
        self.copy_button = QPushButton("&Copy")
        self.copy_button.setToolTip("Copy the result (JSON, or CSV when it is rows)")
        self.copy_button.clicked.connect(self.copy)
        self.save_button = QPushButton("&Save as…")
        self.save_button.setToolTip("Save the result as JSON or CSV")
        self.save_button.clicked.connect(lambda: spawn(self.save_as()))
        self.result_label = QLabel("Result")
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        result_bar = QHBoxLayout()
        result_bar.addWidget(self.result_label, 1)
        result_bar.addWidget(self.copy_button)
        result_bar.addWidget(self.save_button)
        result_box = QWidget()
        result_layout = QVBoxLayout(result_box)
        result_layout.setContentsMargins(0, 0, 0, 0)
        result_layout.addLayout(result_bar)
        result_layout.addWidget(self.result_view, 1)

        self.history = QListWidget()
        self.history.setObjectName("actionHistory")
        self.history.setAccessibleName("Run history")
        self.history.currentRowChanged.connect(self._history_changed)
        self.history_detail = QLabel()
        self.history_detail.setObjectName("actionHistoryDetail")
        self.history_detail.setTextFormat(Qt.TextFormat.PlainText)
        self.history_detail.setWordWrap(True)
        self.history_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.rerun_button = QPushButton("R&e-run")
        self.rerun_button.setToolTip("Run the selected run's action again with the same params")
        self.rerun_button.clicked.connect(lambda: spawn(self.rerun()))
        history_bar = QHBoxLayout()
        history_bar.addWidget(QLabel("Run history"), 1)
        history_bar.addWidget(self.rerun_button)
        history_box = QWidget()
        history_layout = QVBoxLayout(history_box)
        history_layout.setContentsMargins(0, 0, 0, 0)
        history_layout.addLayout(history_bar)
        history_layout.addWidget(self.history, 1)
        history_layout.addWidget(self.history_detail)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setChildrenCollapsible(False)
        for widget, stretch in ((top, 4), (result_box, 3), (history_box, 1)):
            self.splitter.addWidget(widget)
            self.splitter.setStretchFactor(self.splitter.indexOf(widget), stretch)
        row = self.history.fontMetrics().height() + 6
        self.history.setMinimumHeight(row * 2)
        self.history.setMaximumHeight(row * 6)  # the log is a footnote to the result: it scrolls
        self.empty = QLabel()
        self.empty.setObjectName("actionsEmpty")
        self.empty.setTextFormat(Qt.TextFormat.PlainText)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.empty)
        layout.addWidget(self.splitter, 1)
        self._update_buttons()

    # --- showing an instance ------------------------------------------------------------------------------

    @property
    def form(self) -> ParamsForm | None:
        return self._forms.get(self._action.name) if self._action is not None else None

    def show_record(self, record: InstanceRecord) -> None:
        same = self._record is not None and self._record.id == record.id and self._record.type == record.type
        self._record = record  # an edit (new name, environment) counts from now
        if same:
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()  # its result would belong to the connection shown before
        for form in self._forms.values():
            self.form_stack.removeWidget(form)
            form.deleteLater()
        self._forms.clear()
        self.list.clear()
        self._actions, self._action, self._runs = [], None, []
        self.history.clear()
        self.history_detail.clear()
        self.result_view.show_text("")
        self.result_label.setText("Result")
        self._set_status("", None)
        self._load = spawn(self._load_record(record))

    async def _load_record(self, record: InstanceRecord) -> None:
        service = self._service
        try:
            actions, sources = await background(lambda: (service().of_type(record.type),
                                                          service().contributed(record.type)))
        except Exception as exc:  # noqa: BLE001 - a disabled or missing type: say so in the tab
            actions, sources = [], {}
            note = f"The actions of {record.type} are not available: {exc}"
        else:
            note = "" if actions else "This type has no actions."
        if self._record is None or self._record.id != record.id:
            return
        self._actions, self._sources = actions, sources
        self.empty.setText(note)
        self.empty.setVisible(bool(note))
        self.splitter.setVisible(not note)
        for action in actions:
            item = QListWidgetItem(effect_icon(action.effect), action.title or action.name)
            item.setData(Qt.ItemDataRole.UserRole, action.name)
            source = f" — from {sources[action.name]}" if action.name in sources else ""
            item.setToolTip(f"{action.name} — {EFFECTS.get(action.effect, action.effect)}{source}")
            self.list.addItem(item)
        if actions:
            self.list.setCurrentRow(0)
        await self.refresh_history()

    def select_action(self, name: str) -> ParamsForm:
        for row, action in enumerate(self._actions):
            if action.name == name:
                self.list.setCurrentRow(row)
                return self.form
        raise KeyError(name)

    def _action_changed(self, row: int) -> None:
        if not 0 <= row < len(self._actions):
            return
        action = self._action = self._actions[row]
        self.title.setText(f"{action.title or action.name}  ·  {EFFECTS.get(action.effect, action.effect)}")
        source = self._sources.get(action.name)  # a plugin's action on this type says whose it is
        self.description.setText("\n\n".join(filter(None, [action.description, source and f"From {source}."])))
        self.description.setVisible(bool(action.description or source))
        form = self._forms.get(action.name)
        if form is None:
            form = self._forms[action.name] = ParamsForm.for_action(action)
            self.form_stack.addWidget(form)
        self.form_stack.setCurrentWidget(form)
        self._update_buttons()

    # --- running ------------------------------------------------------------------------------------------

    def is_busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def run_clicked(self) -> None:
        if self.is_busy():
            self.cancel()
        elif self._action is not None:
            self._task = spawn(self.run())

    def cancel(self) -> None:
        if self.is_busy():
            self._task.cancel()

    async def run(self, params: dict[str, Any] | None = None) -> ActionRun | None:
        """Run the chosen action with the form's params (or `params`); None when it did not run."""
        record, action, form = self._record, self._action, self.form
        if record is None or action is None or form is None:
            return None
        try:
            params = form.params() if params is None else params
            check_params(action, params)  # nothing is sent, or logged, on bad params
        except InvalidParams as exc:
            form.show_errors(exc.errors)
            self._set_status("Not run: correct the params marked in red.", False)
            self.ran.emit(None)
            return None
        form.show_errors({})
        if not await self._confirm(record, action):
            self._set_status("Not run.", None)
            self.ran.emit(None)
            return None
        self._set_busy(True)
        service = self._service
        try:
            actions = await background(service)
            done = await actions.run(record, action.name, params, trigger="window")
        except asyncio.CancelledError:
            self._set_status("Cancelled. What the server did with the request before that is not known.", None)
            self.ran.emit(None)
            return None
        except InvalidParams as exc:
            form.show_errors(exc.errors)
            self._set_status("Not run: correct the params marked in red.", False)
            self.ran.emit(None)
            return None
        except Exception as exc:  # noqa: BLE001 - an unknown action, a type gone: worded, the tab stays usable
            self._set_status(f"Not run: {exc}", False)
            self.ran.emit(None)
            return None
        finally:
            self._set_busy(False)
        self._show_run(done, fresh=True)
        self.ran.emit(done)
        if self._record is not None and self._record.id == record.id:
            await self.refresh_history()
        return done

    async def _confirm(self, record: InstanceRecord, action: ActionSpec) -> bool:
        title = action.title or action.name
        if action.effect == "destructive":
            text = (f"Run “{title}” on “{record.name}”?\n\n{action.description or 'It deletes data.'}\n\n"
                    "This cannot be undone.")
            if record.environment == "prod":
                return await confirm_typed_name(self, f"Run {title} on production", text, record.name, "Run")
            return await confirm_yes(self, "confirmDestructive", f"Run {title}", text)
        if action.effect == "write" and record.id not in self._write_ok:
            text = (f"Run “{title}” on “{record.name}”?\n\nIt changes data on the server. connhub asks once per "
                    "connection until it is restarted.")
            if not await confirm_yes(self, "confirmWrite", f"Run {title}", text):
                return False
            self._write_ok.add(record.id)
        return True

    def _set_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.run_button.setText("Ca&ncel" if busy else "&Run")
        self.run_button.setToolTip("Stop waiting for this run" if busy else "Run this action (Ctrl+Enter)")
        self.run_button.setShortcut("" if busy else "Ctrl+Return")
        self.list.setEnabled(not busy)
        self.rerun_button.setEnabled(not busy and self.history.currentRow() >= 0)
        self.elapsed.setVisible(busy)
        if busy:
            self._clock.start()
            self._tick()
            self._ticker.start()
            self._set_status("Running…", None)
        else:
            self._ticker.stop()

    def _tick(self) -> None:
        self.elapsed.setText(f"{self._clock.elapsed() / 1000:.1f} s")

    def _show_run(self, run: ActionRun, fresh: bool) -> None:
        self.shown_run = run
        when = f"{run.started_at.astimezone():%H:%M:%S}"
        if run.ok:
            table = rows_of(run.result) if fresh else None
            size = f", {len(table[1])} row{'s' if len(table[1]) != 1 else ''}" if table else ""
            cut = " (cut at Max rows)" if fresh and isinstance(run.result, dict) and run.result.get("truncated") \
                else ""
            self._set_status(f"✔ Done in {run.duration_ms:.0f} ms{size}{cut}", True)
            if fresh:
                self.result_view.show_result(run.result)
                self.result_label.setText(f"Result of {run.action} at {when}")
        else:
            cls = ErrorClass(run.error_class) if run.error_class in ErrorClass._value2member_map_ \
                else ErrorClass.UNKNOWN
            self._set_status(f"✖ {TITLES[cls]} ({run.duration_ms:.0f} ms)", False)
            if fresh:
                self.result_view.show_text("\n\n".join(p for p in (run.message, HINTS[cls]) if p))
                self.result_label.setText(f"{run.action} failed at {when}")
        self._update_buttons()

    def _set_status(self, text: str, ok: bool | None) -> None:
        self.status.setText(text)
        self.status.setProperty("outcome", "neutral" if ok is None else ("ok" if ok else "failed"))
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)

    def _update_buttons(self) -> None:
        has = self.result_view.result is not None
        self.copy_button.setEnabled(has)
        self.save_button.setEnabled(has)
        self.run_button.setEnabled(self._action is not None)
        self.rerun_button.setEnabled(not self.is_busy() and self.history.currentRow() >= 0)

    # --- the result ---------------------------------------------------------------------------------------

    def result_text(self, fmt: str | None = None) -> str:
        result = self.result_view.result
        fmt = fmt or ("csv" if rows_of(result) is not None else "json")
        return as_csv(result) if fmt == "csv" else as_json(result) + "\n"

    def copy(self) -> None:
        if self.result_view.result is not None:
            QGuiApplication.clipboard().setText(self.result_text())

    def save_to(self, path: str, fmt: str) -> None:
        """Write the shown result (JSON or CSV) all or nothing, readable by the user alone."""
        write_private(path, self.result_text(fmt))

    async def save_as(self) -> str | None:
        if self.result_view.result is None:
            return None
        filters = ["JSON (*.json)"] + (["CSV (*.csv)"] if rows_of(self.result_view.result) is not None else [])
        dialog = QFileDialog(self, "Save the result")
        dialog.setObjectName("saveResult")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(filters)
        if len(filters) > 1:
            dialog.selectNameFilter(filters[1])
        dialog.selectFile(f"{self.shown_run.action if self.shown_run else 'result'}")
        try:
            if await dialog_result(dialog) != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
                return None
            path = dialog.selectedFiles()[0]
            fmt = "csv" if dialog.selectedNameFilter().startswith("CSV") else "json"
        finally:
            forget(dialog)
        if not path.lower().endswith(f".{fmt}"):
            path += f".{fmt}"
        result = self.result_view.result
        text = as_csv(result) if fmt == "csv" else as_json(result) + "\n"
        try:
            await background(lambda: write_private(path, text))
        except OSError as exc:
            self._set_status(f"Not saved: {exc.strerror or exc}", False)
            return None
        self._set_status(f"Saved as {path}", True)
        return path

    # --- the run history ----------------------------------------------------------------------------------

    async def refresh_history(self) -> None:
        record = self._record
        if record is None:
            return
        service = self._service
        try:
            runs = await background(lambda: service().history(record.id, 50))
        except Exception:  # noqa: BLE001 - the log unreadable: the tab still runs actions
            runs = []
        if self._record is None or self._record.id != record.id:
            return
        self._runs = runs
        self.history.blockSignals(True)
        self.history.clear()
        for run in runs:
            mark = "✔" if run.ok else "✖"
            item = QListWidgetItem(f"{mark}  {run.started_at.astimezone():%Y-%m-%d %H:%M:%S}  ·  {run.action}  ·  "
                                   f"{run.duration_ms:.0f} ms  ·  {run.trigger}")
            self.history.addItem(item)
        self.history.blockSignals(False)
        self.history_detail.clear()
        self._update_buttons()
        self.history_loaded.emit()

    def _history_changed(self, row: int) -> None:
        self._update_buttons()
        if not 0 <= row < len(self._runs):
            self.history_detail.clear()
            return
        run = self._runs[row]
        params = json.dumps(run.params, ensure_ascii=False, default=str)
        if run.ok:
            size = f"{run.result_size:,} bytes" + (", preview cut" if run.truncated else "")
            self.history_detail.setText(f"Params: {params}\nResult: {size}")
            shown: Any = run.preview
            if not run.truncated:
                try:
                    shown = json.loads(run.preview)
                except ValueError:
                    pass
            if isinstance(shown, str):
                self.result_view.show_text(shown)
            else:
                self.result_view.show_result(shown)
        else:
            self.history_detail.setText(f"Params: {params}\n{run.error_class}: {run.message}")
            self.result_view.show_text(run.message)
        self.result_label.setText(f"{run.action} at {run.started_at.astimezone():%Y-%m-%d %H:%M:%S} (from the log)")
        self._update_buttons()

    def selected_run(self) -> ActionRun | None:
        row = self.history.currentRow()
        return self._runs[row] if 0 <= row < len(self._runs) else None

    async def rerun(self) -> ActionRun | None:
        """The selected run's action again, its params in the form; a secret param (masked in the log) must
        be typed again."""
        run = self.selected_run()
        if run is None or self.is_busy():
            return None
        try:
            form = self.select_action(run.action)
        except KeyError:
            self._set_status(f"Not run: this type no longer has the action {run.action}.", False)
            return None
        form.set_params(run.params)
        masked = {k: "Type it again: secrets are not kept in the log" for k, v in run.params.items() if v == MASK}
        if masked:
            form.set_params({k: v for k, v in run.params.items() if k not in masked})
            form.show_errors(masked)
            self._set_status("Not run: type the secret params again.", False)
            return None
        self._task = spawn(self.run())
        return await self._task

    def texts(self) -> list[str]:
        """Every text the panel shows (for the secret canary test)."""
        from PySide6.QtWidgets import QLineEdit, QPlainTextEdit

        out = [w.text() for w in self.findChildren(QLabel) + self.findChildren(QPushButton)]
        out += [w.text() for w in self.findChildren(QLineEdit)]
        out += [w.toPlainText() for w in self.findChildren(QPlainTextEdit)]
        for view in (self.list, self.history):
            out += [view.item(i).text() for i in range(view.count())]
            out += [view.item(i).toolTip() for i in range(view.count())]
        view = self.result_view
        out += [view.cell(r, c) or "" for r in range(view.row_count()) for c in range(len(view.columns()))]
        out += view.columns()
        for form in self._forms.values():
            out += [w.text() for w in form.findChildren(QLabel)]
        return out
