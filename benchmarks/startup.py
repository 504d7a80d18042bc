"""Cold start to first painted window: connhub vs a bare PySide6 window, side by side in the same invocation.

Each run is a fresh process, timed from launch to the line it prints once its window has painted (an event
filter sees the window's first Paint event, then the paint finishes); connhub's runs and the bare window's
alternate so machine noise hits both alike. Two kinds of start:

- a start with N saved instances (the type cache and the bytecode there, as after any earlier start): connhub
  lists them, the bare window (`QMainWindow` + `QListView` of N rows) shows as many rows;
- the very first start: an empty data folder (not even created: no database, no type cache, no settings),
  three times: (1) bytecode compiled, as pip and the .deb install it; (2) none of connhub's own bytecode (a
  fresh copy of src/, PYTHONDONTWRITEBYTECODE), the libraries' kept, as in a fresh checkout; (3) nothing
  compiled at all (an empty PYTHONPYCACHEPREFIX, PYTHONDONTWRITEBYTECODE: the standard library, PySide6 and
  every dependency compiled on the spot). connhub has nothing to list, and the bare window beside it shows
  an empty list too; it runs in the same environment each time, and its script is always compiled on the spot
  (`python -c`), so (1) and (2) give it the same bytecode.

All bytecode goes to a throwaway PYTHONPYCACHEPREFIX (never the source tree), written by untimed warm-up runs:
one start of each, and the step the first start runs after its paint (the Hub, which writes the type cache).
A last run (and one more on an empty data folder) counts keyring calls and network connections during
start-up, lists the heavy modules already imported at the first paint, and counts the rows that paint drew.
Then the example plugin (examples/connhub-plugin-example) is installed and the seeded start timed with it,
alternated with the same start without it (half the runs; goal: unchanged, ≤ 1.1×), and its modules are
counted at the first paint (none expected).
Usage: python benchmarks/startup.py [--instances 1000] [--runs 30] [--first-runs 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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
import connhub.gui.instances.delegate as delegate
import connhub.gui.shell.startup as startup
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
                                                                           "connhub.integrations.",
                                                                           "connhub_kvstore", "connhub_pg_extras"))}))
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


WARM_UP = "from connhub.services.first_paint import FirstPaint; FirstPaint.quick().load_hub().close()"


def alternate(bare_cmd: list[str], app_cmd: list[str], runs: int, bare_env, app_env) -> tuple[list, list]:
    """`runs` of each, bare first; `bare_env(i)` / `app_env(i)` give each run's environment."""
    bare, app = [], []
    for i in range(runs):
        bare.append(first_paint(bare_cmd, bare_env(i)))
        app.append(first_paint(app_cmd, app_env(i)))
    return bare, app


def count(env: dict[str, str]) -> dict:
    counted = subprocess.run([sys.executable, "-c", COUNT], env=env, capture_output=True, text=True, timeout=120)
    if counted.returncode:
        raise SystemExit(f"counting run failed: {counted.stderr[-2000:]}")
    return json.loads(counted.stdout.strip().splitlines()[-1])


def install_example_plugin(tmp: Path) -> Path:
    """examples/connhub-plugin-example installed (offline, no dependencies) into a folder named as pip's are."""
    site = tmp / "plugin" / "site-packages"
    shutil.copytree(ROOT / "examples" / "connhub-plugin-example", tmp / "plugin" / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "tests"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(site), str(tmp / "plugin" / "src")], check=True, timeout=300,
                   env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return site


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--first-runs", type=int, default=10, help="runs of each very first start")
    parser.add_argument("--no-header", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        seeded = tmp / "seeded"
        seed(seeded, args.instances)
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])),
               "CONNHUB_EXIT_AFTER_PAINT": "1", "PYTHONPYCACHEPREFIX": str(tmp / "pycache")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # the warm-up writes the bytecode an installed connhub has
        warm = {**env, "CONNHUB_DATA_DIR": str(seeded), "XDG_CONFIG_HOME": str(seeded)}
        # The command a user runs: the installed `connhub` script (`make run`); `python -m connhub` adds runpy.
        script = Path(sys.executable).with_name("connhub")
        app_cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "connhub"]
        bare_cmd = [sys.executable, "-c", BARE, str(args.instances)]
        bare_empty = [sys.executable, "-c", BARE, "0"]  # beside a first start, which lists nothing
        first_paint(bare_cmd, warm)
        first_paint(app_cmd, warm)  # bytecode of what the first paint imports
        subprocess.run([sys.executable, "-c", WARM_UP], env=warm, check=True, timeout=120)  # the rest; type cache
        bare, app = alternate(bare_cmd, app_cmd, args.runs, lambda _i: warm, lambda _i: warm)

        def empty_folder(kind: str, overrides: dict[str, str]):
            """A very first start's environment: a data folder that does not exist yet, no settings."""
            def make(i: int) -> dict[str, str]:
                home = tmp / f"first-{kind}-{i}"
                return {**env, **overrides, "CONNHUB_DATA_DIR": str(home / "connhub"),
                        "XDG_CONFIG_HOME": str(home / "config")}
            return make

        copy = tmp / "src-copy"  # connhub's own modules, never compiled (PYTHONDONTWRITEBYTECODE keeps it so)
        shutil.copytree(ROOT / "src", copy, ignore=shutil.ignore_patterns("__pycache__"))
        kinds = {
            "installed": ("bytecode compiled, as pip and the .deb install it", {}),
            "own": ("none of connhub's own bytecode (fresh copy of src/), the libraries' kept",
                    {"PYTHONPATH": os.pathsep.join(filter(None, [str(copy), os.environ.get("PYTHONPATH")])),
                     "PYTHONDONTWRITEBYTECODE": "1"}),
            "none": ("nothing compiled at all, both sides (empty PYTHONPYCACHEPREFIX)",
                     {"PYTHONPYCACHEPREFIX": str(tmp / "no-bytecode"), "PYTHONDONTWRITEBYTECODE": "1"}),
        }
        firsts = {}
        for kind, (_title, overrides) in kinds.items():
            make = empty_folder(kind, overrides)
            firsts[kind] = alternate(bare_empty, app_cmd, args.first_runs, make, make)
        counts = [count(warm), count(empty_folder("counted", {})(0))]
        # The same start with the example plugin installed (its type cache warmed the same way): start-up still
        # imports none of its code.
        site = install_example_plugin(tmp)
        plugged = {**warm, "PYTHONPATH": os.pathsep.join([str(site), warm["PYTHONPATH"]])}
        first_paint(app_cmd, plugged)
        subprocess.run([sys.executable, "-c", WARM_UP], env=plugged, check=True, timeout=120)
        plugin_runs = max(5, args.runs // 2)
        plugin_bare, plugin_app = alternate(app_cmd, app_cmd, plugin_runs, lambda _i: warm, lambda _i: plugged)
        plugin_count = count(plugged)
    b, a = statistics.median(bare), statistics.median(app)
    if not args.no_header:
        header()
    row(f"cold start to first paint, {args.instances} instances (median of {args.runs})", seconds(b), seconds(a),
        a / b, "≤ 1.5×", a / b <= 1.5)
    # The fastest run of each: what the code costs with the least interference from the machine (timeit's
    # reasoning); on a shared VM the medians move by tens of ms between invocations, the minima much less.
    row(f"… the fastest of the {args.runs} runs of each", seconds(min(bare)), seconds(min(app)),
        min(app) / min(bare), "≤ 1.5×", min(app) / min(bare) <= 1.5)
    for kind, (title, _overrides) in kinds.items():
        fb, fa = (statistics.median(runs) for runs in firsts[kind])
        row(f"very first start (empty data folder), {title} (median of {args.first_runs})", seconds(fb),
            seconds(fa), fa / fb, "≤ 2×", fa / fb <= 2)
    calls = sum(c["keyring_calls"] for c in counts)
    inet = [address for c in counts for address in c["inet"]]
    heavy = sorted({m for c in counts for m in c["heavy"] or []})
    row("keyring calls / network connections during start-up (1000 instances; very first start)", "—",
        f"{calls} / {len(inet)}", None, "0 / 0", calls == 0 and not inet)
    row("heavy modules imported before the first paint (both starts)", "—", ", ".join(heavy) or "none", None,
        "none", not heavy)
    pb, pa = statistics.median(plugin_bare), statistics.median(plugin_app)
    row(f"cold start to first paint with the example plugin installed vs without it (baseline: connhub), "
        f"{args.instances} instances (median of {plugin_runs})", seconds(pb), seconds(pa), pa / pb, "≤ 1.1×",
        pa / pb <= 1.1)
    plugin_code = [m for m in plugin_count["heavy"] or [] if m.startswith(("connhub_kvstore", "connhub_pg_extras"))]
    row("plugin modules imported before the first paint, example plugin installed", "—",
        ", ".join(plugin_code) or "0", None, "0", not plugin_code)
    # What the timed paint shows: a list laid out in batches once painted none of its 1,000 rows at first.
    row("rows of the list drawn in that first paint", "—", str(counts[0]["rows_drawn"]), None,
        "those in view (≥ 10)", counts[0]["rows_drawn"] >= 10)


if __name__ == "__main__":
    main()
