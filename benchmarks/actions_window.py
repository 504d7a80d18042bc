"""The Actions tab's stalls: the longest gap of a 5 ms Qt timer while a SQLite `query` of N rows runs and its
result is drawn as a table (issue 17: the window never stalls > 50 ms), with the part spent drawing the result
(`ResultView.show_result`) beside it. Offscreen, in-memory keyring, a throwaway data folder.

Usage: QT_QPA_PLATFORM=offscreen python benchmarks/actions_window.py [ROWS ...]   (default 1000 10000 100000)
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


async def measure(rows: int) -> tuple[float, float, float]:
    import keyring.backend
    from PySide6.QtCore import QTimer

    from connhub.gui.actions.panel import ActionsPanel
    from connhub.services.hub import Hub
    from connhub.storage.vault import KeyringVault

    class Memory(keyring.backend.KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.entries = {}

        def get_password(self, service, user):
            return self.entries.get((service, user))

        def set_password(self, service, user, password):
            self.entries[(service, user)] = password

        def delete_password(self, service, user):
            self.entries.pop((service, user), None)

    folder = Path(tempfile.mkdtemp(prefix="connhub-bench-"))
    db = sqlite3.connect(folder / "rows.db")
    with db:
        db.execute("create table t (id integer, name text, v real)")
        db.executemany("insert into t values (?, ?, ?)", [(i, f"name {i}", i / 2) for i in range(rows)])
    db.close()
    hub = Hub(data_dir=folder / "data", vault=KeyringVault(backend=Memory()))
    record = hub.instances.create("sqlite", "rows", {"path": str(folder / "rows.db"), "mode": "ro"})
    panel = ActionsPanel(lambda: hub.actions)
    panel.resize(900, 700)
    panel.show()
    panel.show_record(record)
    while not panel._load.done():
        await asyncio.sleep(0.01)
    panel.select_action("query").set_params({"sql": "select * from t", "max_rows": max(rows, 1)})
    await panel.run()  # the driver imported and the service built: not what a second run pays
    drawing = []
    show = panel.result_view.show_result

    def timed_show(result):
        start = time.perf_counter()
        show(result)
        drawing.append(time.perf_counter() - start)

    panel.result_view.show_result = timed_show
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    start = time.perf_counter()
    done = await panel.run()
    total = time.perf_counter() - start
    await asyncio.sleep(0.1)
    timer.stop()
    assert done is not None and done.ok, done
    panel.close()
    hub.close()
    return max(gaps) * 1000, drawing[0] * 1000, total * 1000


def main() -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    sizes = [int(a) for a in sys.argv[1:]] or [1000, 10000, 100000]
    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    executor = qasync.QThreadExecutor(2)
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    print("| rows | longest loop gap | drawing the table | run to drawn |")
    print("|---:|---:|---:|---:|")
    with loop:
        for rows in sizes:
            gap, drawing, total = loop.run_until_complete(measure(rows))
            print(f"| {rows:,} | {gap:.0f} ms | {drawing:.0f} ms | {total:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
