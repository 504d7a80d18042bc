"""Workflows in process: the runner's overhead per step, and opening a long run history.

1. A 50-step workflow of Redis `set`/`get` (25 each, every `get` reading the `set` before it through a
   reference) run by `Hub.workflows.run` vs the same 50 `Hub.actions.run` calls back to back in a plain loop
   (also logged, the same params). Rounds alternate, ours then the loop; the figure is the median of the
   per-round ratios (goal ≤ 1.3×).
2. The run history of a workflow with 10,000 runs (3 steps each) in its SQLite file: time to open the newest
   50 (`Workflows.runs`, goal < 100 ms).

Needs the local Redis (6379). Usage: python benchmarks/workflows.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
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

from actions import memory_vault  # noqa: E402
from table import header, ms, row  # noqa: E402

REDIS = {"host": "127.0.0.1", "port": 6379}
STEPS = 50


def definition(prefix: str) -> str:
    lines = ["name: bench", "steps:"]
    for i in range(STEPS // 2):
        lines.append(f"  - {{id: s{i}, instance: cache, action: set, params: {{key: '{prefix}{i}', value: 'v{i}'}}}}")
        lines.append(f"  - {{id: g{i}, instance: cache, action: get, "
                     f"params: {{key: '${{steps.s{i}.result.key}}'}}}}")
    return "\n".join(lines) + "\n"


async def overhead(hub, rounds: int) -> tuple[float, float, float]:
    prefix = f"connhub-bench-wf:{uuid.uuid4().hex[:8]}:"
    hub.workflows.save(definition(prefix))
    record = hub.instances.find("cache")
    plain = []
    for i in range(STEPS // 2):
        plain.append(("set", {"key": f"{prefix}{i}", "value": f"v{i}"}))
        plain.append(("get", {"key": f"{prefix}{i}"}))

    async def ours():
        done = await hub.workflows.run("bench", trigger="manual")
        assert done.status == "ok", [(s.id, s.message) for s in done.steps if s.outcome != "ok"]

    async def loop():
        for name, params in plain:
            done = await hub.actions.run(record, name, params, trigger="workflow")
            assert done.ok, done.message

    await ours()
    await loop()
    mine, theirs, ratios = [], [], []
    for _ in range(rounds):
        start = time.perf_counter()
        await ours()
        a = time.perf_counter() - start
        start = time.perf_counter()
        await loop()
        b = time.perf_counter() - start
        mine.append(a)
        theirs.append(b)
        ratios.append(a / b)
    import redis

    client = redis.Redis(**REDIS)
    client.delete(*[f"{prefix}{i}" for i in range(STEPS // 2)])
    client.close()
    return statistics.median(mine), statistics.median(theirs), statistics.median(ratios)


def history(hub) -> float:
    from sqlalchemy import insert

    from connhub.core.workflow import StepRun
    from connhub.storage.models import WorkflowRunRow

    info = hub.workflows.save("name: history\nsteps:\n  - {id: a, instance: cache, action: get, params: {key: k}}\n")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    steps = [StepRun(s, "cache", "get", "ok", start.isoformat(), 1.0, 1, None, "", {"key": "k"},
                     '{"exists":true,"value":"v"}').to_dict() for s in ("a", "b", "c")]
    rows = [dict(workflow_id=info.record.id, version=info.record.version, trigger="schedule", inputs={},
                 status="ok", started_at=start + timedelta(minutes=i), finished_at=start + timedelta(minutes=i),
                 duration_ms=3.0, steps=steps, message="", pid=1, host="bench") for i in range(10_000)]
    with hub.store.engine.begin() as conn:
        conn.execute(insert(WorkflowRunRow), rows)
    hub.workflows.runs("history", 50)  # warm
    times = []
    for _ in range(20):
        begin = time.perf_counter()
        runs = hub.workflows.runs("history", 50)
        times.append(time.perf_counter() - begin)
    assert len(runs) == 50 and runs[0].started_at > runs[-1].started_at
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-header", action="store_true", help="rows only (make bench prints one table)")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    from connhub.plugins.registry import Registry
    from connhub.services.hub import Hub

    with tempfile.TemporaryDirectory() as tmp:
        hub = Hub(data_dir=Path(tmp), registry=Registry.discover(plugins=False), vault=memory_vault())
        try:
            hub.instances.create("redis", "cache", dict(REDIS))
            mine, theirs, ratio = asyncio.run(overhead(hub, args.rounds))
            opened = history(hub)
        finally:
            hub.close()
    if not args.no_header:
        header()
    row(f"{STEPS}-step Redis workflow vs the same actions in a loop (median of {args.rounds})", ms(theirs),
        ms(mine), ratio, "≤ 1.3×", ratio <= 1.3)
    row("open the newest 50 of 10,000 workflow runs", "—", ms(opened), None, "< 100 ms", opened < 0.1)


if __name__ == "__main__":
    main()
