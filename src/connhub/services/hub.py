"""The application's use cases, shared by the GUI and the CLI: types, instances, secrets and tests.

Methods that touch the database or the keyring block; the GUI calls them on its worker executor, the CLI
directly. Tests are coroutines. Nothing here reads a secret until a test, an edit or a duplicate needs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from connhub.core.errors import HINTS, ConfigError, ErrorClass
from connhub.core.fields import FieldSpec, active_keys, all_specs, defaults, secret_keys, validate_values
from connhub.core.manifest import EventSpec
from connhub.core.results import TestResult
from connhub.core.urls import ParsedUrl, parse_url, url_field_keys
from connhub.plugins.registry import Registry, TypeEntry
from connhub.services.batch import DEFAULT_CONCURRENCY
from connhub.services.events import PayloadError, event_records, validate_payload
from connhub.services.testing import DEFAULT_TIMEOUT, run_test
from connhub.storage.repository import (
    DEFAULT_WORKSPACE,
    AppSettings,
    InstanceRecord,
    InstanceStore,
    NameTaken,
    TestRun,
)
from connhub.storage.vault import SecretVault, app_owner

log = logging.getLogger("connhub")
CONCURRENCY_RANGE = (1, 64)  # tests at once: beyond 64 a desktop's file descriptors and servers' limits suffer


class InvalidValues(ValueError):
    """Form values that do not satisfy the type's schema: {field: message}."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {message}" for key, message in sorted(errors.items())))


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

    # --- instances ------------------------------------------------------------------------------------

    def instances(self) -> list[InstanceRecord]:
        return self.store.list(self.workspace)

    def find(self, ref: str) -> InstanceRecord:
        return self.store.find(ref, self.workspace)

    def create(self, type_name: str, name: str, values: dict[str, Any], tags: list[str] | None = None,
               environment: str | None = None, pending_secrets: Iterable[str] = ()) -> InstanceRecord:
        """Secrets go to the keyring first; the row is written only once they are safe. `pending_secrets`
        are required secrets the user will give later (an import without secrets): they do not fail validation."""
        name = _clean_name(name)
        errors = self.validate(type_name, values, saved_secrets=set(pending_secrets))
        if errors:
            raise InvalidValues(errors)
        split = self.split(type_name, values)
        record = InstanceRecord(name=name, type=type_name, config=split.config,
                                secret_fields=sorted(split.secrets), workspace=self.workspace,
                                summary=self.summary(type_name, split.config), tags=list(tags or []),
                                environment=environment, events=event_records(self.entry(type_name)))
        if self.store.name_taken(name, self.workspace):
            raise NameTaken(name, self.workspace)
        try:
            self.vault.store(record.id, split.secrets)
            self.store.add(record)
        except BaseException:
            # A keyring that failed half-way, or a row that could not be written: leave no orphan secret.
            with contextlib.suppress(Exception):
                self.vault.delete(record.id, split.secrets)
            raise
        log.info("created instance %s (%s)", record.id, type_name)
        return record

    def update(self, instance_id: str, values: dict[str, Any], name: str | None = None,
               tags: list[str] | None = None, environment: str | None = None) -> InstanceRecord:
        """Secrets absent from `values` keep their saved value; secrets of hidden fields are removed."""
        record = self.store.get(instance_id)
        saved = set(record.secret_fields)
        errors = self.validate(record.type, values, saved_secrets=saved)
        if errors:
            raise InvalidValues(errors)
        if name is not None:
            record.name = _clean_name(name)
            if self.store.name_taken(record.name, record.workspace, except_id=record.id):
                raise NameTaken(record.name, record.workspace)
        split = self.split(record.type, values)
        active = active_keys(instance_specs(self.entry(record.type)), values)
        kept = {k for k in saved if k in active}
        self.vault.store(record.id, split.secrets)
        record.config = split.config
        record.secret_fields = sorted(kept | set(split.secrets))
        record.summary = self.summary(record.type, split.config)
        record.events = event_records(self.entry(record.type))  # a save takes the type's events as they are now
        if tags is not None:
            record.tags = list(tags)
        if environment is not None:
            record.environment = environment or None
        self.store.update(record)
        self.vault.delete(record.id, saved - set(record.secret_fields))
        log.info("updated instance %s", record.id)
        return record

    def duplicate(self, instance_id: str, name: str | None = None) -> InstanceRecord:
        source = self.store.get(instance_id)
        secrets = self.vault.fetch(source.id, source.secret_fields)
        copy = InstanceRecord(name=name or self.free_name(source.name), type=source.type,
                              config=dict(source.config), secret_fields=sorted(secrets),
                              workspace=source.workspace, summary=source.summary, tags=list(source.tags),
                              environment=source.environment,
                              events=None if source.events is None else [dict(e) for e in source.events])
        self.vault.store(copy.id, secrets)
        try:
            self.store.add(copy)
        except BaseException:
            self.vault.delete(copy.id, secrets)
            raise
        log.info("duplicated instance %s as %s", source.id, copy.id)
        return copy

    def free_name(self, name: str, label: str = "copy") -> str:
        """`name (copy)`, `name (copy 2)`, … : the first one not taken in this workspace."""
        candidate, n = f"{name} ({label})", 2
        while self.store.name_taken(candidate, self.workspace):
            candidate, n = f"{name} ({label} {n})", n + 1
        return candidate

    def delete(self, instance_id: str) -> None:
        """Keyring entries first: if the keyring refuses, the instance stays and nothing is lost."""
        record = self.store.get(instance_id)
        self.vault.delete(record.id, record.secret_fields)
        self.store.delete(record.id)
        log.info("deleted instance %s", record.id)

    def secrets_of(self, record: InstanceRecord) -> dict[str, str]:
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
                secrets.update(await loop.run_in_executor(None, self.vault.fetch, saved_from.id, missing))
        timeout = timeout or await loop.run_in_executor(None, lambda: self.default_timeout)
        try:  # the type's app-level settings (Settings, `connhub config`) go along, instance values first
            app_config, app_secrets = await loop.run_in_executor(None, self.app_values_for_test, type_name)
        except ConfigError as exc:
            return _config_failure(str(exc), "settings")
        return await run_test(self.entry(type_name), _with_app(split.config, app_config),
                              _with_app(secrets, app_secrets), timeout, on_stage)

    async def test_instance(self, record: InstanceRecord, timeout: float | None = None,
                            on_stage: Callable[[str], None] | None = None) -> TestResult:
        """Test a saved instance and record the outcome in its history."""
        loop = asyncio.get_running_loop()
        from connhub.storage.vault import VaultError

        try:
            secrets = await loop.run_in_executor(None, self.vault.fetch, record.id, record.secret_fields)
            app_config, app_secrets = await loop.run_in_executor(None, self.app_values_for_test, record.type)
        except VaultError as exc:
            result = _config_failure(str(exc), "secrets")
        except ConfigError as exc:
            result = _config_failure(str(exc), "settings")
        else:
            if timeout is None:
                timeout = await loop.run_in_executor(None, lambda: self.default_timeout)
            result = await run_test(self.entry(record.type), _with_app(record.config, app_config),
                                    _with_app(secrets, app_secrets), timeout, on_stage)
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


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InvalidValues({"name": "Give the instance a name"})
    if len(name) > 200:
        raise InvalidValues({"name": "Must be at most 200 characters"})
    return name

