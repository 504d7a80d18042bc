"""The manifest format: one `manifest.json` per integration type, validated by these models.

Every field carries a description, so `connhub manifest-schema` can print a JSON Schema for plugin authors.
Validation failures become one-line fix-it messages (`manifest_problems`) that say what to change.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connhub.core.oauth_spec import OAuth2Spec, oauth2_problems

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


#: Error classes a declarative test may map an API's error code to (see `connhub.core.errors.ErrorClass`).
MAPPABLE_ERRORS = ("auth", "permission", "rate_limited", "not_found", "config", "unknown")
_JSON_PATH = re.compile(r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$")
_HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_TEMPLATE_FIELD = re.compile(r"\{([A-Za-z0-9_.:-]+)\}")


class BasicAuthFields(BaseModel):
    """HTTP Basic authentication built from two credential fields (e.g. Jira's e-mail + API token)."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(description="Credential field that holds the user name (or e-mail address).")
    password: str = Field(description="Credential field that holds the password or API token (a secret).")


class SecretPrefixDetail(BaseModel):
    """A detail derived from how a secret starts, never from the secret itself (Stripe's `sk_test_` → test mode)."""

    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="Credential field whose value's prefix is looked at.")
    detail: str = Field(description="Name of the detail reported on success, e.g. `mode`.")
    prefixes: dict[str, str] = Field(description="Prefix → text reported, e.g. `{\"sk_test_\": \"test mode\"}`; "
                                     "the longest matching prefix wins, no match reports nothing.")

    @field_validator("prefixes")
    @classmethod
    def _prefixes_not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        if not value or any(not prefix for prefix in value):
            raise ValueError("test.secret_prefix.prefixes needs at least one non-empty prefix, e.g. "
                             "{\"sk_test_\": \"test mode\"}")
        return value


class HttpTest(BaseModel):
    """A declarative connection test: one HTTP request and what a good answer looks like."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "HEAD", "POST"] = Field("GET", description="HTTP method of the test request.")
    url_field: str = Field("base_url", description="Credential field that holds the base URL; when empty, the "
                           "field's `default` is used.")
    path: str = Field("/", description="Path appended to the base URL; starts with `/`.")
    path_field: str | None = Field(None, description="Credential field whose value, when set, replaces `path`.")
    query: dict[str, str] = Field(default_factory=dict, description="Query parameters of the test request; "
                                  "`{field}` is replaced by that (non-secret) field's value.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers. `{field}` is "
                                    "replaced by that field's value, secrets included (never logged).")
    basic_auth: BasicAuthFields | None = Field(None, description="Send HTTP Basic authentication made of these "
                                               "two fields (user name and password/token).")
    proxy_field: str | None = Field(None, description="Field (usually the app-level `cfg:proxy`) holding an "
                                    "HTTP(S) proxy URL; when set, the request goes through that proxy.")
    expect_status: list[int] = Field(default_factory=list, description="Status codes that mean success; "
                                     "empty means any 2xx.")
    success_field: str | None = Field(None, description="Dotted JSON path that must be `true` in a successful "
                                      "answer (Slack answers 200 with `{\"ok\": false}` on errors).")
    error_field: str | list[str] | None = Field(
        None, description="Dotted JSON path(s) of the API's error code or message, e.g. `error` or "
        "`[\"error.code\", \"error.type\"]`; the first one present is quoted in the failure message and looked "
        "up in `error_classes`.")
    error_classes: dict[str, str] = Field(
        default_factory=dict, description="API error code → error class (one of "
        f"{', '.join(MAPPABLE_ERRORS)}), e.g. `{{\"invalid_auth\": \"auth\", \"missing_scope\": \"permission\"}}`; "
        "it decides over the status code.")
    rate_limit_header: str | None = Field(None, description="Response header with the remaining request quota "
                                          "(e.g. `X-RateLimit-Remaining`): `0` on a 403 or 429 means rate limited.")
    rate_limit_reset_header: str | None = Field(None, description="Response header with the time (Unix epoch "
                                                "seconds) the quota resets, used when there is no Retry-After.")
    version_header: str | list[str] | None = Field(None, description="Response header(s) reported as the server "
                                                   "version; the first one present wins, else `Server`.")
    version_field: str | None = Field(None, description="Dotted JSON path reported as the server version "
                                      "(before `version_header`).")
    detail_fields: dict[str, str] = Field(default_factory=dict, description="Detail name → dotted JSON path of "
                                          "the success answer reported to the user, e.g. `{\"user\": \"login\"}`. "
                                          "Shown to users: never point it at a secret.")
    detail_headers: dict[str, str] = Field(default_factory=dict, description="Detail name → response header "
                                           "reported to the user, e.g. `{\"scopes\": \"X-OAuth-Scopes\"}`.")
    secret_prefix: SecretPrefixDetail | None = Field(None, description="A detail derived from a secret's prefix "
                                                     "(e.g. Stripe test or live mode); the secret never appears.")

    @field_validator("path")
    @classmethod
    def _path_starts_with_slash(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"test.path {value!r} must start with '/': write '/{value}'")
        return value

    @field_validator("expect_status")
    @classmethod
    def _statuses_are_http(cls, value: list[int]) -> list[int]:
        for status in value:
            if not 100 <= status <= 599:
                raise ValueError(f"test.expect_status {status} is not an HTTP status: use codes from 100 to 599")
        return value

    @field_validator("error_classes")
    @classmethod
    def _error_classes_known(cls, value: dict[str, str]) -> dict[str, str]:
        for code, error_class in value.items():
            if error_class not in MAPPABLE_ERRORS:
                raise ValueError(f"test.error_classes maps {code!r} to {error_class!r}: use one of "
                                 f"{', '.join(MAPPABLE_ERRORS)}")
        return value

    @field_validator("headers", "detail_headers")
    @classmethod
    def _header_names(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        names = value if info.field_name == "headers" else value.values()
        for name in names:
            if not _HEADER_TOKEN.fullmatch(name):
                raise ValueError(f"test.{info.field_name} names header {name!r}, which is not a valid header "
                                 "name: use letters, digits and '-'")
        return value

    @field_validator("rate_limit_header", "rate_limit_reset_header")
    @classmethod
    def _header_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not _HEADER_TOKEN.fullmatch(value):
            raise ValueError(f"test.{info.field_name} {value!r} is not a valid header name: use letters, digits "
                             "and '-'")
        return value

    @model_validator(mode="after")
    def _json_rules(self) -> HttpTest:
        paths = [("success_field", self.success_field), ("version_field", self.version_field)]
        paths += [("error_field", p) for p in self.error_fields]
        paths += [(f"detail_fields.{name}", p) for name, p in self.detail_fields.items()]
        for where, path in paths:
            if path is not None and not _JSON_PATH.fullmatch(path):
                raise ValueError(f"test.{where} {path!r} is not a dotted JSON path: write it like "
                                 "'error.code' (keys joined by '.')")
        reads_body = [where for where, path in paths if path is not None]
        if self.method == "HEAD" and reads_body:
            raise ValueError(f"test.method HEAD gets no body, but test.{reads_body[0]} reads one: use GET or POST")
        if self.error_classes and not self.error_fields:
            raise ValueError("test.error_classes is set but test.error_field is not: name the JSON field that "
                             "holds the API's error code, e.g. 'error'")
        clash = set(self.detail_fields) & set(self.detail_headers)
        if self.secret_prefix is not None:
            clash |= {self.secret_prefix.detail} & (set(self.detail_fields) | set(self.detail_headers))
        clash |= {"status", "http_version"} & (set(self.detail_fields) | set(self.detail_headers))
        if clash:
            raise ValueError(f"test detail {sorted(clash)[0]!r} is reported twice: give each detail its own name "
                             "('status' and 'http_version' are taken)")
        return self

    @property
    def error_fields(self) -> list[str]:
        """`error_field` as a list (it may be written as one path or several)."""
        if self.error_field is None:
            return []
        return [self.error_field] if isinstance(self.error_field, str) else list(self.error_field)

    @property
    def version_headers(self) -> list[str]:
        if self.version_header is None:
            return []
        return [self.version_header] if isinstance(self.version_header, str) else list(self.version_header)

    def field_references(self) -> list[tuple[str, str]]:
        """(where, field) for every credential field this test names."""
        refs = [("url_field", self.url_field)]
        refs += [(name, value) for name, value in (("path_field", self.path_field),
                                                    ("proxy_field", self.proxy_field)) if value]
        if self.basic_auth:
            refs += [("basic_auth.username", self.basic_auth.username),
                     ("basic_auth.password", self.basic_auth.password)]
        if self.secret_prefix:
            refs.append(("secret_prefix.field", self.secret_prefix.field))
        for kind, templates in (("headers", self.headers), ("query", self.query)):
            for name, template in templates.items():
                refs += [(f"{kind}.{name}", key) for key in _TEMPLATE_FIELD.findall(template)]
        return refs


def http_test_problems(test: HttpTest, credentials: dict[str, Any]) -> list[str]:
    """Rules of a declarative test that depend on the credential fields; each names the fix."""
    fields = _all_field_keys(credentials)
    secrets = _secret_field_keys(credentials)
    problems = []
    for where, key in test.field_references():
        if where == "url_field":
            if key not in credentials.get("properties", {}):
                problems.append(f"test.url_field {key!r} is not a credential field: add it to "
                                "credentials.properties or point url_field at the base-URL field")
        elif key not in fields:
            problems.append(f"test.{where} names {key!r}, which is not a credential field: add it to "
                            "credentials.properties or fix the name")
        elif where.startswith("query.") and key in secrets:
            problems.append(f"test.{where} puts secret field {key!r} into the URL, where proxies and logs keep "
                            "it: send it in test.headers instead")
    if test.basic_auth and test.basic_auth.username in secrets:
        problems.append(f"test.basic_auth.username {test.basic_auth.username!r} is a secret field, but user names "
                        "are shown to users: use a non-secret field")
    return problems


def _secret_field_keys(schema: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, prop in schema.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        if prop.get("writeOnly"):
            keys.add(prefix + key)
        for variant in prop.get("oneOf", []):
            if isinstance(variant, dict):
                keys |= _secret_field_keys(variant, prefix=f"{prefix}{key}.")
    return keys


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
        "segment", description="`segment`: the path without its leading `/`, percent-decoded, one segment (a `/` "
        "inside it is written `%2F`); `absolute`: a file path, leading `/` kept (sqlite:///srv/app.db; "
        "sqlite:////srv/app.db reads the same); `integer`: a number (redis://host/2).")
    path_default: str | None = Field(None, description="Value of the path field when the URL has no path, or "
                                     "only `/` (e.g. AMQP's default vhost `/`).")
    query: dict[str, str] = Field(default_factory=dict, description="Query parameter → field, e.g. "
                                  "`{\"sslmode\": \"sslmode\"}`; the value is typed and checked by the field "
                                  "(integer, boolean, enum). Other parameters are reported as unknown.")
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
                                        "shape the form; `x-hidden: true` keeps a field out of the form (OAuth "
                                        "refresh token, expiry) and `format: oauth2-token` draws the \"Sign in "
                                        "with …\" row in place of a field (see `oauth2`).")
    test: HttpTest | None = Field(None, description="A declarative HTTP test, for types with no code.")
    oauth2: OAuth2Spec | None = Field(None, description="Sign in with OAuth 2.0 (authorization code + PKCE) as "
                                      "one authentication method beside the others.")
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
        if self.test is not None:
            for problem in http_test_problems(self.test, self.credentials):
                raise ValueError(problem)
        if self.oauth2 is not None:
            for problem in oauth2_problems(self.oauth2, self.credentials, has_test=self.test is not None):
                raise ValueError(problem)
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
    """Rules JSON Schema itself cannot state; each message names the field and the fix.

    Checking against the 2020-12 meta-schema costs ~15 ms a schema; the answer for a schema already seen
    (every built-in type, on each discovery) comes from a small cache keyed by its canonical JSON text."""
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):
        key = None
    if key is None or len(key) > _CACHEABLE_SCHEMA_CHARS or json.loads(key) != schema:  # not plain JSON
        return _credential_schema_problems(schema)
    return list(_cached_schema_problems(key))


_CACHEABLE_SCHEMA_CHARS = 64_000


@functools.lru_cache(maxsize=128)
def _cached_schema_problems(key: str) -> tuple[str, ...]:
    return tuple(_credential_schema_problems(json.loads(key)))


def _credential_schema_problems(schema: dict[str, Any]) -> list[str]:
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
