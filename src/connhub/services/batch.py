"""Testing many saved instances at once ("Test all"): bounded concurrency, a result per instance as it lands.

Shared by the CLI (`connhub test --all`) and the window's Test all. Cancelling the awaiting task cancels every
test still running; the ones already finished keep their recorded results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from connhub.core.results import TestResult

if TYPE_CHECKING:
    from connhub.services.hub import Hub
    from connhub.storage.repository import InstanceRecord

DEFAULT_CONCURRENCY = 8


async def test_many(hub: Hub, records: Iterable[InstanceRecord], *, concurrency: int = DEFAULT_CONCURRENCY,
                    timeout: float | None = None,
                    on_start: Callable[[InstanceRecord], None] | None = None,
                    on_result: Callable[[InstanceRecord, TestResult], None] | None = None) -> list[TestResult]:
    """Results in the order of `records`. At most `concurrency` tests run at once."""
    records = list(records)
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if timeout is None:
        timeout = await asyncio.get_running_loop().run_in_executor(None, lambda: hub.default_timeout)
    gate = asyncio.Semaphore(concurrency)

    async def one(record: InstanceRecord) -> TestResult:
        async with gate:
            if on_start is not None:
                on_start(record)
            result = await hub.test_instance(record, timeout=timeout)
        if on_result is not None:
            on_result(record, result)
        return result

    tasks = [asyncio.ensure_future(one(record)) for record in records]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:  # cancelled from outside, or one failed unexpectedly: stop the others too
            task.cancel()


test_many.__test__ = False  # not a pytest test
