"""The context a connection test runs in: its deadline, and a stopwatch per stage."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from connhub.core.results import StageResult

#: Seconds a test may be given, the same for `test --timeout`, `config --timeout` and the Settings dialog.
TIMEOUT_RANGE = (0.1, 600.0)


class TimeoutOutOfRange(ValueError):
    """A timeout that is not a finite number of seconds inside TIMEOUT_RANGE; the message says the range."""


def check_timeout(seconds: Any) -> float:
    """`seconds` as a float if it is a finite number from 0.1 to 600 (a number, or its text as typed or saved);
    raises TimeoutOutOfRange otherwise. NaN, infinity and 1e9 used to pass `> 0` checks and never time out."""
    low, high = TIMEOUT_RANGE
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float, str)):
        shown = type(seconds).__name__
    else:
        try:
            value = float(seconds)
        except (ValueError, OverflowError):
            value = math.nan
        if isinstance(seconds, str):
            shown = seconds.strip()[:40]
        else:
            shown = f"{value:g}" if not math.isnan(value) or isinstance(seconds, float) else "a very large number"
        if math.isfinite(value) and low <= value <= high:
            return value
    raise TimeoutOutOfRange(f"The timeout must be between {low:g} and {high:g} seconds (not {shown})")


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


class ActionContext(TestContext):
    """Passed to an action's method: the run's deadline and stages (as a test's), a way to say how far it got
    (`progress("12 of 40 rows")`, shown beside the spinner), and a logger that scrubs the run's secrets."""

    def __init__(self, timeout: float, on_progress: Callable[[str], None] | None = None,
                 log: Any = None):
        super().__init__(timeout, on_progress)
        self._on_progress = on_progress
        self.log = log if log is not None else logging.getLogger("connhub.actions")

    def progress(self, message: str) -> None:
        if self._on_progress:
            self._on_progress(message)
