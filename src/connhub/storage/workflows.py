"""The workflow catalog and its run log: rows in, plain records out (core/workflow.py's records).

A run is written when it starts ("running", with the process id and host) and again as each step finishes,
so a run cut short by kill -9 is still there; read back, a "running" row whose process on this host is gone
shows as "interrupted", never as running forever.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import sessionmaker

from connhub.core.processes import pid_alive
from connhub.core.workflow import StepRun, WorkflowRecord, WorkflowRun
from connhub.storage.models import WorkflowRow, WorkflowRunRow

HOST = socket.gethostname()[:255]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: WorkflowRow) -> WorkflowRecord:
    return WorkflowRecord(row.id, row.workspace, row.name, row.definition, row.version, _utc(row.created_at),
                          _utc(row.updated_at))


def _run(row: WorkflowRunRow, name: str = "") -> WorkflowRun:
    status = row.status
    steps = [StepRun.from_dict(s) for s in (row.steps or [])]
    if status == "running" and row.host == HOST and not pid_alive(row.pid):
        status = "interrupted"
        for step in steps:
            if step.outcome in ("running", "pending"):
                step.outcome = "interrupted" if step.outcome == "running" else "skipped"
    return WorkflowRun(row.workflow_id, row.version, row.trigger, dict(row.inputs or {}), status,
                       _utc(row.started_at), steps, _utc(row.finished_at), row.duration_ms, row.message, row.pid,
                       row.host, row.id, name, _utc(row.scheduled_for))


class WorkflowStore:
    def __init__(self, engine: Engine):
        self._session = sessionmaker(engine, expire_on_commit=False)

    # --- the catalog ----------------------------------------------------------------------------------------

    def save(self, workspace: str, name: str, definition: str, version: str) -> WorkflowRecord:
        """Add the workflow, or replace the definition of the one with that name (its runs stay)."""
        now = datetime.now(UTC)
        with self._session() as session:
            row = session.scalars(select(WorkflowRow).where(WorkflowRow.workspace == workspace,
                                                            WorkflowRow.name == name)).first()
            if row is None:
                row = WorkflowRow(id=str(uuid.uuid4()), workspace=workspace, name=name, created_at=now)
                session.add(row)
            row.definition, row.version, row.updated_at = definition, version, now
            session.commit()
            return _record(row)

    def list(self, workspace: str) -> list[WorkflowRecord]:
        with self._session() as session:
            rows = session.scalars(select(WorkflowRow).where(WorkflowRow.workspace == workspace)
                                   .order_by(WorkflowRow.name))
            return [_record(r) for r in rows]

    def get(self, workspace: str, name: str) -> WorkflowRecord | None:
        with self._session() as session:
            row = session.scalars(select(WorkflowRow).where(WorkflowRow.workspace == workspace,
                                                            WorkflowRow.name == name)).first()
            return _record(row) if row is not None else None

    def remove(self, workspace: str, name: str) -> bool:
        """The workflow and its runs."""
        with self._session() as session:
            row = session.scalars(select(WorkflowRow).where(WorkflowRow.workspace == workspace,
                                                            WorkflowRow.name == name)).first()
            if row is None:
                return False
            session.execute(delete(WorkflowRunRow).where(WorkflowRunRow.workflow_id == row.id))
            session.delete(row)
            session.commit()
            return True

    # --- the run log ----------------------------------------------------------------------------------------

    def start_run(self, run: WorkflowRun) -> WorkflowRun:
        with self._session() as session:
            row = WorkflowRunRow(workflow_id=run.workflow_id, version=run.version, trigger=run.trigger,
                                 inputs=run.inputs, status=run.status, started_at=run.started_at,
                                 steps=[s.to_dict() for s in run.steps], message=run.message,
                                 pid=os.getpid() if run.pid is None else run.pid, host=run.host or HOST,
                                 scheduled_for=run.scheduled_for, finished_at=run.finished_at,
                                 duration_ms=run.duration_ms)
            session.add(row)
            session.commit()
            run.id, run.pid, run.host = row.id, row.pid, row.host
        return run

    def update_run(self, run: WorkflowRun) -> None:
        """Write the run's steps and status as they are now (one UPDATE, no ORM load: it runs once a step)."""
        with self._session() as session:
            session.execute(update(WorkflowRunRow).where(WorkflowRunRow.id == run.id).values(
                steps=[s.to_dict() for s in run.steps], status=run.status, finished_at=run.finished_at,
                duration_ms=run.duration_ms, message=run.message))
            session.commit()

    def runs(self, workflow_id: str, limit: int = 50) -> list[WorkflowRun]:
        """The newest first, through the (workflow, started) index."""
        query = select(WorkflowRunRow, WorkflowRow.name).join(WorkflowRow, WorkflowRow.id ==
                                                              WorkflowRunRow.workflow_id) \
            .where(WorkflowRunRow.workflow_id == workflow_id) \
            .order_by(WorkflowRunRow.started_at.desc(), WorkflowRunRow.id.desc()).limit(limit)
        with self._session() as session:
            return [_run(row, name) for row, name in session.execute(query)]

    def get_run(self, run_id: int) -> WorkflowRun | None:
        with self._session() as session:
            found = session.execute(select(WorkflowRunRow, WorkflowRow.name)
                                    .join(WorkflowRow, WorkflowRow.id == WorkflowRunRow.workflow_id)
                                    .where(WorkflowRunRow.id == run_id)).first()
            return _run(*found) if found is not None else None

    def last_scheduled(self, workflow_id: str) -> datetime | None:
        """The newest schedule slot run or recorded as missed."""
        with self._session() as session:
            return _utc(session.scalar(select(func.max(WorkflowRunRow.scheduled_for))
                                       .where(WorkflowRunRow.workflow_id == workflow_id)))

    def count_runs(self, workflow_id: str) -> int:
        with self._session() as session:
            return session.scalar(select(func.count()).select_from(WorkflowRunRow)
                                  .where(WorkflowRunRow.workflow_id == workflow_id)) or 0
