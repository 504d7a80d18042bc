"""Checks of the JSON Schemas a manifest holds (credentials, action params, results): what the form and the
runner can draw and fill, said as one fix-it line each."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any

FIELD_KEY_PATTERN = re.compile(r"^(cfg:)?[a-z][a-z0-9_]*$")
PARAM_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def all_field_keys(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Every field's dotted key, choices included (`auth.username`)."""
    keys = set()
    for key, prop in schema.get("properties", {}).items():
        keys.add(prefix + key)
        for variant in prop.get("oneOf", []) if isinstance(prop, dict) else []:
            if isinstance(variant, dict):
                keys |= all_field_keys(variant, prefix=f"{prefix}{key}.")
    return keys


@dataclass(frozen=True)
class _Dialect:
    """How schema problems are worded: credential fields, or an action's params."""

    where: str  # "credentials" or "params"
    noun: str  # "field" or "param"
    key_pattern: re.Pattern[str]
    key_rule: str


_CREDENTIALS = _Dialect("credentials", "field", FIELD_KEY_PATTERN, "lower_snake_case (optionally prefixed 'cfg:')")
_PARAMS = _Dialect("params", "param", PARAM_KEY_PATTERN, "lower_snake_case")
_RESULT = _Dialect("result", "", PARAM_KEY_PATTERN, "")  # any valid JSON Schema: no form rules


def credential_schema_problems(schema: dict[str, Any]) -> list[str]:
    """Rules JSON Schema itself cannot state; each message names the field and the fix.

    Checking against the 2020-12 meta-schema costs ~15 ms a schema; the answer for a schema already seen
    (every built-in type, on each discovery) comes from a small cache keyed by its canonical JSON text."""
    return _schema_problems(schema, _CREDENTIALS)


def param_schema_problems(schema: dict[str, Any]) -> list[str]:
    """The same rules for an action's `params`: the form builder draws them like credentials."""
    return _schema_problems(schema, _PARAMS)


def result_schema_problems(schema: dict[str, Any]) -> list[str]:
    """An action's `result` needs only to be valid JSON Schema (cached like the credential checks)."""
    return _schema_problems(schema, _RESULT)


def _schema_problems(schema: dict[str, Any], dialect: _Dialect) -> list[str]:
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):
        key = None
    if key is None or len(key) > _CACHEABLE_SCHEMA_CHARS or json.loads(key) != schema:  # not plain JSON
        return _credential_schema_problems(schema, dialect)
    return list(_cached_schema_problems(key, dialect))


_CACHEABLE_SCHEMA_CHARS = 64_000


@functools.lru_cache(maxsize=256)
def _cached_schema_problems(key: str, dialect: _Dialect) -> tuple[str, ...]:
    return tuple(_credential_schema_problems(json.loads(key), dialect))


def _credential_schema_problems(schema: dict[str, Any], dialect: _Dialect = _CREDENTIALS) -> list[str]:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        return [f"{dialect.where} is not valid JSON Schema at {where}: {exc.message}"]
    if dialect is _RESULT:
        return []
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        return [f"{dialect.where} must be an object schema: {{\"type\": \"object\", \"properties\": {{…}}}}"]
    return _properties_problems(schema, prefix="", dialect=dialect)


def _properties_problems(schema: dict[str, Any], prefix: str, dialect: _Dialect = _CREDENTIALS) -> list[str]:
    problems: list[str] = []
    noun = dialect.noun
    properties: dict[str, Any] = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in properties:
            problems.append(f"{dialect.where}.required names {prefix}{key!r}, which is not a property: add it to "
                            "properties or remove it from required")
    for key, prop in properties.items():
        where = f"{prefix}{key}"
        if not dialect.key_pattern.fullmatch(key):
            problems.append(f"{noun} key {where!r} must be {dialect.key_rule}")
        if not isinstance(prop, dict):
            problems.append(f"{noun} {where!r} must be a schema object like {{\"type\": \"string\"}}, "
                            f"not {json.dumps(prop)}")
            continue
        if prop.get("writeOnly") and prop.get("type", "string") != "string":
            problems.append(f"secret {noun} {where!r} (writeOnly) must have type 'string'")
        if "x-order" in prop and (not isinstance(prop["x-order"], int) or isinstance(prop["x-order"], bool)):
            problems.append(f"x-order of {where!r} must be an integer")
        if "x-group" in prop and not isinstance(prop["x-group"], str):
            problems.append(f"x-group of {where!r} must be a text (the name of the form section)")
        labels = prop.get("x-enum-labels")
        if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)
                                       and isinstance(prop.get("enum"), list) and len(labels) == len(prop["enum"])):
            problems.append(f"x-enum-labels of {where!r} must be a list of texts, one per value of its 'enum'")
        show_if = prop.get("x-show-if")
        if show_if is not None:
            if not isinstance(show_if, dict) or not show_if:
                problems.append(f"x-show-if of {where!r} must be an object like {{\"other_field\": value}}")
            else:
                for other in show_if:
                    if other not in properties:
                        problems.append(f"x-show-if of {where!r} refers to {other!r}, which is not a {noun} "
                                        f"beside it: use a {noun} of the same object")
        if "oneOf" in prop:
            problems.extend(_one_of_problems(where, prop["oneOf"], dialect))
    return problems


def _one_of_problems(where: str, variants: list[Any], dialect: _Dialect = _CREDENTIALS) -> list[str]:
    problems: list[str] = []
    discriminators = set()
    for index, variant in enumerate(variants):
        properties = variant.get("properties", {}) if isinstance(variant, dict) else {}
        consts = [k for k, p in properties.items() if isinstance(p, dict) and "const" in p]
        if len(consts) != 1:
            problems.append(f"oneOf choice {index} of {where!r} needs exactly one property with a 'const' "
                            "(e.g. {\"method\": {\"const\": \"bearer\"}}) to tell the choices apart")
            continue
        discriminators.add(consts[0])
        problems.extend(_properties_problems(variant, prefix=f"{where}.", dialect=dialect))
    if len(discriminators) > 1:
        problems.append(f"oneOf choices of {where!r} use different discriminator keys "
                        f"{sorted(discriminators)}: use the same key in every choice")
    return problems

