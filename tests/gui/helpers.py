"""Helpers the GUI tests call directly (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio


def settle(qtbot, loop, timeout: int = 15_000) -> None:
    """Let the window's background work (keyring status, history, flows) finish. On timeout, cancel it
    (so a failed test cannot leave a flow waiting on a dialog into the next test) and say what it was."""
    try:
        qtbot.waitUntil(lambda: all(t.done() for t in asyncio.all_tasks(loop)), timeout=timeout)
    except Exception:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        qtbot.waitUntil(lambda: all(t.done() for t in pending), timeout=5000)
        raise AssertionError(f"tasks still pending (now cancelled): {pending}") from None
