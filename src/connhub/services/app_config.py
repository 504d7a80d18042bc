"""A type's app-level (`cfg:`) settings, shared by all its instances: an OAuth client id, say. Edited once in
Settings or with `connhub config`; the secret ones go through Secrets like an instance's."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from connhub.core.errors import ConfigError
from connhub.core.fields import FieldSpec, active_keys, all_specs, defaults, secret_keys, validate_values
from connhub.core.records import AppSettings, InvalidValues
from connhub.services.types import app_specs

if TYPE_CHECKING:
    from collections.abc import Iterable

    from connhub.plugins.registry import TypeEntry
    from connhub.services.secrets import Secrets
    from connhub.services.types import Types
    from connhub.storage.repository import InstanceStore

log = logging.getLogger("connhub")


class AppConfig:
    def __init__(self, types: Types, store: InstanceStore, secrets: Secrets):
        self._types = types
        self._store = store
        self._secrets = secrets

    def types(self) -> list[TypeEntry]:
        """Working types that have app-level fields, in registry order."""
        return [entry for entry in self._types.registry.working() if app_specs(entry)]

    def get(self, type_name: str) -> AppSettings:
        """Saved values and which secrets the keyring holds (the database only: no keyring call)."""
        return self._store.app_settings(type_name)

    def all(self) -> dict[str, AppSettings]:
        return self._store.all_app_settings()

    def save(self, type_name: str, values: dict[str, Any], unset: Iterable[str] = ()) -> AppSettings:
        """Save app-level values: secrets to the vault, the rest to the database.

        A secret given empty keeps its saved value; a non-secret given empty, or a field in `unset`, goes back
        to its default. A `${env:NAME}` reference is kept as it is and resolved when a test runs."""
        entry = self._types.usable(type_name)
        specs = app_specs(entry)
        known = {s.discriminator or s.key for s in all_specs(specs)}
        unset = set(unset)
        bad = {key: _not_app_field(entry, known) for key in [*values, *unset] if key not in known}
        if bad:
            raise InvalidValues(bad)
        secret = secret_keys(specs)
        stored = self._store.app_settings(type_name)
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
        dropped = [k for k in remove if k in stored.secret_fields]
        saved = self._secrets.save_app(type_name, secrets, dropped,
                                       lambda: self._store.save_app_settings(type_name, plain, set(secrets), remove))
        log.info("saved app settings of %s (%s)", type_name, ", ".join(sorted([*plain, *secrets, *remove])))
        return saved

    def for_test(self, type_name: str) -> tuple[dict[str, Any], dict[str, str]]:
        """(config, secrets) of the type's app-level fields, defaults included, for a test run; reads the
        keyring only for secrets that were saved. A required one that is not set raises ConfigError."""
        entry = self._types.entry(type_name)
        specs = app_specs(entry)
        if not specs:
            return {}, {}
        stored = self._store.app_settings(type_name)
        secret = secret_keys(specs)
        config = {k: v for k, v in {**defaults(specs), **stored.values}.items() if k not in secret}
        secrets = self._secrets.read_app(type_name, stored.secret_fields)
        active = active_keys(specs, {**config, **secrets})
        config = {k: v for k, v in config.items() if k in active}
        missing = [s for s in specs if s.required and s.key in active and s.key not in config
                   and s.key not in secrets]
        if missing:
            names = ", ".join(f"{s.title} ({s.key})" for s in missing)
            raise ConfigError(f"{entry.name} needs the app-level setting {names}: set it in Settings, or with "
                              f"`connhub config {type_name} {_set_hint(missing[0])}`")
        return config, secrets


def _not_app_field(entry: TypeEntry, known: set[str]) -> str:
    if not known:
        return f"{entry.type} has no app-level settings"
    return f"not an app-level setting of {entry.type}; they are: {', '.join(sorted(known))}"


def _set_hint(spec: FieldSpec) -> str:
    return f"--secret-stdin {spec.key}" if spec.secret else f"--set {spec.key}=VALUE"
