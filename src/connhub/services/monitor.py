"""Health monitoring: test the instances that ask for it every N minutes and report status changes.

Qt-free and thread-free: a coroutine on whatever asyncio loop runs it (qasync in the window, `asyncio.run` in
`connhub watch`). Database and keyring calls go to the loop's default executor, as the rest of the app does.
Time comes from an injectable clock (`now()`, `sleep()`) so tests can run hours of schedule in milliseconds.

Schedule: an instance is due when monitoring is on and `monitor_next_run_at` is unset or past. After a run,
the next one is `interval` later; after n consecutive failures it is `interval × 2^(n-1)`, at most 8× the
interval and never over 24 h unless the interval itself is longer (see `next_delay`). 8× keeps a dead
service from being hammered (15 min → every 2 h) while still noticing within hours that it came back; the
24 h ceiling keeps "once a day or more often" true for any setting. The next run time is written to the
database, so a second monitor (the window and `connhub watch` at once) sees the run and does not repeat it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from connhub.core.results import TestResult

if TYPE_CHECKING:
    from connhub.core.records import InstanceRecord
    from connhub.services.instances import Instances
    from connhub.services.prober import Prober

log = logging.getLogger("connhub.monitor")

MIN_INTERVAL_MIN, MAX_INTERVAL_MIN = 1, 1440
BACKOFF_FACTOR_CAP = 8
BACKOFF_CEILING = timedelta(hours=24)
DEFAULT_CONCURRENCY = 4
#: The longest the monitor sleeps without looking again: settings changed elsewhere (another process, a
#: session secret typed in) are noticed within this time even if nobody calls `wake()`.
MAX_IDLE = timedelta(seconds=30)


class Clock(Protocol):
    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(frozen=True)
class StatusChange:
    """An instance's status moved (`untested`/`ok`/`failing`); `instance` is the record after the test."""

    instance: InstanceRecord
    old: str
    new: str
    result: TestResult
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """For `connhub watch --json`: no config, no secrets; the message was scrubbed by the test runner."""
        return {"name": self.instance.name, "type": self.instance.type, "old": self.old, "new": self.new,
                "error_class": self.result.error_class.value if self.result.error_class else None,
                "message": self.result.message, "at": self.at.isoformat()}


def next_delay(interval: timedelta, error_count: int) -> timedelta:
    """How long until the next run after `error_count` consecutive failures (0 = the last run passed)."""
    if error_count <= 0:
        return interval
    factor = min(2 ** min(error_count - 1, 16), BACKOFF_FACTOR_CAP)  # 1, 2, 4, 8, 8, …
    return min(interval * factor, max(interval, BACKOFF_CEILING))


class Monitor:
    """Runs due tests with at most `concurrency` at once and tells subscribers about status changes.

    `interval` (seconds) overrides every instance's own interval (`connhub watch --interval`); then the
    schedule is kept in memory only, so a quick terminal watch does not rewrite the window's schedule.
    `select` picks which instances are watched (default: those with monitoring on). An instance the prober
    cannot test now (its type missing or disabled, an "ask every time" one without its secrets in memory) is
    skipped, not failed: nobody is there to type a password into a background check.
    """

    def __init__(self, instances: Instances, prober: Prober, *, clock: Clock | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY, interval: float | None = None, timeout: float | None = None,
                 select: Callable[[InstanceRecord], bool] | None = None):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if interval is not None and interval <= 0:
            raise ValueError("interval must be a positive number of seconds")
        self.instances = instances
        self.prober = prober
        self.clock = clock or SystemClock()
        self.concurrency = concurrency
        self.interval_override = timedelta(seconds=interval) if interval is not None else None
        self.timeout = timeout
        self.select = select or (lambda record: record.monitor_enabled)
        self._subscribers: list[Callable[[StatusChange], Any]] = []
        self._next_run: dict[str, datetime] = {}  # the in-memory schedule (with an interval override)
        self._skipped: set[str] = set()  # logged once each, not at every pass
        self._ran: dict[str, InstanceRecord] = {}  # records as they are after this pass's runs
        self._wake = asyncio.Event()
        self._gate: asyncio.Semaphore | None = None
        self.running = 0  # tests in flight now (for tests and a status line)

    # --- subscribers ------------------------------------------------------------------------------------

    def subscribe(self, callback: Callable[[StatusChange], Any]) -> Callable[[], None]:
        """Call `callback(change)` for every status change (a returned coroutine is awaited); returns an
        unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    async def changes(self) -> AsyncIterator[StatusChange]:
        """The same events as an async iterator, for `async for change in monitor.changes()`."""
        queue: asyncio.Queue[StatusChange] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()

    def wake(self) -> None:
        """Settings changed (monitoring turned on, a secret typed in): look at the schedule again now."""
        self._wake.set()

    # --- schedule ---------------------------------------------------------------------------------------

    def interval_of(self, record: InstanceRecord) -> timedelta:
        return self.interval_override or timedelta(minutes=record.monitor_interval_min)

    def next_run_of(self, record: InstanceRecord) -> datetime | None:
        held = self._next_run.get(record.id)  # with an override; or a run that could not finish
        if self.interval_override is not None or record.monitor_next_run_at is None:
            return held
        return max(record.monitor_next_run_at, held) if held else record.monitor_next_run_at

    def due(self, records: Iterable[InstanceRecord], now: datetime | None = None) -> list[InstanceRecord]:
        """Watched instances whose next run is unset or not after `now`, skipping those that cannot run."""
        now = now or self.clock.now()
        due = []
        for record in records:
            if not self.select(record):
                continue
            at = self.next_run_of(record)
            if (at is None or at <= now) and self._runnable(record):
                due.append(record)
        return due

    def _runnable(self, record: InstanceRecord) -> bool:
        reason = self.prober.unusable_reason(record)
        if reason is None:
            self._skipped.discard(record.id)
            return True
        if record.id not in self._skipped:
            self._skipped.add(record.id)
            log.info("monitor skips instance %s: %s", record.id, reason)
        return False

    def seconds_until_next(self, records: Iterable[InstanceRecord], now: datetime | None = None) -> float:
        """How long the loop may sleep: until the earliest runnable next run, at most MAX_IDLE."""
        now = now or self.clock.now()
        wait = MAX_IDLE
        for record in records:
            if not self.select(record) or record.id in self._skipped:
                continue
            at = self.next_run_of(record)
            wait = min(wait, max(timedelta(0), (at - now) if at is not None else timedelta(0)))
        return wait.total_seconds()

    # --- running ----------------------------------------------------------------------------------------

    async def _blocking(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(fn, *args, **kwargs))

    async def run_once(self, records: list[InstanceRecord] | None = None) -> list[StatusChange]:
        """One pass: test everything due now (bounded), record results and next runs; the changes seen.
        `records` saves a read when the caller has just listed the instances."""
        if records is None:
            records = await self._blocking(self.instances.list)
        due = self.due(records)
        if not due:
            return []
        timeout = self.timeout
        if timeout is None:
            timeout = await self._blocking(lambda: self.prober.default_timeout)
        self._gate = asyncio.Semaphore(self.concurrency)  # per pass: passes never overlap, loops may differ
        changes = await asyncio.gather(*(self._run_one(record, timeout) for record in due))
        return [change for change in changes if change is not None]

    async def _run_one(self, record: InstanceRecord, timeout: float) -> StatusChange | None:
        try:
            async with self._gate:
                self.running += 1
                try:
                    result = await self.prober.test_instance(record, timeout=timeout)  # records the result too
                finally:
                    self.running -= 1
            now = self.clock.now()
            updated = await self._blocking(self.instances.get, record.id)
            at = now + next_delay(self.interval_of(updated), updated.error_count)
            if self.interval_override is not None:
                self._next_run[record.id] = at
            else:
                self._next_run.pop(record.id, None)
                updated = await self._blocking(self.instances.schedule, record.id, at)
            self._ran[record.id] = updated
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # deleted meanwhile, database locked: try again an interval later
            log.warning("monitor could not run instance %s: %s", record.id, type(exc).__name__)
            self._next_run[record.id] = self.clock.now() + self.interval_of(record)
            return None
        if record.status == updated.status:
            return None
        change = StatusChange(updated, record.status, updated.status, result, now)
        log.info("instance %s: %s -> %s", record.id, change.old, change.new)
        await self._emit(change)
        return change

    async def _emit(self, change: StatusChange) -> None:
        for callback in list(self._subscribers):
            try:
                outcome = callback(change)
                if asyncio.iscoroutine(outcome):
                    await outcome
            except Exception:  # one broken subscriber must not stop the monitor or the others
                log.exception("a status-change subscriber failed")

    async def run_forever(self, stop_when_idle: bool = False) -> None:
        """Pass after pass until cancelled, sleeping until the next run is due (or `wake()`). With
        `stop_when_idle` it returns once no instance is watched (the window restarts it when one is)."""
        while True:
            try:  # one read per pass: an idle pass over 1,000 instances costs a few hundred ms of Python
                records = await self._blocking(self.instances.list)
                self._ran.clear()
                await self.run_once(records)
                records = [self._ran.get(record.id, record) for record in records]
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away for a moment: try again later, do not die
                log.exception("monitor pass failed")
                records = None
            if stop_when_idle and records is not None and not any(self.select(record) for record in records):
                return
            self._wake.clear()
            wait = self.seconds_until_next(records) if records else MAX_IDLE.total_seconds()
            if wait > 0:
                sleeper = asyncio.ensure_future(self.clock.sleep(wait))
                waker = asyncio.ensure_future(self._wake.wait())
                try:
                    await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (sleeper, waker):
                        task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.gather(sleeper, waker, return_exceptions=True)
            else:
                await asyncio.sleep(0)  # let the loop breathe between back-to-back passes
