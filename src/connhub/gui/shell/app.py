"""Start the window: one QApplication, asyncio running inside Qt's event loop (qasync).

The window paints first, on Qt's own event loop, from a `FirstPaint` (services/first_paint.py); asyncio and
qasync are imported and the loop set up right after (the two imports cost about as much as drawing the list of
a thousand connections). Nothing that needs asyncio runs before. The loop's first tasks are the window's own
start (`MainWindow.start`) and the real Hub, built on a worker thread and handed to the window
(`startup.finish`).
"""

from __future__ import annotations

import gc
import os
import sys
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """No cyclic garbage collection until the first paint. Start-up allocates tens of thousands of objects
    (PySide's classes and enums, the rows) that live as long as the window, and the collector would scan them over
    and over. Afterwards they are frozen, never scanned again, and collection resumes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def run_gui(argv: list[str] | None = None) -> int:
    with collector_paused():
        app, first, window = _first_paint(argv)
    if not window.isVisible():  # closed before it even painted
        first.close()
        return 0
    exit_after_paint = bool(os.environ.get("CONNHUB_EXIT_AFTER_PAINT"))  # benchmarks and smoke tests
    if exit_after_paint:
        print("first-paint", flush=True)

    import asyncio

    import qasync

    from connhub.gui.ops import spawn
    from connhub.gui.shell.startup import finish

    loop = qasync.QEventLoop(app)
    executor = qasync.QThreadExecutor(2)  # database and keyring work, never on the GUI thread
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    from connhub.services.logs import setup_logging  # logging.handlers: pickle, socket, queue…

    loop.call_soon(setup_logging, first.data_dir)  # nothing logs before the first paint
    loop.call_soon(window.start)  # the keyring check; the detail pane and the rest once the Hub is there
    loop.call_soon(lambda: spawn(finish(window, first)))  # the real Hub, built on a worker thread
    if exit_after_paint:
        from PySide6.QtCore import QTimer

        shot = os.environ.get("CONNHUB_SCREENSHOT")  # smoke tests: also save the window as a PNG, a second in
        # (the keyring check has reported by then), before quitting

        def done() -> None:
            if shot:
                window.grab().save(shot)
            app.quit()

        QTimer.singleShot(1000 if shot else 0, done)
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    try:
        with loop:  # closing the loop also shuts the executor down (waiting for its threads)
            loop.run_until_complete(closed.wait())
            _cancel_pending(loop)
    finally:
        first.close()
    return 0


def _first_paint(argv: list[str] | None):
    """The QApplication and the window, shown and painted once, on Qt's own event loop."""
    from PySide6.QtWidgets import QApplication

    from connhub.gui.shell.pyside_speedups import use_quick_feature_check

    use_quick_feature_check()  # before the imports below: PySide checks each of them (and every later one)
    from connhub.gui.icons import app_icon
    from connhub.gui.shell.main_window import MainWindow
    from connhub.gui.shell.startup import wait_for_first_paint
    from connhub.gui.theme import apply_palette, saved_theme
    from connhub.services.first_paint import FirstPaint

    # Fusion from the start (not setStyle afterwards: handing PySide the QStyle object costs time at start-up)
    app = QApplication.instance() or QApplication([*(argv if argv is not None else sys.argv), "-style", "Fusion"])
    app.setApplicationName("connhub")
    app.setOrganizationName("connhub")
    app.setDesktopFileName("connhub")
    app.setWindowIcon(app_icon())
    apply_palette(app, saved_theme())

    first = FirstPaint.quick()  # the real Hub (SQLAlchemy, validated manifests) loads right after the first paint
    window = MainWindow(first, start_after_paint=False)
    window.show()
    wait_for_first_paint(window)
    return app, first, window


def _cancel_pending(loop) -> None:
    """Quitting while a UI task still waits (a keyring check, a test) cancels it cleanly instead of
    leaving asyncio to complain that a pending task was destroyed."""
    import asyncio

    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
