"""Running work off the GUI thread and awaiting dialogs, without nested event loops.

asyncio is imported inside the functions: they all run once the loop does, after the window's first paint
(gui/shell/app.py), and importing asyncio costs about as much as drawing the list.
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


def domain_errors() -> tuple[type[BaseException], ...]:
    """The hub's refusals a user can act on (core/records.py), shown worded; anything else is a bug: logged."""
    from connhub.core.records import (
        CatalogUnavailable,
        EditConflict,
        InstanceNotFound,
        InvalidValues,
        NameTaken,
        TypeDisabled,
        UnknownAction,
        VaultError,
    )

    return (VaultError, InvalidValues, NameTaken, InstanceNotFound, EditConflict, TypeDisabled, UnknownAction,
            CatalogUnavailable)


def error_text(exc: BaseException, field: str | None = None) -> str:
    """A domain error in words: an InvalidValues' message for `field` (or all of them), else its own text."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict) and errors:
        return errors[field] if field in errors else "\n".join(str(message) for message in errors.values())
    return str(exc) or type(exc).__name__


class HubOp:
    """One way to run hub work from the window, in the spirit of Anki's CollectionOp:

        HubOp(window, "Not renamed", hub.instances.rename, instance_id, name).success(show).run()

    The call runs on the loop's worker thread (the window keeps painting and answering); a domain error
    (core/records.py) is shown once, worded, in one error box titled `title`, then `failure(cb)` is called
    with it; the value goes to `success(cb)`. `await op` gives the value, or None after a failure (`op.failed` then says so).
    `preload(entry)` first imports a type's code off the GUI thread (its first test would freeze the window).
    """

    def __init__(self, parent: QWidget, title: str, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        self.parent, self.title = parent, title
        self._call = functools.partial(fn, *args, **kwargs)
        self._success: Callable[[Any], Any] | None = None
        self._failure: Callable[[BaseException], Any] | None = None
        self._entry = None
        self._field: str | None = None
        self._message: Callable[[BaseException], str] | None = None
        self._handlers: list[tuple[type[BaseException] | tuple[type[BaseException], ...], Callable]] = []
        self.failed = False  # after the run: whether it ended in an error (shown, or handled by the caller)

    def success(self, callback: Callable[[Any], Any]) -> HubOp:
        self._success = callback
        return self

    def failure(self, callback: Callable[[BaseException], Any]) -> HubOp:
        self._failure = callback
        return self

    def handle(self, kind: type[BaseException] | tuple[type[BaseException], ...],
               callback: Callable[[BaseException], Any]) -> HubOp:
        """An error the caller shows itself, where it belongs (a field's message under the field): no box."""
        self._handlers.append((kind, callback))
        return self

    def preload(self, entry) -> HubOp:
        self._entry = entry
        return self

    def field(self, key: str) -> HubOp:
        """Say an InvalidValues' message for this field only (the one the user just typed)."""
        self._field = key
        return self

    def worded(self, message: Callable[[BaseException], str]) -> HubOp:
        """Word the box's text from the error (e.g. name the connection it was about)."""
        self._message = message
        return self

    async def result(self) -> Any:
        if self._entry is not None:
            await load_integration(self._entry)
        try:
            value = await background(self._call)
        except domain_errors() as exc:
            self.failed = True
            for kind, handler in self._handlers:
                if isinstance(exc, kind):
                    handler(exc)
                    return None
            show_error(self.parent, self.title, self._message(exc) if self._message else error_text(exc, self._field))
            if self._failure is not None:
                self._failure(exc)
            return None
        if self._success is not None:
            self._success(value)
        return value

    def __await__(self):
        return self.result().__await__()

    def run(self) -> asyncio.Task:
        return spawn(self.result())


def pasted(before: str, after: str) -> bool:
    """One edit put in a whole connection string at once (a paste or a drop), not a keystroke."""
    return _inserted(before, after) > 1 and ("://" in after or "=" in after)


def _inserted(before: str, after: str) -> int:
    """How many characters one edit put in (a paste puts in many at once, typing one)."""
    prefix = 0
    while prefix < min(len(before), len(after)) and before[prefix] == after[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < min(len(before), len(after)) - prefix
           and before[len(before) - 1 - suffix] == after[len(after) - 1 - suffix]):
        suffix += 1
    return len(after) - prefix - suffix
