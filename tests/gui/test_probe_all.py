"""Test all / Test selected in the real window against real servers: the machine's Redis (through a local proxy
that counts how many connections are open at once), a closed port, and a silent server that accepts and never
answers. Progress, each row's live state, the concurrency bound, cancel, the summary, the Settings value, and
the badges' age refresh."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication

from connhub.gui.instances.models import Roles
from connhub.gui.settings.dialog import SettingsDialog
from connhub.gui.shell.main_window import MainWindow
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.gui.helpers import settle
from tests.support.servers import blackhole_server
from tests.support.services import free_port, require_service

REDIS = ("127.0.0.1", 6379)


# --- a proxy in front of the real Redis that counts open connections --------------------------------------


class CountingProxy:
    """Forwards TCP to a real server from its own thread and event loop, holding each new connection `hold`
    seconds first, so that tests overlap for certain; `peak` is the most connections open at one time."""

    def __init__(self, target: tuple[str, int], hold: float = 0.1):
        self.target, self.hold = target, hold
        self.open = self.peak = self.total = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0

    async def _pipe(self, reader, writer) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _client(self, reader, writer) -> None:
        # A client that closes one connection and opens the next can have both reach this loop in one wake-up,
        # the new one first: let the close be seen before counting, so `peak` is what the client had open.
        await asyncio.sleep(0.01)
        with self._lock:
            self.open += 1
            self.total += 1
            self.peak = max(self.peak, self.open)
        counted = True
        try:
            await asyncio.sleep(self.hold)
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            back = asyncio.ensure_future(self._pipe(upstream_reader, writer))
            await self._pipe(reader, upstream_writer)  # the client closed its end: over, as far as it knows
            with self._lock:
                self.open -= 1
            counted = False
            await back
        finally:
            if counted:
                with self._lock:
                    self.open -= 1
            writer.close()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()

    @contextmanager
    def running(self):
        thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        thread.start()
        assert self._ready.wait(5), "the proxy did not start"
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(5)


# --- helpers --------------------------------------------------------------------------------------------


def add(window: MainWindow, name: str, host: str, port: int):
    return window.hub.instances.create("redis", name, {"host": host, "port": port})


def row_index(window: MainWindow, instance_id: str):
    return window.model.index(window.model.row_of(instance_id))


class LiveLog(QObject):
    """Every change of a row's live state, as the model announces it: {id: ["queued", "testing", None]}."""

    def __init__(self, window: MainWindow):
        super().__init__()
        self.window = window
        self.states: dict[str, list] = {}
        self.resets = 0
        window.model.dataChanged.connect(self._changed)
        window.model.modelReset.connect(self._reset)

    def _reset(self) -> None:
        self.resets += 1

    def _changed(self, top, bottom, roles=()) -> None:
        for row in range(top.row(), bottom.row() + 1):
            index = self.window.model.index(row)
            seen = self.states.setdefault(index.data(Roles.ID), [])
            live = index.data(Roles.LIVE)
            if not seen or seen[-1] != live:
                seen.append(live)


def live_rows(window: MainWindow, state: str) -> list[str]:
    model = window.model
    return [model.index(r).data() for r in range(model.rowCount()) if model.index(r).data(Roles.LIVE) == state]


def activate(qtbot, window) -> None:
    window.windowHandle().requestActivate()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


# --- the tests --------------------------------------------------------------------------------------------


@pytest.fixture(params=["in process", "child process"])
def where(request, monkeypatch):
    """Both ways Test all runs its tests: in the window's process (a few rows), or in a child process (many; the
    threshold is lowered so that these tests' rows are many). Yields how many child processes were started."""
    from connhub.services.probe_worker import ProbeWorker

    if request.param == "child process":
        monkeypatch.setattr("connhub.gui.probing.probe_all.IN_PROCESS_UP_TO", 5)
    started = []
    enter = ProbeWorker.__aenter__

    async def counted(self):
        started.append(self)
        return await enter(self)

    monkeypatch.setattr(ProbeWorker, "__aenter__", counted)
    yield request.param, started


def test_test_all_30_rows_live_status_bounded_concurrency_and_summary(qtbot, qloop, make_window, where):
    require_service("Redis", *REDIS)
    window = make_window()
    window.hub.settings.set_concurrency(4)
    closed = free_port()
    with CountingProxy(REDIS).running() as proxy:
        good = [add(window, f"cache {i:02d}", "127.0.0.1", proxy.port) for i in range(20)]
        bad = [add(window, f"gone {i:02d}", "127.0.0.1", closed) for i in range(10)]
        window.reload()
        log = LiveLog(window)
        progress: list[tuple[int, int]] = []
        window.test_all.progressed.connect(lambda done, total: progress.append((done, total)))
        seen_text: list[str] = []
        window.test_all.progressed.connect(lambda *_: seen_text.append(window.test_all.progress.text()))

        assert window.test_all.all_action.isEnabled()
        with qtbot.waitSignal(window.test_all.finished, timeout=30_000) as finished:
            activate(qtbot, window)
            qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
            assert window.test_all.running
            # While it runs: the progress shows, what conflicts is disabled, the rest of the window is not.
            qtbot.waitUntil(lambda: len(live_rows(window, "testing")) == 4, timeout=5000)
            assert window.test_all.progress.isVisible()
            assert not window.test_all.all_action.isEnabled() and window.test_all.cancel_action.isEnabled()
            assert not window.test_action.isEnabled() and not window.delete_action.isEnabled()
            assert not window.detail.test_button.isEnabled()
            assert window.new_action.isEnabled() and window.settings_action.isEnabled()
            queued = live_rows(window, "queued")
            assert queued and len(queued) + 4 + len(progress) == 30
            testing = next(r for r in window.model.records() if window.model.live(r.id) == "testing")
            assert row_index(window, testing.id).data(Qt.ItemDataRole.AccessibleTextRole) == \
                f"{testing.name}, redis, testing…"

    summary = finished.args[0]
    assert len(where[1]) == (1 if where[0] == "child process" else 0)
    assert proxy.peak == 4  # never more than the setting, and the setting was used
    assert proxy.total == 20
    assert [done for done, _ in progress] == list(range(1, 31)) and {t for _, t in progress} == {30}
    assert all(re.fullmatch(r"Testing \d+/30…", text) for text in seen_text)
    assert (summary.total, summary.ok, summary.failing, summary.cancelled) == (30, 20, 10, False)
    assert re.fullmatch(r"30 tested: 20 ok, 10 failing — \d+\.\d s", window.statusBar().currentMessage())
    assert not window.test_all.progress.isVisible()

    # Each row went queued → testing → its result, through dataChanged only (no reset), and was recorded.
    assert log.resets == 0
    for record in good + bad:
        assert log.states[record.id][:2] == ["queued", "testing"] and log.states[record.id][-1] is None
    statuses = {r.name: (r.status, r.last_error_class) for r in window.model.records()}
    assert statuses == {**{r.name: ("ok", None) for r in good}, **{r.name: ("failing", "refused") for r in bad}}
    assert {r.name: r.status for r in window.hub.instances.list()} == {k: v[0] for k, v in statuses.items()}
    assert row_index(window, bad[0].id).data(Roles.STATUS_TEXT) == "refused · just now"
    assert window.test_all.all_action.isEnabled() and window.test_action.isEnabled() is False  # nothing selected
    assert window.test_all.cancel_action.isEnabled() is False

    # The detail pane's sparkline shows the run just recorded.
    window.select(good[0].id)
    qtbot.waitUntil(lambda: window.detail.sparkline.accessibleDescription().startswith("Last 1 test: 1 ok"))
    settle(qtbot, qloop)


def test_cancel_stops_at_once_keeps_finished_results_and_restores_the_rest(qtbot, qloop, make_window, where):
    require_service("Redis", *REDIS)
    window = make_window()
    window.hub.settings.set_concurrency(3)
    window.hub.settings.set_default_timeout(30)  # a silent server would hold each test 30 s: cancel must not wait
    with blackhole_server() as (host, port):
        fast = [add(window, f"a ok {i}", *REDIS) for i in range(6)]
        silent = [add(window, f"b silent {i}", host, port) for i in range(8)]
        earlier = datetime.now(UTC) - timedelta(hours=2)
        for record in silent[:3]:  # tested before: their rows must show that again after the cancel
            window.hub.store.record_test(record.id, True, None, 4.0, "Redis 7", "Connected", at=earlier)
        window.reload()
        before = {r.id: (r.status, r.last_test_at) for r in window.model.records()}

        window.select(fast[0].id)
        assert window.detail.status.text() == "Not tested yet"
        task = window.test_all.test_all()
        qtbot.waitUntil(lambda: len(live_rows(window, "testing")) == 3 and
                        all(window.model.live(r.id) is None for r in fast), timeout=10_000)
        # The row being looked at shows its result in the details as soon as it lands, mid-run.
        assert window.detail.status.text().startswith("✔ Working (just now")
        qtbot.waitUntil(lambda: window.detail.sparkline.accessibleDescription().startswith("Last 1 test: 1 ok"))
        assert sorted(live_rows(window, "testing")) == ["b silent 0", "b silent 1", "b silent 2"]
        assert sorted(live_rows(window, "queued")) == [f"b silent {i}" for i in range(3, 8)]
        with qtbot.waitSignal(window.test_all.finished, timeout=5000) as finished:
            activate(qtbot, window)
            qtbot.keyClick(window, Qt.Key.Key_Escape)
        qtbot.waitUntil(task.done)

    # In a child process, the cancel ended it: the silent servers' tests went with it.
    assert [w._process.returncode is not None for w in where[1]] == ([True] if where[0] == "child process" else [])
    summary = finished.args[0]
    assert summary.cancelled and (summary.total, summary.ok, summary.failing) == (14, 6, 0)
    assert re.fullmatch(r"Cancelled: 6 of 14 tested \(6 ok, 0 failing\) — \d+\.\d s",
                        window.statusBar().currentMessage())
    assert not window.test_all.progress.isVisible() and not window.test_all.running
    assert live_rows(window, "testing") == [] and live_rows(window, "queued") == []
    # Finished: kept. Not finished: their previous status, as saved (nothing recorded for them).
    by_id = {r.id: r for r in window.model.records()}
    assert all(by_id[r.id].status == "ok" and by_id[r.id].last_test_at > earlier for r in fast)
    assert all((by_id[r.id].status, by_id[r.id].last_test_at) == before[r.id] for r in silent)
    assert [by_id[r.id].status for r in silent] == ["ok"] * 3 + ["untested"] * 5
    assert [len(window.hub.prober.history(r.id)) for r in silent] == [1] * 3 + [0] * 5
    assert window.test_all.all_action.isEnabled() and window.detail.test_button.isEnabled()
    settle(qtbot, qloop)


def test_test_all_takes_the_shown_rows_and_test_selected_the_selection(qtbot, qloop, make_window):
    require_service("Redis", *REDIS)
    window = make_window()
    prod = [add(window, f"prod {i}", *REDIS) for i in range(3)]
    dev = [add(window, f"dev {i}", *REDIS) for i in range(3)]
    window.reload()
    qtbot.keyClicks(window.search, "prod")
    with qtbot.waitSignal(window.test_all.finished, timeout=10_000) as finished:
        window.test_all.all_action.trigger()
    assert finished.args[0].total == 3
    assert {r.name: r.status for r in window.hub.instances.list()} == {
        **{r.name: "ok" for r in prod}, **{r.name: "untested" for r in dev}}

    window.search.clear()
    assert not window.test_all.selected_action.isEnabled()  # nothing selected yet
    window.select(dev[1].id)
    assert window.test_all.selected_action.isEnabled()
    with qtbot.waitSignal(window.test_all.finished, timeout=10_000) as finished:
        window.test_all.selected_action.trigger()
    assert finished.args[0].text().startswith("1 tested: 1 ok, 0 failing")
    assert {r.name: r.status for r in window.hub.instances.list() if r.name.startswith("dev")} == {
        "dev 0": "untested", "dev 1": "ok", "dev 2": "untested"}
    settle(qtbot, qloop)


def test_a_row_deleted_by_the_cli_during_test_all_ends_quietly_and_the_rest_are_shown(qtbot, qloop, make_window,
                                                                                       tmp_path, memory_keyring):
    require_service("Redis", *REDIS)
    window = make_window()
    with CountingProxy(REDIS, hold=0.3).running() as proxy:
        records = [add(window, f"r{i}", "127.0.0.1", proxy.port) for i in range(6)]
        window.reload()
        window.hub.settings.set_concurrency(2)
        with qtbot.waitSignal(window.test_all.finished, timeout=15_000) as finished:
            window.test_all.all_action.trigger()
            qtbot.waitUntil(lambda: window.model.live(records[0].id) == "testing")
            other = Hub(data_dir=tmp_path / "data", vault=KeyringVault(backend=memory_keyring))  # as the CLI would
            other.instances.delete(records[5].id)  # still queued
            other.close()
    summary = finished.args[0]
    assert summary.error is None and summary.total == 6
    assert {r.name: r.status for r in window.hub.instances.list()} == {f"r{i}": "ok" for i in range(5)}
    assert [window.model.live(r.id) for r in records] == [None] * 6  # none left "queued" or "testing"
    assert [row_index(window, r.id).data(Roles.STATUS) for r in records[:5]] == ["ok"] * 5
    settle(qtbot, qloop)


def test_empty_list_says_there_is_nothing_to_test(qtbot, make_window):
    window = make_window()
    assert window.test_all.test_all() is None
    assert window.statusBar().currentMessage() == "Nothing to test: the list shows no connection"
    assert window.test_all.test_selection() is None
    assert window.statusBar().currentMessage() == "Nothing to test: no connection is selected"


def test_concurrency_in_settings(qtbot, qloop, make_window):
    window = make_window()
    assert window.hub.settings.concurrency == 8
    task = qloop.create_task(window.settings_flow())
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, SettingsDialog) and window.active_dialog.isVisible())
    dialog = window.active_dialog
    assert dialog.concurrency.value() == 8 and (dialog.concurrency.minimum(), dialog.concurrency.maximum()) == (1, 64)
    dialog.concurrency.setFocus()
    dialog.concurrency.selectAll()
    qtbot.keyClicks(dialog.concurrency, "3")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=5000)
    assert window.hub.settings.concurrency == 3
    settle(qtbot, qloop)


# --- status badges ----------------------------------------------------------------------------------------


class PaintCounter(QObject):
    def __init__(self):
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


def _near(pixel, target, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, target, strict=True))


def _badge_colors(window: MainWindow, instance_id: str, targets: dict[str, QColor]) -> dict[str, int]:
    """How many pixels of each colour the row's right half has, as painted."""
    view = window.list_view
    rect = view.visualRect(window.proxy.mapFromSource(row_index(window, instance_id)))
    image = view.viewport().grab(rect).toImage().convertToFormat(QImage.Format.Format_RGB888)
    data, stride = bytes(image.constBits()), image.bytesPerLine()
    half = image.width() // 2
    pixels = Counter(data[y * stride + 3 * x: y * stride + 3 * x + 3]
                     for y in range(image.height()) for x in range(half, image.width()))
    return {name: sum(n for pixel, n in pixels.items() if _near(pixel, (c.red(), c.green(), c.blue())))
            for name, c in targets.items()}


def test_badges_draw_status_live_state_and_refresh_their_age(qtbot, make_window, monkeypatch):
    window = make_window()
    palette = window.list_view.palette()
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#2060ff"))
    window.list_view.setPalette(palette)
    ok = add(window, "ok one", "127.0.0.1", 1)
    failing = add(window, "failing one", "127.0.0.1", 1)
    untested = add(window, "untested one", "127.0.0.1", 1)
    two_min_ago = datetime.now(UTC) - timedelta(minutes=2, seconds=5)
    window.hub.store.record_test(ok.id, True, None, 3.0, "Redis 7", "Connected", at=two_min_ago)
    window.hub.store.record_test(failing.id, False, "refused", 1.0, None, "refused", at=two_min_ago)
    window.reload()
    window.list_view.clearSelection()

    assert row_index(window, ok.id).data(Roles.STATUS_TEXT) == "ok · 2 min ago"
    assert row_index(window, failing.id).data(Roles.STATUS_TEXT) == "refused · 2 min ago"
    assert row_index(window, untested.id).data(Roles.STATUS_TEXT) == "untested"
    colors = {"green": QColor("#16a34a"), "red": QColor("#dc2626"), "accent": QColor("#2060ff")}
    assert _badge_colors(window, ok.id, colors)["green"] > 0
    assert _badge_colors(window, failing.id, colors)["red"] > 0
    assert _badge_colors(window, untested.id, colors) == {"green": 0, "red": 0, "accent": 0}

    # While a run holds a row, its badge says so, in the palette's accent, instead of the saved status.
    window.model.set_live([ok.id], "testing")
    qtbot.wait(10)
    painted = _badge_colors(window, ok.id, colors)
    assert painted["accent"] > 0 and painted["green"] == 0
    assert row_index(window, ok.id).data(Qt.ItemDataRole.AccessibleTextRole) == "ok one, redis, testing…"
    window.model.clear_live()
    assert _badge_colors(window, ok.id, colors)["green"] > 0

    # Three minutes later, the once-a-minute timer repaints: the badges say so, without a model reset.
    timer = window.test_all.age_timer
    assert timer.isActive() and timer.interval() == 60_000
    later = datetime.now(UTC) + timedelta(minutes=3)

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return later if tz else later.replace(tzinfo=None)

    monkeypatch.setattr("connhub.gui.instances.models.datetime", Later)
    counter = PaintCounter()
    window.list_view.viewport().installEventFilter(counter)
    resets = []
    window.model.modelReset.connect(lambda: resets.append(1))
    window.model.dataChanged.connect(lambda *a: resets.append(a))
    window.select(ok.id)
    qtbot.wait(10)
    counter.paints = 0
    timer.timeout.emit()
    qtbot.waitUntil(lambda: counter.paints > 0)
    assert resets == []
    assert row_index(window, ok.id).data(Roles.STATUS_TEXT) == "ok · 5 min ago"
    assert window.detail.status.text().startswith("✔ Working (5 min ago")
    window.list_view.viewport().removeEventFilter(counter)
