"""Start the window: one QApplication, asyncio running inside Qt's event loop (qasync)."""

from __future__ import annotations

import asyncio
import os
import sys


def run_gui(argv: list[str] | None = None) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from connhub.gui.icons import app_icon
    from connhub.gui.main_window import MainWindow
    from connhub.gui.startup import StartupHub, after_first_paint, finish
    from connhub.gui.tasks import spawn
    from connhub.services.logs import setup_logging

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("connhub")
    app.setOrganizationName("connhub")
    app.setDesktopFileName("connhub")
    app.setWindowIcon(app_icon())
    from connhub.gui.theme import apply_theme, saved_theme

    apply_theme(app, saved_theme())
    loop = qasync.QEventLoop(app)
    executor = qasync.QThreadExecutor(2)  # database and keyring work, never on the GUI thread
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)

    hub = StartupHub()  # the real Hub (SQLAlchemy, validated manifests) loads right after the first paint
    setup_logging(hub.data_dir)
    window = MainWindow(hub)
    after_first_paint(window, lambda: spawn(finish(window, hub)))
    window.show()
    if os.environ.get("CONNHUB_EXIT_AFTER_PAINT"):  # benchmarks and smoke tests: stop after the first paint
        from PySide6.QtCore import QTimer

        shot = os.environ.get("CONNHUB_SCREENSHOT")  # smoke tests: also save the window as a PNG, a second in
        # (the keyring check has reported by then), before quitting

        def done() -> None:
            if shot:
                window.grab().save(shot)
            app.quit()

        after_first_paint(window, lambda: (print("first-paint", flush=True),
                                           QTimer.singleShot(1000 if shot else 0, done)))
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    try:
        with loop:  # closing the loop also shuts the executor down (waiting for its threads)
            loop.run_until_complete(closed.wait())
            _cancel_pending(loop)
    finally:
        hub.close()
    return 0


def _cancel_pending(loop: asyncio.AbstractEventLoop) -> None:
    """Quitting while a UI task still waits (a keyring check, a test) cancels it cleanly instead of
    leaving asyncio to complain that a pending task was destroyed."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
