"""Test cases derived from the registry, so a new type needs no edit to a test list.

Every built-in type gets sample values read from its manifest (defaults, then examples), its group and variant,
and one canary case per secret field. Addresses are left as placeholders the tests fill in: "{echo}" a local HTTP
server, "{closed}" a port nobody listens on, "{key}" a file that exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from connhub.core.fields import FieldKind, FieldSpec, all_specs
from connhub.plugins.registry import BUILTIN_FOLDER, Registry, TypeEntry
from connhub.services.types import instance_specs

USER = "canary-user"
S = "{secret}"  # stands for the canary in a case's values
FILLER = "0123456789abcdefghijklmnopqrstuvwxyzAB"


@dataclass(frozen=True)
class TypeCase:
    type: str
    group: str
    variant: str
    coded: bool  # has code (an entrypoint); False: declared in its manifest only
    url_field: str | None  # the field holding the API's address (HTTP types)
    url_path: str  # the path part of that field's default ("/api" for Slack's "https://slack.com/api")
    test_path: str  # the request path the manifest's test sends ("" for coded types)
    values: dict[str, Any] = field(default_factory=dict)  # required non-secret fields, addresses as placeholders
    secrets: dict[str, str] = field(default_factory=dict)  # required secrets that pass the form's checks


@cache
def registry() -> Registry:
    return Registry.discover(plugins=False)


def builtin_types() -> list[str]:
    """Every type folder shipped under connhub/integrations."""
    return sorted(p.parent.name for p in BUILTIN_FOLDER.glob("*/manifest.json"))


def cases() -> list[TypeCase]:
    return [type_case(registry().get(name)) for name in builtin_types()]


def manifest_only_types() -> list[str]:
    """The HTTP-API types declared by their manifest alone (no code), each with a declared test."""
    return [c.type for c in cases() if not c.coded and registry().get(c.type).manifest.test is not None]


def type_case(entry: TypeEntry) -> TypeCase:
    manifest = entry.manifest
    test = manifest.test
    url_field = test.url_field if test is not None else None
    specs = {s.key: s for s in all_specs(instance_specs(entry))}
    url_path = ""
    if url_field and url_field in specs:
        url_path = urlsplit(str(specs[url_field].default or specs[url_field].placeholder or "")).path.rstrip("/")
    visible = _visible(entry, chosen={})
    values = {s.key: sample(s, url_field) for s in visible if s.required and not s.secret}
    secrets = {s.key: secret_sample(s) for s in visible if s.required and s.secret}
    return TypeCase(entry.type, manifest.group, manifest.variant, manifest.entrypoint is not None, url_field,
                    url_path, test.path if test is not None and test.path else "", values, secrets)


def sample(spec: FieldSpec, url_field: str | None = None) -> Any:
    """A valid value for a non-secret field, addresses as placeholders."""
    fmt = spec.schema.get("format")
    last = spec.key.rsplit(".", 1)[-1]
    if spec.key == url_field or (fmt == "uri" and not spec.app_level):
        return "{echo}" + urlsplit(str(spec.default or spec.placeholder or "")).path.rstrip("/")
    if fmt == "hostname":
        return "127.0.0.1"
    if last == "port" and spec.kind is FieldKind.INTEGER:
        return "{closed}"
    if last in ("user", "username"):
        return USER
    if spec.kind is FieldKind.FILE:
        return "{key}"
    if spec.default is not None:
        return spec.default
    if spec.options:
        return spec.options[0]
    return spec.placeholder or "x"


def secret_prefix(spec: FieldSpec) -> str:
    """What a secret must start with, read from its example ("xoxb-…" → "xoxb-")."""
    return spec.placeholder[:-1] if spec.placeholder.endswith("…") else ""


def secret_sample(spec: FieldSpec) -> str:
    value = secret_prefix(spec) + FILLER
    pattern = spec.schema.get("pattern")
    assert pattern is None or re.search(pattern, value), (spec.key, pattern, value)
    return value


def _shown(spec: FieldSpec, chosen: dict[str, Any]) -> bool:
    for key, want in (spec.show_if or {}).items():
        have = chosen.get(key)
        if have not in (want if isinstance(want, list) else [want]):
            return False
    return True


def _visible(entry: TypeEntry, chosen: dict[str, Any]) -> list[FieldSpec]:
    """The fields a form shows once `chosen` (enum and choice values) is set; the rest at their defaults."""
    shown: list[FieldSpec] = []

    def walk(specs):
        for spec in specs:
            if spec.kind is FieldKind.CHOICE:
                value = chosen.get(spec.discriminator or spec.key, spec.default)
                choice = next((c for c in spec.choices if c.value == value), None)
                if choice is not None:
                    walk(choice.fields)
                continue
            state = {**{s.key: s.default for s in shown}, **chosen}
            if _shown(spec, state) and not spec.app_level:
                shown.append(spec)

    walk(instance_specs(entry))
    return shown


def _owners(entry: TypeEntry) -> dict[str, dict[str, Any]]:
    """Secret field → the choices that show it ({"auth": "basic"} for auth.password)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(specs, chosen):
        for spec in specs:
            if spec.kind is FieldKind.CHOICE:
                for choice in spec.choices:
                    walk(choice.fields, {**chosen, spec.discriminator or spec.key: choice.value})
            elif spec.secret:
                found.setdefault(spec.key, {**chosen, **{k: (v[0] if isinstance(v, list) else v)
                                                         for k, v in (spec.show_if or {}).items()}})

    walk(instance_specs(entry), {})
    return found


def canary_cases() -> list[tuple[str, dict[str, Any], str]]:
    """(type, values, secret field): one case per secret field a person types, for every built-in type. OAuth
    tokens are left out: a sign-in makes them (tests/services/test_oauth.py plants those)."""
    out = []
    for name in builtin_types():
        entry = registry().get(name)
        url_field = entry.manifest.test.url_field if entry.manifest.test is not None else None
        for secret_key, chosen in _owners(entry).items():
            if chosen.get("auth_method") == "oauth2":
                continue
            visible = _visible(entry, chosen)
            if secret_key not in {s.key for s in visible}:
                continue
            values: dict[str, Any] = dict(chosen)
            for spec in visible:
                if spec.key == secret_key:
                    values[spec.key] = secret_prefix(spec) + S
                elif spec.secret and spec.required:
                    values[spec.key] = secret_sample(spec)
                elif not spec.secret and (spec.required or spec.key.rsplit(".", 1)[-1] in ("user", "username")
                                          or spec.schema.get("format") == "uri" or spec.key == url_field):
                    values[spec.key] = sample(spec, url_field)
            out.append((name, values, secret_key))
    return out
