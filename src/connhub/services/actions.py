"""Actions: what a saved connection can do — query, publish, send, request — typed, checked and logged.

A run goes: the params checked against the action's schema (bad ones are per-field errors and nothing is
sent), the instance's credentials gathered as for a test (services/credentials.py), the work done through the
one runner (services/runner.py: timeout, cancellation, classification, secrets scrubbed), the result checked
against the action's `result` schema, and the run written to the execution log with its params masked and a
capped preview of its result.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from connhub.core.actions import check_params, check_result, mask_params, preview_result
from connhub.core.context import ActionContext
from connhub.core.errors import ConfigError, ConnectionTestError, ErrorClass
from connhub.core.records import ActionRun, InstanceRecord, UnknownAction
from connhub.services.credentials import NotReady
from connhub.services.runner import redact, run_bounded, scrub

if TYPE_CHECKING:
    from connhub.core.manifest import ActionSpec
    from connhub.plugins.registry import TypeEntry
    from connhub.services.credentials import Credentials
    from connhub.services.settings import Settings
    from connhub.services.types import Types
    from connhub.storage.runs import ActionLog

log = logging.getLogger("connhub")
TRIGGERS = ("window", "cli", "workflow", "schedule", "manual")


class Actions:
    def __init__(self, types: Types, credentials: Credentials, log: ActionLog, settings: Settings):
        self._types = types
        self._credentials = credentials
        self._log = log
        self._settings = settings

    # --- what a type offers ---------------------------------------------------------------------------

    def of_type(self, type_name: str) -> list[ActionSpec]:
        """The type's working actions, in manifest order."""
        return list(self._types.usable(type_name).manifest.actions)

    def contributed(self, type_name: str) -> dict[str, str]:
        """The type's actions a plugin added (docs/PLUGINS.md), name → that plugin's source."""
        entry = self._types.usable(type_name)
        return {name: c.source for name, c in entry.contributions.items()}

    def problems(self, type_name: str) -> dict[str, str]:
        """Actions the type declares but that are off, with the fix-it message of each."""
        return dict(self._types.usable(type_name).manifest.action_problems)

    def spec(self, type_name: str, name: str) -> ActionSpec:
        manifest = self._types.usable(type_name).manifest
        action = manifest.action(name)
        if action is None:
            raise UnknownAction(type_name, name, [a.name for a in manifest.actions],
                                manifest.action_problems.get(name))
        return action

    # --- running ---------------------------------------------------------------------------------------

    async def run(self, record: InstanceRecord, name: str, params: Mapping[str, Any], *,
                  timeout: float | None = None, trigger: str = "manual",
                  on_progress: Callable[[str], None] | None = None) -> ActionRun:
        """Run one action on a saved instance and log it. Raises UnknownAction or InvalidParams (nothing is sent
        or logged then); every other failure is a classified, logged run with `ok=False`."""
        entry = self._types.usable(record.type)
        action = self.spec(record.type, name)
        checked = check_params(action, params)
        started = datetime.now(UTC)
        loop = asyncio.get_running_loop()
        if timeout is None:
            timeout = await loop.run_in_executor(None, lambda: self._settings.action_timeout)
        try:
            config, secrets = await self._credentials.for_instance(record)
        except NotReady as exc:
            run = ActionRun(record.id, name, mask_params(action, checked), started, 0.0, False,
                            exc.error_class.value, str(exc), trigger=trigger)
        else:
            run = await execute(entry, action, checked, config, secrets, timeout, on_progress,
                                self._settings.action_preview_bytes)
            run.instance_id, run.trigger, run.started_at = record.id, trigger, started
        await loop.run_in_executor(None, self._record, run)
        return run

    def _record(self, run: ActionRun) -> None:
        log.info("ran action %s on instance %s: %s", run.action, run.instance_id,
                 "ok" if run.ok else run.error_class)
        self._log.record(run, keep=self._settings.action_runs_kept)

    def history(self, instance_id: str, limit: int = 50, action: str | None = None) -> list[ActionRun]:
        return self._log.history(instance_id, limit, action)

    def get_run(self, run_id: int) -> ActionRun | None:
        return self._log.get(run_id)


async def execute(entry: TypeEntry, action: ActionSpec, params: dict[str, Any], config: dict[str, Any],
                  secrets: dict[str, Any], timeout: float, on_progress: Callable[[str], None] | None = None,
                  preview_cap: int | None = None) -> ActionRun:
    """Run checked params through the one runner: the unsaved part of a run (no instance, no log), shared by
    `Actions.run` and workflow steps. Never raises except on cancellation."""
    secret_values = [str(v) for v in secrets.values() if v not in (None, "")]
    ctx = ActionContext(timeout, on_progress, _ScrubbingLog(secret_values))
    outcome = await run_bounded(entry, config, secrets, timeout,
                                lambda integration, resolved, given, ctx: _call(entry, integration, action, params,
                                                                                resolved, given, ctx), ctx)
    masked = scrub(mask_params(action, params), secret_values)  # a password typed into a plain param, too
    if outcome.error is not None:
        return _failed(action, masked, outcome.elapsed_ms, outcome.error)
    finish = functools.partial(_finish, action, masked, outcome.value, outcome.elapsed_ms, secret_values,
                               preview_cap or 64 * 1024)
    if _sizeable(outcome.value):  # a big result is scrubbed, checked and previewed off the event loop
        return await asyncio.get_running_loop().run_in_executor(None, finish)
    return finish()


#: Items in a result's biggest list beyond which its checks run on a worker thread; below it the thread hop
#: costs more than the work (benchmarks/actions_window.py).
SIZEABLE_ITEMS = 2_000


def _sizeable(value: Any) -> bool:
    if isinstance(value, dict):
        return any(isinstance(v, list) and len(v) > SIZEABLE_ITEMS for v in value.values())
    return isinstance(value, list) and len(value) > SIZEABLE_ITEMS


def _finish(action: ActionSpec, masked: dict[str, Any], value: Any, elapsed_ms: float, secret_values: list[str],
            preview_cap: int) -> ActionRun:
    """The result scrubbed of the run's secrets, checked against the action's schema, previewed."""
    result = scrub(value, secret_values)
    try:
        check_result(action, result)
    except ConnectionTestError as exc:
        return _failed(action, masked, elapsed_ms, exc, secret_values)
    preview = preview_result(result, preview_cap)
    return ActionRun("", action.name, masked, datetime.now(UTC), elapsed_ms, True,
                     result_size=preview.size, preview=preview.text, truncated=preview.truncated, result=result)


async def _call(entry: TypeEntry, integration: Any, action: ActionSpec, params: dict[str, Any],
                config: dict[str, Any], secrets: dict[str, Any], ctx: ActionContext) -> Any:
    if (contribution := entry.contributions.get(action.name)) is not None and action.http is None:
        integration = contribution.code(integration)  # a plugin's action on this type runs the plugin's code
    if action.http is not None:
        runner = getattr(integration, "run_http_action", None)
        if runner is None:
            raise ConfigError(f"action {action.name!r} is declared as an HTTP request, but the type's code "
                              "cannot send one: drop its `entrypoint` or use a coded `method`")
        return await runner(action, params, config, secrets, ctx)
    method = getattr(integration, action.method_name or action.name, None)
    if method is None or not inspect.iscoroutinefunction(method):
        raise ConfigError(f"the code of {entry.action_source(action.name)} has no async method "
                          f"{action.method_name or action.name!r} for action {action.name!r}")
    return await method(params, config, secrets, ctx)


def _failed(action: ActionSpec, masked: dict[str, Any], elapsed_ms: float, error: ConnectionTestError,
            secret_values: list[str] = ()) -> ActionRun:
    cls = error.error_class if isinstance(error.error_class, ErrorClass) else ErrorClass.UNKNOWN
    message = redact(error.detail or str(error), list(secret_values))
    return ActionRun("", action.name, masked, datetime.now(UTC), elapsed_ms, False, cls.value, message)


class _ScrubbingLog(logging.LoggerAdapter):
    """The action's logger: its messages reach connhub's log with the run's secrets replaced."""

    def __init__(self, secrets: list[str]):
        super().__init__(logging.getLogger("connhub.actions"), {})
        self._secrets = secrets

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        return redact(str(msg), self._secrets), kwargs

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        if args:
            msg, args = str(msg) % args, ()
        super().log(level, msg, **kwargs)
