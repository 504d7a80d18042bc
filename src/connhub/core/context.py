"""The context a connection test runs in: its deadline, and a stopwatch per stage."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from connhub.core.results import StageResult


class TestContext:
    """Passed to `Integration.test_connection`.

    `timeout` is the whole test's budget in seconds; integrations pass `remaining()` to their driver's own
    connect timeout so a driver never outlives the test. `stage(name)` times one stage and tells the
    listener (the GUI's spinner) which stage is running.
    """

    __test__ = False

    def __init__(self, timeout: float, on_stage: Callable[[str], None] | None = None):
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.stages: list[StageResult] = []
        self.current_stage: str | None = None
        self._on_stage = on_stage

    def remaining(self, floor: float = 0.05) -> float:
        return max(floor, self.deadline - time.monotonic())

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.current_stage = name
        if self._on_stage:
            self._on_stage(name)
        start = time.perf_counter()
        try:
            yield
        except BaseException as exc:
            self.stages.append(StageResult(name, False, _ms_since(start), type(exc).__name__))
            raise
        self.stages.append(StageResult(name, True, _ms_since(start)))
        self.current_stage = None


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
