"""Plugin hooks: a plugin type's lifecycle (connhub.core.plugin, docs/PLUGINS.md), run as side effects.

The save or delete that triggers a hook is committed before the hook is even scheduled (Instances and Prober
tell this service afterwards, through a listener that cannot raise into them). Hooks run on a thread and an
event loop of their own, so a slow one blocks neither the window nor the command; one type's hooks run one
after the other (setup first), each cut at its timeout. A hook that raises, times out or is cancelled is
recorded on the instance (a settings row `plugin_hook_failure:<id>`: the hook, the plugin, the exception's
type and message, never a value of the instance beyond its secret-free record) and can be retried; a success
of the same hook clears it. Only plugin types have hooks: a built-in's save costs a dictionary lookup.

Why not pluggy: a hook here is addressed to one type's code (the instance's), not broadcast to every plugin,
and what it needs — async calls, a timeout each, a failure recorded rather than raised — is what pluggy leaves
to its caller; a dependency would add an import and no behaviour.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import inspect
import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connhub.core.plugin import HOOK_TIMEOUT, PluginContext
from connhub.core.records import InstanceRecord
from connhub.core.results import TestResult

if TYPE_CHECKING:
    from connhub.plugins.registry import Registry, TypeEntry
    from connhub.storage.repository import InstanceStore

log = logging.getLogger("connhub")
FAILURE_PREFIX = "plugin_hook_failure:"
TIMES_KEY = "plugin_hook_times"
#: The part of an instance a failed `on_instance_deleted` keeps to be retried: its record has no secrets.
SNAPSHOT = ("id", "name", "type", "workspace", "config", "secret_fields", "summary", "tags", "environment")
MAX_MESSAGE = 500


@dataclass
class HookFailure:
    hook: str
    plugin: str
    type: str
    error: str  # "ExceptionType: message", "timed out after 10 s", "cancelled"
    at: str
    instance: dict[str, Any]
    change: str | None = None
    result: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return f"{self.hook} of {self.plugin} failed: {self.error}"


@dataclass
class HookTime:
    calls: int = 0
    ms: float = 0.0
    failures: int = 0


@dataclass
class _Job:
    entry: TypeEntry
    hook: str
    record: InstanceRecord
    args: tuple = ()
    done: list[str | None] = field(default_factory=list)


def hooks_text(hooks: dict) -> str:
    """"5 calls, 12.3 ms, 1 failed": the time a plugin's hooks took, from `overview()`'s `hooks`."""
    calls = sum(h["calls"] for h in hooks.values())
    if not calls:
        return "no hook called yet"
    failures = sum(h["failures"] for h in hooks.values())
    ms = sum(h["ms"] for h in hooks.values())
    return f"{calls} call{'s' if calls != 1 else ''}, {ms:.1f} ms" + (f", {failures} failed" if failures else "")


class PluginHooks:
    """The listener Instances and Prober tell; `retry`, `failure` and `times` for the window and the CLI."""

    def __init__(self, registry: Registry, store: InstanceStore, data_dir: Path, timeout: float = HOOK_TIMEOUT):
        self._registry = registry
        self._store = store
        self._data_dir = data_dir
        self.timeout = timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()  # the loop's start and the set of pending hooks
        self._pending: set[concurrent.futures.Future] = set()
        self._set_up: dict[str, Any] = {}  # type → its Integration, once setup ran (hook thread only)
        self._locks: dict[str, asyncio.Lock] = {}  # hook thread only
        self._jobs: set[asyncio.Task] = set()  # hook thread only: the jobs running or queued
        self.times: dict[str, dict[str, HookTime]] = {}  # plugin → hook → time, this process
        self.failed: list[HookFailure] = []  # this process's, for the CLI to tell
        self._noted: list[Any] = []  # callables told an instance id once its hook's outcome is recorded

    def on_noted(self, callback: Any) -> None:
        """`callback(instance_id)` after each recorded outcome, on the hook thread (the window: a queued signal)."""
        self._noted.append(callback)

    # --- the listener: any thread, never raises, never waits -----------------------------------------------

    def instance_saved(self, record: InstanceRecord, change: str) -> None:
        self._submit(record, "on_instance_saved", change)

    def instance_deleted(self, record: InstanceRecord) -> None:
        self._submit(record, "on_instance_deleted")

    def test_finished(self, record: InstanceRecord, result: TestResult) -> None:
        self._submit(record, "on_test_finished", result)

    def _submit(self, record: InstanceRecord, hook: str, *args: Any) -> concurrent.futures.Future | None:
        try:
            entry = self._hooked(record.type)
            if entry is None:
                return None
            job = _Job(entry, hook, copy.deepcopy(record), args)
            future = asyncio.run_coroutine_threadsafe(self._run(job), self._started())
            with self._guard:
                self._pending.add(future)
            future.add_done_callback(self._forget)
            return future
        except Exception:  # noqa: BLE001 - a side effect that cannot even start must not fail the save
            log.exception("could not schedule %s for instance %s", hook, record.id)
            return None

    def _forget(self, future: concurrent.futures.Future) -> None:
        with self._guard:
            self._pending.discard(future)

    def _running(self) -> list[concurrent.futures.Future]:
        with self._guard:
            return list(self._pending)

    def _hooked(self, type_name: str) -> TypeEntry | None:
        """The type's entry when it may have hooks: a working plugin type with code."""
        if type_name not in self._registry:
            return None
        entry = self._registry.get(type_name)
        if entry.source == "built-in" or not entry.ok or entry.manifest.entrypoint is None:
            return None
        return entry

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._guard:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="connhub-plugin-hooks",
                                                daemon=True)
                self._thread.start()
            return self._loop

    # --- on the hook thread ---------------------------------------------------------------------------------

    async def _run(self, job: _Job) -> str | None:
        lock = self._locks.setdefault(job.entry.type, asyncio.Lock())
        self._jobs.add(asyncio.current_task())
        try:
            async with lock:
                error = await self._set_up_type(job.entry)
                if error is None:
                    method = getattr(self._set_up[job.entry.type], job.hook, None)
                    if method is None:
                        return None
                    error = await self._timed(job.entry, job.hook, lambda: method(job.record, *job.args))
        except asyncio.CancelledError:  # still queued when connhub quit: recorded, so it can be retried
            self._note(job, "cancelled when connhub quit, before it ran")
            raise
        finally:
            self._jobs.discard(asyncio.current_task())
        self._note(job, error)
        return error

    async def _set_up_type(self, entry: TypeEntry) -> str | None:
        """Import the type's code and run its `setup(ctx)`, once per process; a failure is tried again next time."""
        if entry.type in self._set_up:
            return None
        from connhub.plugins.registry import PluginLoadError

        try:
            integration = entry.integration()
        except PluginLoadError as exc:
            return str(exc)
        setup = getattr(integration, "setup", None)
        if setup is not None:
            plugin = entry.plugin or entry.source
            ctx = PluginContext(entry.type, plugin, self._data_dir / "plugins" / entry.type,
                                logging.getLogger(f"connhub.plugins.{entry.type}"))
            ctx.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if (error := await self._timed(entry, "setup", lambda: setup(ctx))) is not None:
                return f"setup failed: {error}"
        self._set_up[entry.type] = integration
        return None

    async def _timed(self, entry: TypeEntry, hook: str, call: Any) -> str | None:
        """Run one hook under the timeout; what went wrong as a short text (type and message only). The hook is
        a task of its own, waited for at most the timeout: one that swallows its cancellation is left to itself
        rather than waited for (asyncio.wait_for would wait)."""
        started = time.perf_counter()
        error = None
        try:
            awaitable = call()
            if not inspect.isawaitable(awaitable):
                error = f"{hook} must be an async method (async def {hook}…)"
            else:
                task = asyncio.ensure_future(awaitable)
                try:
                    done, _ = await asyncio.wait({task}, timeout=self.timeout)
                except asyncio.CancelledError:  # connhub is quitting
                    task.cancel()
                    error = "cancelled when connhub quit"
                else:
                    if not done:
                        task.cancel()
                        error = f"timed out after {self.timeout:g} s"
                    elif task.cancelled():
                        error = "cancelled"
                    elif (exc := task.exception()) is not None:
                        error = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - a plugin's failure is recorded, never raised into connhub
            error = f"{type(exc).__name__}: {exc}"
        spent = self.times.setdefault(entry.plugin or entry.source, {}).setdefault(hook, HookTime())
        spent.calls += 1
        spent.ms += (time.perf_counter() - started) * 1000
        spent.failures += error is not None
        if error is not None:
            log.warning("plugin hook %s of %s failed: %s", hook, entry.type, error[:MAX_MESSAGE])
        return error[:MAX_MESSAGE] if error else None

    def _note(self, job: _Job, error: str | None) -> None:
        """Record a failure on the instance, or clear the recorded failure of the same hook."""
        try:
            self._write_note(job, error)
        except Exception:  # noqa: BLE001 - a database that cannot take the note: said in the log
            log.exception("could not record the outcome of %s for instance %s", job.hook, job.record.id)

    def _write_note(self, job: _Job, error: str | None) -> None:
        key = FAILURE_PREFIX + job.record.id
        if error is None:
            if (known := self.failure(job.record.id)) is not None and known.hook == job.hook:
                self._store.delete_setting(key)
                self._tell(job.record.id)
            return
        change = job.args[0] if job.hook == "on_instance_saved" else None
        result = job.args[0].to_dict() if job.hook == "on_test_finished" else None
        failure = HookFailure(job.hook, job.entry.plugin or job.entry.source, job.entry.type, error,
                              datetime.now(UTC).isoformat(timespec="seconds"),
                              {k: getattr(job.record, k) for k in SNAPSHOT}, change, result)
        self._store.set_setting(key, json.dumps(asdict(failure)))
        self.failed.append(failure)
        self._tell(job.record.id)

    def _tell(self, instance_id: str) -> None:
        for callback in list(self._noted):
            try:
                callback(instance_id)
            except Exception:  # noqa: BLE001 - a closed window's listener must not stop the hooks
                log.exception("a plugin hook listener failed")

    # --- reading, retrying, waiting, closing (any thread but the hook thread) --------------------------------

    def overview(self) -> list[dict[str, Any]]:
        """Each installed plugin as `connhub plugins --json` and Settings → Plugins show it."""
        times = self.all_times()
        failures = self.failures()
        rows = []
        for info in self._registry.plugins():
            hooks = {hook: {"calls": t.calls, "ms": round(t.ms, 3), "failures": t.failures}
                     for hook, t in sorted(times.get(info.name, {}).items())}
            rows.append({"name": info.name, "version": info.version, "distribution": info.name,
                         "status": info.status, "disabled": info.disabled, "types": info.types,
                         "actions": info.actions, "problems": info.problems, "hooks": hooks,
                         "hook_ms": round(sum(h["ms"] for h in hooks.values()), 3),
                         "failed_hooks": [{"instance_id": f.instance.get("id"), "instance": f.instance.get("name"),
                                           "hook": f.hook, "error": f.error, "at": f.at}
                                          for f in failures if f.plugin == info.name]})
        return rows

    def set_enabled(self, plugin: str, enabled: bool) -> None:
        """Kept in the data folder's plugins.json, read by the next discovery (the next command, the window's
        next start)."""
        from connhub.plugins.catalog import set_plugin_enabled
        from connhub.services.first_paint import CACHE_NAME

        set_plugin_enabled(self._data_dir, plugin, enabled, cache_file=self._data_dir / CACHE_NAME)

    def failure(self, instance_id: str) -> HookFailure | None:
        """The instance's recorded hook failure (also of a deleted instance, until retried)."""
        raw = self._store.get_setting(FAILURE_PREFIX + instance_id)
        try:
            return HookFailure(**json.loads(raw)) if raw else None
        except (ValueError, TypeError):
            return None

    def failures(self) -> list[HookFailure]:
        """Every recorded failure, oldest first (a deleted instance's too: nowhere else to see it)."""
        found = []
        for raw in self._store.settings_with_prefix(FAILURE_PREFIX).values():
            try:
                found.append(HookFailure(**json.loads(raw)))
            except (ValueError, TypeError):
                continue
        return sorted(found, key=lambda f: f.at)

    def retry(self, instance_id: str) -> str | None:
        """Run the failed hook again (blocking, for at most setup and the hook's timeouts): the new error or None.
        A saved instance is given as it is now; a deleted one as it was."""
        failure = self.failure(instance_id)
        if failure is None:
            return None
        record = None
        if failure.hook != "on_instance_deleted":
            from connhub.core.records import InstanceNotFound

            try:
                record = self._store.get(instance_id)
            except InstanceNotFound:
                pass
        if record is None:
            record = InstanceRecord(**failure.instance)
        args: tuple = ()
        if failure.hook == "on_instance_saved":
            args = (failure.change or "updated",)
        elif failure.hook == "on_test_finished":
            from connhub.core.errors import ErrorClass

            result = dict(failure.result or {})
            result.pop("stages", None)
            result["error_class"] = ErrorClass(result["error_class"]) if result.get("error_class") else None
            args = (TestResult(**result),)
        if self._hooked(record.type) is None:
            return f"the type {record.type!r} is not installed or not enabled"
        future = self._submit(record, failure.hook, *args)
        if future is None:
            return "could not run the hook"
        try:
            return future.result(timeout=self.timeout * 2 + 5)
        except concurrent.futures.TimeoutError:  # queued behind the type's other hooks: it runs on, later
            return "still waiting behind the type's other hooks: look again in a moment"

    def wait(self, timeout: float | None = None) -> None:
        """Until the hooks scheduled so far have run (tests, and the CLI before it exits)."""
        concurrent.futures.wait(self._running(), timeout=timeout)

    def close(self) -> None:
        """At quit: let running hooks finish (each is bounded by its timeout), then teardown() every type that
        was set up, then keep the time the hooks took."""
        if self._loop is None:
            return
        self.wait(self.timeout + 1)
        for future in self._running():  # still running, or queued behind one that hangs: cancelled, recorded
            future.cancel()
        drained = asyncio.run_coroutine_threadsafe(self._drain(), self._loop)
        try:
            drained.result(timeout=5)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            log.warning("plugin hooks did not stop in time")
        teardown = asyncio.run_coroutine_threadsafe(self._teardown(), self._loop)
        try:
            teardown.result(timeout=self.timeout * max(1, len(self._set_up)) + 1)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            log.warning("plugin teardown did not finish in time")
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(2)
        self._loop = None
        self._keep_times()

    async def _drain(self) -> None:
        """Until each cancelled job has recorded its failure (a cancel only asks; the job answers on this loop)."""
        if self._jobs:
            await asyncio.wait(set(self._jobs), timeout=4)

    async def _teardown(self) -> None:
        for type_name, integration in list(self._set_up.items()):
            if (teardown := getattr(integration, "teardown", None)) is not None:
                await self._timed(self._registry.get(type_name), "teardown", teardown)
        self._set_up.clear()

    def _keep_times(self) -> None:
        try:
            kept = self.saved_times()
            for plugin, hooks in self.times.items():
                for hook, spent in hooks.items():
                    total = kept.setdefault(plugin, {}).setdefault(hook, HookTime())
                    total.calls, total.ms = total.calls + spent.calls, total.ms + spent.ms
                    total.failures += spent.failures
            self._store.set_setting(TIMES_KEY, json.dumps(
                {p: {h: asdict(t) for h, t in hooks.items()} for p, hooks in kept.items()}))
            self.times.clear()
        except Exception:  # noqa: BLE001 - a figure not kept must not fail the quit
            log.exception("could not keep the plugin hook times")

    def saved_times(self) -> dict[str, dict[str, HookTime]]:
        """The time each plugin's hooks took, per hook, over every process so far (this one's once closed)."""
        try:
            raw = json.loads(self._store.get_setting(TIMES_KEY) or "{}")
            return {p: {h: HookTime(**t) for h, t in hooks.items()} for p, hooks in raw.items()}
        except (ValueError, TypeError, AttributeError):
            return {}

    def all_times(self) -> dict[str, dict[str, HookTime]]:
        """Kept and this process's together."""
        merged = self.saved_times()
        for plugin, hooks in self.times.items():
            for hook, spent in hooks.items():
                total = merged.setdefault(plugin, {}).setdefault(hook, HookTime())
                total.calls, total.ms, total.failures = (total.calls + spent.calls, total.ms + spent.ms,
                                                         total.failures + spent.failures)
        return merged
