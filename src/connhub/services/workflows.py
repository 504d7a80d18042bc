"""Workflows: saved sequences of actions across connections, run through the actions runner and logged.

The catalog keeps each workflow's text as written; it is parsed and validated against the saved instances and
their actions whenever it is read, so a workflow whose instance was deleted is kept and shown as broken, with
the step named, never silently dropped. A run checks everything first (nothing runs if anything is wrong), then
takes the steps in order through `Actions.run(..., trigger="workflow")`: consecutive `parallel: true` steps run
together, a step retries with a doubling backoff, a false `when` skips it, a failure stops the rest (or not,
with `on_failure: continue`), and cancelling the run cancels the step in flight and marks the rest skipped.
The run is written when it starts and after every step, each step with its masked params and result preview.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connhub.core.actions import InvalidParams, mask_params
from connhub.core.errors import ErrorClass
from connhub.core.records import InstanceNotFound, TypeDisabled, UnknownAction
from connhub.core.workflow import (
    Scope,
    Step,
    StepRun,
    Workflow,
    WorkflowError,
    WorkflowRecord,
    WorkflowRun,
    check_inputs,
    dump_workflow,
    evaluate,
    fit_params,
    mask_inputs,
    parse_schedule,
    parse_text,
    read_workflow,
    resolve_params,
    validate_workflow,
)
from connhub.services.runner import redact, scrub

if TYPE_CHECKING:
    from connhub.services.actions import Actions
    from connhub.services.instances import Instances
    from connhub.storage.workflows import WorkflowStore

log = logging.getLogger("connhub")
_MAX_MESSAGE = 500
#: How late a schedule slot may be taken up and still run (else it is recorded as missed).
GRACE = 60.0


def _slot_before(schedule: Any, slot: datetime, first: datetime) -> datetime:
    """The slot just before `slot` (at or after `first`)."""
    if schedule.every:
        return datetime.fromtimestamp(slot.timestamp() - schedule.every, UTC)
    t = first
    while (later := schedule.next_after(t)) < slot:
        t = later
    return t


class WorkflowNotFound(LookupError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"No workflow named {name!r} (see `connhub workflow list`)")


@dataclass
class WorkflowInfo:
    """A saved workflow as read back: its definition (None if it no longer parses) and its problems."""

    record: WorkflowRecord
    workflow: Workflow | None
    problems: dict[str, str]

    @property
    def broken(self) -> bool:
        return bool(self.problems)

    @property
    def name(self) -> str:
        return self.record.name


class Workflows:
    def __init__(self, actions: Actions, instances: Instances, store: WorkflowStore):
        self._actions = actions
        self._instances = instances
        self._store = store

    @property
    def workspace(self) -> str:
        return self._instances.workspace

    # --- checking --------------------------------------------------------------------------------------

    def _actions_of(self, instance: str) -> Mapping[str, Any] | None:
        try:
            record = self._instances.find(instance)
        except InstanceNotFound:
            return None
        try:
            return {a.name: a for a in self._actions.of_type(record.type)}
        except (TypeDisabled, LookupError):
            return {}

    def validate(self, workflow: Workflow) -> dict[str, str]:
        """{path: message} for every problem against today's instances and actions; {} if it can run."""
        known: dict[str, Mapping[str, Any] | None] = {}

        def actions_of(instance: str) -> Mapping[str, Any] | None:  # each instance looked up once
            if instance not in known:
                known[instance] = self._actions_of(instance)
            return known[instance]

        return validate_workflow(workflow, actions_of)

    def check_text(self, text: str, name: str = "the workflow") -> Workflow:
        """The workflow in the text, valid against the saved instances, or WorkflowError with every problem."""
        workflow = parse_text(text, name=name)
        problems = self.validate(workflow)
        if problems:
            raise WorkflowError(problems)
        return workflow

    # --- the catalog -----------------------------------------------------------------------------------

    def save(self, text: str, *, check: bool = True) -> WorkflowInfo:
        """Add or replace the workflow the text defines (YAML or JSON), kept as written."""
        workflow = self.check_text(text) if check else parse_text(text)
        record = self._store.save(self.workspace, workflow.name, text, workflow.version)
        log.info("saved workflow %s (version %s)", record.id, record.version)
        return WorkflowInfo(record, workflow, self.validate(workflow))

    def import_file(self, source: str | Path | Any) -> WorkflowInfo:
        """A workflow from a file (kept as written) or a binary stream (kept as YAML), checked first."""
        workflow = read_workflow(source)
        problems = self.validate(workflow)
        if problems:
            raise WorkflowError(problems)
        text = Path(source).read_text(encoding="utf-8") if isinstance(source, (str, Path)) \
            else dump_workflow(workflow)
        record = self._store.save(self.workspace, workflow.name, text, workflow.version)
        return WorkflowInfo(record, workflow, {})

    def export(self, name: str, fmt: str | None = None) -> str:
        """The definition as saved; in the other spelling when `fmt` ("yaml" or "json") asks for it."""
        info = self.get(name)
        if fmt is None or info.workflow is None:
            return info.record.definition
        saved_json = info.record.definition.lstrip()[:1] in ("{", "[")
        if (fmt == "json") == saved_json:
            return info.record.definition
        return dump_workflow(info.workflow, fmt)

    def _info(self, record: WorkflowRecord) -> WorkflowInfo:
        try:
            workflow = parse_text(record.definition, name=record.name)
        except WorkflowError as exc:
            return WorkflowInfo(record, None, exc.errors)
        return WorkflowInfo(record, workflow, self.validate(workflow))

    def list(self) -> list[WorkflowInfo]:
        return [self._info(r) for r in self._store.list(self.workspace)]

    def get(self, name: str) -> WorkflowInfo:
        record = self._store.get(self.workspace, name)
        if record is None:
            raise WorkflowNotFound(name)
        return self._info(record)

    def remove(self, name: str) -> None:
        if not self._store.remove(self.workspace, name):
            raise WorkflowNotFound(name)
        log.info("removed workflow %s", name)

    # --- the log ---------------------------------------------------------------------------------------

    def runs(self, name: str, limit: int = 50) -> list[WorkflowRun]:
        return self._store.runs(self.get(name).record.id, limit)

    def get_run(self, run_id: int) -> WorkflowRun | None:
        return self._store.get_run(run_id)

    def last_run(self, name: str) -> WorkflowRun | None:
        runs = self.runs(name, 1)
        return runs[0] if runs else None

    # --- running ---------------------------------------------------------------------------------------

    async def run(self, name: str, inputs: Mapping[str, Any] | None = None, *, trigger: str = "manual",
                  on_step: Callable[[WorkflowRun, StepRun], None] | None = None,
                  scheduled_for: datetime | None = None, event: Any = None) -> WorkflowRun:
        """Run a saved workflow. Raises WorkflowNotFound, or WorkflowError when it is invalid or broken or the
        inputs are wrong (nothing has run then). Every step failure is in the returned run (`status`).
        Cancelling the task cancels the step in flight, marks the rest skipped, logs the run as cancelled
        and lets the cancellation through."""
        loop = asyncio.get_running_loop()
        info = await loop.run_in_executor(None, self.get, name)
        if info.workflow is None or info.problems:
            raise WorkflowError(info.problems)
        workflow = info.workflow
        values = check_inputs(workflow, dict(inputs or {}))
        run = WorkflowRun(info.record.id, info.record.version, trigger, mask_inputs(workflow, values), "running",
                          datetime.now(UTC), [StepRun(s.id, s.instance, s.action) for s in workflow.steps],
                          workflow_name=workflow.name, scheduled_for=scheduled_for)
        await loop.run_in_executor(None, self._store.start_run, run)
        masked = run.inputs
        secret_inputs = [str(v) for k, v in values.items() if masked.get(k) != v and v not in (None, "")]
        return await _Runner(self, workflow, run, Scope(inputs=values, event=event), on_step, secret_inputs).go()

    async def on_event(self, instance: str, event: str | None, payload: Any) -> list[WorkflowRun]:
        """Run every workflow declaring `on: {instance, event}` for this accepted webhook delivery (the webhook
        receiver's hook, services/webhooks.py); the payload is `${event.…}`. A broken one is left alone."""
        loop = asyncio.get_running_loop()
        infos = await loop.run_in_executor(None, self.list)
        runs = []
        for info in infos:
            on = info.workflow.on if info.workflow is not None else None
            if on and on["instance"] == instance and on["event"] == event and not info.problems:
                runs.append(await self.run(info.name, trigger="webhook", event=payload))
        return runs

    # --- schedules -------------------------------------------------------------------------------------

    async def run_schedules(self, now: datetime | None = None) -> list[WorkflowRun]:
        """Run every scheduled workflow whose slot has come since its last one, once per slot; call it as often
        as you like (each tick of a watcher). The newest slot runs if it is at most GRACE seconds (or one
        period, if shorter) old; older slots that passed while nothing was watching are recorded as one
        "missed" row, never run. A broken workflow's slots are left alone (list shows it broken). Returns the
        runs started and the missed rows written in this call."""
        loop = asyncio.get_running_loop()
        now = now or datetime.now(UTC)
        out: list[WorkflowRun] = []
        for info in await loop.run_in_executor(None, self.list):
            workflow = info.workflow
            if workflow is None or workflow.schedule is None or info.broken:
                continue
            schedule = parse_schedule(workflow.schedule)
            last = await loop.run_in_executor(None, self._store.last_scheduled, info.record.id)
            count, first, newest = schedule.due(last or info.record.updated_at, now)
            if not count:
                continue
            on_time = (now - newest).total_seconds() <= min(GRACE, schedule.period_hint)
            missed = count - 1 if on_time else count
            if missed:
                last_missed = _slot_before(schedule, newest, first) if on_time else newest
                noted = datetime.now(UTC)  # when it was noticed; `now` is the schedule's clock
                row = WorkflowRun(info.record.id, info.record.version, "schedule", {}, "missed", noted, [],
                                  finished_at=noted, duration_ms=0.0, workflow_name=info.name,
                                  scheduled_for=last_missed,
                                  message=f"{missed} scheduled run{'s' if missed > 1 else ''} missed "
                                          f"({first.isoformat()} to {last_missed.isoformat()}): nothing was "
                                          "running connhub's schedules then")
                await loop.run_in_executor(None, self._store.start_run, row)
                out.append(row)
            if on_time:
                try:
                    out.append(await self.run(info.name, trigger="schedule", scheduled_for=newest))
                except WorkflowError as exc:
                    log.warning("scheduled workflow %s could not run: %s", info.name, exc)
        return out


class _Writer:
    """Writes the run as it is now, off the loop; a write asked for while one is under way is folded into the
    next (the newest state wins).

    A step's start is written at once when the last write is more than `INTERVAL` old, else `INTERVAL` after
    the last one if the step is still going: a run of many quick steps does not pay a commit per step (each
    would contend with the action's own log write for SQLite's one write lock), while a step that lasts is on
    disk within 50 ms, so a kill -9 during it reads back as that step interrupted. The end is always written."""

    INTERVAL = 0.05

    def __init__(self, store: WorkflowStore, run: WorkflowRun):
        self._store, self._run = store, run
        self._pending: WorkflowRun | None = None
        self._task: asyncio.Future | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last = time.monotonic()

    def _mark(self) -> None:
        run = self._run
        self._pending = replace(run, steps=[StepRun.from_dict(s.to_dict()) for s in run.steps])
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending is not None:
            snapshot, self._pending = self._pending, None
            await loop.run_in_executor(None, self._store.update_run, snapshot)
            self._last = time.monotonic()

    async def step_started(self) -> None:
        waited = time.monotonic() - self._last
        if waited >= self.INTERVAL:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.INTERVAL - waited, self._deferred)

    def _deferred(self) -> None:
        self._timer = None
        self._mark()

    async def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._mark()
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)


class _Runner:
    def __init__(self, service: Workflows, workflow: Workflow, run: WorkflowRun, scope: Scope,
                 on_step: Callable[[WorkflowRun, StepRun], None] | None, secret_inputs: list[str] = ()):
        self.service, self.workflow, self.run, self.scope, self.on_step = service, workflow, run, scope, on_step
        self.secret_inputs = list(secret_inputs)  # secret-kind inputs: never in a step's params, result or error
        self.started = time.monotonic()
        self.writer = _Writer(service._store, run)
        self.records: dict[str, Any] = {}

    async def go(self) -> WorkflowRun:
        steps = self.workflow.steps
        stopped = False
        i = 0
        try:
            while i < len(steps):
                group = [i]
                while steps[group[-1]].parallel and group[-1] + 1 < len(steps) and steps[group[-1] + 1].parallel:
                    group.append(group[-1] + 1)
                i = group[-1] + 1
                if stopped:
                    for k in group:
                        self._skip(k, "an earlier step failed")
                    continue
                failed = await asyncio.gather(*(self._step(k) for k in group))
                if any(failed):
                    stop = [steps[k].on_failure or self.workflow.on_failure for k, f in zip(group, failed) if f]
                    if "stop" in stop:
                        stopped = True
        except asyncio.CancelledError:
            for step_run in self.run.steps:
                if step_run.outcome == "running":
                    step_run.outcome, step_run.message = "cancelled", "cancelled"
                elif step_run.outcome == "pending":
                    step_run.outcome, step_run.message = "skipped", "the run was cancelled"
            self._finish("cancelled", "the run was cancelled")
            await asyncio.shield(self.writer.flush())
            raise
        failed = [s for s in self.run.steps if s.outcome == "failed"]
        self._finish("failed" if failed else "ok",
                     f"step {failed[0].id!r} failed: {failed[0].message}"[:_MAX_MESSAGE] if failed else "")
        await self.writer.flush()
        return self.run

    def _finish(self, status: str, message: str) -> None:
        self.run.status, self.run.message = status, message
        self.run.finished_at = datetime.now(UTC)
        self.run.duration_ms = (time.monotonic() - self.started) * 1000

    def _skip(self, k: int, why: str) -> None:
        step_run = self.run.steps[k]
        step_run.outcome, step_run.message = "skipped", why
        self._tell(step_run)

    def _tell(self, step_run: StepRun) -> None:
        if self.on_step is not None:
            try:
                self.on_step(self.run, step_run)
            except Exception:  # noqa: BLE001 - a progress display must not break the run
                log.exception("workflow progress callback failed")

    async def _step(self, k: int) -> bool:
        """Run one step; True if it failed."""
        step, step_run = self.workflow.steps[k], self.run.steps[k]
        step_run.started_at = datetime.now(UTC).isoformat()
        begun = time.monotonic()
        try:
            if step.when is not None and not evaluate(step.when, self.scope):
                step_run.outcome, step_run.message = "skipped", "its `when` was false"
                self._tell(step_run)
                return False
        except WorkflowError as exc:
            return self._fail(step_run, begun, ErrorClass.CONFIG, f"when: {_first(exc)}")
        step_run.outcome = "running"
        self._tell(step_run)
        await self.writer.step_started()  # soon on disk: a kill -9 then leaves this step "interrupted"
        try:
            params = resolve_params(step.params, self.scope)
        except WorkflowError as exc:
            return self._fail(step_run, begun, ErrorClass.CONFIG, _first(exc))
        loop = asyncio.get_running_loop()
        try:
            record = self.records.get(step.instance)
            if record is None:  # each instance read once per run
                record = await loop.run_in_executor(None, self.service._instances.find, step.instance)
                self.records[step.instance] = record
            spec = self.service._actions.spec(record.type, step.action)
        except (InstanceNotFound, UnknownAction, TypeDisabled) as exc:
            return self._fail(step_run, begun, ErrorClass.CONFIG, f"step {step.id!r}: {exc}")
        params = fit_params(params, spec.params)
        step_run.params = scrub(mask_params(spec, params), self.secret_inputs)
        done = None
        for attempt in range(step.retries + 1):
            step_run.attempts = attempt + 1
            if attempt:
                await asyncio.sleep(step.backoff_seconds * 2 ** (attempt - 1))
            try:
                done = await self.service._actions.run(record, step.action, params, timeout=step.timeout,
                                                       trigger="workflow")
            except InvalidParams as exc:
                return self._fail(step_run, begun, ErrorClass.CONFIG, str(exc))
            if done.ok:
                break
        step_run.params = scrub(done.params, self.secret_inputs)
        step_run.action_run_id = done.id
        step_run.preview, step_run.truncated = redact(done.preview, self.secret_inputs), done.truncated
        step_run.duration_ms = (time.monotonic() - begun) * 1000
        if not done.ok:
            return self._fail(step_run, begun, done.error_class or ErrorClass.UNKNOWN.value, done.message)
        self.scope.steps[step.id] = done.result
        step_run.outcome = "ok"
        self._tell(step_run)
        return False

    def _fail(self, step_run: StepRun, begun: float, error_class: Any, message: str) -> bool:
        step_run.outcome = "failed"
        step_run.error_class = error_class.value if isinstance(error_class, ErrorClass) else str(error_class)
        step_run.message = redact(message, self.secret_inputs)[:_MAX_MESSAGE]
        step_run.duration_ms = (time.monotonic() - begun) * 1000
        self._tell(step_run)
        return True


def _first(exc: WorkflowError) -> str:
    return next(iter(exc.errors.values()), str(exc))


__all__ = ["Step", "WorkflowInfo", "WorkflowNotFound", "Workflows"]
