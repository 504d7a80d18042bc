"""Test all (or the selected rows) from the window: bounded concurrency, a progress bar with Cancel, each row's
live state, and a one-line summary at the end.

The tests themselves are `services.batch.test_many` (the CLI's `--all` shares its behaviour); this module is only
what the window shows of them. "Test all" means the rows the list shows — the filter and the sidebar's type
apply — because what you see is what you asked for: filter on "prod", press Ctrl+Shift+T, and only those are
tested. With no filter that is every connection of the workspace.

Rows are never reset: a row's badge says "queued", then "testing…", then its new saved status, each through a
`dataChanged` of that row. Results are re-read from the database in batches (one worker call for whatever has
finished since the last one), so the row shows exactly what was recorded (the consecutive-failure count is
counted by the database) without one executor round-trip per row. Cancel stops every pending test at once;
finished results stay recorded, and rows that did not finish show their previous status again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from connhub.core.records import InstanceRecord
from connhub.gui.instances.models import Roles
from connhub.gui.ops import background, load_integration, spawn

if TYPE_CHECKING:  # imported when a run starts: the first paint needs neither
    import asyncio

log = logging.getLogger("connhub.gui")

FRAME = 0.1  # s: the rows and the progress bar catch up at most ten times a second
AGE_REFRESH_MS = 60_000  # badges say "3 min ago": repaint once a minute so that stays true
# Up to this many rows the tests run in the window's process: a child process takes ~0.5 s to start, longer than
# they take, and the window keeps up (64 here: worst event-loop stall 9-16 ms). Beyond, they run in a child
# (services/probe_worker.py): 500 here stalled the window 15-51 ms in process, 12-20 ms with the child.
IN_PROCESS_UP_TO = 64


@dataclass(frozen=True)
class RunSummary:
    total: int
    ok: int
    failing: int
    seconds: float
    cancelled: bool = False
    error: str | None = None  # the run stopped on an unexpected error (its type only)

    @property
    def tested(self) -> int:
        return self.ok + self.failing

    def text(self) -> str:
        """"500 tested: 480 ok, 20 failing — 3.2 s"; a cancelled run says how far it got."""
        counts = f"{self.ok} ok, {self.failing} failing"
        took = f"{self.seconds:.1f} s"
        if self.error:
            return f"Test all stopped after {self.tested} of {self.total} ({counts}): {self.error} — {took}"
        if self.cancelled:
            return f"Cancelled: {self.tested} of {self.total} tested ({counts}) — {took}"
        return f"{self.total} tested: {counts} — {took}"


class ProbeAllProgress(QWidget):
    """"Testing 37/500…" and a Cancel button, in the status bar while a run lasts."""

    cancel_requested = Signal()

    def __init__(self, parent=None):
        from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton  # made for the first run only

        super().__init__(parent)
        self.setObjectName("testAllProgress")
        self.bar = QProgressBar()
        self.bar.setFormat("Testing %v/%m…")
        self.bar.setAccessibleName("Test all progress")
        self.bar.setMinimumWidth(220)
        self.cancel = QPushButton("Cancel")
        self.cancel.setAccessibleName("Cancel test all")
        self.cancel.setToolTip("Stop the tests still running or waiting (Esc); finished results are kept")
        self.cancel.clicked.connect(self.cancel_requested)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel)
        self.hide()

    def start(self, total: int) -> None:
        self.bar.setRange(0, total)
        self.bar.setValue(0)
        self.show()

    def set_done(self, done: int) -> None:
        self.bar.setValue(done)

    def text(self) -> str:
        return self.bar.text()


class ProbeAllController(QObject):
    """Owns the Test all / Test selected / Cancel actions, the progress strip, the run, and the badges' age
    refresh. The window asks `running` to disable what conflicts with a run (Test, Edit, Duplicate, Delete)."""

    started = Signal(int)  # how many will be tested
    progressed = Signal(int, int)  # done, total
    finished = Signal(object)  # RunSummary

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.model = window.model
        self._task: asyncio.Task | None = None
        self._run = 0  # which run the callbacks belong to: a cancelled run's stragglers must not touch the rows
        self._starting: list[str] = []  # tests that began since the last frame
        self._pending: list[str] = []  # finished tests whose rows wait for their recorded state
        self._done = 0  # finished tests of the current run, for the progress bar
        self._flusher: asyncio.Task | None = None
        self.last_summary: RunSummary | None = None
        self.skipped: list[str] = []  # names left out of the last run: they ask for their secrets every time

        self.all_action = self._action("Test all", "Ctrl+Shift+T", self.test_all,
                                       "Test every connection the list shows (the filter applies)")
        self.selected_action = self._action("Test selected", None, self.test_selection,
                                            "Test the selected connections together")
        self.cancel_action = self._action("Cancel tests", "Esc", self.cancel, "Stop Test all")
        self.cancel_action.setEnabled(False)  # Esc belongs to nobody else until a run starts

        window.list_view.selectionModel().selectionChanged.connect(lambda *_: self.update_actions())

        self._progress: ProbeAllProgress | None = None

        self.age_timer = QTimer(self)
        self.age_timer.setInterval(AGE_REFRESH_MS)
        self.age_timer.timeout.connect(self.refresh_ages)
        self.age_timer.start()

    @property
    def progress(self) -> ProbeAllProgress:
        """The status bar's strip, made for the first run (the first paint does without it)."""
        if self._progress is None:
            self._progress = ProbeAllProgress()
            self._progress.cancel_requested.connect(self.cancel)
            self.window.statusBar().insertPermanentWidget(0, self._progress)
        return self._progress

    def _action(self, text: str, shortcut: str | None, slot, tip: str) -> QAction:
        act = QAction(text, self.window)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            tip = f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})"
        act.setToolTip(tip)
        act.triggered.connect(slot)
        self.window.addAction(act)
        return act

    # --- what to test ---------------------------------------------------------------------------------------

    def visible_records(self) -> list[InstanceRecord]:
        """The rows the list shows, top to bottom (filter and sidebar type applied)."""
        proxy = self.window.proxy
        return [proxy.index(row, 0).data(Roles.RECORD) for row in range(proxy.rowCount())]

    def selected_records(self) -> list[InstanceRecord]:
        """The selected rows, top to bottom (one today; several once the list allows it)."""
        selection = self.window.list_view.selectionModel()
        indexes = sorted(selection.selectedRows(), key=lambda index: index.row()) if selection else []
        return [index.data(Roles.RECORD) for index in indexes]

    # --- state ------------------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def update_actions(self) -> None:
        busy = self.running or self.window._testing()
        self.all_action.setEnabled(not busy and self.window.model.rowCount() > 0)  # nothing to test: off
        self.selected_action.setEnabled(not busy and bool(self.window.list_view.selectionModel().selectedRows()))
        self.cancel_action.setEnabled(self.running)

    def refresh_ages(self) -> None:
        """Repaint the rows (their badges compute "N min ago" when painted) and the detail's status line. No
        model reset, no database read."""
        self.window.list_view.viewport().update()
        if (record := self.window.selected()) is not None:
            self.window.detail.show_record(record)

    # --- the run ----------------------------------------------------------------------------------------------

    def test_all(self) -> asyncio.Task | None:
        return self.start(self.visible_records(), "Nothing to test: the list shows no connection")

    def test_selection(self) -> asyncio.Task | None:
        return self.start(self.selected_records(), "Nothing to test: no connection is selected")

    def start(self, records: list[InstanceRecord], nothing: str = "Nothing to test") -> asyncio.Task | None:
        if self.running or self.window._testing():
            return None
        # "Ask every time" connections whose secrets this session does not know yet are left out: a batch
        # asks no questions (test one alone to be asked), and a failure for a missing password would mislead.
        asking = [r for r in records if self.window.hub.secrets.needed(r)]
        records = [r for r in records if r not in asking]
        if not records:
            self.window.statusBar().showMessage(
                f"Nothing to test: {len(asking)} connection(s) ask for their secrets every time; test one to be "
                "asked" if asking else nothing, 6000)
            return None
        self.skipped = [r.name for r in asking]
        self._task = spawn(self.run(records))
        self._set_busy(True)
        return self._task

    def cancel(self) -> None:
        """Stop every test still running or waiting, at once; the task unwinds and reports the summary."""
        if self.running:
            self._task.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.window.detail.set_testing(busy)
        self.window._update_actions()
        self.update_actions()

    async def run(self, records: list[InstanceRecord]) -> RunSummary:
        """Test `records` (at most the Hub's `concurrency` at once) and show it all; returns the summary."""
        import asyncio
        import contextlib

        from connhub.services.probe_worker import ProbeWorker

        self._run += 1
        run = self._run
        records = list(records)
        total = len(records)
        ids = [r.id for r in records]
        inflight: set[str] = set()
        counts = {"ok": 0, "failing": 0}
        start = time.monotonic()
        cancelled, error = False, None
        self._done = 0
        self.model.set_live(ids, "queued")
        self.progress.start(total)
        self.window.statusBar().clearMessage()
        self.started.emit(total)

        def on_start(record: InstanceRecord) -> None:
            if run == self._run:
                inflight.add(record.id)
                self._starting.append(record.id)
                self._kick()

        def on_result(record: InstanceRecord, result) -> None:
            if run != self._run:
                return
            inflight.discard(record.id)
            counts["ok" if result.ok else "failing"] += 1
            done = counts["ok"] + counts["failing"]
            self._done = done
            self._refresh([record.id])
            self.progressed.emit(done, total)

        try:
            concurrency = await background(lambda: self.window.hub.settings.concurrency)
            for type_name in dict.fromkeys(r.type for r in records):  # drivers imported off the GUI thread
                if type_name in self.window.hub.registry:
                    await load_integration(self.window.hub.types.entry(type_name))
            async with contextlib.AsyncExitStack() as stack:
                # Many tests run in a child process, their drivers' work off this process's GIL and event loop;
                # a few run here, sooner than a child could start.
                runner = None if total <= IN_PROCESS_UP_TO else (await stack.enter_async_context(ProbeWorker())).run
                await self.window.hub.prober.test_many(records, concurrency=concurrency, on_start=on_start,
                                                   on_result=on_result, runner=runner)
        except asyncio.CancelledError:
            cancelled = True
        except Exception as exc:  # noqa: BLE001 - e.g. an instance deleted by the CLI meanwhile: say so, keep going
            error = type(exc).__name__
            log.error("Test all stopped: %s", error)
        finally:
            self._run += 1  # stragglers of this run are ignored from here on
            # A test cut while its result was being written may still have been recorded: read those rows again.
            self._refresh(sorted(inflight))
            try:
                if self._flusher is not None:
                    await asyncio.shield(self._flusher)
            except asyncio.CancelledError:
                pass  # the window is closing: the rows do not matter any more
            except Exception as exc:  # noqa: BLE001 - the database could not be read: the rows stay as they were
                log.error("Test all could not show its results: %s", type(exc).__name__)
            self.model.set_live(ids, None)  # whatever did not finish shows its saved status again
            self.progress.hide()
            self._task = None
            self._set_busy(False)
        summary = RunSummary(total, counts["ok"], counts["failing"], time.monotonic() - start, cancelled, error)
        self.last_summary = summary
        skipped = f" ({len(self.skipped)} skipped: they ask for their secrets every time)" if self.skipped else ""
        self.window.statusBar().showMessage(summary.text() + skipped)
        self.window._current_changed()  # the selected row's details and history, as recorded
        self.finished.emit(summary)
        return summary

    def _refresh(self, ids: list[str]) -> None:
        """Show these rows as recorded: one worker call reads every row that finished since the last read."""
        if ids:
            self._pending.extend(ids)
            self._kick()

    def _kick(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = spawn(self._flush())

    async def _flush(self) -> None:
        """Bring the rows and the bar up to date at most once a `FRAME`. QListView repaints its whole viewport
        for every dataChanged, even of one row, and a progress bar repaints at once on each value: per result,
        500 fast tests took 3x as long as the tests themselves. Per frame, the cost is bounded whatever the rate."""
        import asyncio

        while self._pending or self._starting:
            await asyncio.sleep(FRAME)
            starting, self._starting = self._starting, []
            if starting:
                self.model.set_live(starting, "testing")
            ids, self._pending = self._pending, []
            self.progress.set_done(self._done)
            if not ids:
                continue
            # One query for every row finished since the last frame; one deleted meanwhile (by the CLI, say) is
            # simply not there, and its row only stops saying "testing".
            records = await background(self.window.hub.instances.by_ids, ids)
            self.model.set_live(ids, None)
            shown = self.window.selected()
            for record in records.values():
                self.model.upsert(record)
                if shown is not None and shown.id == record.id:
                    self.window.detail.show_record(record)  # the row being looked at: its details too
                    spawn(self.window._load_history(record.id))
