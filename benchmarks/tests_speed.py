"""Connection tests against the local servers, each beside the raw driver doing the same work in the same run.

1. Test all of N Redis instances in the real main window (its Test all: the tests in a ProbeWorker child
   process, rows and tray updated as results land, results recorded in SQLite), from the click to the summary,
   vs raw redis-py asyncio in process: a fresh connection + PING per instance, same concurrency. Both run
   inside qasync's Qt event loop, with a 5 ms timer probe that records the longest stall of the loop. Each run
   starts with a collected heap: a run must not be charged for the previous run's garbage (the raw client
   leaves plenty).
2. One PostgreSQL test in process, median of M, vs raw asyncpg connect + `SELECT version()`.

Usage: .venv/bin/python benchmarks/tests_speed.py [--redis-instances 500] [--pg-runs 50] [--concurrency 8]
Needs Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (trust), as on the project's machines.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from table import header, ms, row, seconds  # noqa: E402


class _MemoryKeyring:
    """Secrets for the run only; the benchmark must not touch the user's keyring."""

    def __new__(cls):
        import keyring.backend

        class MemoryKeyring(keyring.backend.KeyringBackend):
            priority = 1
            entries: dict = {}

            def get_password(self, service, user):
                return self.entries.get((service, user))

            def set_password(self, service, user, password):
                self.entries[(service, user)] = password

            def delete_password(self, service, user):
                self.entries.pop((service, user), None)

        return MemoryKeyring()


async def raw_redis(count: int, concurrency: int) -> None:
    from redis.asyncio import Redis

    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            client = Redis(host="127.0.0.1", port=6379, socket_connect_timeout=10)
            try:
                assert await client.ping()
            finally:
                await client.aclose()

    await asyncio.gather(*(one() for _ in range(count)))


class StallProbe:
    """A 5 ms Qt timer; the longest gap between two ticks, minus 5 ms, is how long the event loop stalled."""

    def __init__(self):
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.worst = 0.0

    def _tick(self):
        now = time.perf_counter()
        if self.last is not None:
            self.worst = max(self.worst, now - self.last - 0.005)
        self.last = now

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.stop()


async def redis_figures(count: int, concurrency: int, rounds: int) -> tuple[float, float, float, float]:
    """(raw median, connhub median, connhub's worst stall, the raw run's worst stall), in seconds."""
    from connhub.gui.shell.main_window import MainWindow
    from connhub.services.hub import Hub
    from connhub.storage.vault import KeyringVault

    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(data_dir=Path(tmp), vault=KeyringVault(backend=_MemoryKeyring()))
        hub.settings.set_concurrency(concurrency)
        for i in range(count):
            hub.instances.create("redis", f"cache-{i:04d}", {"host": "127.0.0.1", "port": 6379})
        window = MainWindow(hub)
        window.resize(1100, 700)
        window.show()
        window.reload()
        await asyncio.sleep(0.5)  # shown and settled
        gc.freeze()  # as the window does once its start-up is done (gui/startup.finish)
        ours, raw, stall, raw_stall = [], [], 0.0, 0.0
        for _ in range(rounds):  # alternate, so machine noise hits both alike
            gc.collect()
            with StallProbe() as raw_probe:  # the same probe around the raw driver: what the machine itself adds
                start = time.perf_counter()
                await raw_redis(count, concurrency)
                raw.append(time.perf_counter() - start)
            raw_stall = max(raw_stall, raw_probe.worst)
            gc.collect()
            with StallProbe() as probe:
                start = time.perf_counter()
                summary = await window.test_all.test_all()
                ours.append(time.perf_counter() - start)
            stall = max(stall, probe.worst)
            if summary.failing or summary.ok != count:
                raise SystemExit(f"Test all did not pass all {count}: {summary.text()}")
        window.close()
        hub.close()
    return statistics.median(raw), statistics.median(ours), stall, raw_stall


async def postgres_figures(runs: int) -> tuple[float, float]:
    import asyncpg

    from connhub.plugins.registry import Registry
    from connhub.services.runner import run_test

    entry = Registry.discover(plugins=False).get("postgres")
    config = {"host": "127.0.0.1", "port": 5432, "database": "postgres", "user": "postgres", "sslmode": "disable"}
    ours, raw = [], []
    for i in range(runs + 3):
        start = time.perf_counter()
        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres", ssl=False)
        await conn.fetchval("SELECT version()")
        await conn.close()
        elapsed_raw = time.perf_counter() - start
        start = time.perf_counter()
        result = await run_test(entry, config, {}, timeout=10)
        elapsed_ours = time.perf_counter() - start
        if not result.ok:
            raise SystemExit(f"PostgreSQL test failed: {result.message}")
        if i >= 3:  # the first runs import and warm up
            raw.append(elapsed_raw)
            ours.append(elapsed_ours)
    return statistics.median(raw), statistics.median(ours)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-instances", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg-runs", type=int, default=50)
    parser.add_argument("--no-header", action="store_true")
    args = parser.parse_args()

    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        raw_r, ours_r, stall, raw_stall = loop.run_until_complete(redis_figures(args.redis_instances, args.concurrency,
                                                                      args.rounds))
        raw_p, ours_p = loop.run_until_complete(postgres_figures(args.pg_runs))

    if not args.no_header:
        header()
    row(f"test all, {args.redis_instances} Redis instances, concurrency {args.concurrency} "
        f"(median of {args.rounds})", seconds(raw_r), seconds(ours_r), ours_r / raw_r, "≤ 2×", ours_r / raw_r <= 2)
    row("longest Qt event-loop stall during test all (5 ms timer probe; baseline: during the raw run)",
        ms(raw_stall), ms(stall), None, "< 50 ms", stall < 0.05)
    row(f"one PostgreSQL test in process (median of {args.pg_runs})", ms(raw_p), ms(ours_p), ours_p / raw_p,
        "≤ 1.2×", ours_p / raw_p <= 1.2)

if __name__ == "__main__":
    main()
