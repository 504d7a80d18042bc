"""Events a type declares in its manifest, and local validation of a payload against the event's JSON Schema.

Nothing here touches the network: a schema may `$ref` other files beside the manifest (`common.json#/$defs/…`),
never a URL. Each error comes with the JSON path of the value it is about (`$.commits[0].id`); a missing
property is reported at the path where it should be, an unexpected one where it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from connhub.core.manifest import EventSpec
from connhub.plugins.registry import TypeEntry, schema_inside, schema_outside_message

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_SHOWN = 120  # characters of a value quoted in a message


class UnknownEvent(LookupError):
    def __init__(self, type_name: str, event: str, known: list[str]):
        self.type_name, self.event, self.known = type_name, event, known
        listed = ", ".join(known) if known else "none"
        super().__init__(f"{type_name} has no event {event!r}; its events: {listed} (see `connhub events "
                         f"{type_name}`)")

    def __str__(self) -> str:
        return self.args[0]


class EventSchemaError(Exception):
    """The event's schema cannot be used (missing, not JSON, not a valid JSON Schema, a `$ref` that does not
    resolve): a problem of the type, not of the payload. The message says which file and what to fix."""


class PayloadSyntaxError(ValueError):
    """The payload is not JSON; `line` and `column` (1-based) say where the parser stopped."""

    def __init__(self, message: str, line: int, column: int):
        self.message, self.line, self.column = message, line, column
        super().__init__(f"line {line}, column {column}: {message}")


@dataclass(frozen=True)
class PayloadError:
    path: str  # JSONPath of the value, "$" for the whole payload
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# --- what a type declares ----------------------------------------------------------------------------------

def event_records(entry: TypeEntry) -> list[dict[str, str]]:
    """The type's events as they are kept on an instance's record."""
    if entry.manifest is None:
        return []
    return [{"type": e.type, "description": e.description, "schema": e.schema_path} for e in entry.manifest.events]


def find_event(entry: TypeEntry, event: str) -> EventSpec:
    events = entry.manifest.events if entry.manifest else []
    for spec in events:
        if spec.type == event:
            return spec
    raise UnknownEvent(entry.type, event, [e.type for e in events])


# --- payloads ----------------------------------------------------------------------------------------------

def parse_payload(text: str) -> Any:
    """JSON text → value; a syntax error says where (line, column)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadSyntaxError(exc.msg, exc.lineno, exc.colno) from None


def validate_payload(entry: TypeEntry, event: str, payload: Any) -> list[PayloadError]:
    """Every way `payload` breaks the event's schema, sorted by path; empty when it is valid."""
    from referencing.exceptions import Unresolvable

    spec = find_event(entry, event)
    validator = _validator(entry, spec)
    try:
        errors = [found for error in validator.iter_errors(payload) for found in _describe(error)]
    except Unresolvable as exc:
        raise EventSchemaError(f"{spec.schema_path} of {entry.type} refers to {_ref_of(exc)!r}, which cannot be "
                               "found: a $ref must name a file beside the manifest (or a #/$defs/… inside one)"
                               ) from None
    unique = dict.fromkeys(errors)  # the same error may come from two branches
    return sorted(unique, key=lambda e: (_sort_key(e.path), e.message))


def event_schema(entry: TypeEntry, event: str) -> Any:
    """The event's JSON Schema as loaded (confined to the type's folder), e.g. to make a sample payload."""
    return _validator(entry, find_event(entry, event)).schema


def validate_text(entry: TypeEntry, event: str, text: str) -> list[PayloadError]:
    """Parse, then validate (raises PayloadSyntaxError when the text is not JSON)."""
    find_event(entry, event)  # an unknown event is reported before a syntax error
    return validate_payload(entry, event, parse_payload(text))


def json_path(parts) -> str:
    """JSONPath of a jsonschema error path: `$`, `$.a.b`, `$.list[0]`, `$['odd key']`."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            out += f".{part}"
        else:
            out += "[" + "'" + part.replace("\\", "\\\\").replace("'", "\\'") + "'" + "]"
    return out


# --- schemas -----------------------------------------------------------------------------------------------

_validators: dict[tuple[str, int], Any] = {}


def schema_file(entry: TypeEntry, spec: EventSpec) -> Path:
    """The schema's file, never one outside the type's folder (whatever the manifest or a link says)."""
    if entry.folder is None:
        raise EventSchemaError(f"{entry.type} has no folder to read {spec.schema_path} from")
    if not schema_inside(entry.folder, spec.schema_path):
        raise EventSchemaError(f"{entry.type}: {schema_outside_message(spec.type, spec.schema_path)}")
    return entry.folder / spec.schema_path


def _validator(entry: TypeEntry, spec: EventSpec):
    """A compiled validator per schema file (rebuilt when the file changes), so validating is instant."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from referencing import Registry

    path = schema_file(entry, spec)
    try:
        key = (str(path.resolve()), path.stat().st_mtime_ns)
    except OSError:
        raise EventSchemaError(f"the schema of {entry.type} event {spec.type!r} ({spec.schema_path}) is missing: "
                               "add the file or fix the manifest's 'schema'") from None
    if key in _validators:
        return _validators[key]
    schema = _load(path, entry.type)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise EventSchemaError(f"{spec.schema_path} of {entry.type} is not a valid JSON Schema at {where}: "
                               f"{exc.message}") from None
    root = entry.folder.resolve()
    if isinstance(schema, dict) and "$id" not in schema:
        schema = {**schema, "$id": path.resolve().as_uri()}  # relative $refs resolve beside the file

    def retrieve(uri: str):
        from referencing import Resource
        from referencing.exceptions import NoSuchResource
        from referencing.jsonschema import DRAFT202012

        parts = urlsplit(uri)
        target = Path(unquote(parts.path)).resolve() if parts.scheme == "file" else None
        if target is None or not target.is_relative_to(root) or not target.is_file():
            raise NoSuchResource(ref=uri)
        return Resource.from_contents(_load(target, entry.type), default_specification=DRAFT202012)

    validator = Draft202012Validator(schema, registry=Registry(retrieve=retrieve), format_checker=_format_checker())
    _validators[key] = validator
    return validator


def _load(path: Path, type_name: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EventSchemaError(f"{path.name} of {type_name} is not valid JSON (line {exc.lineno}, column "
                               f"{exc.colno}): {exc.msg}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EventSchemaError(f"cannot read {path.name} of {type_name}: {exc}") from None


def _ref_of(exc: Exception) -> str:
    ref = getattr(exc, "ref", None) or str(exc)
    return ref.rsplit("/", 1)[-1] if ref.startswith("file:") else ref


def _format_checker():
    """Formats checked the same everywhere, with the standard library only (jsonschema's own checkers for
    date-time and uri depend on optional packages, so they would pass or fail depending on the machine)."""
    import ipaddress
    from datetime import date, datetime

    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", value):
            return False
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
        return True

    @checker.checks("date", raises=ValueError)
    def _date(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return bool(re.fullmatch(r"\d{4}-\d\d-\d\d", value)) and date.fromisoformat(value) is not None

    @checker.checks("email")
    def _email(value: object) -> bool:
        return not isinstance(value, str) or bool(re.fullmatch(r"[^@\s]+@[^@\s]+", value))

    @checker.checks("uri")
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        try:
            parts = urlsplit(value)
        except ValueError:
            return False
        return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme)) and " " not in value

    @checker.checks("ipv4", raises=ValueError)
    def _ipv4(value: object) -> bool:
        return not isinstance(value, str) or ipaddress.IPv4Address(value) is not None

    @checker.checks("ipv6", raises=ValueError)
    def _ipv6(value: object) -> bool:
        return not isinstance(value, str) or ipaddress.IPv6Address(value) is not None

    return checker


# --- messages ----------------------------------------------------------------------------------------------

_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}


def _type_of(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _describe(error) -> list[PayloadError]:
    """One jsonschema error → the messages a person reads, each at the path it is about."""
    parts = list(error.absolute_path)
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        node = instance if isinstance(instance, dict) else {}
        return [PayloadError(json_path(parts + [name]), "required property is missing")
                for name in value if name not in node]
    if kind in ("additionalProperties", "unevaluatedProperties") and value is False and isinstance(instance, dict):
        extras = _extras(error.schema, instance) if kind == "additionalProperties" else []
        if extras:
            allowed = sorted(error.schema.get("properties", {}))
            hint = f" (allowed: {', '.join(allowed)})" if allowed and len(allowed) <= 6 else ""
            return [PayloadError(json_path(parts + [name]), f"unexpected property{hint}") for name in extras]
    return [PayloadError(json_path(parts), _message(error))]


def _extras(schema: dict[str, Any], instance: dict[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [k for k in instance if k not in properties and not any(re.search(p, k) for p in patterns)]


def _message(error) -> str:
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "type":
        wanted = " or ".join(value) if isinstance(value, list) else value
        return f"expected {wanted}, got {_type_of(instance)}"
    if kind == "enum":
        shown = ", ".join(_shown(v) for v in value[:12]) + (", …" if len(value) > 12 else "")
        return f"must be one of {shown}; got {_shown(instance)}"
    if kind == "const":
        return f"must be {_shown(value)}; got {_shown(instance)}"
    if kind in ("anyOf", "oneOf") and error.context:
        types = [e for e in error.context if e.validator == "type" and not e.relative_path]
        if len(types) == len(error.context):
            wanted = []
            for e in types:
                wanted += e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]
            return f"expected {' or '.join(dict.fromkeys(wanted))}, got {_type_of(instance)}"
        from jsonschema.exceptions import best_match

        # A branch of another type ("expected null") says less than one of the right type that failed inside.
        inside = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
        best = _describe(best_match(inside or error.context))[0]
        closest = best.message if best.path == json_path(error.absolute_path) else str(best)
        return f"matches none of the allowed forms (closest: {closest})"
    if kind == "oneOf":
        return "matches more than one of the allowed forms"
    if kind == "minimum":
        return f"must be at least {value}; got {_shown(instance)}"
    if kind == "maximum":
        return f"must be at most {value}; got {_shown(instance)}"
    if kind == "exclusiveMinimum":
        return f"must be more than {value}; got {_shown(instance)}"
    if kind == "exclusiveMaximum":
        return f"must be less than {value}; got {_shown(instance)}"
    if kind == "minLength":
        return f"must be at least {value} characters long"
    if kind == "maxLength":
        return f"must be at most {value} characters long"
    if kind == "minItems":
        return f"must have at least {value} items; has {len(instance)}"
    if kind == "maxItems":
        return f"must have at most {value} items; has {len(instance)}"
    if kind == "uniqueItems":
        return "items must be unique"
    if kind == "pattern":
        return f"does not match the pattern {value}; got {_shown(instance)}"
    if kind == "format":
        return f"is not a valid {value}; got {_shown(instance)}"
    if kind == "minProperties":
        return f"must have at least {value} properties"
    if kind == "maxProperties":
        return f"must have at most {value} properties"
    if kind == "not":
        return f"is not allowed here: {_shown(instance)}"
    text = error.message
    return text if len(text) <= 2 * _MAX_SHOWN else text[: 2 * _MAX_SHOWN - 1] + "…"


def _sort_key(path: str) -> list:
    """Array indexes in number order ($.items[2] before $.items[10])."""
    return [int(p) if p.isdigit() else p for p in re.split(r"\[(\d+)\]", path)]
