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
    from connhub.services.hub import Hub
    from connhub.services.logs import setup_logging

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setApplicationName("connhub")
    app.setOrganizationName("connhub")
    app.setDesktopFileName("connhub")
    app.setWindowIcon(app_icon())
    loop = qasync.QEventLoop(app)
    executor = qasync.QThreadExecutor(2)  # database and keyring work, never on the GUI thread
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)

    hub = Hub()
    setup_logging(hub.data_dir)
    window = MainWindow(hub)
    window.show()
    if os.environ.get("CONNHUB_EXIT_AFTER_PAINT"):  # benchmarks and smoke tests: stop after the first paint
        from PySide6.QtCore import QTimer

        QTimer.singleShot(0, lambda: (print("first-paint", flush=True), app.quit()))
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    try:
        with loop:
            loop.run_until_complete(closed.wait())
    finally:
        executor.shutdown(wait=True)
        hub.close()
    return 0
