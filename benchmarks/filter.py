"""Filtering 10,000 instances: keystroke-to-repaint time and memory, connhub's window vs a bare PySide6 list.

connhub: the real MainWindow (its search box, InstanceListModel, InstanceFilter and delegate in a QListView)
on a real Hub, holding N instances. Baseline: a QMainWindow with a QLineEdit over a QSortFilterProxyModel over a
QStringListModel of the same rows (name, type and URL per row), filtering case-insensitively as you type.
Each variant runs in its own process: the text is typed one key at a time with QTest.keyClicks on the search
box; a keystroke counts from the key event until the list's viewport has finished repainting (an event filter
sees its Paint event). Memory: the resident set of the shown window before and after its rows are loaded (the
goal's figure), and for context the whole growth since QApplication started (connhub's imports, its Hub). Usage: python benchmarks/filter.py [--instances 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Typed one key at a time, each box cleared in between. Digits that change the visible rows at every key (every
# row has "orders", "postgres", "example" and port 5432, so those letters and 2-5 would leave the list as it was
# and nothing would repaint).
TYPED = ("1678", "9810", "7061", "6189", "8876")


def rss() -> int:
    import gc

    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def rows(count: int):
    for i in range(count):
        host = f"db{i}.example.com"
        yield f"orders-{i:05d}", host, f"postgres://app@{host}:5432/orders"


def build_connhub(data_dir: Path):
    """The real window on a real Hub (SQLAlchemy, validated manifests: what the app holds after start-up)."""
    sys.path.insert(0, str(ROOT / "src"))
    from connhub.core.records import InstanceRecord
    from connhub.gui.shell.main_window import MainWindow
    from connhub.services.hub import Hub

    hub = Hub(data_dir=data_dir)
    hub.registry.entries()
    window = MainWindow(hub)

    def load(count: int) -> None:
        window.model.set_records([
            InstanceRecord(name=name, type="postgres", summary=url,
                           config={"host": host, "port": 5432, "database": "orders", "user": "app"})
            for name, host, url in rows(count)])
        window._update_empty_state()

    return window, window.search, window.list_view, load


def build_bare():
    from PySide6.QtCore import QSortFilterProxyModel, QStringListModel, Qt
    from PySide6.QtWidgets import QLineEdit, QListView, QMainWindow, QVBoxLayout, QWidget

    window = QMainWindow()
    search = QLineEdit()
    view = QListView()
    model = QStringListModel()
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    search.textChanged.connect(proxy.setFilterFixedString)
    view.setModel(proxy)
    view.setUniformItemSizes(True)
    central = QWidget()
    layout = QVBoxLayout(central)
    layout.addWidget(search)
    layout.addWidget(view)
    window.setCentralWidget(central)
    window._keep = (model, proxy)

    def load(count: int) -> None:
        model.setStringList([f"{name} postgres {url}" for name, _host, url in rows(count)])

    return window, search, view, load


def measure(variant: str, count: int) -> dict:
    from PySide6.QtCore import QEvent, QEventLoop, QObject
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    started = rss()
    with tempfile.TemporaryDirectory() as tmp:
        if variant == "connhub":
            import asyncio

            import qasync

            asyncio.set_event_loop(qasync.QEventLoop(app))  # the window spawns its keyring check
            window, search, view, load = build_connhub(Path(tmp))
        else:
            window, search, view, load = build_bare()
        window.resize(1180, 720)
        painted = []

        class PaintSpy(QObject):
            def eventFilter(self, watched, event):
                if event.type() == QEvent.Type.Paint:
                    painted.append(True)
                return False

        spy = PaintSpy()
        view.viewport().installEventFilter(spy)

        def wait_paint(limit: float = 5.0) -> bool:
            deadline = time.perf_counter() + limit
            while not painted:
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
                if time.perf_counter() > deadline:
                    return False
            return True

        window.show()
        wait_paint()
        empty = rss()  # the window with no rows (imports, widgets) …
        painted.clear()
        load(count)
        if not wait_paint():
            raise SystemExit(f"{variant}: the list never painted")
        loaded = rss()  # … and with them
        search.setFocus()
        times, unpainted = [], 0
        for text in TYPED:
            for key in text:
                painted.clear()
                start = time.perf_counter()
                QTest.keyClicks(search, key)
                filtered = time.perf_counter()
                if wait_paint(0.5):
                    times.append(time.perf_counter() - start)
                else:  # nothing visible changed: the filtering was all the work
                    times.append(filtered - start)
                    unpainted += 1
            search.clear()
            painted.clear()
            wait_paint(0.5)
        shown = view.model().rowCount()
        window.close()
    return {"times": times, "rows_rss": loaded - empty, "process_rss": loaded - started, "shown": shown,
            "unpainted": unpainted}


def run(variant: str, count: int) -> dict:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    out = subprocess.run([sys.executable, __file__, "--variant", variant, "--instances", str(count)], env=env,
                         capture_output=True, text=True, timeout=600)
    if out.returncode:
        raise SystemExit(f"{variant} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--variant", choices=("bare", "connhub"))
    parser.add_argument("--no-header", action="store_true")
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.variant, args.instances)))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from table import header, ms, row

    bare, ours = run("bare", args.instances), run("connhub", args.instances)
    if ours["unpainted"] or bare["unpainted"]:
        print(f"note: keystrokes with nothing to repaint: bare {bare['unpainted']}, connhub {ours['unpainted']}",
              file=sys.stderr)
    if bare["shown"] != ours["shown"]:
        raise SystemExit(f"the two lists disagree: {bare['shown']} vs {ours['shown']} rows after the filter")
    bm, om = statistics.median(bare["times"]), statistics.median(ours["times"])
    if not args.no_header:
        header()
    keys = len(ours["times"])
    row(f"filter {args.instances:,} instances: keystroke to repaint, median of {keys}", ms(bm), ms(om), om / bm,
        "< 16 ms", om < 0.016)
    row("… the same, 95th percentile", ms(p95(bare["times"])), ms(p95(ours["times"])),
        p95(ours["times"]) / p95(bare["times"]), "(no goal)", None)
    mb = 2**20
    extra = (ours["rows_rss"] - bare["rows_rss"]) / mb
    row(f"memory for the {args.instances:,} rows (resident, window before vs after loading them)",
        f"{bare['rows_rss'] / mb:.1f} MB", f"{ours['rows_rss'] / mb:.1f} MB", None, "≤ bare + 60 MB", extra <= 60)
    row("… the whole window since QApplication started (imports, Hub, widgets and rows)",
        f"{bare['process_rss'] / mb:.1f} MB", f"{ours['process_rss'] / mb:.1f} MB", None, "(no goal)", None)

if __name__ == "__main__":
    main()
