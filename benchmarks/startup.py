"""Cold start to first painted window: connhub with N saved instances vs a bare PySide6 window with N rows.

Each run is a fresh process, timed from launch to the line it prints once its window has painted (an event
filter sees the window's first Paint event, then the paint finishes); the two kinds alternate so machine noise
hits both alike. One untimed connhub start first writes the type cache and the bytecode, as any first start
does (its time is printed too). A last run counts keyring calls and network connections during start-up, lists
the heavy modules already imported at the first paint, and counts the rows of the list that paint drew.
Usage: python benchmarks/startup.py [--instances 1000] [--runs 30]
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

from table import header, row, seconds

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.startup_probe import COUNTERS  # noqa: E402

BARE = r"""
import sys
from PySide6.QtCore import QEvent, QObject, QStringListModel, QTimer
from PySide6.QtWidgets import QApplication, QListView, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
view = QListView()
view.setModel(QStringListModel([f"connection {i}" for i in range(int(sys.argv[1]))]))
window.setCentralWidget(view)
window.resize(1180, 720)

class Once(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            window.removeEventFilter(self)
            QTimer.singleShot(0, lambda: (print("first-paint", flush=True), app.quit()))
        return False

once = Once()
window.installEventFilter(once)
window.show()
app.exec()
"""

# connhub's own start-up (the `connhub` command's entry), with a keyring that counts calls and a socket that counts
# connections: the same counters the start-up tests use (tests/support/startup_probe.py).
COUNT = COUNTERS + r"""
import json, sys
import keyring

keyring.set_keyring(CountingKeyring())
count_connections()
import connhub.gui.delegate as delegate
import connhub.gui.startup as startup
heavy, painted, drawn = [], set(), []
paint = delegate.InstanceDelegate.paint
def counting_paint(self, painter, option, index):
    painted.add(index.row())
    return paint(self, painter, option, index)
delegate.InstanceDelegate.paint = counting_paint
original = startup.after_first_paint
def spy(widget, callback):
    def at_paint():
        drawn.append(len(painted))
        if not heavy:
            heavy.append(sorted({m.split(".")[0] for m in sys.modules}
                                & {"sqlalchemy", "pydantic", "jsonschema", "alembic", "asyncpg", "redis", "asyncio", "qasync"}
                                | {"connhub.cli"} & set(sys.modules)
                                | {m for m in sys.modules if m.startswith(("keyring.backends.SecretService",
                                                                           "connhub.integrations."))}))
        callback()
    original(widget, at_paint)
startup.after_first_paint = spy
from connhub.launch import main
main([])
print(json.dumps({"keyring_calls": CountingKeyring.calls, "inet": inet, "heavy": heavy[0] if heavy else None,
                  "rows_drawn": drawn[0] if drawn else 0}))
"""


def seed(data_dir: Path, count: int) -> None:
    """Instances straight into the store (no secrets needed to draw the list)."""
    sys.path.insert(0, str(ROOT / "src"))
    from connhub.services.hub import Hub
    from connhub.storage.repository import InstanceRecord

    hub = Hub(data_dir=data_dir)
    for i in range(count):
        host = f"db{i}.example.com"
        hub.store.add(InstanceRecord(name=f"orders-{i:05d}", type="postgres",
                                     config={"host": host, "port": 5432, "database": "orders", "user": "app"},
                                     summary=f"postgres://app@{host}:5432/orders"))
    hub.close()


def first_paint(cmd: list[str], env: dict[str, str]) -> float:
    """Seconds from starting `cmd` to its "first-paint" line; the process must then exit 0."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    painted = None
    for line in proc.stdout:
        if line.strip() == "first-paint" and painted is None:
            painted = time.perf_counter() - start
    _, err = proc.communicate(timeout=60)
    if painted is None or proc.returncode:
        raise SystemExit(f"{cmd}: no first paint (exit {proc.returncode}): {err[-2000:]}")
    return painted


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-header", action="store_true")
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory() as tmp:
        seed(Path(tmp), args.instances)
        env.update(CONNHUB_DATA_DIR=tmp, CONNHUB_EXIT_AFTER_PAINT="1", XDG_CONFIG_HOME=tmp)
        # An installed connhub has its bytecode compiled (pip does it); so do the runs here, into a throwaway
        # folder (not the source tree), even where PYTHONDONTWRITEBYTECODE is set.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        # The command a user runs: the installed `connhub` script (`make run`); `python -m connhub` adds runpy.
        script = Path(sys.executable).with_name("connhub")
        app_cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "connhub"]
        first_start = first_paint(app_cmd, env)  # writes the type cache
        bare, app = [], []
        for _ in range(args.runs):
            bare.append(first_paint([sys.executable, "-c", BARE, str(args.instances)], env))
            app.append(first_paint(app_cmd, env))
        counted = subprocess.run([sys.executable, "-c", COUNT], env=env, capture_output=True, text=True,
                                 timeout=120)
        if counted.returncode:
            raise SystemExit(f"counting run failed: {counted.stderr[-2000:]}")
        counts = json.loads(counted.stdout.strip().splitlines()[-1])
    b, a = statistics.median(bare), statistics.median(app)
    if not args.no_header:
        header()
    row(f"cold start to first paint, {args.instances} instances (median of {args.runs})", seconds(b), seconds(a),
        a / b, "≤ 1.5×", a / b <= 1.5)
    # The fastest run of each: what the code costs with the least interference from the machine (timeit's
    # reasoning); on a shared VM the medians move by tens of ms between invocations, the minima much less.
    row(f"… the fastest of the {args.runs} runs of each", seconds(min(bare)), seconds(min(app)),
        min(app) / min(bare), "≤ 1.5×", min(app) / min(bare) <= 1.5)
    row("… the very first start (type cache and bytecode written)", seconds(b), seconds(first_start), first_start / b,
        "(no goal)", None)
    row("keyring calls / network connections during start-up", "—",
        f"{counts['keyring_calls']} / {len(counts['inet'])}", None, "0 / 0",
        counts["keyring_calls"] == 0 and not counts["inet"])
    row("heavy modules imported before the first paint", "—", ", ".join(counts["heavy"] or []) or "none", None,
        "none", not counts["heavy"])
    # What the timed paint shows: a list laid out in batches once painted none of its 1,000 rows at first.
    row("rows of the list drawn in that first paint", "—", str(counts["rows_drawn"]), None, "those in view (≥ 10)",
        counts["rows_drawn"] >= 10)


if __name__ == "__main__":
    main()
