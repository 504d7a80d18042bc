"""The manifest format: one `manifest.json` per integration type, validated by these models.

Every field carries a description, so `connhub manifest-schema` can print a JSON Schema for plugin authors.
Validation failures become one-line fix-it messages (`manifest_problems`) that say what to change.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connhub.core.manifest_actions import (  # noqa: F401 - the action models, re-exported with the manifest's
    ACTION_EFFECTS,
    ACTION_NAME_PATTERN,
    HEADER_TOKEN,
    HTTP_ACTION_METHODS,
    METHOD_NAME_PATTERN,
    PLACEHOLDER,
    TEMPLATE_FIELD,
    ActionSpec,
    HttpAction,
    HttpPagination,
    header_token,
    http_action_problems,
    http_statuses,
    is_secret_param,
    param_props,
    rooted,
)
from connhub.core.oauth_spec import OAuth2Spec, oauth2_problems
from connhub.core.schema_checks import (  # noqa: F401 - re-exported
    FIELD_KEY_PATTERN,
    PARAM_KEY_PATTERN,
    all_field_keys,
    credential_schema_problems,
    param_schema_problems,
    result_schema_problems,
)

GROUPS = ("database", "cache", "messaging", "storage", "http-api", "devtools", "communication", "payments",
          "remote", "other")
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ENTRYPOINT_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


class EventSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    type: str = Field(description="Event name, e.g. `push` or `charge.succeeded`.")
    description: str = Field(description="One sentence: when the event is sent.")
    schema_path: str = Field(alias="schema", description="Path of the payload's JSON Schema, relative to the "
                                                          "manifest's folder (e.g. `events/push.json`); it "
                                                          "cannot leave that folder.")

    @field_validator("schema_path")
    @classmethod
    def _schema_inside_folder(cls, value: str) -> str:
        """Confined like the icon: `/etc/passwd` or `../../x` would have the app read any file it can."""
        parts = value.split("/")
        if (not value or value.startswith("/") or "\\" in value or re.match(r"^[A-Za-z]:", value)
                or ".." in parts or any(ch < " " or ch == "\x7f" for ch in value) or not parts[-1].strip(".")):
            raise ValueError(f"event schema {value[:200]!r} must be a file inside the plugin's folder, named "
                             "relative to manifest.json with '/' between folders and no '..' (e.g. "
                             "'events/push.json')")
        return value


#: Error classes a declarative test may map an API's error code to (see `connhub.core.errors.ErrorClass`).
MAPPABLE_ERRORS = ("auth", "permission", "rate_limited", "not_found", "config", "unknown")
_JSON_PATH = re.compile(r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$")


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
        return rooted("test.path", value)

    @field_validator("expect_status")
    @classmethod
    def _statuses_are_http(cls, value: list[int]) -> list[int]:
        return http_statuses("test.expect_status", value)

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
            header_token(f"test.{info.field_name}", name)
        return value

    @field_validator("rate_limit_header", "rate_limit_reset_header")
    @classmethod
    def _header_name(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and not HEADER_TOKEN.fullmatch(value):
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
                refs += [(f"{kind}.{name}", key) for key in TEMPLATE_FIELD.findall(template)]
        return refs


def http_test_problems(test: HttpTest, credentials: dict[str, Any]) -> list[str]:
    """Rules of a declarative test that depend on the credential fields; each names the fix."""
    fields = all_field_keys(credentials)
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


def entrypoint_shape(value: str | None) -> str | None:
    """A manifest's `entrypoint`, a type's or an extension's: `package.module:ClassName`."""
    if value is not None and not ENTRYPOINT_PATTERN.fullmatch(value):
        raise ValueError(f"entrypoint {value!r} must look like 'package.module:ClassName'")
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
    extra: str | None = Field(None, description="Field (one `name=value` a line) that keeps the query parameters "
                              "the type maps to no field of its own, passed on to the driver as the type says "
                              "(a warning says so); without it such a parameter is reported and left out.")
    extra_as: str | None = Field(None, description="Write the `extra` lines as this one parameter, `-c name=value` "
                                 "each (libpq's `options`, which psql, psycopg, pgJDBC and the server read), and "
                                 "read that parameter back into lines; without it each line is its own parameter.")
    more_hosts: str | None = Field(None, description="Field for the hosts after the first of a multi-host URL "
                                   "(libpq's `host1:5432,host2:5433`), kept as text `host2:5433, host3`; "
                                   "without it a URL with several hosts is refused.")
    socket_param: str | None = Field(None, description="Query parameter that names a Unix socket file instead of "
                                     "host:port (MySQL's `unix_socket`); its path goes to the host field and "
                                     "replaces a `localhost` host.")


class CommandLine(BaseModel):
    """The service's own command-line client, as "Copy as… command line" writes it: the program, then the
    connection as one libpq string (`argument: libpq`) or as flags, never a secret: `password_env` names the
    environment variable the program reads the password from instead."""

    model_config = ConfigDict(extra="forbid")

    program: str = Field(pattern=r"^[A-Za-z0-9_.+-]{1,40}$", description="The client's name, e.g. `psql`.")
    argument: Literal["libpq"] | None = Field(None, description="`libpq`: the connection as one keyword/value "
                                              "argument (psql reads every libpq option so).")
    flags: dict[str, str] = Field(default_factory=dict, description="Credential field → its flag, e.g. "
                                  "`{\"host\": \"-h\"}`; a boolean field's flag is written alone when true.")
    socket_flag: str | None = Field(None, description="Flag for a host that is a Unix socket path (e.g. `-S`); "
                                    "the port is then left out.")
    password_env: str | None = Field(None, pattern=r"^[A-Z][A-Z0-9_]{0,40}$", description="Environment "
                                     "variable the client reads the password from, named beside the command.")



class WebhookSpec(BaseModel):
    """How the service signs the webhooks it sends (core/webhooks.py verifies and signs each scheme)."""

    model_config = ConfigDict(extra="forbid")

    scheme: Literal["github", "gitlab", "slack", "stripe", "hmac"] = Field(
        description="The provider's documented scheme, or `hmac` for one declared here.")
    secret_field: str = Field("webhook_secret", description="The secret credential field holding the signing "
                              "secret (kept in the keyring like every secret).")
    header: str | None = Field(None, description="`hmac`: the header carrying the signature, e.g. "
                               "`X-Signature`.")
    algorithm: Literal["sha1", "sha256", "sha512"] = Field("sha256", description="`hmac`: the hash.")
    prefix: str = Field("", description="`hmac`: text before the digest, e.g. `sha256=`.")
    encoding: Literal["hex", "base64"] = Field("hex", description="`hmac`: how the digest is written.")
    event_header: str | None = Field(None, description="`hmac`: the header naming the event type, if any.")
    id_header: str | None = Field(None, description="`hmac`: the header with a unique delivery id, if any "
                                  "(deliveries seen before are refused as replays).")

    @model_validator(mode="after")
    def _hmac_needs_its_header(self) -> WebhookSpec:
        if self.scheme == "hmac" and not self.header:
            raise ValueError("webhooks.scheme 'hmac' needs webhooks.header: name the header that carries the "
                             "signature, e.g. 'X-Signature'")
        for where, name in (("header", self.header), ("event_header", self.event_header),
                            ("id_header", self.id_header)):
            if name is not None:
                header_token(f"webhooks.{where}", name)
        return self


class Manifest(BaseModel):
    """A connhub integration type."""

    model_config = ConfigDict(extra="forbid")

    manifest_version: Literal[1] = Field(description="Format version of this file; this connhub reads 1.")
    api_version: str | None = Field(None, description="A plugin's: the connhub plugin API it is built for, "
                                     "`major.minor` (e.g. `1.0`, docs/PLUGINS.md); a different major disables it.")
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
    command_line: CommandLine | None = Field(None, description="The service's own client, for \"Copy as… "
                                             "command line\" and `connhub show --url --format command`.")
    credentials: dict[str, Any] = Field(description="JSON Schema (2020-12) of the credential form. "
                                        "`writeOnly: true` marks a secret; `x-order`, `x-group`, `x-show-if` "
                                        "shape the form; `x-hidden: true` keeps a field out of the form (OAuth "
                                        "refresh token, expiry) and `format: oauth2-token` draws the \"Sign in "
                                        "with …\" row in place of a field (see `oauth2`); `x-pattern-message` "
                                        "is what a value refused by `pattern` is told (else its first example); "
                                        "`x-socket-paths` lists where a `host-or-socket` field's usual local "
                                        "socket lives, the first existing one offered by the form (`x-socket-folder: "
                                        "true` when the socket is named by its folder, as libpq's).")
    test: HttpTest | None = Field(None, description="A declarative HTTP test, for types with no code.")
    oauth2: OAuth2Spec | None = Field(None, description="Sign in with OAuth 2.0 (authorization code + PKCE) as "
                                      "one authentication method beside the others.")
    events: list[EventSpec] = Field(default_factory=list, description="Events the service can send.")
    webhooks: WebhookSpec | None = Field(None, description="How the service signs its webhook deliveries, so "
                                         "`connhub webhooks listen` can verify them.")
    actions: list[ActionSpec] = Field(default_factory=list, description="What a saved connection can do (see "
                                      "`ActionSpec`). Each action is checked on its own: a broken one is left out "
                                      "with the reason (`connhub types --check`), and the type keeps working.")

    _action_problems: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def action_problems(self) -> dict[str, str]:
        """Action name (or `actions[i]` when it has none) → why it is off; those actions are not in `actions`."""
        return self._action_problems

    def action(self, name: str) -> ActionSpec | None:
        return next((a for a in self.actions if a.name == name), None)

    @model_validator(mode="wrap")
    @classmethod
    def _actions_one_by_one(cls, data: Any, handler: Any) -> Manifest:
        """Validate the manifest without its actions, then each action alone: one broken action stays out,
        with its fix-it message, instead of disabling the type."""
        if not isinstance(data, dict) or "actions" not in data:
            return handler(data)
        manifest = handler({**data, "actions": []})
        good, broken = validate_actions(data["actions"], manifest)
        manifest.actions = good
        manifest._action_problems = broken
        return manifest

    @model_validator(mode="after")
    def _webhook_secret_is_a_secret_field(self) -> Manifest:
        if self.webhooks is not None and self.webhooks.secret_field not in _secret_field_keys(self.credentials):
            raise ValueError(f"webhooks.secret_field {self.webhooks.secret_field!r} is not a secret credential "
                             "field: add it to credentials.properties with \"writeOnly\": true")
        return self

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
        return entrypoint_shape(value)

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
            fields = all_field_keys(self.credentials)
            for part in ("host", "port", "user", "password", "lone_user", "path", "base_url", "more_hosts",
                         "extra"):
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
        if self.command_line is not None:
            unknown = set(self.command_line.flags) - all_field_keys(self.credentials)
            if unknown:
                raise ValueError(f"command_line.flags names {', '.join(sorted(unknown))}, which is not a "
                                 "credential field")
        if self.test is not None:
            for problem in http_test_problems(self.test, self.credentials):
                raise ValueError(problem)
        if self.oauth2 is not None:
            for problem in oauth2_problems(self.oauth2, self.credentials, has_test=self.test is not None):
                raise ValueError(problem)
        return self


class Extension(BaseModel):
    """A plugin's additions to a type it does not own (docs/PLUGINS.md): actions in the same format as a type's,
    run by the plugin's own code (`entrypoint`, a class built with the extended type's Integration)."""

    model_config = ConfigDict(extra="forbid")

    manifest_version: Literal[1] = Field(description="Format version of this file; this connhub reads 1.")
    api_version: str | None = Field(None, description="The connhub plugin API the plugin is built for.")
    extends: str = Field(description="The type the actions are added to, e.g. `postgres`.")
    entrypoint: str | None = Field(None, description="`module:Class` running the coded actions; built with the "
                                   "extended type's Integration object.")
    actions: list[Any] = Field(min_length=1, description="Actions, as in a type's manifest.")

    @field_validator("extends")
    @classmethod
    def _extends_a_type(cls, value: str) -> str:
        if not TYPE_PATTERN.fullmatch(value):
            raise ValueError(f"extends {value!r} must name a type: lowercase letters, digits and '_'")
        return value

    @field_validator("entrypoint")
    @classmethod
    def _entrypoint_shape(cls, value: str | None) -> str | None:
        return entrypoint_shape(value)


_ACTIONS_NOT_A_LIST = "actions must be a list of action objects: [{\"name\": …, \"title\": …, …}]"


def validate_actions(raw: Any, manifest: Manifest) -> tuple[list[ActionSpec], dict[str, str]]:
    """The valid actions, and name → fix-it message for each broken one (the first of a duplicate name wins)."""
    if not isinstance(raw, list):
        return [], {"actions": _ACTIONS_NOT_A_LIST}
    good: list[ActionSpec] = []
    broken: dict[str, str] = {}
    first_at: dict[str, int] = {}
    for index, item in enumerate(raw):
        name = item.get("name") if isinstance(item, dict) else None
        label = name if isinstance(name, str) and name else f"actions[{index}]"
        if not isinstance(item, dict | ActionSpec):
            problems = [f"actions[{index}] must be an object with name, title, description, effect, params and "
                        "result"]
        else:
            try:
                action = item if isinstance(item, ActionSpec) else ActionSpec.model_validate(item)
            except ValidationError as exc:
                problems = action_spec_problems(exc)
            except RecursionError:
                problems = ["nests objects or lists too deeply to be checked: flatten it"]
            else:
                label = action.name
                problems = action_manifest_problems(action, manifest)
                if action.name in first_at:
                    problems.insert(0, f"name {action.name!r} is already used by actions[{first_at[action.name]}]: "
                                    "give each action of a type its own name")
                if action.name in first_at:  # keyed by place: the name belongs to the action that works
                    label = f"actions[{index}]"
                if not problems:
                    first_at[action.name] = index
                    good.append(action)
                    continue
        message = "; ".join(problems)
        broken[label] = f"{broken[label]}; {message}" if label in broken else message
    return good, broken


def action_manifest_problems(action: ActionSpec, manifest: Manifest) -> list[str]:
    """Rules that tie an action to the rest of its type: where its base URL, auth or code comes from."""
    if action.http is not None:
        if manifest.test is None:
            return ["'http' takes its base URL and authentication from the type's declarative 'test' request, "
                    "but the type has none: add a 'test', or code the action as a method"]
        return []
    if manifest.entrypoint is None:
        if action.method is not None:
            return [f"method {action.method!r} needs code, but the type has no entrypoint: describe the request "
                    "as 'http' instead, or add an entrypoint"]
        return ["has no 'http' request, and the type has no code (entrypoint) whose method could run it: "
                "describe the request as 'http'"]
    return []


_TYPE_WORDS = {"dict_type": "a JSON object", "string_type": "text", "list_type": "a list", "int_type": "a whole number",
               "int_parsing": "a whole number", "bool_type": "true or false", "model_type": "a JSON object"}


def action_spec_problems(error: ValidationError) -> list[str]:
    """Pydantic's errors about one action, one fix-it line each (keys relative to the action)."""
    lines = []
    for err in error.errors():
        loc = ".".join(str(p) for p in err["loc"])
        kind = err["type"]
        if kind == "literal_error":
            shown = repr(err["input"])
            shown = shown if len(shown) <= 40 else shown[:39] + "…"
            lines.append(f"{loc} {shown} is unknown: use {err['ctx']['expected']}")
        elif kind in _TYPE_WORDS:
            lines.append(f"{loc or 'the action'} must be {_TYPE_WORDS[kind]}")
        elif kind == "string_too_short":
            lines.append(f"{loc} is empty: write it")
        else:
            lines.extend(manifest_problems_of([err]))
    return lines


def action_problem_lines(manifest: Manifest) -> list[str]:
    """One line per action that is off, for `connhub types --check` and the type's detail view."""
    return [f"action {name!r} is off: {message}" for name, message in manifest.action_problems.items()]



def manifest_problems(error: ValidationError) -> list[str]:
    """Turn pydantic's errors into one fix-it line each."""
    return manifest_problems_of(error.errors())


def manifest_problems_of(errors: list[Any]) -> list[str]:
    lines = []
    for err in errors:
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
