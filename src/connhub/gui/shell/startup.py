"""The window's first paint, then the real Hub.

The window paints from a `FirstPaint` (services/first_paint.py: the instances read with sqlite3, the types from
their listing), so that SQLAlchemy, pydantic, jsonschema, keyring and Alembic load after the paint. `finish`
builds the real Hub on a worker thread right after it and hands it to the window.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from connhub.gui.shell.main_window import MainWindow
    from connhub.services.first_paint import FirstPaint


def after_first_paint(widget, callback) -> None:
    """Call `callback` once, as soon as `widget` has painted for the first time (the paint itself done)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class Once(QObject):
        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                widget.removeEventFilter(self)
                QTimer.singleShot(0, callback)
                self.deleteLater()
            return False

    widget.installEventFilter(Once(widget))


def wait_for_first_paint(widget, limit_ms: int = 3000) -> None:
    """Run Qt's own event loop until `widget` has painted once. A window that is never exposed (started
    minimised, say) holds start-up back at most `limit_ms`."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    after_first_paint(widget, loop.quit)
    QTimer.singleShot(limit_ms, loop.quit)
    loop.exec()


async def finish(window: MainWindow, first: FirstPaint) -> None:
    """After the first paint, on the worker thread (imports included: the window keeps painting): the real Hub,
    its database and the validated registry; then the window holds the real Hub."""
    from connhub.gui.ops import background
    from connhub.services.logs import tighten_data_dir

    # An older connhub's folder open to other users, made private as the CLI does at its start (logged there).
    await background(tighten_data_dir, first.data_dir)
    window.take_hub(await background(first.load_hub))
    # Everything loaded so far (Qt wrappers, SQLAlchemy, pydantic, the manifests) lives as long as the app: out
    # of the cyclic collector's sight, a full collection no longer scans it (during a Test all of many
    # connections, full collections were the event loop's longest stalls).
    gc.freeze()
