"""Field specs: the credential schema read as a list of form fields, and validation of their values.

Values travel flat, keyed by dotted path ("auth.token"), from the form to storage to the integration; the
schema's nesting appears only here, where values are checked against it.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from connhub.core.references import is_reference


class FieldKind(StrEnum):
    TEXT = "text"
    PASSWORD = "password"
    MULTILINE = "multiline"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ENUM = "enum"
    FILE = "file"
    CHOICE = "choice"  # a oneOf with a const discriminator


@dataclass(frozen=True)
class Choice:
    value: str
    title: str
    fields: tuple[FieldSpec, ...]


@dataclass(frozen=True)
class FieldSpec:
    key: str  # dotted path, e.g. "auth.token"
    kind: FieldKind
    title: str
    description: str = ""
    placeholder: str = ""
    default: Any = None
    required: bool = False
    secret: bool = False
    order: int = 1000
    group: str = ""
    show_if: dict[str, Any] | None = None  # {dotted key: value or [values]}
    options: tuple[Any, ...] = ()
    option_labels: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    discriminator: str = ""  # CHOICE only: the dotted key that holds the chosen const
    choices: tuple[Choice, ...] = ()
    app_level: bool = False  # a `cfg:` field, edited once in Settings
    schema: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def field_specs(schema: dict[str, Any], prefix: str = "") -> list[FieldSpec]:
    """Read an object schema's properties into ordered field specs."""
    required = set(schema.get("required", []))
    specs = [_spec(prefix + key, key, prop, key in required, prefix)
             for key, prop in schema.get("properties", {}).items()]
    return sorted(specs, key=lambda s: s.order)


def _spec(path: str, key: str, prop: dict[str, Any], required: bool, prefix: str) -> FieldSpec:
    title = prop.get("title") or key.removeprefix("cfg:").replace("_", " ").capitalize()
    examples = prop.get("examples") or []
    common = dict(
        key=path, title=title, description=prop.get("description", ""),
        placeholder=str(examples[0]) if examples else "", default=prop.get("default"), required=required,
        secret=bool(prop.get("writeOnly")), order=prop.get("x-order", 1000), group=prop.get("x-group", ""),
        show_if={prefix + k: v for k, v in prop["x-show-if"].items()} if "x-show-if" in prop else None,
        minimum=prop.get("minimum"), maximum=prop.get("maximum"), app_level=key.startswith("cfg:"), schema=prop,
    )
    if "oneOf" in prop:
        choices, discriminator = [], ""
        for variant in prop["oneOf"]:
            disc_key, disc = next((k, p) for k, p in variant["properties"].items() if "const" in p)
            discriminator = f"{path}.{disc_key}"
            fields = tuple(s for s in field_specs(variant, prefix=f"{path}.") if s.key != discriminator)
            choices.append(Choice(str(disc["const"]), variant.get("title", str(disc["const"])), fields))
        default = common.pop("default") or choices[0].value
        return FieldSpec(kind=FieldKind.CHOICE, choices=tuple(choices), discriminator=discriminator,
                         default=default, **common)
    if "enum" in prop:
        labels = prop.get("x-enum-labels") or [str(v) for v in prop["enum"]]
        return FieldSpec(kind=FieldKind.ENUM, options=tuple(prop["enum"]), option_labels=tuple(labels), **common)
    return FieldSpec(kind=_kind(prop), **common)


def _kind(prop: dict[str, Any]) -> FieldKind:
    kind, fmt = prop.get("type", "string"), prop.get("format")
    if kind == "integer":
        return FieldKind.INTEGER
    if kind == "number":
        return FieldKind.NUMBER
    if kind == "boolean":
        return FieldKind.BOOLEAN
    if prop.get("writeOnly") or fmt == "password":
        return FieldKind.PASSWORD
    if fmt == "file-path":
        return FieldKind.FILE
    if fmt == "multiline" or prop.get("x-multiline"):
        return FieldKind.MULTILINE
    return FieldKind.TEXT


def all_specs(specs: list[FieldSpec]) -> list[FieldSpec]:
    """Every field, choices' fields included, in form order."""
    out: list[FieldSpec] = []
    for spec in specs:
        out.append(spec)
        for choice in spec.choices:
            out.extend(all_specs(list(choice.fields)))
    return out


def secret_keys(specs: list[FieldSpec]) -> set[str]:
    return {s.key for s in all_specs(specs) if s.secret}


def is_visible(spec: FieldSpec, values: dict[str, Any]) -> bool:
    if not spec.show_if:
        return True
    for key, wanted in spec.show_if.items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        if values.get(key) not in allowed:
            return False
    return True


def active_keys(specs: list[FieldSpec], values: dict[str, Any]) -> set[str]:
    """Keys that are shown for these values: hidden fields and unchosen choices are neither saved nor checked."""
    keys: set[str] = set()
    for spec in specs:
        if not is_visible(spec, values):
            continue
        if spec.kind is FieldKind.CHOICE:
            keys.add(spec.discriminator)
            chosen = values.get(spec.discriminator, spec.default)
            for choice in spec.choices:
                if choice.value == chosen:
                    keys |= active_keys(list(choice.fields), values)
        else:
            keys.add(spec.key)
    return keys


def defaults(specs: list[FieldSpec]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in all_specs(specs):
        if spec.kind is FieldKind.CHOICE:
            out[spec.discriminator] = spec.default
        elif spec.default is not None:
            out[spec.key] = spec.default
    return out


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for key, value in flat.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


# --- validation ---------------------------------------------------------------------------------------

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")


def _is_hostname(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        ipaddress.ip_address(value.strip("[]"))
        return True
    except ValueError:
        pass
    return 0 < len(value) <= 253 and all(_HOST_LABEL.match(label) for label in value.rstrip(".").split("."))


def _is_host_or_socket(value: object) -> bool:
    """A host name or IP, or (libpq's rule) an absolute path: the folder of a Unix-domain socket."""
    if isinstance(value, str) and value.startswith("/"):
        return len(value) <= 107 and not any(ord(c) < 32 or ord(c) == 127 for c in value)  # sun_path's size
    return _is_hostname(value)


def _is_url(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        parts = urlsplit(value)
    except ValueError:  # "http://[" (bad IPv6 literal), characters NFKC turns into URL syntax, …
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@functools.cache
def _format_checker():
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("hostname")(_is_hostname)
    checker.checks("host-or-socket")(_is_host_or_socket)
    checker.checks("uri")(_is_url)
    return checker


_MESSAGES = {
    "hostname": "Enter a host name or IP address (no scheme, no port)",
    "host-or-socket": "Enter a host name, an IP address, or the path of a local Unix socket (starting with /)",
    "uri": "Enter a full URL starting with http:// or https://",
}


#: A lone UTF-16 surrogate (from a broken paste or a script) is not text: SQLite, the keyring and URLs all refuse it.
NOT_TEXT = "Contains a character that is not valid text (a lone surrogate): type or paste it again"


def is_storable_text(value: Any) -> bool:
    """False for a string that cannot be written as UTF-8."""
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def validate_values(schema: dict[str, Any], specs: list[FieldSpec], values: dict[str, Any],
                    references: bool = True) -> dict[str, str]:
    """Check flat values against the schema; returns {dotted key: message} for each invalid field.

    Only shown fields are checked, the chosen `oneOf` branch stands in for the `oneOf`, and a `${env:…}`
    reference is left for test time (where an unset variable is a `config` error). With `references=False`
    (an action's params, resolved before they are checked) a reference is plain text like any other.
    """
    is_ref = is_reference if references else _never
    active = active_keys(specs, values)
    present = {k: v for k, v in values.items() if k in active and v not in (None, "") and not is_ref(v)}
    for spec in all_specs(specs):  # a choice left out means its default, as in `active_keys`
        if spec.kind is FieldKind.CHOICE and spec.discriminator in active and spec.discriminator not in present:
            present[spec.discriminator] = values.get(spec.discriminator, spec.default)
    effective = _effective_schema(schema, specs, values, active)
    validator = _validator(effective)
    errors: dict[str, str] = {key: NOT_TEXT for key, value in present.items() if not is_storable_text(value)}
    for error in validator.iter_errors(unflatten(present)):
        path = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            node = error.instance if isinstance(error.instance, dict) else {}
            for missing in error.validator_value:
                key = f"{path}.{missing}" if path else missing
                if missing not in node and not is_ref(values.get(key)):
                    errors.setdefault(key, "Required")
            continue
        errors.setdefault(path, _message(error))
    return errors


def _validator(schema: dict[str, Any]):
    """A validator per effective schema, built once: an action runs many times with the same params form, and
    building one costs more than checking a few values with it."""
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):  # not plain JSON: build it afresh
        return _new_validator(schema)
    return _cached_validator(key)


@functools.lru_cache(maxsize=256)
def _cached_validator(key: str):
    return _new_validator(json.loads(key))


def _new_validator(schema: dict[str, Any]):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema, format_checker=_format_checker())


def _never(value: Any) -> bool:
    return False


def _effective_schema(schema: dict[str, Any], specs: list[FieldSpec], values: dict[str, Any],
                      active: set[str]) -> dict[str, Any]:
    properties, required = {}, []
    for spec in specs:
        name = spec.key.rsplit(".", 1)[-1]
        if spec.kind is FieldKind.CHOICE:
            if spec.discriminator not in active:
                continue
            chosen = values.get(spec.discriminator, spec.default)
            choice = next((c for c in spec.choices if c.value == chosen), None)  # as `active_keys` does
            if choice is None:  # an unknown choice (a CLI `--set`, an import): name the valid ones
                disc_name = spec.discriminator.rsplit(".", 1)[-1]
                properties[name] = {"type": "object", "required": [disc_name],
                                    "properties": {disc_name: {"enum": [c.value for c in spec.choices]}}}
                required.append(name)
                continue
            variant = spec.schema["oneOf"][spec.choices.index(choice)]
            properties[name] = _effective_schema(variant, list(choice.fields), values, active)
            required.append(name)
        elif spec.key in active:
            properties[name] = {k: v for k, v in spec.schema.items() if not k.startswith("x-") or k == "x-pattern-message"}
            if spec.required:
                required.append(name)
    return {"type": "object", "properties": properties, "required": required}


_TYPE_NAMES = {"integer": "a whole number", "number": "a number", "boolean": "yes or no", "string": "text",
               "null": "empty", "array": "a list", "object": "an object"}


def _message(error) -> str:
    kind, value = error.validator, error.validator_value
    if kind == "minimum":
        return f"Must be at least {value}"
    if kind == "maximum":
        return f"Must be at most {value}"
    if kind == "exclusiveMinimum":
        return f"Must be more than {value}"
    if kind == "exclusiveMaximum":
        return f"Must be less than {value}"
    if kind == "type":
        if isinstance(value, list):  # {"type": ["string", "null"]}
            return "Must be " + " or ".join(_TYPE_NAMES.get(str(v), str(v)) for v in value)
        return {"integer": "Enter a whole number", "number": "Enter a number", "boolean": "Must be yes or no",
                "string": "Enter text"}.get(value, f"Must be of type {value}")
    if kind == "enum":
        return "Choose one of: " + ", ".join(str(v) for v in value)
    if kind == "minLength":
        return f"Must be at least {value} characters"
    if kind == "maxLength":
        return f"Must be at most {value} characters"
    if kind == "pattern":  # a regex means nothing to a user: the manifest's own words, or an example
        schema = error.schema if isinstance(error.schema, dict) else {}
        if schema.get("x-pattern-message"):
            return str(schema["x-pattern-message"])
        examples = schema.get("examples") or []
        return "Does not have the expected format" + (f", e.g. {examples[0]}" if examples else "")
    if kind == "format":
        return _MESSAGES.get(value, f"Not a valid {value}")
    return error.message
