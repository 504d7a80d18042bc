"""Start the window: one QApplication, asyncio running inside Qt's event loop (qasync).

The window paints first, on Qt's own event loop; asyncio and qasync are imported and the loop set up right
after (the two imports alone cost about as much as drawing the list of a thousand connections). Nothing that
needs asyncio runs before: the window's own start (`MainWindow.start`) and the real Hub (`startup.finish`) are
the loop's first tasks.
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
    and over (70-odd collections; ~4 ms of a ~160 ms start in alternated start-ups). Afterwards they are frozen,
    never scanned again, and collection resumes."""
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
        app, hub, window = _first_paint(argv)
    if not window.isVisible():  # closed before it even painted
        hub.close()
        return 0
    exit_after_paint = bool(os.environ.get("CONNHUB_EXIT_AFTER_PAINT"))  # benchmarks and smoke tests
    if exit_after_paint:
        print("first-paint", flush=True)

    import asyncio

    import qasync

    from connhub.gui.startup import finish
    from connhub.gui.tasks import spawn

    loop = qasync.QEventLoop(app)
    executor = qasync.QThreadExecutor(2)  # database and keyring work, never on the GUI thread
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    from connhub.services.logs import setup_logging  # logging.handlers: pickle, socket, queue…

    loop.call_soon(setup_logging, hub.data_dir)  # nothing logs before the first paint
    loop.call_soon(window.start)  # the detail pane, the keyring check, reconciliation, workspaces
    loop.call_soon(lambda: spawn(finish(window, hub)))
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
        hub.close()
    return 0


def _first_paint(argv: list[str] | None):
    """The QApplication and the window, shown and painted once, on Qt's own event loop."""
    from PySide6.QtWidgets import QApplication

    from connhub.gui.pyside_speedups import use_quick_feature_check

    use_quick_feature_check()  # before the imports below: PySide checks each of them (and every later one)
    from connhub.gui.icons import app_icon
    from connhub.gui.main_window import MainWindow
    from connhub.gui.startup import StartupHub, wait_for_first_paint
    from connhub.gui.theme import apply_palette, saved_theme

    # Fusion from the start (not setStyle afterwards: handing PySide the QStyle object costs ~10 ms at start-up)
    app = QApplication.instance() or QApplication([*(argv if argv is not None else sys.argv), "-style", "Fusion"])
    app.setApplicationName("connhub")
    app.setOrganizationName("connhub")
    app.setDesktopFileName("connhub")
    app.setWindowIcon(app_icon())
    apply_palette(app, saved_theme())

    hub = StartupHub()  # the real Hub (SQLAlchemy, validated manifests) loads right after the first paint
    window = MainWindow(hub, start_after_paint=False)
    window.show()
    wait_for_first_paint(window)
    return app, hub, window


def _cancel_pending(loop) -> None:
    """Quitting while a UI task still waits (a keyring check, a test) cancels it cleanly instead of
    leaving asyncio to complain that a pending task was destroyed."""
    import asyncio

    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
