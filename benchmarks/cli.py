"""Whole `connhub` command-line calls vs a bare `python -c "import sqlite3"`, side by side in one invocation.

Scripts call connhub in loops, so what counts is the whole process: interpreter start, imports, the command, exit.
Each figure alternates a bare run and a connhub run (same interpreter, same environment, the same moment) and
reports the medians and the median of each pair's ratio. `connhub list` reads a data folder holding 1,000 saved
Redis instances, made once beforehand with the real Hub (no keyring: Redis instances without a password).
Goals (issue 22): `connhub list` ≤ 2× bare, `connhub --version` ≤ 1.5× bare.
Usage: python benchmarks/cli.py [--runs 20] [--instances 1000] [--no-header]
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

sys.path.insert(0, str(Path(__file__).parent))
from table import header, ms, row  # noqa: E402

BARE = [sys.executable, "-c", "import sqlite3"]
CONNHUB = [sys.executable, "-m", "connhub"]
SEED = """
from connhub.services.hub import Hub
hub = Hub()
for i in range({count}):
    hub.instances.create("redis", f"cache-{{i}}", {{"host": "127.0.0.1", "port": 6379}})
hub.close()
"""


def once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def side_by_side(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float, float]:
    """(bare median, connhub median, median of pair ratios); one warm-up of each first (bytecode, page cache)."""
    once(BARE, env), once(cmd, env)
    bare, ours = [], []
    for _ in range(runs):
        bare.append(once(BARE, env))
        ours.append(once(cmd, env))
    return statistics.median(bare), statistics.median(ours), statistics.median(o / b for o, b in zip(ours, bare))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--no-header", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # As a user's install runs: with bytecode (pip compiles it; a shell with PYTHONDONTWRITEBYTECODE would
        # make every run compile connhub's modules again, ~45 ms of `connhub list`).
        inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env = {**inherited, "CONNHUB_DATA_DIR": str(Path(tmp) / "data"), "XDG_CONFIG_HOME": str(Path(tmp) / "cfg"),
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        env.pop("CONNHUB_DB_URL", None)
        subprocess.run([sys.executable, "-c", SEED.format(count=args.instances)], env=env, check=True)
        if not args.no_header:
            header()
        for title, argv, goal in ((f"`connhub list`, {args.instances} instances", ["list"], 2.0),
                                  ("`connhub --version`", ["--version"], 1.5)):
            bare, ours, ratio = side_by_side(CONNHUB + argv, env, args.runs)
            row(f"{title} vs `python -c \"import sqlite3\"` (median of {args.runs})", ms(bare), ms(ours), ratio,
                f"≤ {goal}×", ratio <= goal)


if __name__ == "__main__":
    main()
