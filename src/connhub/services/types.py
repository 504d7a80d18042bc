"""What each integration type declares, asked of the registry: its fields, URL forms, address summary and
events. No database and no keyring: every call is safe on the GUI thread once the registry is loaded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connhub.core.fields import FieldSpec, active_keys, defaults, secret_keys, validate_values
from connhub.core.records import InstanceRecord, TypeDisabled
from connhub.core.url_forms import connection_forms, format_connection
from connhub.core.urls import LIBPQ_SCHEMES, ParsedUrl, parse_url, url_field_keys
from connhub.services.events import PayloadError, event_records, validate_payload

if TYPE_CHECKING:
    from connhub.core.manifest import EventSpec
    from connhub.plugins.registry import Registry, TypeEntry


#: `host=db dbname=app …`: a libpq keyword string (only PostgreSQL's clients read these).
_LIBPQ_KEYWORDS = re.compile(r"^\s*(host|hostaddr|dbname|user|port|service)\s*=")


@dataclass
class Split:
    """Form values parted into what the database keeps and what only the vault may."""

    config: dict[str, Any]
    secrets: dict[str, str]


def instance_specs(entry: TypeEntry) -> list[FieldSpec]:
    """The fields an instance holds: every field but the app-level (`cfg:`) ones."""
    return [s for s in entry.specs if not s.app_level]


def app_specs(entry: TypeEntry) -> list[FieldSpec]:
    """The type's app-level (`cfg:`) fields, edited once in Settings and shared by all its instances."""
    return [s for s in entry.specs if s.app_level]


class Types:
    def __init__(self, registry: Registry):
        self.registry = registry

    def entry(self, type_name: str) -> TypeEntry:
        return self.registry.get(type_name)

    def usable(self, type_name: str) -> TypeEntry:
        """The entry of a working type; TypeDisabled (with its fix-it message) for a broken one."""
        entry = self.registry.get(type_name)
        if entry.manifest is None or entry.disabled:
            raise TypeDisabled(entry)
        return entry

    def type_for_url(self, text: str) -> str | None:
        """The type a pasted connection string is for (its scheme, a JDBC or SQLAlchemy spelling of it, or a
        libpq keyword string), for quick connect; None when no working type reads it."""
        text = text.strip()
        lower = text.lower().removeprefix("jdbc:")
        if "://" in lower:
            scheme = lower.partition("://")[0].partition("+")[0]
        elif _LIBPQ_KEYWORDS.match(text):
            scheme = LIBPQ_SCHEMES[0]
        else:
            return None
        for entry in self.registry.entries():
            if entry.manifest is not None and scheme in entry.manifest.url_schemes:
                return entry.type
        return None

    def connection_forms(self, type_name: str) -> list[str]:
        """What "Copy as…" offers for the type: its URL styles, then its client's command line."""
        entry = self.registry.get(type_name)
        return connection_forms(entry.manifest) if entry.manifest is not None else []

    def connection_text(self, record: InstanceRecord, form: str) -> str:
        """The saved connection as another tool reads it, no secret in it; UrlError when the form does not apply."""
        entry = self.usable(record.type)
        return format_connection(entry.manifest, entry.specs, record.config, form)

    def values_from_url(self, type_name: str, url: str, keep: dict[str, Any] | None = None) -> ParsedUrl:
        """Form values (defaults, then what the URL says) from a pasted connection URL; raises UrlError.

        `keep` (the form's current values) survives where the URL has no say: fields a URL cannot express
        (a CA file, extra headers), and the user, password or token when the URL has no `user:password@`."""
        entry = self.usable(type_name)
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
        specs = instance_specs(self.usable(type_name))
        active = active_keys(specs, {**defaults(specs), **values})  # a choice left out is its default
        secret = secret_keys(specs)
        kept = {k: v for k, v in values.items() if k in active and v not in (None, "")}
        return Split({k: v for k, v in kept.items() if k not in secret},
                     {k: str(v) for k, v in kept.items() if k in secret})

    def active_fields(self, type_name: str, values: dict[str, Any]) -> set[str]:
        return active_keys(instance_specs(self.entry(type_name)), values)

    def validate(self, type_name: str, values: dict[str, Any], saved_secrets: set[str] = frozenset()
                 ) -> dict[str, str]:
        """Field errors for these values; a secret already saved counts as present."""
        entry = self.usable(type_name)
        probe = {**defaults(instance_specs(entry)), **values}  # what is shown depends on the defaults too
        for key in saved_secrets:
            probe.setdefault(key, "saved")
        return validate_values(entry.manifest.credentials, instance_specs(entry), probe)

    def summary(self, type_name: str, config: dict[str, Any]) -> str:
        """The address shown in the list: host, port, database, user; never a secret."""
        return self.entry(type_name).integration().connection_info(config).display_url

    def events(self, type_name: str) -> list[EventSpec]:
        """The events a type declares (its manifest's `events`)."""
        return list(self.usable(type_name).manifest.events)

    def event_records(self, type_name: str) -> list[dict[str, str]]:
        """The type's events as an instance keeps them."""
        return event_records(self.entry(type_name))

    def events_of(self, record: InstanceRecord) -> list[dict[str, str]]:
        """The events kept on the instance; for one saved before connhub kept them, its type's current ones."""
        if record.events is not None:
            return [dict(e) for e in record.events]
        return event_records(self.entry(record.type)) if record.type in self.registry else []

    def validate_event(self, type_name: str, event: str, payload: Any) -> list[PayloadError]:
        """Check a parsed payload against the event's schema, locally; [] means valid. Raises UnknownEvent or
        EventSchemaError (see connhub.services.events)."""
        return validate_payload(self.usable(type_name), event, payload)
