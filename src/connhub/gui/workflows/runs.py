"""A run as it goes (one row per step, updated as each step finishes) and the run history of one workflow
(newest first; a selected run's steps with their masked params, result preview and error). Everything shown
came from a workflow's text or a server's answer: plain text only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from connhub.core.actions import MASK
from connhub.core.manifest import is_secret_param

if TYPE_CHECKING:
    from connhub.core.workflow import StepRun, Workflow, WorkflowRun

#: An outcome's colour: green done, red failed, amber stopped short, grey not run.
OUTCOME_COLOURS = {"ok": "#15803d", "failed": "#d93025", "cancelled": "#b45309", "interrupted": "#b45309",
                   "missed": "#b45309", "skipped": "#6b7280", "pending": "#6b7280", "running": "#2563eb"}
OUTCOME_WORDS = {"ok": "✔ ok", "failed": "✖ failed", "cancelled": "cancelled", "interrupted": "interrupted",
                 "missed": "missed", "skipped": "skipped", "pending": "waiting", "running": "running…"}


def when(moment: Any) -> str:
    """An aware time in the user's own zone, to the second."""
    if not isinstance(moment, datetime):
        return ""
    return f"{moment.astimezone():%Y-%m-%d %H:%M:%S}"


def short_when(moment: Any, now: datetime | None = None) -> str:
    """For the list: "today 16:13", "tomorrow 00:00", else the date and the minute."""
    if not isinstance(moment, datetime):
        return ""
    local = moment.astimezone()
    today = (now or datetime.now(local.tzinfo)).astimezone().date()
    day = {0: "today", 1: "tomorrow", -1: "yesterday"}.get((local.date() - today).days, f"{local:%Y-%m-%d}")
    return f"{day} {local:%H:%M}"


def duration(ms: float | None) -> str:
    if ms is None:
        return ""
    return f"{ms:.0f} ms" if ms < 1000 else f"{ms / 1000:.1f} s"


def plain(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def plain_tip(text: str) -> str:
    """A tooltip of untrusted text: Qt guesses rich text in tooltips too, so it is escaped into markup that
    draws it as written."""
    import html

    return "<qt>" + html.escape(text).replace("\n", "<br>") + "</qt>"


def _paint(item: QTreeWidgetItem, column: int, outcome: str) -> None:
    item.setText(column, OUTCOME_WORDS.get(outcome, outcome))
    item.setForeground(column, QBrush(QColor(OUTCOME_COLOURS.get(outcome, "#6b7280"))))
    item.setData(column, Qt.ItemDataRole.UserRole, outcome)


class RunView(QWidget):
    """Run / Cancel, what the run is doing, and a row per step: outcome, duration, message."""

    run_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("workflowRun")
        self.run_button = QPushButton("&Run")
        self.run_button.setObjectName("runWorkflow")
        self.run_button.setToolTip("Run the selected workflow now (it asks for its inputs, if it has any)")
        self.run_button.clicked.connect(self._clicked)
        self.status = plain("Select a saved workflow, then Run.")
        self.status.setObjectName("runStatus")
        self.status.setWordWrap(True)
        self.steps = QTreeWidget()
        self.steps.setObjectName("runSteps")
        self.steps.setHeaderLabels(["Step", "Connection", "Action", "Outcome", "Duration", "Result or error"])
        self.steps.setRootIsDecorated(False)
        self.steps.setUniformRowHeights(True)
        header = self.steps.header()
        for column in range(5):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        top = QHBoxLayout()
        top.addWidget(self.run_button)
        top.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.steps, 1)
        self.running = False

    def _clicked(self) -> None:
        (self.cancel_requested if self.running else self.run_requested).emit()

    def set_running(self, running: bool) -> None:
        self.running = running
        self.run_button.setText("Ca&ncel" if running else "&Run")
        self.run_button.setToolTip("Stop the run: the step in flight is cancelled, the rest skipped" if running
                                   else "Run the selected workflow now (it asks for its inputs, if it has any)")

    def begin(self, name: str, workflow: Workflow) -> None:
        self.steps.clear()
        for step in workflow.steps:
            item = QTreeWidgetItem([step.id, step.instance, step.action, "", "", ""])
            _paint(item, 3, "pending")
            self.steps.addTopLevelItem(item)
        self.status.setText(f"Running {name}…")

    def row(self, step_id: str) -> QTreeWidgetItem | None:
        return next((self.steps.topLevelItem(i) for i in range(self.steps.topLevelItemCount())
                     if self.steps.topLevelItem(i).text(0) == step_id), None)

    def update_step(self, step: StepRun) -> None:
        item = self.row(step.id)
        if item is None:
            return
        _paint(item, 3, step.outcome)
        item.setText(4, duration(step.duration_ms) if step.outcome in ("ok", "failed") else "")
        message = f"{step.error_class}: {step.message}" if step.error_class else step.message
        if step.outcome == "ok" and step.preview:  # what it gave, as the run log keeps it (masked, capped)
            message = "→ " + " ".join(step.preview.split())
        item.setText(5, message[:200])
        item.setToolTip(5, plain_tip(message[:2000]))

    def show_run(self, run: WorkflowRun, name: str = "") -> None:
        """The run as it ended (cancel marks the remaining steps without telling the progress callback)."""
        for step in run.steps:
            self.update_step(step)
        words = {"ok": "Finished: every step ok or skipped", "failed": "Failed", "cancelled": "Cancelled"}
        text = words.get(run.status, run.status.capitalize())
        if name:
            text = f"{name}: {text[0].lower()}{text[1:]}"
        if run.duration_ms is not None:
            text += f" in {duration(run.duration_ms)}"
        if run.message and run.status != "ok":
            text += f" — {run.message}"
        self.status.setText(text)
        self.status.setProperty("outcome", run.status)


class HistoryView(QWidget):
    """The selected workflow's runs, newest first; the selected run's steps in detail; Re-run."""

    rerun_requested = Signal(object)  # the WorkflowRun to run again

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("workflowHistory")
        self.runs = QTreeWidget()
        self.runs.setObjectName("workflowRuns")
        self.runs.setHeaderLabels(["Status", "Trigger", "Started", "Duration"])
        self.runs.setRootIsDecorated(False)
        self.runs.setUniformRowHeights(True)
        for column in range(3):
            self.runs.header().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.runs.currentItemChanged.connect(lambda *_: self._show_current())
        self.detail = QPlainTextEdit()
        self.detail.setObjectName("runDetail")
        self.detail.setReadOnly(True)
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail.setPlaceholderText("Select a run to see each step: its params (secrets masked), result and error.")
        self.rerun_button = QPushButton("Re-r&un")
        self.rerun_button.setObjectName("rerunWorkflow")
        self.rerun_button.setToolTip("Run the workflow again with this run's inputs")
        self.rerun_button.setEnabled(False)
        self.rerun_button.clicked.connect(lambda: self.current() and self.rerun_requested.emit(self.current()))
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.runs)
        split.addWidget(self.detail)
        split.setSizes([200, 300])
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.rerun_button)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addLayout(bottom)
        self._runs: list[WorkflowRun] = []

    def show_runs(self, runs: list[WorkflowRun]) -> None:
        keep = self.current().id if self.current() is not None else None
        self._runs = list(runs)
        self.runs.clear()
        for run in self._runs:
            item = QTreeWidgetItem(["", run.trigger, when(run.started_at), duration(run.duration_ms)])
            _paint(item, 0, run.status)
            item.setData(1, Qt.ItemDataRole.UserRole, run.id)
            self.runs.addTopLevelItem(item)
        row = next((i for i, r in enumerate(self._runs) if r.id == keep), 0 if self._runs else None)
        if row is not None:
            self.runs.setCurrentItem(self.runs.topLevelItem(row))
        self._show_current()

    def current(self) -> WorkflowRun | None:
        row = self.runs.indexOfTopLevelItem(self.runs.currentItem()) if self.runs.currentItem() else -1
        return self._runs[row] if 0 <= row < len(self._runs) else None

    def _show_current(self) -> None:
        run = self.current()
        self.rerun_button.setEnabled(run is not None)
        self.detail.setPlainText(describe(run) if run is not None else "")


def describe(run: WorkflowRun) -> str:
    """A run in words, step by step (what `connhub workflow log` prints)."""
    lines = [f"Run {run.id}: {run.status} ({run.trigger}), started {when(run.started_at)}"
             + (f", took {duration(run.duration_ms)}" if run.duration_ms is not None else "")]
    if run.scheduled_for is not None:
        lines.append(f"scheduled for {when(run.scheduled_for)}")
    if run.inputs:
        lines.append("inputs: " + json.dumps(run.inputs, ensure_ascii=False, default=str))
    if run.message:
        lines.append(run.message)
    for n, step in enumerate(run.steps, 1):
        lines.append("")
        head = f"{n}. {step.id} — {step.instance} · {step.action} — {step.outcome}"
        if step.duration_ms:
            head += f" ({duration(step.duration_ms)})"
        if step.attempts > 1:
            head += f", {step.attempts} attempts"
        lines.append(head)
        if step.params:
            lines.append("   params: " + json.dumps(step.params, ensure_ascii=False, default=str))
        if step.error_class or (step.outcome == "failed" and step.message):
            lines.append(f"   error: {step.error_class or 'unknown'}: {step.message}")
        elif step.message:
            lines.append(f"   {step.message}")
        if step.preview:
            lines.append("   result: " + step.preview.replace("\n", "\n           ")
                         + (" … (cut short)" if step.truncated else ""))
    return "\n".join(lines)


class InputsDialog(QDialog):
    """One field per declared input (a secret one hidden as it is typed), prefilled from the defaults or from
    the run being repeated; `values()` reads them as `connhub workflow run --input` does."""

    def __init__(self, workflow: Workflow, given: dict[str, Any] | None = None, parent=None):
        super().__init__(parent)
        self.setObjectName("workflowInputs")
        self.setWindowTitle(f"Run {workflow.name}")
        self.workflow = workflow
        props = (workflow.inputs.get("properties") or {})
        required = set(workflow.inputs.get("required") or [])
        form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        for key, prop in props.items():
            prop = prop if isinstance(prop, dict) else {}
            edit = QLineEdit()
            edit.setAccessibleName(key)
            if is_secret_param(prop):
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            value = (given or {}).get(key, prop.get("default"))
            if value is not None and value != MASK:
                edit.setText(value if isinstance(value, str) else json.dumps(value))
            if prop.get("description"):
                edit.setToolTip(str(prop["description"]))
            self.edits[key] = edit
            form.addRow(plain(key + (" *" if key in required else "")), edit)
        self.error = plain("")
        self.error.setObjectName("inputsError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d93025;")
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def values(self) -> dict[str, Any]:
        from connhub.core.workflow import parse_input

        return {k: parse_input(self.workflow, k, e.text()) for k, e in self.edits.items() if e.text() != ""}
