"""Actions in process: the cost of running through connhub's runner, its memory over many runs, and the log.

1. Redis `get` through `execute()` (services/actions.py: params checked, the one runner, result checked and
   scrubbed, a preview made) vs the raw redis-py call; PostgreSQL `query` vs a raw asyncpg fetch. Both sides open
   one connection per run and close it (that is what an action does), with the same options; runs alternate,
   ours then the baseline, and the figure is the median of the per-pair ratios (goal ≤ 1.2×).
2. RSS growth over 1,000 `Hub.actions.run` calls on a saved Redis instance, every run logged (goal < 10 MB).
3. ActionLog (storage/runs.py) with 100,000 runs over 100 instances: time to open one instance's history, the
   newest 50 (goal < 50 ms); a plain indexed SELECT of the same rows through sqlite3 is the baseline.

Needs the local Redis (6379) and PostgreSQL (5432, trust auth, database `test`). Usage:
python benchmarks/actions.py [--pairs 300]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from table import header, ms, row  # noqa: E402

REDIS = {"host": "127.0.0.1", "port": 6379}
POSTGRES = {"host": "127.0.0.1", "port": 5432, "database": "test", "user": "postgres", "sslmode": "disable"}
PG_SQL = "SELECT n, md5(n::text) FROM generate_series(1, 100) n"


def memory_vault():
    """An in-memory keyring: the benchmark measures actions, not D-Bus (and touches no real keyring)."""
    import keyring.backend

    from connhub.storage.vault import KeyringVault

    class Memory(keyring.backend.KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.store: dict = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    return KeyringVault(backend=Memory())


def rss() -> int:
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def paired(ours, baseline, pairs: int, warmup: int = 20) -> tuple[float, float, float]:
    """(median of ours, median of baseline, median of the per-pair ratios), alternating the two."""
    for _ in range(warmup):
        await ours()
        await baseline()
    mine, theirs, ratios = [], [], []
    for _ in range(pairs):
        start = time.perf_counter()
        await ours()
        a = time.perf_counter() - start
        start = time.perf_counter()
        await baseline()
        b = time.perf_counter() - start
        mine.append(a)
        theirs.append(b)
        ratios.append(a / b)
    return statistics.median(mine), statistics.median(theirs), statistics.median(ratios)


async def bench_redis(registry, pairs: int) -> None:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    from connhub.core.actions import check_params
    from connhub.services.actions import execute

    entry = registry.get("redis")
    action = entry.manifest.action("get")
    key = f"connhub-bench:{uuid.uuid4().hex}"
    raw = aioredis.Redis(**REDIS)
    await raw.set(key, "x" * 100)
    await raw.aclose()

    async def ours():
        done = await execute(entry, action, check_params(action, {"key": key}), REDIS, {}, 5)
        assert done.ok and done.result["value"] == "x" * 100, done.message

    async def baseline():  # one connection per call, as the action: connect, GET, close; the same options
        # (RESP2, no CLIENT SETINFO, no retries), so neither side pays for a round trip the other skips
        client = aioredis.Redis(**REDIS, socket_connect_timeout=5, socket_timeout=5, protocol=2, driver_info=None,
                                retry=Retry(NoBackoff(), 0))
        try:
            assert await client.get(key) == b"x" * 100
        finally:
            await client.aclose()

    a, b, ratio = await paired(ours, baseline, pairs)
    row("redis `get`, one run (median)", ms(b), ms(a), ratio, "≤ 1.2×", ratio <= 1.2)
    raw = aioredis.Redis(**REDIS)
    await raw.delete(key)
    await raw.aclose()


async def bench_postgres(registry, pairs: int) -> None:
    import asyncpg

    from connhub.core.actions import check_params
    from connhub.services.actions import execute

    entry = registry.get("postgres")
    action = entry.manifest.action("query")

    async def ours():
        done = await execute(entry, action, check_params(action, {"sql": PG_SQL}), POSTGRES, {}, 5)
        assert done.ok and done.result["row_count"] == 100, done.message

    async def baseline():  # one connection per call, as the action: connect, fetch, close
        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="test", ssl="disable",
                                     timeout=5, command_timeout=5)
        try:
            rows = await conn.fetch(PG_SQL)
            assert len([list(r) for r in rows]) == 100
        finally:
            await conn.close()

    async def read_only_baseline():  # the same, inside a read-only transaction as the action's query is
        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="test", ssl="disable",
                                     timeout=5, command_timeout=5)
        try:
            async with conn.transaction(readonly=True):
                rows = await conn.fetch(PG_SQL)
            assert len([list(r) for r in rows]) == 100
        finally:
            await conn.close()

    a, b, ratio = await paired(ours, baseline, pairs)
    row("postgres `query`, 100 rows, one run (median)", ms(b), ms(a), ratio, "≤ 1.2×", ratio <= 1.2)
    a, b, ratio = await paired(ours, read_only_baseline, pairs // 2)
    row("the same vs a raw fetch in a read-only transaction", ms(b), ms(a), ratio, "—", None)


async def bench_memory(runs: int) -> None:
    from connhub.plugins.registry import Registry
    from connhub.services.hub import Hub

    with tempfile.TemporaryDirectory() as folder:
        hub = Hub(data_dir=Path(folder), registry=Registry.discover(plugins=False), vault=memory_vault())
        try:
            record = hub.instances.create("redis", "bench", dict(REDIS))
            for _ in range(50):  # warm: imports, caches, the loop's executor thread, SQLAlchemy's compiled SQL
                await hub.actions.run(record, "keys", {"pattern": "connhub-bench-none:*"})
            before = rss()
            start = time.perf_counter()
            for _ in range(runs):
                done = await hub.actions.run(record, "keys", {"pattern": "connhub-bench-none:*"})
                assert done.ok, done.message
            took = time.perf_counter() - start
            grown = rss() - before
        finally:
            hub.close()
    row(f"RSS growth over {runs:,} logged runs (redis `keys`)", "—", f"{grown / 1e6:.1f} MB", None, "< 10 MB",
        grown < 10e6)
    row("one logged run through `Hub.actions.run` (mean)", "—", ms(took / runs), None, "—", None)


def bench_log(total: int, instances: int) -> None:
    from sqlalchemy import insert

    from connhub.plugins.registry import Registry
    from connhub.services.hub import Hub
    from connhub.storage.models import ActionRunRow
    from connhub.storage.runs import ActionLog

    with tempfile.TemporaryDirectory() as folder:
        hub = Hub(data_dir=Path(folder), registry=Registry.discover(plugins=False), vault=memory_vault())
        try:
            ids = [hub.instances.create("sqlite", f"db{n}", {"path": f"/srv/db{n}.sqlite", "mode": "ro"}).id
                   for n in range(instances)]
            engine = hub.store.engine
            start_at = datetime(2026, 1, 1, tzinfo=UTC)
            rows = [{"instance_id": ids[n % instances], "action": "query", "params": {"sql": "SELECT 1"},
                     "started_at": start_at + timedelta(seconds=n), "duration_ms": 1.5, "ok": n % 7 != 0,
                     "error_class": None if n % 7 else "timeout", "message": "",
                     "result_size": 60, "preview": '{"columns":["?column?"],"rows":[[1]],"row_count":1}',
                     "truncated": False, "trigger": "cli"} for n in range(total)]
            with engine.begin() as conn:
                conn.execute(insert(ActionRunRow), rows)
            del rows
            target = ids[instances // 2]
            log = ActionLog(engine)  # a fresh log object: what opening the history pane uses
            start = time.perf_counter()
            first = log.history(target)
            cold = time.perf_counter() - start
            times = []
            for _ in range(30):
                start = time.perf_counter()
                got = log.history(target)
                times.append(time.perf_counter() - start)
            assert len(first) == len(got) == 50 and got[0].started_at > got[-1].started_at
            path = Path(folder) / "connhub.db"
            raw = sqlite3.connect(path)
            base = []
            for _ in range(30):
                start = time.perf_counter()
                fetched = raw.execute("SELECT * FROM action_runs WHERE instance_id = ? ORDER BY started_at DESC, "
                                      "id DESC LIMIT 50", (target,)).fetchall()
                base.append(time.perf_counter() - start)
            raw.close()
            assert len(fetched) == 50
        finally:
            hub.close()
    ours, theirs = statistics.median(times), statistics.median(base)
    row(f"open one instance's history, {total:,} runs in the log (median)", ms(theirs), ms(ours), ours / theirs,
        "< 50 ms", ours < 0.050)
    row("the same, first call on a fresh ActionLog", "—", ms(cold), None, "< 50 ms", cold < 0.050)


async def main_async(args: argparse.Namespace) -> None:
    from connhub.plugins.registry import Registry

    registry = Registry.discover(plugins=False)
    registry.get("redis").integration().preload()
    registry.get("postgres").integration().preload()
    await bench_redis(registry, args.pairs)
    await bench_postgres(registry, args.pairs)
    await bench_memory(args.runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-header", action="store_true", help="rows only (make bench prints one table)")
    parser.add_argument("--pairs", type=int, default=300, help="alternated runs per side (default 300)")
    parser.add_argument("--runs", type=int, default=1000, help="logged runs for the memory figure (default 1000)")
    parser.add_argument("--log-rows", type=int, default=100_000, help="runs in the log (default 100,000)")
    args = parser.parse_args()
    started = time.perf_counter()
    if not args.no_header:
        header()
    asyncio.run(main_async(args))
    bench_log(args.log_rows, 100)
    print(f"\n(all in {time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
