"""Cold start to first painted window: connhub with N saved instances vs a bare PySide6 window with N rows.

Each run is a fresh process; the two kinds alternate so machine noise hits both alike. Prints medians and
the ratio. Usage: .venv/bin/python benchmarks/startup.py [--instances 1000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BARE = r"""
import sys
from PySide6.QtCore import QStringListModel, QTimer
from PySide6.QtWidgets import QApplication, QListView, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
view = QListView()
view.setModel(QStringListModel([f"connection {i}" for i in range(int(sys.argv[1]))]))
window.setCentralWidget(view)
window.resize(1180, 720)
window.show()
QTimer.singleShot(0, lambda: (print("first-paint", flush=True), app.quit()))
app.exec()
"""


def seed(data_dir: Path, count: int) -> None:
    """Instances straight into the store (no secrets needed to draw the list)."""
    from connhub.services.hub import Hub
    from connhub.storage.repository import InstanceRecord

    hub = Hub(data_dir=data_dir)
    for i in range(count):
        host = f"db{i}.example.com"
        hub.store.add(InstanceRecord(name=f"orders-{i:05d}", type="postgres",
                                     config={"host": host, "port": 5432, "database": "orders", "user": "app"},
                                     summary=f"postgres://app@{host}:5432/orders"))
    hub.close()


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    if "first-paint" not in out.stdout:
        raise SystemExit(f"no first paint from {cmd}: {out.stderr[-2000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    with tempfile.TemporaryDirectory() as tmp:
        seed(Path(tmp), args.instances)
        env.update(CONNHUB_DATA_DIR=tmp, CONNHUB_EXIT_AFTER_PAINT="1", XDG_CONFIG_HOME=tmp)
        bare, app = [], []
        for _ in range(args.runs):
            bare.append(timed([sys.executable, "-c", BARE, str(args.instances)], env))
            app.append(timed([sys.executable, "-m", "connhub"], env))
    b, a = statistics.median(bare), statistics.median(app)
    print(f"{'measure':<44} {'baseline':>10} {'connhub':>10} {'ratio':>7}")
    print(f"{'cold start to first paint, %d instances' % args.instances:<44} {b:>9.3f}s {a:>9.3f}s "
          f"{a / b:>6.2f}x")


if __name__ == "__main__":
    main()
