"""Running work off the GUI thread and awaiting dialogs, without nested event loops.

asyncio is imported inside the functions: they all run once the loop does, after the window's first paint
(gui/app.py), and importing asyncio costs about as much as drawing the list.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")
log = logging.getLogger("connhub.gui")

if TYPE_CHECKING:
    import asyncio

    from PySide6.QtWidgets import QDialog, QMessageBox, QWidget


async def background(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Blocking work (SQLite, keyring) on the loop's worker executor; the window keeps painting."""
    import asyncio

    return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))


async def dialog_result(dialog: QDialog) -> int:
    """Open a dialog window-modally and wait for it to finish, without `exec()`'s nested loop."""
    import asyncio

    future = asyncio.get_running_loop().create_future()

    def done(code: int) -> None:
        if not future.done():
            future.set_result(code)

    dialog.finished.connect(done)
    dialog.open()
    return await future


async def load_integration(entry) -> None:
    """Import a type's code (and whatever its module imports) on the worker thread before its first test:
    an import on the GUI thread freezes the window for a few hundred milliseconds. A failure is left for
    the test itself to report, worded, as its result."""
    try:
        await background(lambda: entry.integration().preload())
    except Exception:  # noqa: BLE001 - reported by run_test as a classified result
        pass


def show_error(parent: QWidget, title: str, text: str) -> QMessageBox:
    from PySide6.QtWidgets import QMessageBox  # each Qt class costs its set-up on first use: not before a paint

    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorBox")
    box.open()
    return box


def spawn(coro) -> asyncio.Task:
    """Start a UI coroutine; an unexpected error is logged (types and ids only) instead of vanishing."""
    import asyncio

    task = asyncio.ensure_future(coro)

    def report(t: asyncio.Task) -> None:
        if not t.cancelled() and t.exception() is not None:
            log.error("UI task failed: %s", type(t.exception()).__name__)

    task.add_done_callback(report)
    return task
