"""The instance store: plain records in and out, so callers never see SQLAlchemy sessions or rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from connhub.core.records import (  # noqa: F401 (re-exported for storage callers)
    DEFAULT_WORKSPACE,
    AppSettings,
    EditConflict,
    InstanceNotFound,
    InstanceRecord,
    NameTaken,
    TestRun,
)
from connhub.storage.models import AppSettingRow, InstanceRow, SettingRow, TestRunRow
from connhub.storage.quick import JOURNAL_PREFIX  # settings rows `keyring-journal:<id>`: see journal_put


@dataclass
class TestOutcome:
    """One test result to record with `record_tests`."""

    __test__ = False

    instance_id: str
    ok: bool
    error_class: str | None
    latency_ms: float | None
    server_version: str | None
    message: str
    at: datetime | None = None


_RECORD_FIELDS = [f.name for f in fields(InstanceRecord)]
#: What an edit writes (the test and monitoring columns have writers of their own).
_EDITABLE = ("name", "config", "secret_fields", "summary", "tags", "environment", "workspace", "events",
             "monitor_enabled", "monitor_interval_min", "monitor_next_run_at", "secret_mode", "needs_reauth")


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC. SQLite drops the zone (we only ever store UTC there); PostgreSQL answers in the session's
    time zone, which on a shared server need not be UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _record(row: InstanceRow) -> InstanceRecord:
    record = InstanceRecord(**{name: getattr(row, name) for name in _RECORD_FIELDS})
    for stamp in ("last_test_at", "monitor_next_run_at", "created_at", "updated_at"):
        setattr(record, stamp, _utc(getattr(record, stamp)))
    return record


def now() -> datetime:
    return datetime.now(UTC)


class InstanceStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._session = sessionmaker(engine, expire_on_commit=False)

    def _commit(self, session: Session, record: InstanceRecord) -> None:
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise NameTaken(record.name, record.workspace) from None

    def list(self, workspace: str | None = None) -> list[InstanceRecord]:
        query = select(InstanceRow).order_by(func.lower(InstanceRow.name))
        if workspace is not None:
            query = query.where(InstanceRow.workspace == workspace)
        with self._session() as session:
            return [_record(row) for row in session.scalars(query)]

    def workspaces(self) -> list[str]:
        """The workspaces that hold at least one instance."""
        with self._session() as session:
            return list(session.scalars(select(InstanceRow.workspace).distinct()))

    def get(self, instance_id: str) -> InstanceRecord:
        with self._session() as session:
            row = session.get(InstanceRow, instance_id)
            if row is None:
                raise InstanceNotFound(instance_id)
            return _record(row)

    def get_many(self, instance_ids: Iterable[str]) -> dict[str, InstanceRecord]:
        """The instances of these ids that exist, by id: one query (per 500) instead of one session each."""
        wanted = list(dict.fromkeys(instance_ids))
        found: dict[str, InstanceRecord] = {}
        with self._session() as session:
            for start in range(0, len(wanted), 500):  # bound the IN list
                query = select(InstanceRow).where(InstanceRow.id.in_(wanted[start:start + 500]))
                found.update((row.id, _record(row)) for row in session.scalars(query))
        return found

    def find(self, ref: str, workspace: str = DEFAULT_WORKSPACE) -> InstanceRecord:
        """By name in the workspace, or by id."""
        with self._session() as session:
            row = session.scalars(select(InstanceRow).where(InstanceRow.workspace == workspace,
                                                            InstanceRow.name == ref)).first()
            row = row or session.get(InstanceRow, ref)
            if row is None:
                raise InstanceNotFound(ref)
            return _record(row)

    def name_taken(self, name: str, workspace: str, except_id: str | None = None) -> bool:
        with self._session() as session:
            query = select(InstanceRow.id).where(InstanceRow.workspace == workspace, InstanceRow.name == name)
            if except_id:
                query = query.where(InstanceRow.id != except_id)
            return session.scalars(query).first() is not None

    def add(self, record: InstanceRecord) -> InstanceRecord:
        record.created_at = record.updated_at = now()
        with self._session() as session:
            session.add(InstanceRow(**{name: getattr(record, name) for name in _RECORD_FIELDS}))
            self._commit(session, record)
        return record

    def update(self, record: InstanceRecord, expected_version: int | None = None) -> InstanceRecord:
        """Write the record's editable columns, one more row version. With `expected_version` (the version the
        editor read) the write happens only if the row still has it, in the same UPDATE: EditConflict with the
        row as it is now otherwise, so two saves of one instance never silently lose one."""
        stamp = now()
        columns = {name: getattr(record, name) for name in _EDITABLE}
        query = update(InstanceRow).where(InstanceRow.id == record.id)
        if expected_version is not None:
            query = query.where(InstanceRow.version == expected_version)
        with self._session() as session:
            try:
                written = session.execute(query.values(**columns, updated_at=stamp, version=InstanceRow.version + 1))
            except IntegrityError:
                session.rollback()
                raise NameTaken(record.name, record.workspace) from None
            if written.rowcount != 1:
                session.rollback()
                current = session.get(InstanceRow, record.id)
                if current is None:
                    raise InstanceNotFound(record.id)
                raise EditConflict(_record(current))
            self._commit(session, record)
            record.updated_at = stamp
            record.version = session.scalar(select(InstanceRow.version).where(InstanceRow.id == record.id)) or 0
        return record

    def update_monitoring(self, instance_id: str, **values: Any) -> InstanceRecord:
        """Write only monitoring columns (`monitor_enabled`, `monitor_interval_min`, `monitor_next_run_at`): the
        monitor must not write back a whole record it read earlier over an edit made since."""
        allowed = {"monitor_enabled", "monitor_interval_min", "monitor_next_run_at"}
        if not set(values) <= allowed:
            raise ValueError(f"not monitoring columns: {sorted(set(values) - allowed)}")
        if values.get("monitor_next_run_at") is not None:
            values["monitor_next_run_at"] = _utc(values["monitor_next_run_at"])
        with self._session() as session:
            row = session.get(InstanceRow, instance_id)
            if row is None:
                raise InstanceNotFound(instance_id)
            for name, value in values.items():
                setattr(row, name, value)
            session.commit()
            return _record(row)

    def delete(self, instance_id: str) -> None:
        with self._session() as session:
            session.execute(delete(InstanceRow).where(InstanceRow.id == instance_id))
            session.commit()

    def record_test(self, instance_id: str, ok: bool, error_class: str | None, latency_ms: float | None,
                    server_version: str | None, message: str, at: datetime | None = None) -> InstanceRecord:
        at = _utc(at) or now()  # SQLite keeps no zone: a time in another zone must be stored as UTC
        with self._session() as session:
            row = session.get(InstanceRow, instance_id)
            if row is None:
                raise InstanceNotFound(instance_id)
            row.status = "ok" if ok else "failing"
            row.last_test_at = at
            row.last_latency_ms = latency_ms
            row.last_error_class = error_class
            row.last_message = message
            row.last_server_version = server_version if ok else row.last_server_version
            # Counted by the database, not from the value read above: the GUI and a CLI run may record at once.
            row.error_count = 0 if ok else InstanceRow.error_count + 1
            session.add(TestRunRow(instance_id=instance_id, started_at=at, ok=ok, error_class=error_class,
                                   latency_ms=latency_ms, server_version=server_version, message=message))
            session.commit()
            return _record(row)

    def record_tests(self, outcomes: list[TestOutcome]) -> int:
        """`record_test` for many results in one transaction (test all): two executemany updates and one insert
        instead of an ORM session per result, so the writer thread holds the GIL (and the database) briefly.
        Instances deleted meanwhile are skipped. Returns how many were recorded."""
        if not outcomes:
            return 0
        with self.engine.begin() as conn:
            wanted = list({o.instance_id for o in outcomes})
            known = set()
            for start in range(0, len(wanted), 500):  # bound the IN list
                known |= set(conn.scalars(select(InstanceRow.id).where(InstanceRow.id.in_(wanted[start:start + 500]))))
            kept = [o for o in outcomes if o.instance_id in known]
            rows = [{"b_id": o.instance_id, "b_at": _utc(o.at) or now(), "b_latency": o.latency_ms,
                     "b_error": o.error_class, "b_message": o.message, "b_version": o.server_version, "b_ok": o.ok}
                    for o in kept]
            common = {"last_test_at": bindparam("b_at"), "last_latency_ms": bindparam("b_latency"),
                      "last_error_class": bindparam("b_error"), "last_message": bindparam("b_message")}
            where = InstanceRow.id == bindparam("b_id")
            passed = [r for r in rows if r["b_ok"]]
            failed = [r for r in rows if not r["b_ok"]]
            if passed:
                conn.execute(update(InstanceRow).where(where).values(
                    status="ok", error_count=0, last_server_version=bindparam("b_version"), **common), passed)
            if failed:  # counted by the database, as in record_test
                conn.execute(update(InstanceRow).where(where).values(
                    status="failing", error_count=InstanceRow.error_count + 1, **common), failed)
            if rows:
                conn.execute(insert(TestRunRow), [
                    {"instance_id": r["b_id"], "started_at": r["b_at"], "ok": r["b_ok"], "error_class": r["b_error"],
                     "latency_ms": r["b_latency"], "server_version": r["b_version"], "message": r["b_message"]}
                    for r in rows])
        return len(kept)

    def history(self, instance_id: str, limit: int = 20) -> list[TestRun]:
        query = (select(TestRunRow).where(TestRunRow.instance_id == instance_id)
                 .order_by(TestRunRow.started_at.desc(), TestRunRow.id.desc()).limit(limit))
        with self._session() as session:
            return [TestRun(_utc(r.started_at), r.ok,
                            r.error_class, r.latency_ms, r.server_version, r.message)
                    for r in session.scalars(query)]

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        with self._session() as session:
            row = session.get(SettingRow, key)
            return row.value if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self._session() as session:
            session.merge(SettingRow(key=key, value=value))
            session.commit()

    def settings_with_prefix(self, prefix: str) -> dict[str, str]:
        with self._session() as session:
            rows = session.scalars(select(SettingRow).where(SettingRow.key.startswith(prefix, autoescape=True)))
            return {row.key: row.value for row in rows}

    def delete_setting(self, key: str) -> None:
        with self._session() as session:
            session.execute(delete(SettingRow).where(SettingRow.key == key))
            session.commit()

    # --- the keyring journal: secrets being written or removed (see services/reconcile.py) ------------

    def journal_put(self, instance_id: str, entry: dict[str, Any]) -> None:
        """Note, before touching the keyring, which of an instance's keyring items an operation may leave
        behind; merged with a note already there (an edit while an earlier one is still unsettled)."""
        import json

        key = JOURNAL_PREFIX + instance_id
        with self._session() as session:
            row = session.get(SettingRow, key)
            if row is not None:
                old = json.loads(row.value)
                entry = {**entry, "fields": sorted(set(old.get("fields", [])) | set(entry.get("fields", [])))}
            session.merge(SettingRow(key=key, value=json.dumps(entry)))
            session.commit()

    def journal(self) -> dict[str, dict[str, Any]]:
        """{instance id: note} of every operation not yet settled; one indexed query, usually empty."""
        import json

        with self._session() as session:
            rows = session.scalars(select(SettingRow).where(SettingRow.key.startswith(JOURNAL_PREFIX))).all()
        return {row.key[len(JOURNAL_PREFIX):]: json.loads(row.value) for row in rows}

    def journal_clear(self, instance_id: str) -> None:
        with self._session() as session:
            session.execute(delete(SettingRow).where(SettingRow.key == JOURNAL_PREFIX + instance_id))
            session.commit()

    def drop_secret_fields(self, instance_id: str, keys: set[str], message: str) -> InstanceRecord | None:
        """The keyring lost these secrets: stop claiming them (the edit form then asks for them again) and say
        so in the instance's status. None if the instance is gone or no longer claims any of them."""
        with self._session() as session:
            row = session.get(InstanceRow, instance_id)
            if row is None or not keys & set(row.secret_fields):
                return None
            row.secret_fields = [k for k in row.secret_fields if k not in keys]
            row.status = "failing"
            row.last_error_class = "config"
            row.last_message = message
            session.commit()
            return _record(row)

    # --- app-level settings (`cfg:` fields), one row per type and field ---------------------------------

    def app_settings(self, type_name: str) -> AppSettings:
        with self._session() as session:
            rows = session.scalars(select(AppSettingRow).where(AppSettingRow.type == type_name)
                                   .order_by(AppSettingRow.field)).all()
        return _app_settings(type_name, rows)

    def all_app_settings(self) -> dict[str, AppSettings]:
        with self._session() as session:
            rows = session.scalars(select(AppSettingRow).order_by(AppSettingRow.type, AppSettingRow.field)).all()
        by_type: dict[str, list[AppSettingRow]] = {}
        for row in rows:
            by_type.setdefault(row.type, []).append(row)
        return {type_name: _app_settings(type_name, group) for type_name, group in by_type.items()}

    def save_app_settings(self, type_name: str, values: dict[str, Any], secret_fields: set[str] | list[str] = (),
                          remove: set[str] | list[str] = ()) -> AppSettings:
        """Upsert non-secret `values` and the markers of `secret_fields`, delete the fields in `remove`; in
        one transaction."""
        stamp = now()
        with self._session() as session:
            if remove:
                session.execute(delete(AppSettingRow).where(AppSettingRow.type == type_name,
                                                            AppSettingRow.field.in_(list(remove))))
            for key, value in values.items():
                session.merge(AppSettingRow(type=type_name, field=key, value=value, secret=False, updated_at=stamp))
            for key in secret_fields:
                session.merge(AppSettingRow(type=type_name, field=key, value=None, secret=True, updated_at=stamp))
            session.commit()
        return self.app_settings(type_name)


def _app_settings(type_name: str, rows) -> AppSettings:
    return AppSettings(type_name, values={r.field: r.value for r in rows if not r.secret},
                       secret_fields=[r.field for r in rows if r.secret])
