"""The .deb: its size, the bundle's size, how long it takes to build, and how fast the installed app starts.

    .venv/bin/python benchmarks/package.py [--no-build] [--runs 7] [--instances 200]
    .venv/bin/python benchmarks/package.py --exclusions      # what each exclusion of connhub.spec buys (~10 min)

Start-up is cold start to first painted window (CONNHUB_EXIT_AFTER_PAINT=1, offscreen) of the installed
/usr/bin/connhub against `python -m connhub` from the venv, on the same data dir; the two alternate so that
machine noise hits both alike, and the medians are compared (goal: ratio ≤ 1.1). As root, the .deb is
installed for the measurement if it is not already (and purged afterwards); otherwise the bundle in
packaging/out/dist is timed, with a note. Goals: .deb ≤ 60 MB. Not a timed test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "packaging" / "out"
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
#: Exclusion groups of packaging/connhub.spec (CONNHUB_PACKAGE_KEEP names them) and what they are.
GROUPS = {
    "test-packages": "test-only packages of the venv (pytest, hypothesis, psycopg, …)",
    "qt-modules": "Qt bindings nothing imports (QtNetwork, QtDBus, QtOpenGL, …)",
    "qt-plugins": "Qt plugins outside the allowlist (EGLFS, VNC, GTK3 theme, image formats, …)",
    "qt-translations": "Qt's .qm translations (no QTranslator is installed)",
    "system-libraries": "host libraries Debian ships (taken from Depends instead)",
    "qt-libraries": "Qt libraries no kept binary links against",
    "strip": "strip symbols from binaries",
}


def mib(n: float) -> str:
    return f"{n / 1024 / 1024:6.1f} MiB"


def tree_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def build(out: Path, keep: str = "") -> tuple[float, Path]:
    env = {**os.environ, "CONNHUB_PACKAGE_OUT": str(out), "CONNHUB_PACKAGE_KEEP": keep,
           "PYTHON": str(VENV_PYTHON)}
    start = time.perf_counter()
    result = subprocess.run([str(ROOT / "packaging" / "build-deb")], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode:
        raise SystemExit(f"build-deb failed ({keep or 'all exclusions'}):\n{result.stderr[-3000:]}")
    return elapsed, next(out.glob("connhub_*.deb"))


def seed(data_dir: Path, count: int) -> None:
    """Instances straight into the store (no secrets needed to draw the list), as benchmarks/startup.py."""
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
        if line.strip() == "first-paint":
            painted = time.perf_counter() - start
    _, err = proc.communicate(timeout=60)
    if painted is None or proc.returncode:
        raise SystemExit(f"{cmd[0]}: no first paint (exit {proc.returncode}): {err[-2000:]}")
    return painted


def installed_app(deb: Path) -> tuple[list[str], str, bool]:
    """(command, description, whether we installed it and must purge it)."""
    if Path("/opt/connhub/connhub").exists():
        return ["/usr/bin/connhub"], "installed /usr/bin/connhub", False
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", str(deb)], check=True, capture_output=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return ["/usr/bin/connhub"], "installed /usr/bin/connhub", True
    bundle = OUT / "dist" / "connhub" / "connhub"
    return [str(bundle)], f"{bundle} (not root: the bundle, not installed)", False


def measure(args: argparse.Namespace) -> None:
    if args.no_build:
        debs = sorted(OUT.glob("connhub_*.deb"))
        if not debs:
            raise SystemExit("no .deb in packaging/out: run without --no-build (or `make package`)")
        build_s, deb = None, debs[-1]
    else:
        build_s, deb = build(OUT)
    bundle = tree_size(OUT / "dist" / "connhub")
    print(f"{'measure':<44} {'value':>12}  goal")
    print(f"{'.deb size':<44} {mib(deb.stat().st_size):>12}  <= 60 MB  ({deb.name})")
    print(f"{'bundle size (/opt/connhub)':<44} {mib(bundle):>12}")
    if build_s is not None:
        print(f"{'build time (packaging/build-deb, from scratch)':<44} {build_s:>10.1f} s  < 300 s")

    app, where, purge = installed_app(deb)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            seed(Path(tmp), args.instances)
            env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
            env.update(QT_QPA_PLATFORM="offscreen", CONNHUB_DATA_DIR=tmp, CONNHUB_EXIT_AFTER_PAINT="1",
                       XDG_CONFIG_HOME=tmp, LANG="C.UTF-8")
            first_paint(app, env), first_paint([str(VENV_PYTHON), "-m", "connhub"], env)  # warm the page cache
            venv, frozen = [], []
            for _ in range(args.runs):
                venv.append(first_paint([str(VENV_PYTHON), "-m", "connhub"], env))
                frozen.append(first_paint(app, env))
    finally:
        if purge:
            subprocess.run(["apt-get", "purge", "-y", "-qq", "connhub"], capture_output=True,
                           env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    v, f = statistics.median(venv), statistics.median(frozen)
    print()
    print(f"start-up to first paint, {args.instances} instances, median of {args.runs} (alternating)")
    print(f"{'':<44} {'venv':>10} {'packaged':>10} {'ratio':>7}")
    print(f"{'python -m connhub vs ' + app[0]:<44} {v:>9.3f}s {f:>9.3f}s {f / v:>6.2f}x  (goal <= 1.10x)")
    print(f"  packaged app: {where}")


def exclusions() -> None:
    """Build once with every exclusion, then once per group kept; report what each group saves."""
    with tempfile.TemporaryDirectory(prefix="connhub-pkg-bench-") as tmp:
        base_out = Path(tmp) / "all"
        _, deb = build(base_out)
        base = (deb.stat().st_size, tree_size(base_out / "dist" / "connhub"))
        print(f"{'all exclusions':<20} .deb {mib(base[0])}   bundle {mib(base[1])}")
        print(f"{'kept group':<20} {'.deb saved':>14} {'bundle saved':>14}  what")
        for group, what in GROUPS.items():
            out = Path(tmp) / group
            _, deb = build(out, keep=group)
            size = (deb.stat().st_size, tree_size(out / "dist" / "connhub"))
            print(f"{group:<20} {mib(size[0] - base[0]):>14} {mib(size[1] - base[1]):>14}  {what}", flush=True)
            shutil.rmtree(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-build", action="store_true", help="measure packaging/out as it is")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--exclusions", action="store_true", help="rebuild once per exclusion group (slow)")
    args = parser.parse_args()
    if args.exclusions:
        exclusions()
    else:
        measure(args)


if __name__ == "__main__":
    main()
