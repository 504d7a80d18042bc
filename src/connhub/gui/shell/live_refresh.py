"""Live refresh: the list follows the catalog as others change it (another window, the CLI, a team member).

The Hub's change feed (PostgreSQL LISTEN/NOTIFY, or SQLite's data_version polled each second) calls from its
own thread; a queued signal brings that to the GUI thread, where one reload at a time reads the list off the
loop and shows it only if it differs, keeping the selection, the current row and the scroll position. An edit
in progress is its dialog's own copy: a change to it elsewhere is reported when it is saved (EditConflict).
An open Workflows window reads its list again too (keeping its selection and the definition being edited).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from connhub.gui.ops import background, spawn

if TYPE_CHECKING:
    from connhub.gui.shell.main_window import MainWindow


class LiveRefresh(QObject):
    changed = Signal()  # emitted from the feed's thread; delivered queued, on the GUI thread

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self._w = window
        self._running = False
        self._again = False
        self.reloads = 0  # shown lists (tests and benchmarks/team.py count them)
        self.changed.connect(self._schedule)
        self._after_run = False  # a change came while Test all held the rows: read the list once it ends
        window.test_all.finished.connect(self._run_finished)
        self._feed = window.hub.changes
        self._feed.start(self.changed.emit)
        self.destroyed.connect(self._feed.stop)

    def stop(self) -> None:
        self._feed.stop()

    def _run_finished(self, *_summary) -> None:
        if self._after_run:
            self._after_run = False
            self._schedule()

    def _schedule(self) -> None:
        if self._w.test_all.running:  # its own results arrive row by row; a reload would reset the rows under it
            self._after_run = True
            return
        if self._running:
            self._again = True  # one more read after this one: notifications arrive in bursts
            return
        self._running = True
        spawn(self._reload())

    async def _reload(self) -> None:
        try:
            while True:
                self._again = False
                if (flows := _workflows_window(self._w)) is not None:  # workflows and their runs change too
                    flows.spawn(flows.refresh())
                try:
                    records = await background(self._w.hub.instances.list)
                except Exception:  # noqa: BLE001 - the catalog went away: the feed calls again when it is back
                    return
                if records != self._w.model.records():
                    show(self._w, records)
                    self.reloads += 1
                if not self._again:
                    return
        finally:
            self._running = False


def _workflows_window(w: MainWindow):
    """The open Workflows window, if any (its module is imported only once one was made)."""
    import sys

    module = sys.modules.get("connhub.gui.workflows.window")
    found = w.findChild(module.WorkflowsWindow) if module is not None else None
    return found if found is not None and found.isVisible() else None


def show(w: MainWindow, records) -> None:
    """New rows, the same selection, current row and scroll position (where they still exist)."""
    from PySide6.QtCore import QItemSelection, QItemSelectionModel

    current = w.selected()
    chosen = [r.id for r in w.selected_records()]
    bar = w.list_view.verticalScrollBar()
    scrolled = bar.value()
    w._show_records(records)
    selection = QItemSelection()
    for instance_id in chosen:
        row = w.model.row_of(instance_id)
        if row is not None and (index := w.proxy.mapFromSource(w.model.index(row))).isValid():
            selection.select(index, index)
    model = w.list_view.selectionModel()
    if current is not None and (row := w.model.row_of(current.id)) is not None:
        index = w.proxy.mapFromSource(w.model.index(row))
        model.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)
    model.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    bar.setValue(scrolled)


def install(w: MainWindow) -> LiveRefresh | None:
    """Start following the catalog once the window has its Hub; None when the feed cannot start."""
    try:
        return LiveRefresh(w)
    except Exception:  # noqa: BLE001 - no live refresh is no reason to fail the window: F5 still reloads
        import logging

        logging.getLogger("connhub").warning("live refresh is off: the change feed did not start")
        return None
