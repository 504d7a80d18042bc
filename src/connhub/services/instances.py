"""Saved instances of one workspace at a time: create, edit, rename, duplicate, delete, organise.

Values are checked against the type's schema before anything is written; secrets go through Secrets (the one
write path), the rest to the catalog. Methods block (database, keyring): the GUI calls them on its worker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from connhub.core import text
from connhub.core.records import (
    DEFAULT_WORKSPACE,
    ENVIRONMENTS,
    SECRET_MODES,
    EditConflict,
    InstanceRecord,
    InvalidValues,
    NameTaken,
)

if TYPE_CHECKING:
    from connhub.services.plugin_hooks import PluginHooks
    from connhub.services.secrets import Secrets
    from connhub.services.types import Types
    from connhub.storage.repository import InstanceStore

log = logging.getLogger("connhub")


class Instances:
    def __init__(self, store: InstanceStore, types: Types, secrets: Secrets, workspace: str = DEFAULT_WORKSPACE,
                 listener: PluginHooks | None = None):
        self._store = store
        self._types = types
        self._secrets = secrets
        self.workspace = workspace
        self._listener = listener  # told after each committed save or delete (services/plugin_hooks.py)

    def _saved(self, record: InstanceRecord, change: str) -> InstanceRecord:
        if self._listener is not None:
            self._listener.instance_saved(record, change)
        return record

    # --- reading --------------------------------------------------------------------------------------

    def list(self) -> list[InstanceRecord]:
        return self._store.list(self.workspace)

    def find(self, ref: str) -> InstanceRecord:
        """By id, or by name in this workspace."""
        return self._store.find(ref, self.workspace)

    def get(self, instance_id: str) -> InstanceRecord:
        return self._store.get(instance_id)

    def by_ids(self, instance_ids: Iterable[str]) -> dict[str, InstanceRecord]:
        """Those of these instances that still exist (in any workspace: ids are unique), by id."""
        return self._store.get_many(instance_ids)

    def name_taken(self, name: str, except_id: str | None = None) -> bool:
        return self._store.name_taken(" ".join(name.split()), self.workspace, except_id)

    def similar(self, type_name: str, values: dict[str, Any], except_id: str | None = None) -> list[InstanceRecord]:
        """Saved instances of this workspace with the same type and the same address and user (the secret-free
        summary, compared without case): saving another is most likely a mistake worth a warning."""
        wanted = self._types.summary(type_name, self._types.split(type_name, values).config).casefold()
        if not wanted:
            return []
        return [r for r in self._store.list(self.workspace)
                if r.type == type_name and r.id != except_id and r.summary.casefold() == wanted]

    def free_name(self, name: str, label: str = "copy") -> str:
        """`name (copy)`, `name (copy 2)`, … : the first one not taken in this workspace."""
        candidate, n = f"{name} ({label})", 2
        while self._store.name_taken(candidate, self.workspace):
            candidate, n = f"{name} ({label} {n})", n + 1
        return candidate

    # --- workspaces -----------------------------------------------------------------------------------

    def workspaces(self) -> list[str]:
        """Every workspace: the ones holding instances and the ones created empty (kept in settings)."""
        created = json.loads(self._store.get_setting("workspaces", "[]"))
        return sorted({DEFAULT_WORKSPACE, self.workspace, *created, *self._store.workspaces()}, key=str.casefold)

    def add_workspace(self, name: str) -> str:
        name = clean_name(name, "workspace")
        if any(name.casefold() == known.casefold() for known in self.workspaces()):
            raise InvalidValues({"workspace": f"A workspace named {name!r} already exists"})
        created = json.loads(self._store.get_setting("workspaces", "[]"))
        self._store.set_setting("workspaces", json.dumps(sorted({*created, name})))
        return name

    def use_workspace(self, name: str) -> None:
        """Later calls see and create the instances of this workspace (names are unique per workspace)."""
        self.workspace = clean_name(name, "workspace")

    # --- writing --------------------------------------------------------------------------------------

    def create(self, type_name: str, name: str, values: dict[str, Any], tags: list[str] | None = None,
               environment: str | None = None, pending_secrets: Iterable[str] = (),
               secret_mode: str = "keyring") -> InstanceRecord:
        """`pending_secrets` are required secrets the user will give later (an import without secrets): they do
        not fail validation. With `secret_mode="session"` the secrets stay in memory for this session."""
        name, tags = self.check(type_name, name, values, tags=tags, environment=environment,
                                pending_secrets=pending_secrets)
        check_choice("secret_mode", secret_mode, SECRET_MODES)
        split = self._types.split(type_name, values)
        record = InstanceRecord(name=name, type=type_name, config=split.config,
                                secret_fields=sorted(split.secrets), workspace=self.workspace,
                                summary=self._types.summary(type_name, split.config), tags=tags,
                                environment=environment or None, events=self._types.event_records(type_name),
                                secret_mode=secret_mode)
        if self._store.name_taken(name, self.workspace):
            raise NameTaken(name, self.workspace)
        self._secrets.create(record, split.secrets, lambda: self._store.add(record))
        log.info("created instance %s (%s)%s", record.id, type_name,
                 ", secrets asked every time" if secret_mode == "session" else "")
        self._saved(record, "created")
        return record

    def check(self, type_name: str, name: str, values: dict[str, Any], *, tags: Iterable[str] | None = None,
              environment: str | None = None, pending_secrets: Iterable[str] = ()) -> tuple[str, list[str]]:
        """Every rule a new instance must pass, all its problems at once (InvalidValues): the one check that
        `create` and an import's plan both run, so an import is refused before it writes anything.
        Returns the cleaned name and tags."""
        errors: dict[str, str] = {}
        cleaned: dict[str, Any] = {}
        for field, clean, value in (("name", clean_name, name), ("tags", clean_tags, tags)):
            try:
                cleaned[field] = clean(value)
            except InvalidValues as exc:
                errors.update(exc.errors)
        try:
            check_choice("environment", environment or None, ENVIRONMENTS)
        except InvalidValues as exc:
            errors.update(exc.errors)
        errors.update(self._types.validate(type_name, values, saved_secrets=set(pending_secrets)))
        if errors:
            raise InvalidValues(errors)
        return cleaned["name"], cleaned["tags"]

    def update(self, instance_id: str, values: dict[str, Any], name: str | None = None,
               tags: list[str] | None = None, environment: str | None = None,
               secret_mode: str | None = None, expected_updated_at: datetime | None = None) -> InstanceRecord:
        """Secrets absent from `values` keep their saved value; secrets of hidden fields are removed.

        Switching to "session" removes the secrets from the keyring (they stay in memory for this session);
        switching back to "keyring" saves the ones known now, so a required one must be given or remembered.

        `expected_updated_at` (the editor's copy) turns a silent lost update into EditConflict when another
        window or process saved the instance meanwhile: checked before anything is written, and again by the
        row's version in the UPDATE itself, so a save landing in between is refused too, never lost."""
        record = self._store.get(instance_id)
        if expected_updated_at is not None and record.updated_at != expected_updated_at:
            raise EditConflict(record)
        expected_version = record.version if expected_updated_at is not None else None
        new_mode = secret_mode or record.secret_mode
        check_choice("secret_mode", new_mode, SECRET_MODES)
        check_choice("environment", environment or None, ENVIRONMENTS)
        saved = set(record.secret_fields)
        known = (saved if record.secret_mode != "session" or new_mode == "session"
                 else set(self._secrets.known(record)))
        errors = self._types.validate(record.type, values, saved_secrets=known)
        if errors:
            raise InvalidValues(errors)
        if name is not None:
            record.name = clean_name(name)
            if self._store.name_taken(record.name, record.workspace, except_id=record.id):
                raise NameTaken(record.name, record.workspace)
        split = self._types.split(record.type, values)
        kept = saved & self._types.active_fields(record.type, values)

        def write_row(secret_fields: set[str]) -> InstanceRecord:
            from connhub.services.oauth import signed_in_now

            record.config = split.config
            record.secret_fields = sorted(secret_fields)
            record.summary = self._types.summary(record.type, split.config)
            record.events = self._types.event_records(record.type)  # a save takes the type's events as they are
            record.secret_mode = new_mode
            if tags is not None:
                record.tags = clean_tags(tags)
            if environment is not None:
                record.environment = environment or None
            if signed_in_now(self._types.entry(record.type), split.secrets):
                record.needs_reauth = False  # the form carries tokens of a fresh sign-in
            return self._store.update(record, expected_version)

        updated = self._secrets.change(record, new_mode, split.secrets, kept, write_row)
        log.info("updated instance %s", updated.id)
        return self._saved(updated, "updated")

    def rotate(self, instance_id: str, secrets: dict[str, str]) -> int | None:
        """New values for an instance's secrets, its settings unchanged (`connhub secret rotate`): the OpenBao
        version of a shared one, None for a personal one (set in this user's keyring)."""
        record = self._store.get(instance_id)
        if not secrets or any(not isinstance(v, str) or not v for v in secrets.values()):
            raise InvalidValues({key: "Enter a value" for key, v in secrets.items() if not v} or {"secret": "none"})
        added = set(secrets) - set(record.secret_fields)

        def write_row() -> InstanceRecord:
            if not added:
                return record
            record.secret_fields = sorted({*record.secret_fields, *added})
            return self._store.update(record)

        version = self._secrets.rotate(record, secrets, write_row)
        log.info("rotated secrets of instance %s", record.id)
        return version

    def rename(self, instance_id: str, name: str) -> InstanceRecord:
        """A new name only: no secret is read or written."""
        record = self._store.get(instance_id)
        record.name = clean_name(name)
        if self._store.name_taken(record.name, record.workspace, except_id=record.id):
            raise NameTaken(record.name, record.workspace)
        return self._saved(self._store.update(record), "updated")

    def set_environment(self, instance_id: str, environment: str | None) -> InstanceRecord:
        """dev / staging / prod, or none: organisation only, no secret is touched."""
        check_choice("environment", environment or None, ENVIRONMENTS)
        record = self._store.get(instance_id)
        record.environment = environment or None
        return self._saved(self._store.update(record), "updated")

    def duplicate(self, instance_id: str, name: str | None = None) -> InstanceRecord:
        """A copy with its secrets; an "ask every time" copy knows what this session knows and asks the rest."""
        source = self._store.get(instance_id)
        secrets = self._secrets.known(source)
        session = source.secret_mode == "session"
        copy = InstanceRecord(name=name or self.free_name(source.name), type=source.type,
                              config=dict(source.config),
                              secret_fields=sorted(source.secret_fields if session else secrets),
                              workspace=source.workspace, summary=source.summary, tags=list(source.tags),
                              environment=source.environment, secret_mode=source.secret_mode,
                              events=None if source.events is None else [dict(e) for e in source.events])
        self._secrets.create(copy, secrets, lambda: self._store.add(copy))
        log.info("duplicated instance %s as %s", source.id, copy.id)
        return self._saved(copy, "created")

    def delete(self, instance_id: str) -> None:
        record = self._store.get(instance_id)
        self._secrets.delete(record, lambda: self._store.delete(record.id))
        log.info("deleted instance %s", record.id)
        if self._listener is not None:
            self._listener.instance_deleted(record)

    def set_monitoring(self, instance_id: str, enabled: bool, interval_min: int | None = None) -> InstanceRecord:
        """Turn health monitoring on or off (every `interval_min` minutes, 1..1440). Turning it on makes the
        instance due at once, so the user sees a result soon after asking for one."""
        from connhub.services.monitor import MAX_INTERVAL_MIN, MIN_INTERVAL_MIN

        values: dict[str, Any] = {"monitor_enabled": bool(enabled)}
        if interval_min is not None:
            if isinstance(interval_min, bool) or not isinstance(interval_min, int) \
                    or not MIN_INTERVAL_MIN <= interval_min <= MAX_INTERVAL_MIN:
                raise InvalidValues({"interval": f"Must be a whole number of minutes from {MIN_INTERVAL_MIN} to "
                                                 f"{MAX_INTERVAL_MIN} (24 h)"})
            values["monitor_interval_min"] = interval_min
        if enabled:
            values["monitor_next_run_at"] = None
        record = self._store.update_monitoring(instance_id, **values)
        log.info("monitoring of %s: %s every %s min", record.id, "on" if record.monitor_enabled else "off",
                 record.monitor_interval_min)
        return record

    def schedule(self, instance_id: str, next_run_at: datetime) -> InstanceRecord:
        """When the monitor tests this instance next."""
        return self._store.update_monitoring(instance_id, monitor_next_run_at=next_run_at)


def clean_name(name: str, what: str = "name") -> str:
    """core.text's one rule for names, its refusal as the per-field error a form shows."""
    try:
        return text.clean_name(name, what=what)
    except text.TextError as exc:
        raise InvalidValues(exc.errors) from None


def clean_tags(tags: Iterable[str] | None) -> list[str]:
    try:
        return text.clean_tags(list(tags) if tags is not None and not isinstance(tags, (str, bytes)) else tags)
    except text.TextError as exc:
        raise InvalidValues(exc.errors) from None


def check_choice(field: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise InvalidValues({field: f"Must be one of {', '.join(allowed)} (not {value!r})"})
