"""The manifest format: one `manifest.json` per integration type, validated by these models.

Every field carries a description, so `connhub manifest-schema` can print a JSON Schema for plugin authors.
Validation failures become one-line fix-it messages (`manifest_problems`) that say what to change.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

GROUPS = ("database", "cache", "messaging", "storage", "http-api", "devtools", "communication", "payments",
          "remote", "other")
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FIELD_KEY_PATTERN = re.compile(r"^(cfg:)?[a-z][a-z0-9_]*$")
ENTRYPOINT_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class EventSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str = Field(description="Event name, e.g. `push` or `charge.succeeded`.")
    description: str = Field(description="One sentence: when the event is sent.")
    schema_path: str = Field(alias="schema", description="Path of the payload's JSON Schema, relative to the "
                                                          "manifest's folder (e.g. `events/push.json`).")


class HttpTest(BaseModel):
    """A declarative connection test: one HTTP request and what a good answer looks like."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "HEAD", "POST"] = Field("GET", description="HTTP method of the test request.")
    url_field: str = Field("base_url", description="Credential field that holds the base URL.")
    path: str = Field("/", description="Path appended to the base URL; starts with `/`.")
    path_field: str | None = Field(None, description="Credential field whose value, when set, replaces `path`.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers. `{field}` is "
                                    "replaced by that field's value, secrets included (never logged).")
    expect_status: list[int] = Field(default_factory=list, description="Status codes that mean success; "
                                     "empty means any 2xx.")
    version_header: str | None = Field(None, description="Response header reported as the server version.")

    @field_validator("path")
    @classmethod
    def _path_starts_with_slash(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"test.path {value!r} must start with '/': write '/{value}'")
        return value


class UrlFormat(BaseModel):
    """How a connection URL `scheme://user:password@host:port/path?query` fills the credential fields.

    Each value names the credential field that receives that part; `None` means the type has no such part
    (a URL that carries it is refused, never silently dropped)."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = Field("host", description="Field for the host name or IP (IPv6 without brackets).")
    port: str | None = Field("port", description="Field for the port; a URL without one gets the field's default.")
    user: str | None = Field("user", description="Field for the user name (percent-decoded).")
    password: str | None = Field("password", description="Field for the password (percent-decoded; `@`, `:` "
                                 "and `+` are kept as they are).")
    lone_user: str | None = Field(None, description="Field that takes the user part when the URL has no "
                                  "password (e.g. a NATS token `nats://TOKEN@host`).")
    path: str | None = Field(None, description="Field for the path, e.g. `database` or `vhost`.")
    path_mode: Literal["segment", "absolute", "integer"] = Field(
        "segment", description="`segment`: the path without its leading `/`, percent-decoded; `absolute`: a "
        "file path, leading `/` kept (sqlite:///srv/app.db); `integer`: a number (redis://host/2).")
    path_default: str | None = Field(None, description="Value of the path field when the URL has no path at all.")
    query: dict[str, str] = Field(default_factory=dict, description="Query parameter → field, e.g. "
                                  "`{\"sslmode\": \"sslmode\"}`. Other parameters are reported as unknown.")
    scheme_values: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Field values a scheme implies, e.g. `{\"rediss\": {\"tls\": true}}`.")
    userinfo_values: dict[str, Any] = Field(
        default_factory=dict, description="Field values implied when the URL carries `user:password@`, e.g. "
        "`{\"auth.method\": \"basic\"}`.")
    base_url: str | None = Field(None, description="Field that receives the whole URL minus its `user:password@` "
                                 "(HTTP APIs); host, port and path are then not split out.")


class Manifest(BaseModel):
    """A connhub integration type."""

    model_config = ConfigDict(extra="forbid")

    manifest_version: Literal[1] = Field(description="Format version of this file; this connhub reads 1.")
    type: str = Field(description="Unique id: lowercase letters, digits and `_`, starting with a letter. "
                                  "Built-ins live in a folder of the same name.")
    name: str = Field(min_length=1, description="Display name, e.g. `PostgreSQL`.")
    group: str = Field(description=f"Sidebar group: one of {', '.join(GROUPS)}.")
    variant: str | None = Field(None, description="Sub-kind inside the group, e.g. `postgres` or `rest`.")
    description: str = Field("", description="One or two sentences shown in the type picker.")
    icon: str = Field(description="SVG file name, relative to the manifest's folder.")
    docs_url: str | None = Field(None, description="Where to read about this service's credentials.")
    entrypoint: str | None = Field(None, description="`module:Class` of the integration code, imported only "
                                   "when first used. Omit it for a type with a declarative `test`.")
    url_schemes: list[str] = Field(default_factory=list, description="URL schemes this type can parse; the first "
                                   "one is used for display URLs.")
    url: UrlFormat | None = Field(None, description="How those URLs map to credential fields; the defaults "
                                  "(host, port, user, password) apply when omitted.")
    credentials: dict[str, Any] = Field(description="JSON Schema (2020-12) of the credential form. "
                                        "`writeOnly: true` marks a secret; `x-order`, `x-group`, `x-show-if` "
                                        "shape the form.")
    test: HttpTest | None = Field(None, description="A declarative HTTP test, for types with no code.")
    events: list[EventSpec] = Field(default_factory=list, description="Events the service can send.")

    @field_validator("type")
    @classmethod
    def _type_is_an_id(cls, value: str) -> str:
        if not TYPE_PATTERN.fullmatch(value):
            suggestion = re.sub(r"[^a-z0-9_]", "_", value.lower()).strip("_") or "my_service"
            raise ValueError(f"type {value!r} must be lowercase letters, digits and '_', starting with a "
                             f"letter: try {suggestion!r}")
        return value

    @field_validator("group")
    @classmethod
    def _group_is_known(cls, value: str) -> str:
        if value not in GROUPS:
            raise ValueError(f"group {value!r} is unknown: use one of {', '.join(GROUPS)}")
        return value

    @field_validator("icon")
    @classmethod
    def _icon_is_svg(cls, value: str) -> str:
        if not value.endswith(".svg") or "/" in value.replace("\\", "/").removeprefix("./"):
            raise ValueError(f"icon {value!r} must be an .svg file next to manifest.json, e.g. 'icon.svg'")
        return value

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint_shape(cls, value: str | None) -> str | None:
        if value is not None and not ENTRYPOINT_PATTERN.fullmatch(value):
            raise ValueError(f"entrypoint {value!r} must look like 'package.module:ClassName'")
        return value

    @field_validator("credentials")
    @classmethod
    def _credentials_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        for problem in credential_schema_problems(schema):
            raise ValueError(problem)
        return schema

    @model_validator(mode="after")
    def _has_a_test(self) -> Manifest:
        if self.entrypoint is None and self.test is None:
            raise ValueError("nothing can test this type: add an 'entrypoint' (module:Class) or a "
                             "declarative 'test' request")
        properties = self.credentials.get("properties", {})
        if self.url is not None:
            if not self.url_schemes:
                raise ValueError("'url' is set but 'url_schemes' is empty: list the schemes it parses")
            fields = _all_field_keys(self.credentials)
            for part in ("host", "port", "user", "password", "lone_user", "path", "base_url"):
                target = getattr(self.url, part)
                if target is not None and target not in fields and target in self.url.model_fields_set:
                    raise ValueError(f"url.{part} names {target!r}, which is not a credential field: set it "
                                     f"to a field of credentials.properties or to null")
            for param, target in self.url.query.items():
                if target not in fields:
                    raise ValueError(f"url.query maps {param!r} to {target!r}, which is not a credential field")
            for scheme in self.url.scheme_values:
                if scheme not in self.url_schemes:
                    raise ValueError(f"url.scheme_values names scheme {scheme!r}, which is not in url_schemes")
        if self.test is not None and self.test.url_field not in properties:
            raise ValueError(f"test.url_field {self.test.url_field!r} is not a credential field: add it to "
                             "credentials.properties or point url_field at the base-URL field")
        return self


def _all_field_keys(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Every field's dotted key, choices included (`auth.username`)."""
    keys = set()
    for key, prop in schema.get("properties", {}).items():
        keys.add(prefix + key)
        for variant in prop.get("oneOf", []) if isinstance(prop, dict) else []:
            if isinstance(variant, dict):
                keys |= _all_field_keys(variant, prefix=f"{prefix}{key}.")
    return keys


def credential_schema_problems(schema: dict[str, Any]) -> list[str]:
    """Rules JSON Schema itself cannot state; each message names the field and the fix."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        return [f"credentials is not valid JSON Schema at {where}: {exc.message}"]
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        return ["credentials must be an object schema: {\"type\": \"object\", \"properties\": {…}}"]
    return _properties_problems(schema, prefix="")


def _properties_problems(schema: dict[str, Any], prefix: str) -> list[str]:
    problems: list[str] = []
    properties: dict[str, Any] = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in properties:
            problems.append(f"credentials.required names {prefix}{key!r}, which is not a property: add it to "
                            "properties or remove it from required")
    for key, prop in properties.items():
        where = f"{prefix}{key}"
        if not FIELD_KEY_PATTERN.fullmatch(key):
            problems.append(f"field key {where!r} must be lower_snake_case (optionally prefixed 'cfg:')")
        if not isinstance(prop, dict):
            problems.append(f"field {where!r} must be a schema object like {{\"type\": \"string\"}}, "
                            f"not {json.dumps(prop)}")
            continue
        if prop.get("writeOnly") and prop.get("type", "string") != "string":
            problems.append(f"secret field {where!r} (writeOnly) must have type 'string'")
        if "x-order" in prop and (not isinstance(prop["x-order"], int) or isinstance(prop["x-order"], bool)):
            problems.append(f"x-order of {where!r} must be an integer")
        show_if = prop.get("x-show-if")
        if show_if is not None:
            if not isinstance(show_if, dict) or not show_if:
                problems.append(f"x-show-if of {where!r} must be an object like {{\"other_field\": value}}")
            else:
                for other in show_if:
                    if other not in properties:
                        problems.append(f"x-show-if of {where!r} refers to {other!r}, which is not a field "
                                        "beside it: use a field of the same object")
        if "oneOf" in prop:
            problems.extend(_one_of_problems(where, prop["oneOf"]))
    return problems


def _one_of_problems(where: str, variants: list[Any]) -> list[str]:
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
        problems.extend(_properties_problems(variant, prefix=f"{where}."))
    if len(discriminators) > 1:
        problems.append(f"oneOf choices of {where!r} use different discriminator keys "
                        f"{sorted(discriminators)}: use the same key in every choice")
    return problems


def manifest_problems(error: ValidationError) -> list[str]:
    """Turn pydantic's errors into one fix-it line each."""
    lines = []
    for err in error.errors():
        loc = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        if kind == "missing":
            lines.append(f"{loc!r} is missing: add it (see `connhub manifest-schema`)")
        elif kind == "extra_forbidden":
            lines.append(f"unknown key {loc!r}: remove it or check its spelling")
        elif kind == "literal_error" and loc == "manifest_version":
            lines.append("manifest_version must be 1: this connhub reads version 1 manifests")
        elif kind == "value_error":
            lines.append(str(err["ctx"]["error"]))
        else:
            lines.append(f"{loc or 'manifest'}: {err['msg']}")
    return lines


def manifest_json_schema() -> dict[str, Any]:
    return Manifest.model_json_schema(by_alias=True)
