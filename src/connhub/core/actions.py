"""Actions without I/O: params checked and masked, HTTP requests rendered from templates, answers mapped to
results, pages followed, results checked and previewed.

The runner (services) sends and receives; everything it decides from data alone is here, so it is tested
without a server. Param problems raise `InvalidParams` with one message per field, worded like the credential
form's: nothing is sent. Messages never quote a param's or a result's value: either may be a secret.
"""

from __future__ import annotations

import datetime as _dt
import functools
import inspect
import json
import math
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import islice
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

from connhub.core.errors import ConfigError, UnknownError
from connhub.core.fields import (
    NOT_TEXT,
    FieldKind,
    FieldSpec,
    active_keys,
    all_specs,
    is_storable_text,
    validate_values,
)
from connhub.core.jsonpath import JsonPath, compile_path, format_location
from connhub.core.manifest import PLACEHOLDER, ActionSpec, HttpAction, HttpPagination, is_secret_param, param_props

#: What a run log keeps of a result by default (the cap is a setting).
DEFAULT_PREVIEW_BYTES = 64 * 1024
#: What stands in for a secret-kind param in the run log.
MASK = "********"
#: Params nesting deeper than this are refused before anything is checked or sent.
MAX_PARAM_DEPTH = 64
#: At most this many result-schema errors are reported (a million bad rows need not make a million lines).
MAX_RESULT_ERRORS = 20
_MAX_MESSAGE = 200


class InvalidParams(ConfigError):
    """Params that fail the action's schema (or cannot be sent): `errors` is {param key: message}."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        listed = "; ".join(f"{key}: {message}" for key, message in sorted(self.errors.items()))
        super().__init__(f"Invalid params: {listed}")


class BadAnswer(UnknownError):
    """The API answered, but not in a shape the action can use (not JSON, a foreign next-page link, …)."""


class InvalidResult(UnknownError):
    """The result does not match the action's `result` schema; `errors` are "JSONPath: what is wrong" lines."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("The result does not match the action's result schema: " + "; ".join(self.errors))


# --- params ---------------------------------------------------------------------------------------------

def param_specs(action: ActionSpec) -> list[FieldSpec]:
    """The params form, drawn by the same form builder as the credentials (read once per action)."""
    return action.param_specs


def param_errors(action: ActionSpec, values: Mapping[str, Any]) -> dict[str, str]:
    """{param key: message} for each invalid param, as the credential form words them; {} when all is well."""
    try:
        check_params(action, values)
    except InvalidParams as exc:
        return exc.errors
    return {}


def check_params(action: ActionSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The params to run with: defaults filled in, hidden and empty ones dropped, every value checked.

    Values are flat (`auth.token` for a param inside a choice), as the form hands them over; `None` and ""
    mean "left out". Raises InvalidParams with a message per field; nothing has been sent.
    """
    if not isinstance(values, Mapping):
        raise InvalidParams({"(params)": "Give the params as an object of name → value"})
    specs = action.param_specs
    known = action.param_keys
    errors: dict[str, str] = {}
    for key in values:
        if key not in known:
            errors[str(key)] = _not_a_param(action)
    merged = {**action.param_defaults, **{k: v for k, v in values.items() if k in known}}
    for key, value in merged.items():
        problem = _value_problem(value)
        if problem:
            errors[key] = problem
    checkable = {k: v for k, v in merged.items() if k not in errors}
    for key, message in validate_values(action.params, specs, checkable, references=False).items():
        owner = _owning_key(key, known)
        text = message if owner == key else f"{message} (at {key})"
        errors.setdefault(owner, _clip(text))
    if errors:
        raise InvalidParams(errors)
    active = active_keys(specs, merged)
    return {k: v for k, v in merged.items() if k in active and v not in (None, "")}


def _not_a_param(action: ActionSpec) -> str:
    listed = ", ".join(sorted(action.param_keys)) or "none"
    return _clip(f"Not a param of {action.name} (its params: {listed})")


def _owning_key(path: str, known: frozenset[str]) -> str:
    """The param an error inside a nested value belongs to (`headers.X-Trace` → `headers`)."""
    if path in known or not path:
        return path or "(params)"
    parts = path.split(".")
    for end in range(len(parts) - 1, 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return path


def _value_problem(value: Any) -> str | None:
    """Text that cannot be stored, numbers JSON cannot carry, or nesting too deep to check: walked without
    recursion, so any depth is measured safely."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_PARAM_DEPTH:
            return f"Nested more than {MAX_PARAM_DEPTH} levels deep: flatten it"
        if isinstance(node, str):
            if not is_storable_text(node):
                return NOT_TEXT
        elif isinstance(node, float):
            if not math.isfinite(node):
                return "Must be a finite number"
        elif isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str) or not is_storable_text(key):
                    return NOT_TEXT
                stack.append((child, depth + 1))
        elif isinstance(node, list | tuple):
            stack += [(child, depth + 1) for child in node]
    return None


def parse_param_text(action: ActionSpec, key: str, text: str) -> Any:
    """A param given as text (`connhub run … --param key=value`) as the JSON value its schema wants:
    numbers and yes/no by their type, lists and objects as JSON; what does not parse is left for
    `check_params` to word (\"Enter a whole number\"). Unknown keys raise InvalidParams."""
    specs = {s.key: s for s in all_specs(action.param_specs)}
    discriminators = {s.discriminator for s in specs.values() if s.kind is FieldKind.CHOICE}
    if key in discriminators:
        return text
    spec = specs.get(key)
    if spec is None or spec.kind is FieldKind.CHOICE:
        raise InvalidParams({key: _not_a_param(action)})
    schema = spec.schema
    if spec.kind is FieldKind.ENUM:
        return text if text in schema["enum"] else _json_or_text(text)
    if spec.kind is FieldKind.BOOLEAN:
        word = text.strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        return False if word in ("0", "false", "no", "off") else text
    if spec.kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        try:
            return int(text) if spec.kind is FieldKind.INTEGER else float(text)
        except ValueError:
            return text
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds} if kinds else set()
    if kinds and kinds <= {"object", "array", "null"}:
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            raise InvalidParams({key: 'Enter JSON, e.g. ["a", "b"] or {"name": "value"}'}) from None
    return _json_or_text(text) if not kinds else text


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return text


def mask_params(action: ActionSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """The params as the run log keeps them: every secret-kind value (`writeOnly` or `format: password`,
    nested ones included) replaced by MASK. A key the schema does not know is masked too: nothing says it is
    safe to keep."""
    props = param_props(action.params)
    out: dict[str, Any] = {}
    for key, value in params.items():
        prop = props.get(key)
        if prop is None or (is_secret_param(prop) and value not in (None, "")):
            out[key] = MASK if value not in (None, "") else value
        else:
            out[key] = _mask_nested(value, prop)
    return out


def _mask_nested(value: Any, schema: Any, depth: int = 0) -> Any:
    """Mask secret-kind values inside an object or list param, following its schema as far as it goes."""
    if not isinstance(schema, dict) or depth > MAX_PARAM_DEPTH:
        return value
    variants = [schema] + [v for k in ("oneOf", "anyOf", "allOf") for v in schema.get(k, []) if isinstance(v, dict)]
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            subs = [v["properties"][key] for v in variants
                    if isinstance(v.get("properties"), dict) and isinstance(v["properties"].get(key), dict)]
            subs += [v["additionalProperties"] for v in variants if isinstance(v.get("additionalProperties"), dict)]
            if any(is_secret_param(sub) for sub in subs) and child not in (None, ""):
                out[key] = MASK
            else:
                out[key] = _mask_nested(child, subs[0] if subs else None, depth + 1)
        return out
    if isinstance(value, list):
        items = next((v["items"] for v in variants if isinstance(v.get("items"), dict)), None)
        if items is not None and is_secret_param(items):
            return [MASK if child not in (None, "") else child for child in value]
        return [_mask_nested(child, items, depth + 1) for child in value]
    return value


# --- rendering an http action ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RenderedRequest:
    """One request of an `http` action, ready to send once the runner adds the type's auth headers below
    `headers` (`{**test_headers, **rendered.headers}`) and the base URL (`url(base_url)`)."""

    method: str
    path: str  # percent-encoded, starts with "/"; appended to the base URL's own path
    query: tuple[tuple[str, str], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # its Content-Type is in `headers`
    next_url: str | None = None  # a Link header's next page: absolute, replaces path and query

    def __repr__(self) -> str:
        """Names and sizes only: headers and the body may carry secret params."""
        body = "None" if self.body is None else f"<{len(self.body)} bytes>"
        return (f"RenderedRequest(method={self.method!r}, path={self.path!r}, query={[k for k, _ in self.query]}, "
                f"headers={sorted(self.headers)}, body={body}, next_url={self.next_url is not None})")

    def url(self, base_url: str) -> str:
        """The full URL: base URL + path (keeping the base's own path prefix, as the test does) + query."""
        if self.next_url is not None:
            return self.next_url
        parts = urlsplit(base_url)
        path = parts.path.rstrip("/") + self.path
        query = urlencode(self.query, quote_via=quote, safe="")
        query = "&".join(q for q in (parts.query, query) if q)
        return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


_MISSING = object()


def render_request(action: ActionSpec, params: Mapping[str, Any]) -> RenderedRequest:
    """Fill the action's `http` templates from checked params (`check_params`); InvalidParams for a value
    that cannot be sent where it goes (`..` in a path, a line break in a header)."""
    http = action.http
    if http is None:
        raise ValueError(f"action {action.name!r} is not an http action")
    errors: dict[str, str] = {}
    path = PLACEHOLDER.sub(lambda m: _path_segment(m.group(1), params, errors), http.path)
    query: list[tuple[str, str]] = []
    for name, template in http.query.items():
        for value in _query_values(template, params, errors):
            query.append((name, value))
    headers: dict[str, str] = {}
    for name, template in http.headers.items():
        value = _fill_text(template, params, errors)
        if value is not _MISSING:
            problem = _header_problem(value)
            if problem:
                for param in PLACEHOLDER.findall(template):
                    errors.setdefault(param, problem)
            else:
                headers[name] = value
    body = _render_body(http, params, errors, headers)
    if errors:
        raise InvalidParams(errors)
    return RenderedRequest(http.method, path, tuple(query), headers, body)


def _text(name: str, value: Any, errors: dict[str, str]) -> str:
    """A scalar param as text: JSON's spelling for numbers and yes/no."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            errors.setdefault(name, "Must be a finite number")
            return ""
        return json.dumps(value)
    if isinstance(value, str):
        return value
    errors.setdefault(name, "A list or an object cannot be put into text here")
    return ""


def _path_segment(name: str, params: Mapping[str, Any], errors: dict[str, str]) -> str:
    value = params.get(name)
    if value in (None, ""):
        errors.setdefault(name, "Required (it is part of the request's path)")
        return ""
    text = _text(name, value, errors)
    if any(part in (".", "..") for part in re.split(r"[/\\]", text)):
        errors.setdefault(name, "Cannot contain '.' or '..' as a path part: it would leave the API's path")
        return ""
    try:
        return quote(text, safe="")
    except UnicodeEncodeError:
        errors.setdefault(name, NOT_TEXT)
        return ""


def _fill_text(template: Any, params: Mapping[str, Any], errors: dict[str, str]) -> Any:
    """A string template with every `{param}` replaced; _MISSING when a param it names was left out."""
    if not isinstance(template, str):
        return _text("", template, errors)
    names = PLACEHOLDER.findall(template)
    if any(params.get(name) in (None, "") for name in names):
        return _MISSING
    return PLACEHOLDER.sub(lambda m: _text(m.group(1), params[m.group(1)], errors), template)


def _query_values(template: Any, params: Mapping[str, Any], errors: dict[str, str]) -> list[str]:
    if isinstance(template, str):
        exact = PLACEHOLDER.fullmatch(template)
        if exact:
            name = exact.group(1)
            value = params.get(name)
            if value in (None, ""):
                return []
            if isinstance(value, list | tuple):  # a list repeats the parameter: ?label=a&label=b
                return [_text(name, item, errors) for item in value]
            return [_text(name, value, errors)]
    value = _fill_text(template, params, errors)
    return [] if value is _MISSING else [value]


def _header_problem(value: str) -> str | None:
    if any(c in value for c in "\r\n"):
        return "Contains a line break, which cannot be sent in a header: put it on one line"
    if any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7f for c in value):
        return "Contains a control character, which cannot be sent in a header"
    if any(ord(c) > 0xff for c in value):
        return "Contains characters a header cannot carry: use plain (ASCII) text"
    return None


def _render_body(http: HttpAction, params: Mapping[str, Any], errors: dict[str, str],
                 headers: dict[str, str]) -> bytes | None:
    if http.body is None:
        return None
    filled = _fill_json(http.body, params, errors)
    if filled is _MISSING or errors:
        return None
    if http.body_format == "form":
        pairs: list[tuple[str, str]] = []
        for key, value in filled.items():
            items = value if isinstance(value, list) else [value]
            pairs += [(key, _text(key, item, errors)) for item in items]
        body = urlencode(pairs, quote_via=quote, safe="").encode("ascii")
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return body
    headers.setdefault("Content-Type", "application/json")
    return json.dumps(filled, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def _fill_json(node: Any, params: Mapping[str, Any], errors: dict[str, str]) -> Any:
    """The body template with params in: an exact `{param}` keeps its JSON type; a key or item whose param
    was left out is dropped. Templates nest at most MAX_BODY_DEPTH levels (the manifest checks it)."""
    if isinstance(node, str):
        exact = PLACEHOLDER.fullmatch(node)
        if exact:
            value = params.get(exact.group(1))
            return _MISSING if value in (None, "") else value
        return _fill_text(node, params, errors)
    if isinstance(node, dict):
        out = {}
        for key, child in node.items():
            value = _fill_json(child, params, errors)
            if value is not _MISSING:
                out[key] = value
        return out
    if isinstance(node, list):
        return [value for value in (_fill_json(child, params, errors) for child in node) if value is not _MISSING]
    return node


# --- answers → results ----------------------------------------------------------------------------------

def parse_answer(body: bytes) -> Any:
    """The answer's JSON (None for an empty body); BadAnswer when it is not JSON. The body is never quoted:
    an API may echo a credential."""
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except RecursionError:
        raise BadAnswer("The API's answer nests too deeply to read") from None
    except (ValueError, UnicodeDecodeError):
        raise BadAnswer("The API's answer is not JSON: check the base URL and the action's path") from None


@functools.lru_cache(maxsize=512)
def _compiled(path: str) -> JsonPath:
    return compile_path(path)


def find(path: str, data: Any) -> Any:
    """Evaluate a path of the JSONPath subset (see core/jsonpath.py): one value (None when absent) for a
    path without wildcards, a list of matches otherwise."""
    return _compiled(path).find(data)


def map_fields(fields: Mapping[str, str], item: Any) -> dict[str, Any]:
    """A small field map applied to one item: {result key: value at its JSONPath, or None}."""
    return {key: find(path, item) for key, path in fields.items()}


def extract_result(http: HttpAction, data: Any) -> Any:
    """The result of one answer: `result_path` selects, `result_fields` (if any) maps each selected item.
    A path with `[*]` always gives a list (a page's items); without, one value or None."""
    selector = _compiled(http.result_path)
    selected = selector.find(data)
    if not http.result_fields:
        return selected
    if selector.singular:
        return None if selected is None else map_fields(http.result_fields, selected)
    return [map_fields(http.result_fields, item) for item in selected]


# --- pagination -----------------------------------------------------------------------------------------

class Link(NamedTuple):
    url: str
    rels: tuple[str, ...]
    params: dict[str, str]


_TOKEN_END = re.compile(r"[;,\s]")


def parse_link_header(values: str | Iterable[str] | None) -> list[Link]:
    """RFC 8288 `Link` header value(s) → links, in order; malformed parts are skipped, never raised on.
    One pass over the text: any input ends in linear time."""
    if values is None:
        return []
    texts = [values] if isinstance(values, str) else list(values)
    links: list[Link] = []
    for text in texts:
        i, n = 0, len(text)
        while i < n:
            start = text.find("<", i)
            if start < 0:
                break
            end = text.find(">", start + 1)
            if end < 0:
                break
            url = text[start + 1:end].strip()
            params: dict[str, str] = {}
            i = end + 1
            while i < n:
                while i < n and text[i] in " \t":
                    i += 1
                if i >= n or text[i] == ",":
                    i += 1
                    break
                if text[i] != ";":  # garbage between links: skip to the next one
                    nxt = text.find(",", i)
                    i = n if nxt < 0 else nxt + 1
                    break
                i += 1
                while i < n and text[i] in " \t":
                    i += 1
                match = _TOKEN_END.search(text, i)
                name_end = match.start() if match else n
                name = text[i:name_end]
                name = name.split("=", 1)[0]
                i += len(name)
                value = ""
                while i < n and text[i] in " \t":
                    i += 1
                if i < n and text[i] == "=":
                    i += 1
                    while i < n and text[i] in " \t":
                        i += 1
                    if i < n and text[i] == '"':
                        i += 1
                        chars = []
                        while i < n and text[i] != '"':
                            if text[i] == "\\" and i + 1 < n:
                                i += 1
                            chars.append(text[i])
                            i += 1
                        i += 1  # the closing quote
                        value = "".join(chars)
                    else:
                        match = _TOKEN_END.search(text, i)
                        value_end = match.start() if match else n
                        value, i = text[i:value_end], value_end
                if name and name.lower() not in params:
                    params[name.lower()] = value
            rels = tuple(params.get("rel", "").lower().split())
            links.append(Link(url, rels, params))
    return links


def next_link(values: str | Iterable[str] | None, current_url: str) -> str | None:
    """The absolute `rel="next"` URL, or None. A next page on another site is refused (BadAnswer): the
    connection's credentials would travel with the request."""
    link = next((link for link in parse_link_header(values) if "next" in link.rels), None)
    if link is None or not link.url:
        return None
    try:
        target = urljoin(current_url, link.url)
        here, there = urlsplit(current_url), urlsplit(target)
        same_site = there.scheme in ("http", "https") and _origin(here) == _origin(there)
    except ValueError:  # a bad port or IPv6 literal
        raise BadAnswer("The API's next-page link is not a usable URL") from None
    if not same_site:
        shown = there.hostname or "an unusable address"
        raise BadAnswer(f"The API's next-page link leads to another site ({shown}): connhub does not send the "
                        "connection's credentials there")
    netloc = there.netloc.rpartition("@")[2]  # never user:password@ from an answer
    return urlunsplit((there.scheme, netloc, there.path, there.query, ""))


def _origin(parts: Any) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def next_cursor(data: Any, cursor_path: str) -> str | None:
    """The next page's cursor, or None when the answer says there is no next page (missing, empty, null or
    false). A cursor that is an object or a list is a BadAnswer."""
    value = find(cursor_path, data)
    if value is None or value is False or value == "":
        return None
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int | float | str):
        return str(value)
    raise BadAnswer(f"The next-page cursor at {cursor_path} is an object or a list, not text: check "
                    "http.pagination.cursor_path")


class Pager:
    """Which request comes next for a paginated action, decided from the last answer; pure state.

    Usage: `pager = Pager(http.pagination, first)`; after each answer, `request = pager.next(url, link_headers,
    data)` until it returns None; `pager.truncated` then says whether pages were left at the cap."""

    def __init__(self, pagination: HttpPagination, first: RenderedRequest):
        self.pagination = pagination
        self.request = first
        self.pages = 1
        self.truncated = False
        self._seen: set[str] = set()

    def next(self, current_url: str, link_headers: str | Iterable[str] | None, data: Any) -> RenderedRequest | None:
        if self.pagination.style == "link":
            self._seen.add(current_url)
            token = next_link(link_headers, current_url)
            following = None if token is None else replace(self.request, next_url=token)
        else:
            assert self.pagination.cursor_path is not None and self.pagination.cursor_param is not None
            token = next_cursor(data, self.pagination.cursor_path)
            param = self.pagination.cursor_param
            query = tuple(pair for pair in self.request.query if pair[0] != param) + ((param, token or ""),)
            following = None if token is None else replace(self.request, query=query)
        if following is None or token in self._seen:  # no next page, or the API went round in a circle
            return None
        if self.pages >= self.pagination.max_pages:
            self.truncated = True
            return None
        self._seen.add(token)
        self.pages += 1
        self.request = following
        return following


# --- results --------------------------------------------------------------------------------------------

def result_errors(action: ActionSpec, result: Any, limit: int = MAX_RESULT_ERRORS) -> list[str]:
    """"JSONPath: what is wrong" for each way the result misses the action's `result` schema (at most
    `limit`); [] when it matches. The result's values are never quoted."""
    if not action.result:
        return []
    validator = action.result_validator
    try:
        errors = list(islice(validator.iter_errors(result), limit))
    except RecursionError:
        return ["$: nested too deeply to check against the result schema"]
    return [f"{format_location(error.absolute_path)}: {_result_message(error)}" for error in errors]


def check_result(action: ActionSpec, result: Any) -> None:
    """Raise InvalidResult when the result misses the schema."""
    errors = result_errors(action, result)
    if errors:
        raise InvalidResult(errors)


_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number",
               type(None): "null"}


def _result_message(error: Any) -> str:
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"should be {wanted}, not {_JSON_TYPES.get(type(instance), type(instance).__name__)}"
    if kind == "required":
        missing = [key for key in expected if isinstance(instance, dict) and key not in instance]
        return _clip("missing " + ", ".join(repr(key) for key in missing))
    if kind == "additionalProperties" and isinstance(instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [key for key in instance if key not in allowed]
        return _clip("unexpected key " + ", ".join(repr(key) for key in extra[:5]))
    if kind == "enum":
        return _clip("should be one of: " + ", ".join(json.dumps(v) for v in expected))
    if kind == "const":
        return _clip(f"should be {json.dumps(expected)}")
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength"):
        words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}
        if kind in words:
            return f"should be {words[kind]} {expected}"
        return f"should have {'at least' if kind == 'minLength' else 'at most'} {expected} characters"
    if kind in ("minItems", "maxItems"):
        return f"should have {'at least' if kind == 'minItems' else 'at most'} {expected} items"
    if kind == "format":
        return f"is not a valid {expected}"
    if kind == "pattern":
        return "does not have the expected format"
    return f"does not meet the schema's {kind!r} rule"


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE - 1] + "…"


class ResultPreview(NamedTuple):
    text: str  # compact JSON, cut to at most `cap` bytes of UTF-8 (never in the middle of a character)
    size: int  # bytes of the whole result as compact JSON
    truncated: bool


def preview_result(result: Any, cap: int = DEFAULT_PREVIEW_BYTES) -> ResultPreview:
    """What the run log keeps of a result: its compact JSON, cut at `cap` bytes, with the full size.
    Values JSON has no type for (dates, decimals, bytes from a driver) are shown as text. Written a list item at a
    time (the rows of a query): one `json.dumps` of 100,000 rows held the interpreter ~40 ms, a stall of the
    window's event loop even from a worker thread."""
    parts: list[bytes] = []
    kept = size = 0
    try:
        for chunk in _json_chunks(result):
            data = chunk.encode("utf-8", "backslashreplace")  # a lone surrogate from a driver is shown, not raised
            size += len(data)
            if kept <= cap:
                parts.append(data)
                kept += len(data)
    except RecursionError:
        return ResultPreview("(the result nests too deeply to preview)", 0, True)
    except (TypeError, ValueError):  # a dict with keys JSON cannot have
        return ResultPreview("(the result cannot be written as JSON)", 0, True)
    data = b"".join(parts)
    cap = max(0, cap)
    if size <= cap:
        return ResultPreview(data.decode("utf-8"), size, False)
    return ResultPreview(data[:cap].decode("utf-8", "ignore"), size, True)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_shown, allow_nan=True)


_SLICE = 1000  # list items per json.dumps call in a preview


def _json_chunks(value: Any, depth: int = 0) -> Iterator[str]:
    """The compact JSON of `value` in pieces: long lists (and objects holding them) a slice at a time (a result's
    `rows`); the pieces joined are `_dumps(value)`."""
    if depth < 2 and isinstance(value, list) and len(value) > _SLICE:
        yield "["
        for start in range(0, len(value), _SLICE):  # ~1 ms of C per slice: the interpreter is let go between
            yield ("," if start else "") + _dumps(value[start:start + _SLICE])[1:-1]
        yield "]"
    elif depth < 2 and isinstance(value, dict) and all(isinstance(k, str) for k in value) \
            and any(isinstance(v, list) and len(v) > _SLICE for v in value.values()):
        yield "{"
        for i, (key, item) in enumerate(value.items()):
            yield ("," if i else "") + _dumps(key) + ":"
            yield from _json_chunks(item, depth + 1)
        yield "}"
    else:
        yield _dumps(value)


def _shown(value: Any) -> Any:
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return f"<{type(value).__name__}>"


# --- coded actions --------------------------------------------------------------------------------------

def action_method_problem(action: ActionSpec, integration: Any) -> str | None:
    """Why a coded action cannot run on this Integration (class or instance), or None. For `types --check`
    and the runner, after the type's code is imported."""
    name = action.method_name
    if name is None:
        return None
    cls = integration if isinstance(integration, type) else type(integration)
    method = getattr(cls, name, None)
    if method is None:
        return (f"action {action.name!r}: {cls.__name__} has no method {name!r}: add `async def {name}(...)` "
                "or set the action's 'method'")
    if not inspect.iscoroutinefunction(method):
        return f"action {action.name!r}: {cls.__name__}.{name} is not async: write it as `async def {name}(...)`"
    return None
