"""The Workflows window (File → Workflows…, Ctrl+Shift+W): the saved workflows on the left (steps, last run,
next scheduled run, broken ones with the reason), and for the selected one its YAML (Check, Save), its steps,
a run in progress and its run history.

Every read and write of the catalog runs off the event loop (`gui.ops.background`); a run runs on the loop
itself (`Workflows.run`, which does its own blocking work on the executor), its steps' rows updated from the
service's progress callback. A refused save keeps the text as typed and lists each problem at its path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFontDatabase, QGuiApplication, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from connhub.core.records import InstanceNotFound, NameTaken
from connhub.core.workflow import WorkflowError, parse_schedule
from connhub.gui.ops import background, dialog_result, show_error, spawn
from connhub.gui.workflows import text as wftext
from connhub.gui.workflows.runs import (
    OUTCOME_COLOURS,
    HistoryView,
    InputsDialog,
    RunView,
    plain,
    plain_tip,
    short_when,
)

if TYPE_CHECKING:
    from connhub.core.workflow import StepRun, WorkflowRun
    from connhub.services.hub import Hub
    from connhub.services.workflows import WorkflowInfo, Workflows

log = logging.getLogger("connhub.gui")

TEMPLATE = """name: new-workflow
description: What it does, in a sentence
# inputs: {type: object, properties: {who: {type: string}}}
# schedule: {every: 15m}
on_failure: stop
steps:
  - id: first
    instance: NAME-OF-A-CONNECTION
    action: ACTION
    params: {}
"""


def _not_found() -> tuple[type[BaseException], ...]:
    from connhub.services.workflows import WorkflowNotFound

    return (WorkflowNotFound, InstanceNotFound)


class DefinitionEditor(QWidget):
    """The YAML (or JSON) as written, Check and Save, and the problems found, each at its path."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.text = QPlainTextEdit()
        self.text.setObjectName("workflowText")
        self.text.setAccessibleName("Workflow definition (YAML or JSON)")
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setTabChangesFocus(False)
        self.text.setTabStopDistance(self.text.fontMetrics().horizontalAdvance(" ") * 2)
        self.check_button = QPushButton("&Check")
        self.check_button.setToolTip("Check the text against the saved connections and their actions")
        self.save_button = QPushButton("&Save")
        self.save_button.setObjectName("saveWorkflow")
        self.save_button.setToolTip("Save the workflow the text defines (refused while it has problems)")
        self.status = plain("")
        self.status.setObjectName("editorStatus")
        self.status.setWordWrap(True)
        self.errors = QListWidget()
        self.errors.setObjectName("workflowErrors")
        self.errors.setAccessibleName("Problems")
        self.errors.setWordWrap(True)
        self.errors.itemActivated.connect(self._go_to)
        self.errors.itemClicked.connect(self._go_to)
        self.errors.hide()
        buttons = QHBoxLayout()
        buttons.addWidget(self.check_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.status, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.text)
        split.addWidget(self.errors)
        split.setSizes([420, 120])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

    def set_text(self, text: str) -> None:
        self.text.setPlainText(text)
        self.text.document().setModified(False)
        self.show_errors({})
        self.status.setText("")

    def show_errors(self, errors: dict[str, str]) -> None:
        self.errors.clear()
        for path, message in errors.items():
            item = QListWidgetItem(f"{path}: {message}" if path else message)
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setForeground(QBrush(QColor(OUTCOME_COLOURS["failed"])))
            item.setToolTip("Click to go to it in the text")
            self.errors.addItem(item)
        self.errors.setVisible(bool(errors))

    def error_texts(self) -> list[str]:
        return [self.errors.item(i).text() for i in range(self.errors.count())]

    def _go_to(self, item: QListWidgetItem) -> None:
        self.go_to(item.data(Qt.ItemDataRole.UserRole) or "")

    def go_to(self, path: str) -> None:
        """Put the cursor where the problem's path points (as near as the text allows)."""
        position = wftext.position_of(self.text.toPlainText(), path)
        if position is None:
            return
        cursor = self.text.textCursor()
        cursor.setPosition(min(position, len(self.text.toPlainText())))
        cursor.movePosition(QTextCursor.MoveOperation.EndOfWord, QTextCursor.MoveMode.KeepAnchor)
        self.text.setTextCursor(cursor)
        self.text.centerCursor()
        self.text.setFocus()


class StepsView(QWidget):
    """The steps the text names (id, connection, action), and pickers that append a new step to the text."""

    def __init__(self, editor: DefinitionEditor, parent=None):
        super().__init__(parent)
        self.editor = editor
        self.list = QTreeWidget()
        self.list.setObjectName("stepList")
        self.list.setHeaderLabels(["Step", "Connection", "Action"])
        self.list.setRootIsDecorated(False)
        self.step_id = QLineEdit()
        self.step_id.setAccessibleName("New step's id")
        self.step_id.setPlaceholderText("e.g. count")
        self.instance = QComboBox()
        self.instance.setAccessibleName("Connection")
        self.action = QComboBox()
        self.action.setAccessibleName("Action")
        self.add_button = QPushButton("&Add step")
        self.add_button.setToolTip("Append the step to the text (its params are then yours to fill in)")
        self.add_button.clicked.connect(self.add_step)
        form = QFormLayout()
        form.addRow(plain("Id"), self.step_id)
        form.addRow(plain("Connection"), self.instance)
        form.addRow(plain("Action"), self.action)
        form.addRow(self.add_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addLayout(form)
        self._actions: dict[str, list[str]] = {}
        self.instance.currentIndexChanged.connect(lambda _i: self._fill_actions())
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.refresh)
        editor.text.textChanged.connect(self._debounce.start)

    def set_catalog(self, actions: dict[str, list[str]]) -> None:
        """{connection name: its action names}."""
        self._actions = actions
        current = self.instance.currentText()
        self.instance.clear()
        self.instance.addItems(sorted(actions, key=str.lower))
        if current in actions:
            self.instance.setCurrentText(current)
        self._fill_actions()

    def _fill_actions(self) -> None:
        self.action.clear()
        self.action.addItems(self._actions.get(self.instance.currentText(), []))

    def refresh(self) -> None:
        self.list.clear()
        for step in wftext.steps_of(self.editor.text.toPlainText()):
            self.list.addTopLevelItem(QTreeWidgetItem([step["id"], step["instance"], step["action"]]))

    def add_step(self) -> None:
        instance, action = self.instance.currentText(), self.action.currentText()
        if not instance or not action:
            return
        taken = {s["id"] for s in wftext.steps_of(self.editor.text.toPlainText())}
        step_id = self.step_id.text().strip() or action
        base, n = step_id, 2
        while step_id in taken:
            step_id, n = f"{base}_{n}", n + 1
        self.editor.text.setPlainText(wftext.with_step(self.editor.text.toPlainText(), step_id, instance, action))
        self.editor.text.document().setModified(True)
        self.step_id.clear()
        self.refresh()


class WorkflowsWindow(QWidget):
    """One per main window (`show_workflows`), given a callable returning the Hub (built after the first paint)."""

    def __init__(self, hub: Callable[[], Hub], parent=None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("workflowsWindow")
        self.setWindowTitle("Workflows")
        self.resize(1100, 700)
        self._hub = hub
        self._service: Workflows | None = None
        self.infos: dict[str, WorkflowInfo] = {}
        self.current: str | None = None  # the saved workflow shown (None: a new, unsaved text)
        self._run_task: asyncio.Task | None = None
        self._run: WorkflowRun | None = None
        self.last_run: WorkflowRun | None = None
        self._drafts: dict[str, str] = {}  # unsaved edits by workflow name ("" a new one): switching loses none
        # The window's work in flight, cancelled when it is deleted (with its main window): none then touches a
        # widget that is gone, and a run in flight is recorded as cancelled.
        self._tasks: set[asyncio.Future] = set()
        tasks = self._tasks
        self.destroyed.connect(lambda *_: [t.cancel() for t in list(tasks)])

        self.list = QTreeWidget()
        self.list.setObjectName("workflowList")
        self.list.setAccessibleName("Saved workflows")
        self.list.setHeaderLabels(["Workflow", "Steps", "Last run", "Next run", "Problem"])
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        for column in range(4):
            self.list.header().setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.list.currentItemChanged.connect(lambda item, _prev: self._selected(item))
        self.new_button = QPushButton("&New")
        self.duplicate_button = QPushButton("&Duplicate…")
        self.remove_button = QPushButton("Re&move…")
        self.import_button = QPushButton("&Import…")
        self.export_button = QPushButton("E&xport…")
        for button, tip, slot in (
                (self.new_button, "Start a new workflow from a template", self.new),
                (self.duplicate_button, "Save a copy of the selected workflow under a new name",
                 lambda: self.spawn(self.duplicate_clicked())),
                (self.remove_button, "Delete the selected workflow and its runs", lambda: self.spawn(self.remove_clicked())),
                (self.import_button, "Save the workflow a YAML or JSON file defines",
                 lambda: self.spawn(self.import_clicked())),
                (self.export_button, "Write the selected workflow to a file", lambda: self.spawn(self.export_clicked()))):
            button.setToolTip(tip)
            button.clicked.connect(slot)
        buttons = QHBoxLayout()
        for button in (self.new_button, self.duplicate_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (self.import_button, self.export_button):
            buttons.addWidget(button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list, 1)
        self.about = plain("")
        self.about.setObjectName("workflowAbout")
        self.about.setWordWrap(True)
        self.about.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        left_layout.addWidget(self.about)
        left_layout.addLayout(buttons)

        self.editor = DefinitionEditor()
        self.editor.check_button.clicked.connect(lambda: self.spawn(self.check()))
        self.editor.save_button.clicked.connect(lambda: self.spawn(self.save()))
        QShortcut(QKeySequence.StandardKey.Save, self.editor, lambda: self.spawn(self.save()))
        self.steps = StepsView(self.editor)
        self.run_view = RunView()
        self.run_view.run_requested.connect(lambda: self.spawn(self.run()))
        self.run_view.cancel_requested.connect(self.cancel)
        self.history = HistoryView()
        self.history.rerun_requested.connect(lambda run: self.spawn(self.run(inputs=run.inputs, again=True)))
        self.tabs = QTabWidget()
        self.tabs.addTab(self.editor, "&Definition")
        self.tabs.addTab(self.steps, "S&teps")
        self.tabs.addTab(self.run_view, "&Run")
        self.tabs.addTab(self.history, "&History")
        self.tabs.currentChanged.connect(self._tab_changed)

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.tabs)
        split.setSizes([560, 640])
        split.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self._update_buttons()

    def _error(self, title: str, text: str) -> None:
        """One box, its text drawn as written (it may hold a file's name or a server's words)."""
        show_error(self, title, text).setTextFormat(Qt.TextFormat.PlainText)

    def spawn(self, coro) -> asyncio.Task:
        return self._track(spawn(coro))

    def _track(self, task: asyncio.Future) -> asyncio.Future:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- reading -----------------------------------------------------------------------------------------

    async def service(self) -> Workflows:
        if self._service is None:
            self._service = await background(lambda: self._hub().workflows)  # built on first use: off the loop
        return self._service

    async def refresh(self, select: str | None = None) -> None:
        """Read the list (each workflow's last run too) off the loop and show it; keep or move the selection."""
        service = await self.service()

        def read() -> list[tuple[WorkflowInfo, WorkflowRun | None]]:
            return [(info, service.last_run(info.name)) for info in service.list()]

        try:
            rows = await background(read)
        except Exception as exc:  # noqa: BLE001 - a store failure is worded, never a frozen or empty window
            self._error("Workflows not read", str(exc) or type(exc).__name__)
            return
        keep = select or self.current
        self.infos = {info.name: info for info, _last in rows}
        self.list.blockSignals(True)
        self.list.clear()
        now = datetime.now(UTC)
        for info, last in rows:
            self.list.addTopLevelItem(self._item(info, last, now))
        self.list.blockSignals(False)
        item = self._find(keep) if keep else None
        if item is not None:
            self.list.blockSignals(True)
            self.list.setCurrentItem(item)
            self.list.blockSignals(False)
            self._selected(item)
        elif self.current is not None and self.current not in self.infos:
            self.current = None
            self.editor.set_text("")
            self.about.setText("")
        self._update_buttons()

    def _item(self, info: WorkflowInfo, last: WorkflowRun | None, now: datetime) -> QTreeWidgetItem:
        workflow = info.workflow
        steps = str(len(workflow.steps)) if workflow is not None else "?"
        last_text = f"{last.status}, {short_when(last.started_at, now)}" if last is not None else "never"
        next_text = ""
        if workflow is not None and workflow.schedule is not None:
            try:
                next_text = short_when(parse_schedule(workflow.schedule).next_after(now), now)
            except WorkflowError:
                next_text = "?"
            if info.broken:
                next_text = "not while broken"
        problem = ""
        if info.broken:
            path, message = next(iter(info.problems.items()))
            problem = f"broken: {path}: {message}"
            if len(info.problems) > 1:
                problem += f" (and {len(info.problems) - 1} more)"
        item = QTreeWidgetItem([info.name, steps, last_text, next_text, problem])
        item.setData(0, Qt.ItemDataRole.UserRole, info.name)
        if last is not None:
            item.setForeground(2, QBrush(QColor(OUTCOME_COLOURS.get(last.status, "#6b7280"))))
        if info.broken:
            item.setText(0, f"⚠ {info.name}")
            for column in (0, 4):
                item.setForeground(column, QBrush(QColor(OUTCOME_COLOURS["failed"])))
            item.setToolTip(4, plain_tip("\n".join(f"{p}: {m}" for p, m in info.problems.items())))
            item.setToolTip(0, "Broken: fix the text (Definition) or restore the connection it names")
        return item

    def _find(self, name: str | None) -> QTreeWidgetItem | None:
        return next((self.list.topLevelItem(i) for i in range(self.list.topLevelItemCount())
                     if self.list.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole) == name), None)

    def row_texts(self, name: str) -> list[str]:
        item = self._find(name)
        return [item.text(c) for c in range(self.list.columnCount())] if item is not None else []

    def _selected(self, item: QTreeWidgetItem | None) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        info = self.infos.get(name) if name else None
        if info is None:
            return
        self._describe(info)
        changed = name != self.current
        document = self.editor.text.document()
        if changed:
            self._stash()
        draft = self._drafts.pop(name, None) if changed else None
        if draft is not None:
            self.editor.set_text(draft)
            document.setModified(True)
        elif changed or (not document.isModified() and self.editor.text.toPlainText() != info.record.definition):
            self.editor.set_text(info.record.definition)
        self.current = name
        if changed or not document.isModified():
            self.editor.show_errors(info.problems)
        if info.problems:
            self.editor.status.setText("This workflow is broken: it cannot run until each problem below is fixed.")
        if draft is not None:
            self.editor.status.setText(f"Your unsaved changes to {name} are back: Save keeps them.")
        if changed and not self.run_view.running:
            self.run_view.steps.clear()
            self.run_view.status.setText(f"{name}: press Run to run it now.")
        self._update_buttons()
        self.spawn(self.load_history())

    def _stash(self) -> None:
        """Keep the shown text if it has unsaved edits, to come back when its workflow is selected again."""
        if self.editor.text.document().isModified() and self.editor.text.toPlainText().strip():
            self._drafts[self.current or ""] = self.editor.text.toPlainText()

    def _describe(self, info: WorkflowInfo) -> None:
        """Under the list: what the selected workflow is for, and why it is broken (each problem at its path)."""
        lines = [info.workflow.description] if info.workflow is not None and info.workflow.description else []
        if info.workflow is not None and info.workflow.schedule is not None:
            schedule = info.workflow.schedule
            if isinstance(schedule, dict):
                schedule = " ".join(f"{k} {v}" for k, v in schedule.items())
            lines.append(f"On a schedule ({schedule}, UTC): it runs while connhub is open.")
        if info.broken:
            lines.append("Broken — it cannot run until this is fixed:")
            lines += [f"  {path}: {message}" for path, message in info.problems.items()]
        self.about.setText("\n".join(lines))
        self.about.setStyleSheet(f"color: {OUTCOME_COLOURS['failed']};" if info.broken else "")

    def _tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.steps:
            self.steps.refresh()
            self.spawn(self.load_catalog())

    async def load_catalog(self) -> None:
        """The connections and their actions for the Steps tab's pickers (read off the loop)."""
        hub = self._hub()

        def read() -> dict[str, list[str]]:
            out = {}
            for record in hub.instances.list():
                try:
                    out[record.name] = [a.name for a in hub.actions.of_type(record.type)]
                except LookupError:
                    out[record.name] = []
            return out

        try:
            self.steps.set_catalog(await background(read))
        except Exception as exc:  # noqa: BLE001 - the pickers stay empty, the reason logged
            log.warning("connections not read for the Steps tab: %s", type(exc).__name__)

    async def load_history(self) -> None:
        name = self.current
        if name is None:
            return
        service = await self.service()
        try:
            runs = await background(service.runs, name)
        except _not_found():
            runs = []
        if name == self.current:
            self.history.show_runs(runs)

    def _update_buttons(self) -> None:
        saved = self.current is not None and self.current in self.infos
        for button in (self.duplicate_button, self.remove_button, self.export_button):
            button.setEnabled(saved)
        info = self.infos.get(self.current) if saved else None
        self.run_view.run_button.setEnabled(self.run_view.running or (info is not None and not info.broken))

    # --- editing -----------------------------------------------------------------------------------------

    def new(self) -> None:
        self.list.clearSelection()
        self.list.setCurrentItem(None)
        self._stash()
        self.current = None
        self.about.setText("")
        draft = self._drafts.pop("", None)
        self.editor.set_text(draft if draft is not None else TEMPLATE)
        self.editor.text.document().setModified(True)
        self.editor.status.setText("Your unsaved new workflow is back: Save keeps it." if draft is not None else
                                   "A new workflow: name it, name its steps, then Save.")
        self.history.show_runs([])
        self.tabs.setCurrentWidget(self.editor)
        self._update_buttons()
        self.editor.text.setFocus()

    async def check(self) -> dict[str, str]:
        """Check the text as it is (against today's connections); {} when it could run."""
        service = await self.service()
        try:
            workflow = await background(service.check_text, self.editor.text.toPlainText())
        except WorkflowError as exc:
            self.editor.show_errors(exc.errors)
            self.editor.status.setText(f"{len(exc.errors)} problem{'s' if len(exc.errors) > 1 else ''}: "
                                       "click one to go to it.")
            return exc.errors
        self.editor.show_errors({})
        self.editor.status.setText(f"No problems: {workflow.name} has {len(workflow.steps)} "
                                   f"step{'s' if len(workflow.steps) != 1 else ''}.")
        return {}

    async def save(self, text: str | None = None) -> WorkflowInfo | None:
        """Save the text (the editor's, or `text` put into it first); refused with every problem shown and the
        text left as typed."""
        if text is not None:
            self.editor.text.setPlainText(text)
            self.editor.text.document().setModified(True)  # not saved yet: kept if the save is refused
        service = await self.service()
        try:
            info = await background(service.save, self.editor.text.toPlainText())
        except WorkflowError as exc:
            self.editor.show_errors(exc.errors)
            self.editor.status.setText(f"Not saved: {len(exc.errors)} problem{'s' if len(exc.errors) > 1 else ''} "
                                       "(your text is kept). Click one to go to it.")
            self.tabs.setCurrentWidget(self.editor)
            return None
        except NameTaken as exc:
            self._error("Workflow not saved", str(exc))
            return None
        self.editor.text.document().setModified(False)
        self._drafts.pop(info.name, None)
        if self.current is None:
            self._drafts.pop("", None)
        self.current = info.name
        await self.refresh(select=info.name)
        self.editor.status.setText(f"Saved {info.name}.")
        return info

    async def duplicate_clicked(self) -> None:
        if self.current is None:
            return
        dialog = QInputDialog(self)
        dialog.setObjectName("duplicateWorkflow")
        dialog.setWindowTitle("Duplicate workflow")
        dialog.setLabelText("The copy's name:")
        dialog.setTextValue(f"{self.current}-copy")
        try:
            if await dialog_result(dialog) != QInputDialog.DialogCode.Accepted:
                return
            name = dialog.textValue().strip()
        finally:
            dialog.deleteLater()
        if name:
            await self.duplicate_as(name)

    async def duplicate_as(self, name: str) -> WorkflowInfo | None:
        """Save the shown text under another name (comments and layout kept); an existing name is refused."""
        if name in self.infos:
            self._error("Not duplicated", f"A workflow named {name!r} exists already: choose another name.")
            return None
        source = self.editor.text.toPlainText()
        text = wftext.renamed(source, name)
        if text is None:
            self.editor.show_errors({"name": "the text has no name to replace: fix it, then duplicate"})
            return None
        self.current = None
        return await self.save(text)

    async def remove_clicked(self) -> None:
        name = self.current
        if name is None:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Remove workflow",
                          f"Remove the workflow {name!r} and its run history?",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("confirmRemoveWorkflow")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        try:
            if await dialog_result(box) != QMessageBox.StandardButton.Yes:
                return
        finally:
            box.deleteLater()
        await self.remove(name)

    async def remove(self, name: str) -> bool:
        service = await self.service()
        try:
            await background(service.remove, name)
        except _not_found():
            pass  # gone already: the list below says so
        if self.current == name:
            self.current = None
            self.editor.set_text("")
            self.about.setText("")
            self.history.show_runs([])
        await self.refresh()
        return name not in self.infos

    async def import_clicked(self) -> None:
        path = await self._ask_path("Import a workflow", save=False)
        if path:
            await self.import_path(path)

    async def import_path(self, path: str) -> WorkflowInfo | None:
        """Save the workflow the file defines. Refused (invalid, or not for these connections): the file's text
        goes into the editor with the problems listed, so it can be fixed and saved."""
        service = await self.service()
        try:
            info = await background(service.import_file, path)
        except WorkflowError as exc:
            try:
                text = await background(Path(path).read_text, encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = None
            if text is not None:
                self._stash()
                self.list.setCurrentItem(None)
                self.current = None
                self.editor.set_text(text)
                self.editor.text.document().setModified(True)
            self.editor.show_errors(exc.errors)
            self.editor.status.setText(f"Not imported from {Path(path).name}: fix the problems, then Save.")
            self.tabs.setCurrentWidget(self.editor)
            return None
        except OSError as exc:
            self._error("Not imported", f"{Path(path).name}: {exc.strerror or exc}")
            return None
        await self.refresh(select=info.name)
        self.editor.status.setText(f"Imported {info.name} from {Path(path).name}.")
        return info

    async def export_clicked(self) -> None:
        if self.current is None:
            return
        path = await self._ask_path("Export the workflow", save=True, suggested=f"{self.current}.yaml")
        if path:
            await self.export_to(path)

    async def export_to(self, path: str, name: str | None = None) -> bool:
        """Write the workflow as saved (a .json path: as JSON, otherwise YAML)."""
        name = name or self.current
        if name is None:
            return False
        service = await self.service()
        fmt = "json" if path.lower().endswith(".json") else "yaml"
        try:
            text = await background(service.export, name, fmt)
            await background(Path(path).write_text, text, encoding="utf-8")
        except _not_found() as exc:
            self._error("Not exported", str(exc))
            return False
        except OSError as exc:
            self._error("Not exported", f"{Path(path).name}: {exc.strerror or exc}")
            return False
        self.editor.status.setText(f"Exported {name} to {Path(path).name}.")
        return True

    async def _ask_path(self, title: str, save: bool, suggested: str = "") -> str | None:
        dialog = QFileDialog(self, title)
        dialog.setObjectName("workflowFile")
        dialog.setNameFilters(["Workflows (*.yaml *.yml *.json)", "All files (*)"])
        if save:
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.selectFile(suggested)
        else:
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        try:
            if await dialog_result(dialog) != QFileDialog.DialogCode.Accepted or not dialog.selectedFiles():
                return None
            return dialog.selectedFiles()[0]
        finally:
            dialog.deleteLater()

    # --- running -----------------------------------------------------------------------------------------

    async def ask_inputs(self, info: WorkflowInfo, given: dict[str, Any] | None) -> dict[str, Any] | None:
        dialog = InputsDialog(info.workflow, given, self)
        try:
            if await dialog_result(dialog) != InputsDialog.DialogCode.Accepted:
                return None
            return dialog.values()
        finally:
            dialog.deleteLater()

    async def run(self, name: str | None = None, inputs: dict[str, Any] | None = None,
                  again: bool = False) -> WorkflowRun | None:
        """Run the workflow (the selected one) with live rows; None when it did not start or was cancelled.
        A workflow with inputs asks for them (prefilled from `inputs`) unless they are given outright."""
        name = name or self.current
        info = self.infos.get(name) if name else None
        if info is None or info.workflow is None or self.run_view.running:
            return None
        if info.broken:
            self.editor.show_errors(info.problems)
            self.tabs.setCurrentWidget(self.editor)
            return None
        declared = bool((info.workflow.inputs or {}).get("properties"))
        if declared and (again or inputs is None):
            inputs = await self.ask_inputs(info, inputs)
            if inputs is None:
                return None
        service = await self.service()
        self.tabs.setCurrentWidget(self.run_view)
        self.run_view.begin(name, info.workflow)
        self.run_view.set_running(True)
        self._update_buttons()
        self._run = None
        task = self._run_task = self._track(asyncio.ensure_future(
            service.run(name, inputs if declared else None, trigger="manual", on_step=self._on_step)))
        refused = ""
        try:
            run = await asyncio.shield(task)
        except asyncio.CancelledError:
            if not task.done():
                task.cancel()  # this coroutine was cancelled (the window closed): the run too
                raise
            run = self._run  # the cancelled run as the service left it: the rest skipped
        except WorkflowError as exc:
            refused, run = "Not run: " + "; ".join(f"{p}: {m}" for p, m in exc.errors.items()), None
        except _not_found() as exc:
            refused, run = f"Not run: {exc}", None
        finally:
            self._run_task = None
        if not shiboken6.isValid(self):  # the window went while it ran
            return run
        self.run_view.set_running(False)
        self._update_buttons()
        if refused:
            self.run_view.status.setText(refused)
        elif run is None:
            self.run_view.status.setText(f"{name}: cancelled before its first step.")
        if run is not None:
            self.run_view.show_run(run, name)
        self.last_run = run
        await self.refresh()
        await self.load_history()
        return run if run is not None and run.status != "cancelled" else None

    def _on_step(self, run: WorkflowRun, step: StepRun) -> None:
        """The service's progress callback, on the loop (the GUI thread): that step's row now."""
        self._run = run
        if shiboken6.isValid(self) and self.run_view.row(step.id) is not None:
            self.run_view.update_step(step)

    def cancel(self) -> None:
        if self._run_task is not None and not self._run_task.done():
            self.run_view.status.setText("Cancelling…")
            self._run_task.cancel()

    def running(self) -> bool:
        return self._run_task is not None and not self._run_task.done()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.cancel()  # a run goes with its window (recorded as cancelled, the rest skipped)
        super().closeEvent(event)


def show_workflows(main: QWidget) -> WorkflowsWindow:
    """The main window's Workflows window, made on first use, shown and raised."""
    window = main.findChild(WorkflowsWindow)
    if window is None:
        window = WorkflowsWindow(lambda: main.hub, main)
        monitoring = getattr(main, "monitoring", None)
        if monitoring is not None:  # a scheduled run shows in the list and the history as it lands
            monitoring.scheduled_runs.connect(lambda _runs: window.spawn(window.refresh()))
    window.show()
    if window.isVisible() and QGuiApplication.platformName() != "offscreen":  # offscreen cannot raise
        window.raise_()
        window.activateWindow()
    window.spawn(window.refresh())
    return window
