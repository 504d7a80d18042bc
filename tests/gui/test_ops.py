"""HubOp (gui/ops.py): the one way the window runs hub work — off the event loop, a failure shown once, worded."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMessageBox

from tests.gui.helpers import settle


def _boxes(window) -> list[str]:
    return [box.text() for box in window.findChildren(QMessageBox, "errorBox") if box.isVisible()]


def _run(qtbot, qloop, op, timeout=10_000):
    task = qloop.create_task(op.result())
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


def test_a_failing_hub_call_shows_exactly_one_box_with_its_message(qtbot, qloop, make_window):
    from connhub.gui.ops import HubOp

    window = make_window()
    settle(qtbot, qloop)
    hub = window.hub
    hub.instances.create("redis", "Orders", {"host": "a.example", "port": 6379})
    queue = hub.instances.create("redis", "Queue", {"host": "b.example", "port": 6379})
    failures, successes = [], []
    op = HubOp(window, "Not renamed", hub.instances.rename, queue.id, "Orders").success(successes.append)
    assert _run(qtbot, qloop, op.failure(failures.append)) is None
    assert op.failed and successes == [] and len(failures) == 1
    shown = _boxes(window)
    assert len(shown) == 1 and "Orders" in shown[0] and "already exists" in shown[0], shown
    assert [b.windowTitle() for b in window.findChildren(QMessageBox, "errorBox") if b.isVisible()] == ["Not renamed"]
    assert hub.instances.find(queue.id).name == "Queue"


def test_a_success_callback_gets_the_value(qtbot, qloop, make_window):
    from connhub.gui.ops import HubOp

    window = make_window()
    settle(qtbot, qloop)
    record = window.hub.instances.create("redis", "Cache", {"host": "c.example", "port": 6379})
    got = []
    value = _run(qtbot, qloop, HubOp(window, "Not renamed", window.hub.instances.rename, record.id, "Cache 2")
                 .success(got.append))
    assert value.name == "Cache 2" and got == [value] and _boxes(window) == []


def test_the_window_keeps_processing_events_while_it_runs(qtbot, qloop, make_window):
    from connhub.gui.ops import HubOp

    window = make_window()
    settle(qtbot, qloop)
    ticks = []
    timer = QTimer(window)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(20)

    def slow_list():  # a hub call that takes its time (a slow disk, a locked database)
        time.sleep(0.6)
        return window.hub.instances.list()

    started = time.monotonic()
    assert _run(qtbot, qloop, HubOp(window, "Not read", slow_list)) == []
    timer.stop()
    during = [t for t in ticks if t - started < 0.6]
    assert len(during) >= 10, f"the GUI thread answered only {len(during)} timer ticks in 0.6 s"
