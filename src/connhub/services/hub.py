"""The application's use cases, shared by the GUI and the CLI: types, instances, secrets and tests.

Methods that touch the database or the keyring block; the GUI calls them on its worker executor, the CLI
directly. Tests are coroutines. Nothing here reads a secret until a test, an edit or a duplicate needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from connhub.core.errors import HINTS, ConfigError, ErrorClass
from connhub.core.fields import (
    NOT_TEXT,
    FieldSpec,
    active_keys,
    all_specs,
    defaults,
    is_storable_text,
    secret_keys,
    validate_values,
)
from connhub.core.manifest import EventSpec
from connhub.core.results import TestResult
from connhub.core.urls import ParsedUrl, parse_url, url_field_keys
from connhub.plugins.registry import Registry, TypeEntry
from connhub.services import reconcile as recovery
from connhub.services.batch import DEFAULT_CONCURRENCY
from connhub.services.events import PayloadError, event_records, validate_payload
from connhub.services.testing import DEFAULT_TIMEOUT, run_test
from connhub.storage.repository import (
    DEFAULT_WORKSPACE,
    AppSettings,
    EditConflict,
    InstanceRecord,
    InstanceStore,
    NameTaken,
    TestRun,
)
from connhub.storage.vault import SecretVault, app_owner

#: Runs a prepared test, as `services.testing.run_test` does: (entry, config, secrets, timeout, on_stage).
Runner = Callable[..., Awaitable[TestResult]]

log = logging.getLogger("connhub")
CONCURRENCY_RANGE = (1, 64)  # tests at once: beyond 64 a desktop's file descriptors and servers' limits suffer


class InvalidValues(ValueError):
    """Form values that do not satisfy the type's schema: {field: message}."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {message}" for key, message in sorted(errors.items())))


class SecretsNeeded(LookupError):
    """An "ask every time" instance whose secrets were not given in this session yet."""

    def __init__(self, record: InstanceRecord):
        self.record = record
        super().__init__(f"{record.name!r} asks for its secrets every time: enter them to test it this session")


SECRET_MODES = ("keyring", "session")
ENVIRONMENTS = ("dev", "staging", "prod")


class TypeDisabled(ValueError):
    """The type's manifest or code is broken: it can be listed, not used, until the fix-it message is followed."""

    def __init__(self, entry: TypeEntry):
        self.entry = entry
        super().__init__(f"type {entry.type!r} is disabled: {entry.error}")


def default_data_dir() -> Path:
    env = os.environ.get("CONNHUB_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("connhub", appauthor=False))


@dataclass
class Split:
    config: dict[str, Any]
    secrets: dict[str, Any]


class Hub:
    def __init__(self, data_dir: Path | None = None, db_url: str | None = None, registry: Registry | None = None,
                 vault: SecretVault | None = None, workspace: str = DEFAULT_WORKSPACE):
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self._db_url = db_url or os.environ.get("CONNHUB_DB_URL")
        self._registry = registry
        self.vault = vault or SecretVault()
        self.workspace = workspace
        #: Secrets of "ask every time" instances, given in this session: in memory only, gone at exit.
        self._session_secrets: dict[str, dict[str, str]] = {}

    # --- wiring (each piece opened on first use, so start-up pays only for what it shows) -------------

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry.discover()
        return self._registry

    @cached_property
    def store(self) -> InstanceStore:
        from connhub.storage.db import open_engine, sqlite_url

        if not self._db_url:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        return InstanceStore(open_engine(self._db_url or sqlite_url(self.data_dir)))

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.engine.dispose()

    # --- settings -------------------------------------------------------------------------------------

    @property
    def default_timeout(self) -> float:
        return float(self.store.get_setting("default_timeout", str(DEFAULT_TIMEOUT)))

    def set_default_timeout(self, seconds: float) -> None:
        if not 0.1 <= seconds <= 600:
            raise ValueError("The timeout must be between 0.1 and 600 seconds")
        self.store.set_setting("default_timeout", repr(float(seconds)))

    @property
    def concurrency(self) -> int:
        """How many tests a Test all runs at once. A value out of range (edited by hand) falls back inside it."""
        try:
            value = int(self.store.get_setting("concurrency", str(DEFAULT_CONCURRENCY)))
        except ValueError:
            return DEFAULT_CONCURRENCY
        return min(max(value, CONCURRENCY_RANGE[0]), CONCURRENCY_RANGE[1])

    def set_concurrency(self, count: int) -> None:
        low, high = CONCURRENCY_RANGE
        if isinstance(count, bool) or not isinstance(count, int) or not low <= count <= high:
            raise ValueError(f"The number of tests at once must be a whole number from {low} to {high}")
        self.store.set_setting("concurrency", str(count))

    # --- types ----------------------------------------------------------------------------------------

    def entry(self, type_name: str) -> TypeEntry:
        return self.registry.get(type_name)

    def usable_entry(self, type_name: str) -> TypeEntry:
        entry = self.registry.get(type_name)
        if entry.manifest is None:
            raise TypeDisabled(entry)
        return entry

    def values_from_url(self, type_name: str, url: str, keep: dict[str, Any] | None = None) -> ParsedUrl:
        """Form values (defaults, then what the URL says) from a pasted connection URL; raises UrlError.

        `keep` (the form's current values) survives where the URL has no say: fields a URL cannot express
        (a CA file, extra headers), and the user, password or token when the URL has no `user:password@`.
        Touches no network and no keyring: safe on the GUI thread."""
        entry = self.usable_entry(type_name)
        parsed = parse_url(entry.manifest, entry.specs, url)
        base = defaults(entry.specs)
        if keep:
            always, by_userinfo = url_field_keys(entry.manifest)
            decided = always | (by_userinfo if parsed.userinfo else set())
            base.update({k: v for k, v in keep.items() if k not in decided})
        parsed.values = {**base, **parsed.values}
        return parsed

    def split(self, type_name: str, values: dict[str, Any]) -> Split:
        """Keep only the shown fields, then part the secrets from the rest. App-level (`cfg:`) fields are
        never part of an instance: they live in the type's app settings."""
        specs = instance_specs(self.usable_entry(type_name))
        active = active_keys(specs, values)
        secret = secret_keys(specs)
        kept = {k: v for k, v in values.items() if k in active and v not in (None, "")}
        return Split({k: v for k, v in kept.items() if k not in secret},
                     {k: str(v) for k, v in kept.items() if k in secret})

    def validate(self, type_name: str, values: dict[str, Any], saved_secrets: set[str] = frozenset()
                 ) -> dict[str, str]:
        """Field errors for these values; a secret already in the keyring counts as present."""
        entry = self.usable_entry(type_name)
        probe = dict(values)
        for key in saved_secrets:
            probe.setdefault(key, "saved")
        return validate_values(entry.manifest.credentials, instance_specs(entry), probe)

    def summary(self, type_name: str, config: dict[str, Any]) -> str:
        return self.entry(type_name).integration().connection_info(config).display_url

    # --- workspaces -----------------------------------------------------------------------------------

    def workspaces(self) -> list[str]:
        """Every workspace: the ones holding instances and the ones created empty (kept in settings)."""
        created = json.loads(self.store.get_setting("workspaces", "[]"))
        return sorted({DEFAULT_WORKSPACE, self.workspace, *created, *self.store.workspaces()}, key=str.casefold)

    def add_workspace(self, name: str) -> str:
        name = _clean_name(name, "workspace")
        if any(name.casefold() == known.casefold() for known in self.workspaces()):
            raise InvalidValues({"workspace": f"A workspace named {name!r} already exists"})
        created = json.loads(self.store.get_setting("workspaces", "[]"))
        self.store.set_setting("workspaces", json.dumps(sorted({*created, name})))
        return name

    def use_workspace(self, name: str) -> None:
        """Later calls see and create the instances of this workspace (names are unique per workspace)."""
        self.workspace = _clean_name(name, "workspace")

    # --- instances ------------------------------------------------------------------------------------

    def instances(self) -> list[InstanceRecord]:
        return self.store.list(self.workspace)

    def find(self, ref: str) -> InstanceRecord:
        return self.store.find(ref, self.workspace)

    def instances_by_id(self, instance_ids: Iterable[str]) -> dict[str, InstanceRecord]:
        """Those of these instances that still exist (in any workspace: ids are unique), by id."""
        return self.store.get_many(instance_ids)

    def create(self, type_name: str, name: str, values: dict[str, Any], tags: list[str] | None = None,
               environment: str | None = None, pending_secrets: Iterable[str] = (),
               secret_mode: str = "keyring") -> InstanceRecord:
        """Secrets go to the keyring first; the row is written only once they are safe. `pending_secrets`
        are required secrets the user will give later (an import without secrets): they do not fail validation.
        With `secret_mode="session"` the secrets stay in memory for this session and the keyring is not used."""
        name = _clean_name(name)
        _check_choice("secret_mode", secret_mode, SECRET_MODES)
        _check_choice("environment", environment or None, ENVIRONMENTS)
        errors = self.validate(type_name, values, saved_secrets=set(pending_secrets))
        if errors:
            raise InvalidValues(errors)
        split = self.split(type_name, values)
        record = InstanceRecord(name=name, type=type_name, config=split.config,
                                secret_fields=sorted(split.secrets), workspace=self.workspace,
                                summary=self.summary(type_name, split.config), tags=_clean_tags(tags),
                                environment=environment or None, events=event_records(self.entry(type_name)),
                                secret_mode=secret_mode)
        if self.store.name_taken(name, self.workspace):
            raise NameTaken(name, self.workspace)
        if secret_mode == "session":
            self.store.add(record)
            self._session_secrets[record.id] = dict(split.secrets)
            log.info("created instance %s (%s), secrets asked every time", record.id, type_name)
            return record
        if split.secrets:
            self.vault.ensure_usable()  # refuse an insecure keyring before anything is written
        # Secret first, row second, noted in the journal: see services/reconcile.py.
        recovery.note(self, record.id, split.secrets)
        try:
            self.vault.store(record.id, split.secrets)
            self.store.add(record)
        finally:
            # Done: nothing to remove. Failed (a keyring that gave up half-way, a row that could not be
            # written): the secrets no row claims are removed, so no orphan is left.
            if split.secrets:
                recovery.settle_quietly(self, record.id, split.secrets)
        log.info("created instance %s (%s)", record.id, type_name)
        return record

    def update(self, instance_id: str, values: dict[str, Any], name: str | None = None,
               tags: list[str] | None = None, environment: str | None = None,
               secret_mode: str | None = None, expected_updated_at: datetime | None = None) -> InstanceRecord:
        """Secrets absent from `values` keep their saved value; secrets of hidden fields are removed.

        Switching to "session" removes the secrets from the keyring (they stay in memory for this session);
        switching back to "keyring" saves the ones known now, so a required one must be given or remembered.

        `expected_updated_at` (the editor's copy) turns a silent lost update into EditConflict when another
        window or process saved the instance meanwhile. Checked before anything is written; a save landing in
        the few milliseconds between the check and the write still wins silently (SQLite offers no
        compare-and-swap across the keyring write without holding a write lock over it)."""
        record = self.store.get(instance_id)
        if expected_updated_at is not None and record.updated_at != expected_updated_at:
            raise EditConflict(record)
        old_mode = record.secret_mode
        new_mode = secret_mode or old_mode
        _check_choice("secret_mode", new_mode, SECRET_MODES)
        _check_choice("environment", environment or None, ENVIRONMENTS)
        saved = set(record.secret_fields)
        remembered = self._session_secrets.get(record.id, {})
        known = saved if old_mode == "keyring" or new_mode == "session" else set(remembered)
        errors = self.validate(record.type, values, saved_secrets=known)
        if errors:
            raise InvalidValues(errors)
        if name is not None:
            record.name = _clean_name(name)
            if self.store.name_taken(record.name, record.workspace, except_id=record.id):
                raise NameTaken(record.name, record.workspace)
        split = self.split(record.type, values)
        active = active_keys(instance_specs(self.entry(record.type)), values)
        kept = {k for k in saved if k in active}
        in_keyring = saved if old_mode == "keyring" else set()
        to_keyring: dict[str, str] = {}
        if new_mode == "keyring":
            if old_mode == "session":  # what this session knows goes to the keyring; the rest is not kept
                kept = {k for k in kept if k in remembered}
                to_keyring = {k: remembered[k] for k in kept}
            to_keyring.update(split.secrets)
        elif old_mode == "keyring":  # carried into memory, then off the keyring
            remembered = {**self.vault.fetch(record.id, kept), **remembered}
        stays = (kept | set(split.secrets)) if new_mode == "keyring" else set()
        added, dropped = set(to_keyring) - in_keyring, in_keyring - stays
        if to_keyring:
            self.vault.ensure_usable()
        # New secrets first, row second, dropped secrets last; what a crash could strand is noted first.
        recovery.note(self, record.id, added | dropped)
        try:
            self.vault.store(record.id, to_keyring)
            record = self._write_update(record, split, kept, tags, environment, new_mode)
        finally:
            if added | dropped:  # removes the dropped secrets, or the added ones if the row was not written
                recovery.settle_quietly(self, record.id, added | dropped)
        if new_mode == "session":
            self._session_secrets[record.id] = {k: v for k, v in {**remembered, **split.secrets}.items()
                                                if k in record.secret_fields}
        else:
            self._session_secrets.pop(record.id, None)
        log.info("updated instance %s", record.id)
        return record

    def _write_update(self, record: InstanceRecord, split: Split, kept: set[str], tags: list[str] | None,
                      environment: str | None, secret_mode: str) -> InstanceRecord:
        record.config = split.config
        record.secret_fields = sorted(kept | set(split.secrets))
        record.summary = self.summary(record.type, split.config)
        record.events = event_records(self.entry(record.type))  # a save takes the type's events as they are now
        record.secret_mode = secret_mode
        if tags is not None:
            record.tags = _clean_tags(tags)
        if environment is not None:
            record.environment = environment or None
        from connhub.services.oauth import signed_in_now

        if signed_in_now(self.entry(record.type), split.secrets):
            record.needs_reauth = False  # the form carries tokens of a fresh sign-in
        return self.store.update(record)

    def rename(self, instance_id: str, name: str) -> InstanceRecord:
        """A new name only: no secret is read or written."""
        record = self.store.get(instance_id)
        record.name = _clean_name(name)
        if self.store.name_taken(record.name, record.workspace, except_id=record.id):
            raise NameTaken(record.name, record.workspace)
        return self.store.update(record)

    def name_taken(self, name: str, except_id: str | None = None) -> bool:
        return self.store.name_taken(" ".join(name.split()), self.workspace, except_id)

    def set_environment(self, instance_id: str, environment: str | None) -> InstanceRecord:
        """dev / staging / prod, or none: organisation only, no secret is touched."""
        _check_choice("environment", environment or None, ENVIRONMENTS)
        record = self.store.get(instance_id)
        record.environment = environment or None
        return self.store.update(record)

    def similar(self, type_name: str, values: dict[str, Any], except_id: str | None = None) -> list[InstanceRecord]:
        """Saved instances of this workspace with the same type and the same address and user (the secret-free
        summary, compared without case): saving another is most likely a mistake worth a warning."""
        wanted = self.summary(type_name, self.split(type_name, values).config).casefold()
        if not wanted:
            return []
        return [r for r in self.store.list(self.workspace)
                if r.type == type_name and r.id != except_id and r.summary.casefold() == wanted]

    # --- "ask every time" secrets -----------------------------------------------------------------------

    def needs_secrets(self, record: InstanceRecord) -> list[str]:
        """The secret fields to ask for before this instance can be tested ([] when none)."""
        if record.secret_mode != "session":
            return []
        return [k for k in record.secret_fields if k not in self._session_secrets.get(record.id, {})]

    def remember_secrets(self, instance_id: str, secrets: dict[str, str]) -> None:
        """Keep an "ask every time" instance's secrets in memory until the app exits (never on disk)."""
        self._session_secrets.setdefault(instance_id, {}).update({k: str(v) for k, v in secrets.items()})

    def _instance_secrets(self, record: InstanceRecord, keys: Iterable[str] | None = None) -> dict[str, str]:
        keys = list(record.secret_fields if keys is None else keys)
        if record.secret_mode == "session":
            if any(k not in self._session_secrets.get(record.id, {}) for k in keys):
                raise SecretsNeeded(record)
            return {k: self._session_secrets[record.id][k] for k in keys}
        return self.vault.fetch(record.id, keys)

    def duplicate(self, instance_id: str, name: str | None = None) -> InstanceRecord:
        source = self.store.get(instance_id)
        if source.secret_mode == "session":  # copies what this session knows; the copy asks for the rest
            secrets = dict(self._session_secrets.get(source.id, {}))
        else:
            secrets = self.vault.fetch(source.id, source.secret_fields)
        copy = InstanceRecord(name=name or self.free_name(source.name), type=source.type,
                              config=dict(source.config),
                              secret_fields=sorted(source.secret_fields if source.secret_mode == "session"
                                                   else secrets),
                              workspace=source.workspace, summary=source.summary, tags=list(source.tags),
                              environment=source.environment, secret_mode=source.secret_mode,
                              events=None if source.events is None else [dict(e) for e in source.events])
        if source.secret_mode == "session":
            self.store.add(copy)
            self._session_secrets[copy.id] = secrets
            return copy
        recovery.note(self, copy.id, secrets)
        try:
            self.vault.store(copy.id, secrets)
            self.store.add(copy)
        finally:
            if secrets:
                recovery.settle_quietly(self, copy.id, secrets)
        log.info("duplicated instance %s as %s", source.id, copy.id)
        return copy

    def free_name(self, name: str, label: str = "copy") -> str:
        """`name (copy)`, `name (copy 2)`, … : the first one not taken in this workspace."""
        candidate, n = f"{name} ({label})", 2
        while self.store.name_taken(candidate, self.workspace):
            candidate, n = f"{name} ({label} {n})", n + 1
        return candidate

    def delete(self, instance_id: str) -> None:
        """Row first, keyring entries second (services/reconcile.py): a crash in between leaves an unclaimed
        item that the journal lets the next start remove, never a row whose secret is gone. The keyring is
        asked first, so a locked or missing one refuses before anything changes and the instance stays."""
        record = self.store.get(instance_id)
        keys = record.secret_fields if record.secret_mode == "keyring" else []
        if keys:
            self.vault.ping()
        recovery.note(self, record.id, keys)
        self._session_secrets.pop(record.id, None)
        self.store.delete(record.id)
        if keys:
            recovery.settle_quietly(self, record.id, keys)
        log.info("deleted instance %s", record.id)

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
        record = self.store.update_monitoring(instance_id, **values)
        log.info("monitoring of %s: %s every %s min", record.id, "on" if record.monitor_enabled else "off",
                 record.monitor_interval_min)
        return record

    def reconcile(self, check_missing: bool = True) -> recovery.ReconcileReport:
        """Repair what a crashed or killed process left between the database and the keyring (see
        services/reconcile.py). Cheap when nothing crashed: one query, and one keyring listing if asked."""
        return recovery.reconcile(self, check_missing)

    def secrets_of(self, record: InstanceRecord) -> dict[str, str]:
        """The saved secrets (from the keyring, or this session's memory for an "ask every time" instance)."""
        if record.secret_mode == "session":
            return dict(self._session_secrets.get(record.id, {}))
        return self.vault.fetch(record.id, record.secret_fields)

    def history(self, instance_id: str, limit: int = 20) -> list[TestRun]:
        return self.store.history(instance_id, limit)

    # --- events ---------------------------------------------------------------------------------------

    def events(self, type_name: str) -> list[EventSpec]:
        """The events a type declares (its manifest's `events`)."""
        return list(self.usable_entry(type_name).manifest.events)

    def events_of(self, record: InstanceRecord) -> list[dict[str, str]]:
        """The events kept on the instance; for one saved before connhub kept them, its type's current ones."""
        if record.events is not None:
            return [dict(e) for e in record.events]
        return event_records(self.entry(record.type)) if record.type in self.registry else []

    def validate_event(self, type_name: str, event: str, payload: Any) -> list[PayloadError]:
        """Check a parsed payload against the event's schema, locally; [] means valid. Raises UnknownEvent or
        EventSchemaError (see connhub.services.events)."""
        return validate_payload(self.usable_entry(type_name), event, payload)

    # --- app-level settings (`cfg:` fields, shared by every instance of a type) --------------------------

    def app_types(self) -> list[TypeEntry]:
        """Working types that have app-level fields, in registry order."""
        return [entry for entry in self.registry.working() if app_specs(entry)]

    def app_settings(self, type_name: str) -> AppSettings:
        """Saved values and which secrets the keyring holds (the database only: no keyring call)."""
        return self.store.app_settings(type_name)

    def all_app_settings(self) -> dict[str, AppSettings]:
        return self.store.all_app_settings()

    def set_app_settings(self, type_name: str, values: dict[str, Any], unset: Iterable[str] = ()) -> AppSettings:
        """Save app-level values: secrets to the keyring (user `app:<type>:<field>`), the rest to the database.

        A secret given empty keeps its saved value; a non-secret given empty, or a field in `unset`, goes back
        to its default. A `${env:NAME}` reference is kept as it is and resolved when a test runs."""
        entry = self.usable_entry(type_name)
        specs = app_specs(entry)
        known = {s.discriminator or s.key for s in all_specs(specs)}
        unset = set(unset)
        bad = {key: _not_app_field(entry, known) for key in [*values, *unset] if key not in known}
        if bad:
            raise InvalidValues(bad)
        secret = secret_keys(specs)
        stored = self.store.app_settings(type_name)
        plain = {k: v for k, v in values.items() if k not in secret and v not in (None, "")}
        secrets = {k: str(v) for k, v in values.items() if k in secret and v not in (None, "")}
        cleared = {k for k, v in values.items() if k not in secret and v in (None, "")}
        remove = (unset | cleared) - set(plain) - set(secrets)
        merged = {k: v for k, v in {**stored.values, **plain}.items() if k not in remove}
        probe = {**merged, **secrets, **{k: "saved" for k in stored.secret_fields if k not in remove}}
        # Settings may be filled in one at a time: a required one is enforced when a test needs it.
        errors = validate_values(entry.manifest.credentials, [replace(s, required=False) for s in specs], probe)
        if errors:
            raise InvalidValues(errors)
        owner = app_owner(type_name)
        self.vault.delete(owner, [k for k in remove if k in stored.secret_fields])
        self.vault.store(owner, secrets)
        try:
            saved = self.store.save_app_settings(type_name, plain, set(secrets), remove)
        except BaseException:
            with contextlib.suppress(Exception):  # no keyring entry without its row
                self.vault.delete(owner, [k for k in secrets if k not in stored.secret_fields])
            raise
        log.info("saved app settings of %s (%s)", type_name, ", ".join(sorted([*plain, *secrets, *remove])))
        return saved

    def app_values_for_test(self, type_name: str) -> tuple[dict[str, Any], dict[str, str]]:
        """(config, secrets) of the type's app-level fields, defaults included, for a test run; reads the
        keyring only for secrets that were saved. A required one that is not set raises ConfigError."""
        entry = self.entry(type_name)
        specs = app_specs(entry)
        if not specs:
            return {}, {}
        stored = self.store.app_settings(type_name)
        secret = secret_keys(specs)
        config = {k: v for k, v in {**defaults(specs), **stored.values}.items() if k not in secret}
        secrets = self.vault.fetch(app_owner(type_name), stored.secret_fields) if stored.secret_fields else {}
        active = active_keys(specs, {**config, **secrets})
        config = {k: v for k, v in config.items() if k in active}
        missing = [s for s in specs if s.required and s.key in active and s.key not in config
                   and s.key not in secrets]
        if missing:
            names = ", ".join(f"{s.title} ({s.key})" for s in missing)
            raise ConfigError(f"{entry.name} needs the app-level setting {names}: set it in Settings, or with "
                              f"`connhub config {type_name} {_set_hint(missing[0])}`")
        return config, secrets

    # --- tests ----------------------------------------------------------------------------------------

    async def test_values(self, type_name: str, values: dict[str, Any], timeout: float | None = None,
                          on_stage: Callable[[str], None] | None = None,
                          saved_from: InstanceRecord | None = None) -> TestResult:
        """Test unsaved form values; secrets left blank in an edit form come from the saved instance."""
        split = self.split(type_name, values)
        secrets = dict(split.secrets)
        loop = asyncio.get_running_loop()
        if saved_from is not None:
            missing = [k for k in saved_from.secret_fields if k not in secrets]
            if missing:
                secrets.update(await loop.run_in_executor(None, self._instance_secrets, saved_from, missing))
            from connhub.services.oauth import ReauthNeeded, refresh_saved_tokens

            try:  # the saved OAuth sign-in (not one just made in the form) is refreshed as for a saved test
                secrets = await refresh_saved_tokens(self, saved_from, split.config, split.secrets, secrets)
            except ReauthNeeded as exc:
                return TestResult(ok=False, message=str(exc), error_class=ErrorClass.AUTH, failed_stage="auth",
                                  hint="Use \"Sign in again\": the instance and its settings are kept.")
        timeout = timeout or await loop.run_in_executor(None, lambda: self.default_timeout)
        try:  # the type's app-level settings (Settings, `connhub config`) go along, instance values first
            app_config, app_secrets = await loop.run_in_executor(None, self.app_values_for_test, type_name)
        except ConfigError as exc:
            return _config_failure(str(exc), "settings")
        return await run_test(self.entry(type_name), _with_app(split.config, app_config),
                              _with_app(secrets, app_secrets), timeout, on_stage)

    async def test_instance(self, record: InstanceRecord, timeout: float | None = None,
                            on_stage: Callable[[str], None] | None = None, *, save: bool = True,
                            runner: Runner | None = None) -> TestResult:
        """Test a saved instance and record the outcome in its history (`save=False`: the caller records it,
        as services/batch.py does, many results per transaction). `runner` runs the prepared test: `run_test`
        here, or a `TestWorker`'s in a child process."""
        loop = asyncio.get_running_loop()
        from connhub.core.oauth import OAuthError
        from connhub.services.oauth import ReauthNeeded, refresh_if_needed
        from connhub.storage.vault import VaultError

        try:
            secrets = await loop.run_in_executor(None, self._instance_secrets, record)
            app_config, app_secrets = await loop.run_in_executor(None, self.app_values_for_test, record.type)
            secrets = await refresh_if_needed(self, record, secrets)  # OAuth: an expiring token is renewed first
        except (VaultError, SecretsNeeded) as exc:
            result = _config_failure(str(exc), "secrets")
        except ConfigError as exc:
            result = _config_failure(str(exc), "settings")
        except ReauthNeeded as exc:
            result = TestResult(ok=False, message=str(exc), error_class=ErrorClass.AUTH, failed_stage="auth",
                                hint="Use \"Sign in again\": the instance and its settings are kept.")
        except OAuthError as exc:
            result = TestResult(ok=False, message=str(exc), error_class=ErrorClass.UNKNOWN, failed_stage="auth",
                                hint=HINTS[ErrorClass.UNKNOWN])
        else:
            if timeout is None:
                timeout = await loop.run_in_executor(None, lambda: self.default_timeout)
            result = await (runner or run_test)(self.entry(record.type), _with_app(record.config, app_config),
                                                _with_app(secrets, app_secrets), timeout, on_stage)
        if save:
            await loop.run_in_executor(None, self.record_result, record.id, result)
        return result

    def record_result(self, instance_id: str, result: TestResult) -> InstanceRecord:
        log.info("tested instance %s: %s", instance_id, "ok" if result.ok else result.error_class)
        return self.store.record_test(instance_id, result.ok, result.error_class.value if result.error_class else None,
                                      result.latency_ms, result.server_version, result.message)


def instance_specs(entry: TypeEntry) -> list[FieldSpec]:
    """The fields an instance holds: every field but the app-level (`cfg:`) ones."""
    return [s for s in entry.specs if not s.app_level]


def app_specs(entry: TypeEntry) -> list[FieldSpec]:
    """The type's app-level (`cfg:`) fields, edited once in Settings and shared by all its instances."""
    return [s for s in entry.specs if s.app_level]


def _not_app_field(entry: TypeEntry, known: set[str]) -> str:
    if not known:
        return f"{entry.type} has no app-level settings"
    return f"not an app-level setting of {entry.type}; they are: {', '.join(sorted(known))}"


def _set_hint(spec: FieldSpec) -> str:
    return f"--secret-stdin {spec.key}" if spec.secret else f"--set {spec.key}=VALUE"


def _with_app(values: dict[str, Any], app: dict[str, Any]) -> dict[str, Any]:
    """The instance's values, then the type's app-level ones (an instance never holds a `cfg:` key)."""
    return {**values, **{k: v for k, v in app.items() if k not in values}}


def _config_failure(message: str, stage: str) -> TestResult:
    """A test that could not start: its settings or secrets are not usable."""
    return TestResult(ok=False, message=message, error_class=ErrorClass.CONFIG, hint=HINTS[ErrorClass.CONFIG],
                      failed_stage=stage)


def _clean_name(name: str, what: str = "name") -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidValues({what: "Give the instance a name" if what == "name" else f"Give the {what} a name"})
    limit = 200 if what == "name" else 100
    if len(name) > limit:
        raise InvalidValues({what: f"Must be at most {limit} characters"})
    if not is_storable_text(name):
        raise InvalidValues({what: NOT_TEXT})
    return name


def _clean_tags(tags: Iterable[str] | None) -> list[str]:
    """Trimmed, without empties or repeats (compared without case), in the order given."""
    seen: dict[str, str] = {}
    for tag in tags or ():
        tag = " ".join(str(tag).split())
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return list(seen.values())


def _check_choice(field: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise InvalidValues({field: f"Must be one of {', '.join(allowed)} (not {value!r})"})

