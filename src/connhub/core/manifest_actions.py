"""The `actions` of a manifest: what a saved connection can do, each checked on its own (core/manifest.py
validates a type's actions one by one with these models, so one broken action stays out with its reason)."""

from __future__ import annotations

import copy
import functools
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connhub.core.schema_checks import param_schema_problems, result_schema_problems

HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
TEMPLATE_FIELD = re.compile(r"\{([A-Za-z0-9_.:-]+)\}")

ACTION_EFFECTS = ("read", "write", "destructive")
ACTION_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
METHOD_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
HTTP_ACTION_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
#: An `http` template's placeholders: `{param}` (a dotted key for a param inside a `oneOf` choice).
PLACEHOLDER = TEMPLATE_FIELD
_EMPTY_PARAMS: dict[str, Any] = {"type": "object", "properties": {}}


class HttpPagination(BaseModel):
    """How to fetch the next page, as the API documents it; each page's items are appended to the result."""

    model_config = ConfigDict(extra="forbid")

    style: Literal["link", "cursor"] = Field(description="`link`: follow the `Link` response header's "
                                             "`rel=\"next\"` URL (RFC 8288; GitHub, GitLab); `cursor`: read the "
                                             "next cursor from each answer (`cursor_path`) and send it back in the "
                                             "query parameter `cursor_param` (Slack, Stripe's `starting_after`).")
    cursor_path: str | None = Field(None, description="`cursor` only: JSONPath of the next page's cursor in an "
                                    "answer, e.g. `$.response_metadata.next_cursor`; a missing, empty, `null` or "
                                    "`false` cursor ends the pages.")
    cursor_param: str | None = Field(None, description="`cursor` only: query parameter that carries the cursor "
                                     "on the next request, e.g. `cursor`.")
    max_pages: int = Field(10, ge=1, le=1000, description="At most this many requests per run (the first "
                           "included); when more pages remain, the result is marked truncated.")

    @model_validator(mode="after")
    def _style_fields(self) -> HttpPagination:
        if self.style == "cursor":
            if not self.cursor_path or not self.cursor_param:
                missing = "cursor_path" if not self.cursor_path else "cursor_param"
                raise ValueError(f"http.pagination style 'cursor' needs {missing}: name where the next cursor is "
                                 "(cursor_path, e.g. '$.next_cursor') and the query parameter that sends it back "
                                 "(cursor_param, e.g. 'cursor')")
            _check_path("http.pagination.cursor_path", self.cursor_path, singular=True)
            if not _QUERY_NAME.fullmatch(self.cursor_param):
                raise ValueError(f"http.pagination.cursor_param {self.cursor_param!r} is not a plain query "
                                 "parameter name: use letters, digits and '_', '-', '.', '[', ']'")
        elif self.cursor_path is not None or self.cursor_param is not None:
            raise ValueError("http.pagination style 'link' follows the Link header and takes no cursor_path or "
                             "cursor_param: remove them, or use style 'cursor'")
        return self


_QUERY_NAME = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,100}$")


def _check_path(where: str, path: str, singular: bool = False) -> None:
    from connhub.core.jsonpath import JsonPathError, compile_path

    try:
        compiled = compile_path(path)
    except JsonPathError as exc:
        raise ValueError(f"{where}: {exc}") from None
    if singular and not compiled.singular:
        raise ValueError(f"{where} {path!r} must name one value, but its wildcard selects many: drop the [*] "
                         "or .*")


class HttpAction(BaseModel):
    """An action that is one HTTP request (or a few, with pagination), for HTTP-API types without code.

    Templates name params as `{param}`: in `path` each value is percent-encoded as one path segment; a `query`,
    `headers` or `body` value that is exactly `{param}` keeps the param's JSON type (a list in `query` repeats
    the parameter), and an entry whose param was left out is dropped."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] = Field("GET", description="HTTP method.")
    path: str = Field(description="Path appended to the base URL, starting with `/`, e.g. "
                      "`/repos/{owner}/{repo}/issues`; each `{param}` becomes one percent-encoded segment "
                      "(`group/project` is sent as `group%2Fproject`; `.` and `..` are refused).")
    query: dict[str, str | int | float | bool] = Field(
        default_factory=dict, description="Query parameters: name → template, e.g. `{\"per_page\": 100, "
        "\"q\": \"{query}\"}`. Never a secret param: URLs end up in proxy and server logs.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers (name → template), "
                                    "sent over the ones the type's `test` request sends; a value with a line "
                                    "break is refused.")
    body: Any = Field(None, description="Request body template: any JSON, where a string that is exactly "
                      "`{param}` becomes the param's value (of its type) and an object key whose param was left "
                      "out is dropped, e.g. `{\"title\": \"{title}\", \"labels\": \"{labels}\"}`. Not for GET or "
                      "HEAD.")
    body_format: Literal["json", "form"] = Field("json", description="`json`: the body is sent as JSON; "
                                                 "`form`: a flat object sent as "
                                                 "`application/x-www-form-urlencoded` (Slack, Stripe).")
    auth: Literal["test", "none"] = Field("test", description="`test`: send the request to the base URL of the "
                                          "type's `test` request (`test.url_field`) with the same authentication "
                                          "it sends (`test.headers`, or `oauth2.headers` when signed in with "
                                          "OAuth; `test.basic_auth`; the generic `auth` choice) and the same "
                                          "proxy and TLS settings; `none`: the same base URL, proxy and TLS, "
                                          "without credentials.")
    expect_status: list[int] = Field(default_factory=list, description="Status codes that mean success; empty "
                                     "means any 2xx. Other answers fail, classified as the `test` request's are.")
    result_path: str = Field("$", description="JSONPath (subset: `$`, `.key`, `['key']`, `[0]`, `[*]`, `.*`) "
                             "selecting the result in the answer, e.g. `$.items[*]` (a list) or `$.data` (one "
                             "value); `$` is the whole answer.")
    result_fields: dict[str, str] | None = Field(
        None, description="Optional field map applied to what `result_path` selects (to each item when it "
        "selects a list): result key → JSONPath into it, e.g. `{\"id\": \"$.id\", \"title\": \"$.title\"}`; a "
        "missing value is `null`.")
    pagination: HttpPagination | None = Field(None, description="Fetch further pages where the API documents "
                                              "them; needs a `result_path` with `[*]`.")

    @field_validator("path")
    @classmethod
    def _path_shape(cls, value: str) -> str:
        rooted("http.path", value)
        if "?" in value or "#" in value:
            raise ValueError(f"http.path {value!r} contains '?' or '#': put query parameters in http.query")
        return value

    @field_validator("expect_status")
    @classmethod
    def _statuses_are_http(cls, value: list[int]) -> list[int]:
        return http_statuses("http.expect_status", value)

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, template in value.items():
            header_token("http.headers", name)
            if any(c in template for c in "\r\n\0"):
                raise ValueError(f"http.headers.{name} contains a line break: write the value on one line")
        return value

    @field_validator("query")
    @classmethod
    def _query_names(cls, value: dict[str, Any]) -> dict[str, Any]:
        for name in value:
            if not _QUERY_NAME.fullmatch(name):
                raise ValueError(f"http.query names parameter {name!r}, which is not a plain query parameter "
                                 "name: use letters, digits and '_', '-', '.', '[', ']'")
        return value

    @model_validator(mode="after")
    def _request_rules(self) -> HttpAction:
        _check_path("http.result_path", self.result_path)
        for key, path in (self.result_fields or {}).items():
            if not key:
                raise ValueError("http.result_fields has an empty key: name each result field")
            _check_path(f"http.result_fields.{key}", path)
        if _depth(self.body) > MAX_BODY_DEPTH:
            raise ValueError(f"http.body nests more than {MAX_BODY_DEPTH} levels: flatten the template")
        if self.method in ("GET", "HEAD") and self.body is not None:
            raise ValueError(f"http.method {self.method} sends no body, but http.body is set: move the values "
                             "into http.query, or use POST")
        if self.method == "HEAD":
            reads = [name for name, used in (("result_path", self.result_path != "$"),
                                             ("result_fields", self.result_fields is not None),
                                             ("pagination", self.pagination is not None)) if used]
            if reads:
                raise ValueError(f"http.method HEAD gets no body, but http.{reads[0]} reads one: use GET")
        if self.body_format == "form" and self.body is not None and not (
                isinstance(self.body, dict)
                and all(isinstance(v, str | int | float | bool) or _is_flat_list(v) for v in self.body.values())):
            raise ValueError("http.body_format 'form' sends a flat object: write http.body as {\"name\": "
                             "\"{param}\", …} with texts, numbers or lists of them as values")
        if self.pagination is not None:
            from connhub.core.jsonpath import compile_path

            if compile_path(self.result_path).singular:
                raise ValueError(f"http.pagination appends each page's items, but http.result_path "
                                 f"{self.result_path!r} selects one value: select the list's items, e.g. "
                                 "'$.items[*]' (or '$[*]' for an answer that is a list)")
        return self

    def placeholders(self) -> list[tuple[str, str]]:
        """(where, param) for every `{param}` in the templates, e.g. `("query.q", "query")`."""
        return [(where, name) for where, name, _ in self.placeholder_uses()]

    def placeholder_uses(self) -> list[tuple[str, str, bool]]:
        """(where, param, exact) per `{param}`; `exact` when the whole template is `{param}` (keeps its type)."""
        found = [("path", name, False) for name in PLACEHOLDER.findall(self.path)]
        for kind, templates in (("query", self.query), ("headers", self.headers)):
            for key, template in templates.items():
                if isinstance(template, str):
                    found += [(f"{kind}.{key}", name, template == f"{{{name}}}")
                              for name in PLACEHOLDER.findall(template)]
        return found + _body_placeholders(self.body)


MAX_BODY_DEPTH = 32


def _depth(node: Any) -> int:
    """How deeply lists and objects nest (iterative: any depth is measured without recursion)."""
    deepest, stack = 0, [(node, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            level += 1
            deepest = max(deepest, level)
            if deepest > MAX_BODY_DEPTH:
                break
            stack += [(child, level) for child in (node.values() if isinstance(node, dict) else node)]
    return deepest


def _is_flat_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str | int | float | bool) for v in value)


def _body_placeholders(body: Any) -> list[tuple[str, str, bool]]:
    found: list[tuple[str, str, bool]] = []
    stack = [(body, "body")]
    while stack:  # iterative: nesting costs no recursion
        node, where = stack.pop()
        if isinstance(node, str):
            found += [(where, name, node == f"{{{name}}}") for name in PLACEHOLDER.findall(node)]
        elif isinstance(node, dict):
            stack += [(value, f"{where}.{key}") for key, value in reversed(node.items())]
        elif isinstance(node, list):
            stack += [(value, f"{where}[{index}]") for index, value in reversed(list(enumerate(node)))]
    return found


class ActionSpec(BaseModel):
    """Something a saved connection can do: typed params in, a typed result out."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Identifier, unique within the type: lowercase letters, digits and `_`, "
                      "starting with a letter, e.g. `list_tables`. The CLI runs it as `connhub run INSTANCE NAME`.")
    title: str = Field(min_length=1, description="Short label shown in the Actions tab, e.g. `List tables`.")
    description: str = Field(min_length=1, description="One or two sentences: what it does and what it "
                             "changes.")
    effect: str = Field(description="`read` (changes nothing), `write` (changes data: asked once per session) "
                        "or `destructive` (deletes or cannot be undone: a PROD instance asks for its typed name).",
                        json_schema_extra={"enum": list(ACTION_EFFECTS)})
    params: dict[str, Any] = Field(default_factory=lambda: copy.deepcopy(_EMPTY_PARAMS), description="JSON Schema "
                                   "(2020-12) object of the parameters, in the same dialect and field kinds as "
                                   "`credentials` (`writeOnly` or `format: password` marks a secret param, masked "
                                   "in the run log; `x-order`, `x-group`, `x-show-if` shape the form). Default: "
                                   "no params.")
    result: dict[str, Any] = Field(description="JSON Schema (2020-12) of the result; each run's result is "
                                   "checked against it. `{}` accepts anything.")
    method: str | None = Field(None, description="Coded types: name of the `async` method on the type's "
                               "Integration class that runs it (called with the validated params, the "
                               "instance's config and secrets and a context); default: the action's name. Not "
                               "with `http`.")
    http: HttpAction | None = Field(None, description="HTTP-API types: the request that runs it, declared "
                                    "instead of code. Not with `method`.")

    @field_validator("name")
    @classmethod
    def _name_is_an_id(cls, value: str) -> str:
        if not ACTION_NAME_PATTERN.fullmatch(value):
            suggestion = re.sub(r"[^a-z0-9_]", "_", value.lower()).strip("_")[:40] or "my_action"
            if not suggestion[0].isalpha():
                suggestion = f"do_{suggestion}"[:40]
            raise ValueError(f"action name {value!r} must be lowercase letters, digits and '_' (at most 40), "
                             f"starting with a letter: try {suggestion!r}")
        return value

    @field_validator("effect")
    @classmethod
    def _effect_is_known(cls, value: str) -> str:
        if value not in ACTION_EFFECTS:
            raise ValueError(f"effect {value!r} is unknown: use read (changes nothing), write (changes data) or "
                             "destructive (deletes or cannot be undone)")
        return value

    @field_validator("params")
    @classmethod
    def _params_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        for problem in param_schema_problems(schema):
            raise ValueError(problem)
        return schema

    @field_validator("result")
    @classmethod
    def _result_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        for problem in result_schema_problems(schema):
            raise ValueError(problem)
        return schema

    @model_validator(mode="after")
    def _how_it_runs(self) -> ActionSpec:
        if self.method is not None and self.http is not None:
            raise ValueError("both 'method' and 'http' are set: keep 'method' for an action coded on the "
                             "Integration class, or 'http' for a declared request, not both")
        if self.http is None:
            name = self.method_name
            where = f"method {name!r}" if self.method is not None else f"the default method {name!r} (the name)"
            if not METHOD_NAME_PATTERN.fullmatch(name):
                raise ValueError(f"method {name!r} must name a public method of the Integration class: "
                                 "lowercase letters, digits and '_', starting with a letter")
            if name in _reserved_methods():
                raise ValueError(f"{where} is part of connhub's Integration contract, not an action: set "
                                 f"'method' to the action's own method, e.g. 'run_{self.name}'")
        if self.http is not None:
            for problem in http_action_problems(self.http, self.params):
                raise ValueError(problem)
        return self

    @functools.cached_property
    def result_validator(self) -> Any:
        """The `result` schema's validator, built once per action: every run checks its result with it."""
        from jsonschema import Draft202012Validator

        return Draft202012Validator(self.result, format_checker=Draft202012Validator.FORMAT_CHECKER)

    @functools.cached_property
    def param_specs(self) -> list[Any]:
        """The params as form field specs (`core.fields.FieldSpec`), read once: every run checks against them."""
        from connhub.core.fields import field_specs

        return field_specs(self.params)

    @functools.cached_property
    def param_keys(self) -> frozenset[str]:
        """Every key a params dict may have: flat and dotted (`target.queue`), choices' discriminators included."""
        from connhub.core.fields import FieldKind, all_specs

        return frozenset(spec.discriminator if spec.kind is FieldKind.CHOICE else spec.key
                         for spec in all_specs(self.param_specs))

    @functools.cached_property
    def param_defaults(self) -> dict[str, Any]:
        """The params' defaults (copy before changing it)."""
        from connhub.core.fields import defaults

        return defaults(self.param_specs)

    @property
    def method_name(self) -> str | None:
        """The Integration method that runs a coded action (None for an `http` one)."""
        return None if self.http is not None else (self.method or self.name)


@functools.cache
def rooted(where: str, value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{where} {value!r} must start with '/': write '/{value}'")
    return value


def http_statuses(where: str, value: list[int]) -> list[int]:
    for status in value:
        if not 100 <= status <= 599:
            raise ValueError(f"{where} {status} is not an HTTP status: use codes from 100 to 599")
    return value


def header_token(where: str, name: str) -> None:
    if not HEADER_TOKEN.fullmatch(name):
        raise ValueError(f"{where} names header {name!r}, which is not a valid header name: use letters, digits "
                         "and '-'")


def _reserved_methods() -> frozenset[str]:
    from connhub.core.integration import Integration

    return frozenset(name for name in dir(Integration) if not name.startswith("_"))


def param_props(schema: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every param's dotted key → its schema, choices included (`auth.token`)."""
    out: dict[str, dict[str, Any]] = {}
    for key, prop in schema.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        out[prefix + key] = prop
        for variant in prop.get("oneOf", []):
            if isinstance(variant, dict):
                out.update(param_props(variant, prefix=f"{prefix}{key}."))
    return out


def is_secret_param(prop: dict[str, Any]) -> bool:
    """A secret-kind param: `writeOnly`, or `format: password` (masked in the run log, never in a URL)."""
    return bool(prop.get("writeOnly")) or prop.get("format") == "password"


def _json_kinds(prop: dict[str, Any]) -> set[str]:
    """The JSON types a param may take (`enum`/`const` values count as what they are)."""
    if "enum" in prop or "const" in prop:
        values = prop.get("enum", [prop.get("const")])
        return {"object" if isinstance(v, dict) else "array" if isinstance(v, list) else "scalar" for v in values}
    if "oneOf" in prop:
        return {"scalar"}  # a choice: its keys are params of their own
    kinds = prop.get("type", "string")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return {k if k in ("object", "array") else "scalar" for k in kinds}


def http_action_problems(http: HttpAction, params: dict[str, Any]) -> list[str]:
    """Rules of an `http` action that depend on its params; each names the fix."""
    props = param_props(params)
    required = set(params.get("required", []))
    problems: list[str] = []
    for where, name, exact in http.placeholder_uses():
        prop = props.get(name)
        if prop is None:
            problems.append(f"http.{where} uses {{{name}}}, which is not a param: add {name!r} to "
                            "params.properties or fix the name")
            continue
        if where == "path" and name not in required and "default" not in prop:
            problems.append(f"http.path uses {{{name}}}, which is optional: list {name!r} in params.required or "
                            "give it a default (a path cannot leave a segment out)")
        if (where == "path" or where.startswith("query.")) and is_secret_param(prop):
            problems.append(f"http.{where} puts secret param {name!r} into the URL, where proxies and logs keep "
                            "it: send it in http.headers or http.body instead")
        kinds = _json_kinds(prop)
        if exact and where.startswith("body"):
            continue  # any JSON value
        if exact and where.startswith("query.") and "object" not in kinds:
            continue  # a list repeats the parameter
        if kinds - {"scalar"}:
            problems.append(f"http.{where} puts {{{name}}}, which may be an object or a list, into text: only "
                            "texts, numbers and yes/no fit there (a query value of exactly "
                            f"'{{{name}}}' may be a list, a body value anything)")
    return problems

