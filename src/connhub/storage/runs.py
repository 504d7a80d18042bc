"""The execution log of actions: rows in, plain records out, pruned to the retention setting as it grows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import sessionmaker

from connhub.core.records import ActionRun
from connhub.storage.models import ActionRunRow

_COLUMNS = ("instance_id", "action", "params", "started_at", "duration_ms", "ok", "error_class", "message",
            "result_size", "preview", "truncated", "trigger")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _run(row: ActionRunRow) -> ActionRun:
    run = ActionRun(**{name: getattr(row, name) for name in _COLUMNS}, id=row.id)
    run.started_at = _utc(run.started_at)
    return run


class ActionLog:
    def __init__(self, engine: Engine):
        self._session = sessionmaker(engine, expire_on_commit=False)

    def record(self, run: ActionRun, keep: int | None = None) -> ActionRun:
        """Add the run; with `keep`, the instance's older runs beyond the newest `keep` go (one indexed query,
        only when the log of that instance has grown past it)."""
        with self._session() as session:
            row = ActionRunRow(**{name: getattr(run, name) for name in _COLUMNS})
            session.add(row)
            session.flush()
            run.id = row.id
            if keep is not None:
                older = select(ActionRunRow.id).where(ActionRunRow.instance_id == run.instance_id) \
                    .order_by(ActionRunRow.started_at.desc(), ActionRunRow.id.desc()).offset(keep)
                if session.scalars(older.limit(1)).first() is not None:
                    session.execute(delete(ActionRunRow).where(ActionRunRow.id.in_(older.scalar_subquery())))
            session.commit()
        return run

    def history(self, instance_id: str, limit: int = 50, action: str | None = None) -> list[ActionRun]:
        """The newest runs first, through the (instance, started) index: as fast with 100,000 rows as with 10."""
        query = select(ActionRunRow).where(ActionRunRow.instance_id == instance_id)
        if action is not None:
            query = query.where(ActionRunRow.action == action)
        query = query.order_by(ActionRunRow.started_at.desc(), ActionRunRow.id.desc()).limit(limit)
        with self._session() as session:
            return [_run(row) for row in session.scalars(query)]

    def get(self, run_id: int) -> ActionRun | None:
        with self._session() as session:
            row = session.get(ActionRunRow, run_id)
            return _run(row) if row is not None else None

    def count(self, instance_id: str) -> int:
        with self._session() as session:
            return session.scalar(select(func.count()).select_from(ActionRunRow)
                                  .where(ActionRunRow.instance_id == instance_id)) or 0
