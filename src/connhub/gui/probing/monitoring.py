"""Health monitoring in the window: the per-connection control, and the controller that runs the Monitor on
the qasync loop, updates list rows live, keeps the tray's menu current and sends notifications.

The Monitor task runs only while some connection has monitoring on (it ends by itself when none has, and
starts again when one is turned on), so a window with nothing to watch has no background task.

Scheduled workflows run while the window does: a QTimer (not a forever task, so nothing stays pending between
ticks) asks `Workflows.run_schedules()` every `SCHEDULE_TICK` seconds, one tick at a time; closing stops it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QCheckBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from connhub.core.records import InstanceRecord
from connhub.gui.instances.models import InstanceListModel
from connhub.gui.ops import background, spawn
from connhub.gui.shell.tray import Tray, keep_in_tray
from connhub.services.monitor import MAX_INTERVAL_MIN, MIN_INTERVAL_MIN, Monitor, StatusChange

if TYPE_CHECKING:  # the window's first paint imports neither SQLAlchemy nor pydantic
    from connhub.services.hub import Hub

log = logging.getLogger("connhub.gui")


class MonitoringBox(QWidget):
    """"Monitor every [15] min": a checkbox and an interval; `changed(enabled, minutes)` when the user edits."""

    changed = Signal(bool, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("monitoringBox")
        self.enabled = QCheckBox("Monitor every")
        self.enabled.setAccessibleName("Monitor this connection")
        self.enabled.setToolTip("Test this connection in the background and tell me when its status changes")
        self.interval = QSpinBox()
        self.interval.setRange(MIN_INTERVAL_MIN, MAX_INTERVAL_MIN)
        self.interval.setSuffix(" min")
        self.interval.setAccessibleName("Monitoring interval in minutes")
        self.interval.setKeyboardTracking(False)  # one change when the user is done typing, not per digit
        self.next_run = QLabel()
        self.next_run.setObjectName("monitoringNextRun")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.enabled)
        layout.addWidget(self.interval)
        layout.addWidget(self.next_run, 1)
        self.enabled.toggled.connect(self._edited)
        self.interval.valueChanged.connect(self._edited)
        self.record_id: str | None = None

    def show_record(self, record: InstanceRecord | None) -> None:
        """Show the record's settings without it counting as an edit."""
        self.record_id = record.id if record else None
        if record is None:
            return
        for widget in (self.enabled, self.interval):
            widget.blockSignals(True)
        self.enabled.setChecked(record.monitor_enabled)
        self.interval.setValue(record.monitor_interval_min)
        for widget in (self.enabled, self.interval):
            widget.blockSignals(False)
        self.interval.setEnabled(record.monitor_enabled)
        at = record.monitor_next_run_at
        self.next_run.setText("" if not record.monitor_enabled else
                              f"next run {at.astimezone():%H:%M}" if at else "next run: now")

    def _edited(self, *_args) -> None:
        self.interval.setEnabled(self.enabled.isChecked())
        if self.record_id is not None:
            self.changed.emit(self.enabled.isChecked(), self.interval.value())


class MonitoringController(QObject):
    """Owns the Monitor for the window; `record_changed(record)` when a monitored row changed. Also ticks the
    workflow schedules (`scheduled_runs(runs)` after a tick that started or noted any)."""

    record_changed = Signal(object)
    scheduled_runs = Signal(list)
    #: Seconds between looks at the workflow schedules: half the grace a slot has (services/workflows.py GRACE).
    SCHEDULE_TICK = 30.0

    def __init__(self, hub: Hub, model: InstanceListModel, tray: Tray | None = None, monitor: Monitor | None = None,
                 parent=None):
        super().__init__(parent)
        self.hub = hub
        self.model = model
        self.tray = tray or Tray(self)
        self.monitor = monitor or Monitor(hub.instances, hub.prober)
        self.monitor.subscribe(self._on_change)
        self._task: asyncio.Task | None = None
        self.changes: list[StatusChange] = []  # the session's changes, newest last
        self.quitting = False
        self._failing: dict[str, tuple[str, str | None]] = {}  # what the tray menu lists: id -> (name, error)
        self.schedules = QTimer(self)
        self.schedules.setInterval(int(self.SCHEDULE_TICK * 1000))
        self.schedules.timeout.connect(self._schedule_tick)
        self._tick: asyncio.Task | None = None
        model.modelReset.connect(self.refresh)
        model.dataChanged.connect(self._rows_changed)
        model.rowsInserted.connect(lambda *_args: self._update_tray())
        model.rowsRemoved.connect(lambda *_args: self._update_tray())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def refresh(self) -> None:
        """The list was (re)loaded: update the tray, and run the monitor if anything is watched."""
        self._update_tray()
        if any(r.monitor_enabled for r in self.model.records()):
            self.start()

    def start(self) -> None:
        if self.running:
            self.monitor.wake()
        else:
            self._task = spawn(self.monitor.run_forever(stop_when_idle=True))

    def stop(self) -> None:
        """The window closes: the monitor, the schedule timer and a scheduled run in flight end."""
        if self.running:
            self._task.cancel()
        self._task = None
        self.schedules.stop()
        if self._tick is not None and not self._tick.done():
            self._tick.cancel()

    def start_schedules(self, every: float | None = None) -> None:
        """Look at the workflow schedules every `every` seconds (SCHEDULE_TICK) from now on."""
        if every is not None:
            self.schedules.setInterval(max(1, int(every * 1000)))
        self.schedules.start()

    def _schedule_tick(self) -> None:
        if self._tick is None or self._tick.done():  # a long scheduled run delays the next look, never doubles it
            self._tick = spawn(self.tick_schedules())

    async def tick_schedules(self) -> list:
        """One look: run what is due (services/workflows.py run_schedules); a failure is logged, never raised
        into the window (the next tick tries again)."""
        try:
            workflows = await background(lambda: self.hub.workflows)  # built off the loop on first use
            runs = await workflows.run_schedules()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a store or service failure must not stop the schedules
            log.warning("workflow schedules not run this tick: %s", type(exc).__name__)
            return []
        if runs:
            self.scheduled_runs.emit(runs)
        return runs

    async def set_monitoring(self, instance_id: str, enabled: bool, interval_min: int) -> InstanceRecord:
        record = await background(self.hub.instances.set_monitoring, instance_id, enabled, interval_min)
        self.model.upsert(record)
        self.record_changed.emit(record)
        if enabled:
            self.start()
        else:
            self.monitor.wake()
        return record

    def _on_change(self, change: StatusChange) -> None:
        """On the loop's (GUI) thread: the row repaints at once, the tray and the detail pane follow."""
        self.changes.append(change)
        self.model.upsert(change.instance)
        self.record_changed.emit(change.instance)
        self.tray.notify(change)

    def _update_tray(self) -> None:
        """The list was loaded, grew or shrank: what the tray lists, from every row."""
        records = self.model.records()
        self._show_failing(records, {r.id: (r.name, r.last_error_class) for r in records if r.status == "failing"})

    def _rows_changed(self, top_left, bottom_right, *_roles) -> None:
        """Rebuild the tray menu only when what it lists changed, looking only at the rows that changed: a Test
        all of 500 changes every row twice, and a whole-list pass per change was a quadratic cost."""
        records = self.model.records()
        failing = dict(self._failing)
        for record in records[top_left.row():bottom_right.row() + 1]:
            if record.status == "failing":
                failing[record.id] = (record.name, record.last_error_class)
            else:
                failing.pop(record.id, None)
        if failing != self._failing:
            self._show_failing(records, failing)

    def _show_failing(self, records: list[InstanceRecord], failing: dict[str, tuple[str, str | None]]) -> None:
        self._failing = failing
        self.tray.set_failing([r for r in records if r.id in failing])

    def hide_instead_of_close(self) -> bool:
        """Closing the window with "keep running in the tray" on (and a tray to live in): hide it instead."""
        return self.tray.available and not self.quitting and keep_in_tray()


def install(window) -> MonitoringController:
    """Wire monitoring into the main window: the control in the detail pane, the controller and the tray."""
    box = MonitoringBox()
    window.detail.add_fact("Monitoring", box)
    controller = MonitoringController(window.hub, window.model, parent=window)

    def edited(enabled: bool, minutes: int) -> None:
        if box.record_id is not None:
            spawn(controller.set_monitoring(box.record_id, enabled, minutes))

    def changed(record: InstanceRecord) -> None:
        current = window.selected()
        if current is not None and current.id == record.id:
            window.detail.show_record(record)

    def show() -> None:
        window.showNormal()
        window.raise_()
        window.activateWindow()

    def select(instance_id: str) -> None:
        show()
        window.select(instance_id)

    def quit_app() -> None:
        controller.quitting = True  # Quit means quit, not "hide in the tray"
        window.close()
        QApplication.quit()

    box.changed.connect(edited)
    controller.record_changed.connect(changed)
    controller.tray.show_requested.connect(show)
    controller.tray.select_requested.connect(select)
    controller.tray.quit_requested.connect(quit_app)
    controller.box = box
    controller.refresh()
    controller.start_schedules()
    return controller

