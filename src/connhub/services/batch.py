"""Testing many saved instances at once ("Test all"): bounded concurrency, a result per instance as it lands.

Shared by the CLI (`connhub test --all`) and the window's Test all. Cancelling the awaiting task cancels every
test still running; the ones already finished keep their recorded results.

Results are written in batches (every `flush_interval` seconds, one transaction each, on the worker executor)
rather than one ORM session per result: with 500 instances the per-result writes kept the worker thread holding
the GIL often enough to stall the window's event loop for 70-80 ms (benchmarks/tests_speed.py). `on_result` is
still called the moment each result lands; its row in the database follows within one flush interval, and
every result is written before `test_many` returns (or re-raises a cancellation).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from connhub.core.results import TestResult

if TYPE_CHECKING:
    from connhub.core.records import InstanceRecord
    from connhub.services.prober import Prober, Runner
    from connhub.storage.repository import TestOutcome

DEFAULT_CONCURRENCY = 8
FLUSH_INTERVAL = 0.05


async def test_many(prober: Prober, records: Iterable[InstanceRecord], *, concurrency: int = DEFAULT_CONCURRENCY,
                    timeout: float | None = None,
                    on_start: Callable[[InstanceRecord], None] | None = None,
                    on_result: Callable[[InstanceRecord, TestResult], None] | None = None,
                    flush_interval: float = FLUSH_INTERVAL, runner: Runner | None = None) -> list[TestResult]:
    """Results in the order of `records`. At most `concurrency` tests run at once, through `runner` when one
    is given (a `ProbeWorker`'s, to run them in a child process: services/probe_worker.py)."""
    records = list(records)
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    loop = asyncio.get_running_loop()
    if timeout is None:
        timeout = await loop.run_in_executor(None, lambda: prober.default_timeout)
    results: list[TestResult | None] = [None] * len(records)
    writer = _ResultWriter(prober, flush_interval)
    pending = iter(enumerate(records))  # shared by the workers: each takes the next one when it is free

    async def worker() -> None:
        for i, record in pending:
            if on_start is not None:
                on_start(record)
            result = await prober.test_instance(record, timeout=timeout, save=False, runner=runner)
            results[i] = result
            writer.add(record.id, result)
            if on_result is not None:
                on_result(record, result)

    # A few workers rather than a task per record: 500 tasks all waiting on one semaphore cost the event loop
    # a burst of work at the start and at every wake-up.
    workers = [asyncio.ensure_future(worker()) for _ in range(min(concurrency, len(records)))]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:  # cancelled from outside, or one failed unexpectedly: stop the others too
            task.cancel()
        await asyncio.shield(writer.close())  # what finished is recorded, even when cancelled
    return results  # type: ignore[return-value]  # every slot is filled once gather returned


class _ResultWriter:
    """Collects results and records them in one transaction per `interval`, off the event loop's thread."""

    def __init__(self, prober: Prober, interval: float):
        self._prober = prober
        self._interval = interval
        self._pending: list[TestOutcome] = []
        self._task: asyncio.Task | None = None

    def add(self, instance_id: str, result: TestResult) -> None:
        from connhub.storage.repository import TestOutcome

        self._pending.append(TestOutcome(instance_id, result.ok,
                                         result.error_class.value if result.error_class else None,
                                         result.latency_ms, result.server_version, result.message,
                                         datetime.now(UTC)))
        if self._task is None:
            self._task = asyncio.ensure_future(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self._interval)
        await self._flush()

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            await asyncio.get_running_loop().run_in_executor(None, self._prober.record_many, batch)
        self._task = None

    async def close(self) -> None:
        if self._task is not None:
            await self._task  # a failed write raises here, as a failed record_result did
        await self._flush()


test_many.__test__ = False  # not a pytest test
