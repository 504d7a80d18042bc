"""core/actions.py: what the action runner decides from data alone, tested without a server.

Params are checked with the credential form's own messages, secret-kind params never reach the log, templates
refuse what would change the request's meaning (`..` in a path, a line break in a header), answers map to
results by the JSONPath subset, pages are followed only within the same site, and results are checked and
previewed without quoting their values.
"""

from __future__ import annotations

import datetime as dt
import json
import string
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connhub.core.actions import (
    DEFAULT_PREVIEW_BYTES,
    MASK,
    BadAnswer,
    InvalidParams,
    InvalidResult,
    Pager,
    RenderedRequest,
    action_method_problem,
    check_params,
    check_result,
    extract_result,
    find,
    mask_params,
    next_cursor,
    next_link,
    param_errors,
    param_specs,
    parse_answer,
    parse_link_header,
    parse_param_text,
    preview_result,
    render_request,
    result_errors,
)
from connhub.core.errors import ErrorClass
from connhub.core.fields import NOT_TEXT, FieldKind, field_specs, validate_values
from connhub.core.integration import Integration
from connhub.core.manifest import ActionSpec

SECRET = "s3cr3t-Canary-7f1e"


def action(params: dict[str, Any] | None = None, http: dict[str, Any] | None = None,
           result: dict[str, Any] | None = None, **extra: Any) -> ActionSpec:
    raw: dict[str, Any] = {"name": "act", "title": "Act", "description": "Does it.", "effect": "read",
                           "result": result if result is not None else {}, **extra}
    if params is not None:
        raw["params"] = params
    if http is not None:
        raw["http"] = http
    return ActionSpec.model_validate(raw)


PARAMS = {"type": "object", "required": ["owner", "repo"], "properties": {
    "owner": {"type": "string", "minLength": 1},
    "repo": {"type": "string"},
    "per_page": {"type": "integer", "minimum": 1, "maximum": 100, "default": 30},
    "state": {"enum": ["open", "closed"], "default": "open"},
    "draft": {"type": "boolean"},
    "labels": {"type": "array", "items": {"type": "string"}},
    "since": {"type": "string", "x-show-if": {"state": "closed"}},
    "token": {"type": "string", "writeOnly": True},
    "pin": {"type": "string", "format": "password"},
    "extra": {"type": "object", "properties": {"n": {"type": "integer"}, "key": {"type": "string",
                                                                                  "writeOnly": True}}},
}}

ISSUES = action(PARAMS, {
    "method": "POST", "path": "/repos/{owner}/{repo}/issues",
    "query": {"per_page": "{per_page}", "state": "{state}", "labels": "{labels}", "q": "repo:{owner}/{repo}",
              "since": "{since}", "v": 3},
    "headers": {"X-Token": "{token}", "X-Draft": "draft={draft}"},
    "body": {"title": "{owner}", "labels": "{labels}", "draft": "{draft}", "extra": "{extra}",
             "nested": {"list": ["{owner}", "{since}", 7]}},
})


# --- params -----------------------------------------------------------------------------------------------

def test_params_get_defaults_and_lose_empty_and_hidden_ones():
    params = check_params(ISSUES, {"owner": "octo", "repo": "hub", "draft": None, "since": "2024-01-01",
                                   "labels": ["bug"]})
    assert params == {"owner": "octo", "repo": "hub", "per_page": 30, "state": "open", "labels": ["bug"]}


def test_param_errors_are_worded_as_the_credential_form_words_them():
    values = {"owner": "", "per_page": 500, "state": "merged", "draft": "yes", "labels": "bug"}
    errors = param_errors(ISSUES, values)
    assert errors == {"owner": "Required", "repo": "Required", "per_page": "Must be at most 100",
                      "state": "Choose one of: open, closed", "draft": "Must be yes or no",
                      "labels": "Must be of type array"}
    form = validate_values(ISSUES.params, field_specs(ISSUES.params), values)  # as the credential form says
    assert {k: form[k] for k in errors} == errors


def test_bad_params_raise_a_config_error_naming_fields_not_values():
    with pytest.raises(InvalidParams) as info:
        check_params(ISSUES, {"owner": "octo", "repo": "hub", "per_page": f"{SECRET}"})
    assert info.value.error_class is ErrorClass.CONFIG
    assert info.value.errors == {"per_page": "Enter a whole number"}
    assert SECRET not in str(info.value)


def test_an_unknown_param_is_named_with_the_known_ones():
    assert param_errors(action({"type": "object", "properties": {"key": {"type": "string"}}}),
                        {"key": "a", "kye": "b"}) == {"kye": "Not a param of act (its params: key)"}


def test_an_action_without_params_refuses_any():
    assert param_errors(action(), {"x": 1}) == {"x": "Not a param of act (its params: none)"}
    assert check_params(action(), {}) == {}


def test_params_that_are_not_an_object():
    assert param_errors(ISSUES, ["owner"]) == {"(params)": "Give the params as an object of name → value"}


def test_an_env_reference_in_a_param_is_plain_text_not_skipped():
    """References are resolved before params are checked: what is left is a value like any other."""
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    assert param_errors(action(schema), {"n": "${env:N}"}) == {"n": "Enter a whole number"}


def test_text_that_is_not_text_is_refused():
    assert param_errors(ISSUES, {"owner": "a\ud800b", "repo": "r"}) == {"owner": NOT_TEXT}


def test_a_lone_surrogate_deep_inside_an_object_param_is_refused():
    assert param_errors(ISSUES, {"owner": "o", "repo": "r", "extra": {"key": ["x", "\udfff"]}}) == {"extra": NOT_TEXT}


def test_non_finite_numbers_are_refused():
    schema = {"type": "object", "properties": {"x": {"type": "number"}}}
    assert param_errors(action(schema), {"x": float("nan")}) == {"x": "Must be a finite number"}


def test_hostile_nesting_is_refused_without_recursing():
    deep: Any = "leaf"
    for _ in range(100_000):
        deep = {"a": deep}
    assert param_errors(ISSUES, {"owner": "o", "repo": "r", "extra": deep}) == {
        "extra": "Nested more than 64 levels deep: flatten it"}


def test_an_error_inside_an_object_param_belongs_to_that_param():
    assert param_errors(ISSUES, {"owner": "o", "repo": "r", "extra": {"n": "x"}}) == {
        "extra": "Enter a whole number (at extra.n)"}


def test_params_inside_a_choice_are_flat_keys():
    schema = {"type": "object", "properties": {"target": {"oneOf": [
        {"title": "Queue", "properties": {"kind": {"const": "queue"}, "queue": {"type": "string"}},
         "required": ["queue"]},
        {"title": "Topic", "properties": {"kind": {"const": "topic"}, "topic": {"type": "string"}}},
    ]}}}
    act = action(schema)
    assert param_errors(act, {"target.kind": "queue"}) == {"target.queue": "Required"}
    assert check_params(act, {"target.kind": "topic", "target.topic": "t", "target.queue": "left over"}) == {
        "target.kind": "topic", "target.topic": "t"}


def test_params_draw_as_the_credential_form_draws_fields():
    specs = {s.key: s for s in param_specs(ISSUES)}
    assert specs["token"].kind is FieldKind.PASSWORD and specs["token"].secret
    assert specs["pin"].kind is FieldKind.PASSWORD
    assert specs["state"].kind is FieldKind.ENUM and specs["state"].options == ("open", "closed")
    assert specs["per_page"].kind is FieldKind.INTEGER and specs["per_page"].maximum == 100
    assert specs["since"].show_if == {"state": "closed"}


@pytest.mark.parametrize(("key", "text", "value"), [
    ("per_page", "25", 25), ("per_page", "lots", "lots"), ("draft", "yes", True), ("draft", "off", False),
    ("labels", '["bug", "ui"]', ["bug", "ui"]), ("state", "open", "open"), ("owner", "123", "123"),
    ("extra", '{"n": 1}', {"n": 1}),
])
def test_param_text_from_the_command_line_gets_the_params_type(key, text, value):
    assert parse_param_text(ISSUES, key, text) == value


def test_param_text_that_should_be_json_but_is_not():
    with pytest.raises(InvalidParams) as info:
        parse_param_text(ISSUES, "labels", "bug,ui")
    assert info.value.errors == {"labels": 'Enter JSON, e.g. ["a", "b"] or {"name": "value"}'}


def test_param_text_for_an_unknown_param():
    with pytest.raises(InvalidParams) as info:
        parse_param_text(action({"type": "object", "properties": {"a": {"type": "string"}}}), "b", "1")
    assert info.value.errors == {"b": "Not a param of act (its params: a)"}


# --- masking ----------------------------------------------------------------------------------------------

def test_secret_kind_params_are_masked_for_the_log():
    params = {"owner": "octo", "token": SECRET, "pin": "1234", "extra": {"n": 2, "key": SECRET},
              "labels": ["a"], "surprise": SECRET}
    assert mask_params(ISSUES, params) == {"owner": "octo", "token": MASK, "pin": MASK,
                                           "extra": {"n": 2, "key": MASK}, "labels": ["a"], "surprise": MASK}


def test_masking_follows_lists_and_additional_properties():
    schema = {"type": "object", "properties": {
        "keys": {"type": "array", "items": {"type": "string", "writeOnly": True}},
        "headers": {"type": "object", "additionalProperties": {"type": "string", "format": "password"}},
        "rows": {"type": "array", "items": {"type": "object", "properties": {"pw": {"type": "string",
                                                                                      "writeOnly": True}}}},
    }}
    masked = mask_params(action(schema), {"keys": ["a", "b"], "headers": {"Authorization": SECRET},
                                          "rows": [{"pw": SECRET, "id": 1}]})
    assert masked == {"keys": [MASK, MASK], "headers": {"Authorization": MASK}, "rows": [{"pw": MASK, "id": 1}]}


@given(st.text(min_size=1))
def test_a_masked_log_never_holds_a_secret_param(secret):
    masked = mask_params(ISSUES, {"owner": "o", "token": secret, "extra": {"key": secret}})
    assert masked["token"] == MASK and masked["extra"]["key"] == MASK


# --- rendering --------------------------------------------------------------------------------------------

def render(act: ActionSpec, **values: Any) -> RenderedRequest:
    return render_request(act, check_params(act, values))


def test_a_request_renders_from_its_templates():
    request = render(ISSUES, owner="group/sub project", repo="hub", labels=["bug", "good first"], draft=True,
                     token=SECRET, extra={"n": 1})
    assert request.method == "POST"
    assert request.path == "/repos/group%2Fsub%20project/hub/issues"
    assert request.query == (("per_page", "30"), ("state", "open"), ("labels", "bug"), ("labels", "good first"),
                             ("q", "repo:group/sub project/hub"), ("v", "3"))
    assert request.headers == {"X-Token": SECRET, "X-Draft": "draft=true", "Content-Type": "application/json"}
    assert json.loads(request.body) == {"title": "group/sub project", "labels": ["bug", "good first"],
                                        "draft": True, "extra": {"n": 1}, "nested": {"list": ["group/sub project",
                                                                                              7]}}


def test_left_out_optional_params_drop_their_entries():
    request = render(ISSUES, owner="o", repo="r")
    assert [name for name, _ in request.query] == ["per_page", "state", "q", "v"]
    assert request.headers == {"Content-Type": "application/json"}
    assert json.loads(request.body) == {"title": "o", "nested": {"list": ["o", 7]}}


def test_the_url_keeps_the_base_urls_path_and_encodes_the_query():
    request = render(ISSUES, owner="o", repo="r", labels=["a&b=c"])
    url = request.url("https://ghe.example.com/api/v3/")
    parts = urlsplit(url)
    assert parts.path == "/api/v3/repos/o/r/issues"
    assert ("labels", "a&b=c") in parse_qsl(parts.query)


def test_the_base_urls_own_query_is_kept():
    request = render(action(http={"path": "/x", "query": {"a": "1"}}))
    assert request.url("https://h.example/api?key=v") == "https://h.example/api/x?key=v&a=1"


def test_a_param_keeps_its_json_type_in_the_body():
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "f": {"type": "number"},
                                               "obj": {"type": "object"}}}
    act = action(schema, {"method": "PUT", "path": "/x", "body": ["{n}", "{f}", "{obj}", "n={n}"]})
    assert json.loads(render(act, n=5, f=1.5, obj={"a": [1]}).body) == [5, 1.5, {"a": [1]}, "n=5"]


def test_a_form_body():
    schema = {"type": "object", "properties": {"channel": {"type": "string"}, "text": {"type": "string"},
                                               "ids": {"type": "array"}}}
    act = action(schema, {"method": "POST", "path": "/chat.postMessage", "body_format": "form",
                          "body": {"channel": "{channel}", "text": "{text}", "ids": "{ids}", "mrkdwn": True}})
    request = render(act, channel="#general", text="hi & bye", ids=[1, 2])
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(request.body.decode()) == [("channel", "#general"), ("text", "hi & bye"), ("ids", "1"),
                                                ("ids", "2"), ("mrkdwn", "true")]


PATH_ACTION = action({"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
                     {"path": "/files/{name}/meta"})


@pytest.mark.parametrize("name", ["..", ".", "../etc/passwd", "a/../b", "..\\windows", "x/./y"])
def test_a_path_param_that_would_leave_the_path_is_refused(name):
    with pytest.raises(InvalidParams) as info:
        render(PATH_ACTION, name=name)
    assert info.value.errors == {"name": "Cannot contain '.' or '..' as a path part: it would leave the API's "
                                         "path"}


@pytest.mark.parametrize("name", ["...", "a..b", ".hidden", "%2e%2e", "v1.2"])
def test_dots_that_do_not_leave_the_path_are_fine(name):
    assert unquote(render(PATH_ACTION, name=name).path.split("/")[2]) == name


@settings(max_examples=300)
@given(st.text(min_size=1))
def test_a_path_param_is_always_one_segment(name):
    try:
        request = render(PATH_ACTION, name=name)
    except InvalidParams as exc:
        assert set(exc.errors) == {"name"}
        return
    segments = request.path.split("/")
    assert len(segments) == 4 and segments[3] == "meta"
    assert unquote(segments[2]) == name
    assert all(c in string.ascii_letters + string.digits + "%-._~" for c in segments[2])


HEADER_ACTION = action({"type": "object", "properties": {"v": {"type": "string"}}},
                       {"path": "/x", "headers": {"X-Value": "pre {v}"}})


@pytest.mark.parametrize(("value", "message"), [
    (f"{SECRET}\r\nX-Admin: 1", "Contains a line break, which cannot be sent in a header: put it on one line"),
    ("a\nb", "Contains a line break, which cannot be sent in a header: put it on one line"),
    ("a\x00b", "Contains a control character, which cannot be sent in a header"),
    ("snow ☃", "Contains characters a header cannot carry: use plain (ASCII) text"),
])
def test_header_values_that_would_split_or_break_the_header_are_refused(value, message):
    with pytest.raises(InvalidParams) as info:
        render(HEADER_ACTION, v=value)
    assert info.value.errors == {"v": message}
    assert SECRET not in str(info.value)


@given(st.text())
def test_a_rendered_header_never_carries_a_line_break(value):
    try:
        request = render(HEADER_ACTION, v=value)
    except InvalidParams:
        return
    assert not any(c in request.headers.get("X-Value", "") for c in "\r\n\0")


def test_a_request_shows_no_header_values_or_body():
    request = render(ISSUES, owner="o", repo="r", token=SECRET)
    assert SECRET not in repr(request) and "X-Token" in repr(request)


def test_render_refuses_a_coded_action():
    with pytest.raises(ValueError, match="not an http action"):
        render_request(action(), {})


# --- answers → results -------------------------------------------------------------------------------------

def test_parse_answer():
    assert parse_answer(b"") is None
    assert parse_answer(b' {"a": [1]} ') == {"a": [1]}


@pytest.mark.parametrize(("body", "message"), [
    (f"<html>{SECRET}</html>".encode(), "The API's answer is not JSON: check the base URL and the action's path"),
    (b"\xff\xfe{", "The API's answer is not JSON: check the base URL and the action's path"),
    (b"[" * 200_000, "The API's answer nests too deeply to read"),
])
def test_an_answer_that_is_not_usable_json(body, message):
    with pytest.raises(BadAnswer) as info:
        parse_answer(body)
    assert info.value.detail == message and info.value.error_class is ErrorClass.UNKNOWN


ANSWER = {"total_count": 2, "items": [{"id": 1, "title": "a", "user": {"login": "x"}, "labels": [{"name": "bug"}]},
                                      {"id": 2, "title": "b", "user": None, "labels": []}],
          "data": {"id": "d1", "odd key": True}}


@pytest.mark.parametrize(("path", "value"), [
    ("$", ANSWER), ("$.total_count", 2), ("$.data.id", "d1"), ("$.data['odd key']", True),
    ('$["data"]["id"]', "d1"), ("$.items[0].title", "a"), ("$.items[-1].id", 2), ("$.items[5]", None),
    ("$.nothing.here", None), ("$.items[*].id", [1, 2]), ("$.items[*].user.login", ["x"]),
    ("$.items[*].labels[*].name", ["bug"]), ("$.data.*", ["d1", True]), ("$.total_count[*]", []),
])
def test_the_jsonpath_subset(path, value):
    assert find(path, ANSWER) == value


def test_a_result_path_with_a_field_map_maps_each_item():
    act = action(http={"path": "/x", "result_path": "$.items[*]",
                       "result_fields": {"id": "$.id", "by": "$.user.login", "labels": "$.labels[*].name"}})
    assert extract_result(act.http, ANSWER) == [{"id": 1, "by": "x", "labels": ["bug"]},
                                                {"id": 2, "by": None, "labels": []}]


def test_a_field_map_on_one_value():
    act = action(http={"path": "/x", "result_path": "$.data", "result_fields": {"id": "$.id"}})
    assert extract_result(act.http, ANSWER) == {"id": "d1"}
    assert extract_result(act.http, {"other": 1}) is None


def test_the_whole_answer_by_default():
    assert extract_result(action(http={"path": "/x"}).http, ANSWER) is ANSWER


def test_a_path_walks_only_itself_however_deep_the_answer():
    deep: Any = {"id": 1}
    for _ in range(50_000):
        deep = {"child": deep, "id": 0}
    assert find("$.child.child.id", deep) == 0
    assert find("$.*.*.id", deep) == [0]


def test_a_wildcard_over_a_huge_list():
    answer = {"items": [{"id": i} for i in range(200_000)]}
    assert find("$.items[*].id", answer)[-1] == 199_999


# --- pagination -------------------------------------------------------------------------------------------

GITHUB_LINK = ('<https://api.github.com/repositories/1/issues?page=2>; rel="next", '
               '<https://api.github.com/repositories/1/issues?page=5>; rel="last"')


def test_parse_a_github_link_header():
    links = parse_link_header(GITHUB_LINK)
    assert [(link.url, link.rels) for link in links] == [
        ("https://api.github.com/repositories/1/issues?page=2", ("next",)),
        ("https://api.github.com/repositories/1/issues?page=5", ("last",))]


def test_link_header_quirks():
    header = ('<  /p?page=3 >; title="a, b; c"; REL="Prev  Next", <https://x.example/4>; rel=last; foo, '
              'garbage; rel="next", <https://x.example/5>;rel="first"')
    links = parse_link_header(header)
    assert [(link.url, link.rels) for link in links] == [("/p?page=3", ("prev", "next")),
                                                         ("https://x.example/4", ("last",)),
                                                         ("https://x.example/5", ("first",))]
    assert links[0].params["title"] == "a, b; c"


def test_link_headers_given_as_several_values():
    links = parse_link_header(['<https://a.example/2>; rel="next"', '<https://a.example/9>; rel="last"'])
    assert [link.rels for link in links] == [("next",), ("last",)]


@settings(max_examples=300)
@given(st.text(alphabet='<>;,="\\ \tarelnxt:/.', max_size=200) | st.text(max_size=100))
def test_any_link_header_parses_without_raising(header):
    for link in parse_link_header(header):
        assert isinstance(link.url, str) and all(isinstance(rel, str) for rel in link.rels)


def test_a_huge_link_header_is_read_in_one_pass():
    links = parse_link_header(", ".join(f'<https://a.example/{i}>; rel="item"' for i in range(50_000)))
    assert len(links) == 50_000


def test_next_link_resolves_relative_urls():
    assert next_link('</repos/1/issues?page=3>; rel="next"', "https://api.example.com/repos/1/issues?page=2") \
        == "https://api.example.com/repos/1/issues?page=3"
    assert next_link(GITHUB_LINK.replace('"next"', '"prev"'), "https://api.github.com/x") is None
    assert next_link(None, "https://api.github.com/x") is None


@pytest.mark.parametrize("target", ["https://evil.example/steal", "http://api.example.com/p2",
                                    "https://api.example.com:8443/p2", "//evil.example/p2",
                                    "javascript:alert(1)"])
def test_a_next_link_to_another_site_is_refused(target):
    with pytest.raises(BadAnswer, match="next-page link"):
        next_link(f'<{target}>; rel="next"', "https://api.example.com/p1")


def test_a_next_link_with_a_bad_port_is_refused():
    with pytest.raises(BadAnswer, match="is not a usable URL"):
        next_link('<https://api.example.com:99999/p2>; rel="next"', "https://api.example.com/p1")


def test_a_next_link_loses_any_user_info():
    assert next_link('<https://u:pw@api.example.com/p2>; rel="next"', "https://api.example.com/p1") == \
        "https://api.example.com/p2"


def test_the_default_port_is_the_same_site():
    assert next_link('<https://API.example.com:443/p2>; rel="next"', "https://api.example.com/p1") == \
        "https://API.example.com:443/p2"


def link_pager(max_pages: int = 3) -> tuple[Pager, RenderedRequest]:
    act = action(http={"path": "/items", "query": {"per_page": 2}, "result_path": "$[*]",
                       "pagination": {"style": "link", "max_pages": max_pages}})
    first = render(act)
    return Pager(act.http.pagination, first), first


def test_link_pages_until_the_cap_then_truncated():
    pager, first = link_pager(max_pages=3)
    base = "https://api.example.com"
    url = first.url(base)
    seen = [url]
    for page in range(2, 10):
        request = pager.next(url, f'<{base}/items?page={page}>; rel="next"', [])
        if request is None:
            break
        url = request.url(base)
        seen.append(url)
    assert seen == [f"{base}/items?per_page=2", f"{base}/items?page=2", f"{base}/items?page=3"]
    assert pager.truncated and pager.pages == 3


def test_the_last_page_ends_without_truncation():
    pager, first = link_pager()
    assert pager.next(first.url("https://a.example"), '<https://a.example/items?page=1>; rel="first"', []) is None
    assert not pager.truncated


def test_a_link_back_to_a_page_already_fetched_ends_the_pages():
    pager, first = link_pager(max_pages=100)
    here = first.url("https://a.example")
    assert pager.next(here, f'<{here}>; rel="next"', []) is None
    assert not pager.truncated


CURSOR = action(http={"path": "/conversations.list", "query": {"limit": 2, "cursor": "start"},
                      "result_path": "$.channels[*]",
                      "pagination": {"style": "cursor", "cursor_path": "$.response_metadata.next_cursor",
                                     "cursor_param": "cursor", "max_pages": 10}})


def test_cursor_pages_send_the_cursor_back_in_the_query():
    first = render(CURSOR)
    pager = Pager(CURSOR.http.pagination, first)
    second = pager.next("https://slack.example/api", None, {"response_metadata": {"next_cursor": "dXNlcjpV"}})
    assert second.query == (("limit", "2"), ("cursor", "dXNlcjpV"))
    assert second.url("https://slack.example/api") == \
        "https://slack.example/api/conversations.list?limit=2&cursor=dXNlcjpV"
    assert pager.next("…", None, {"response_metadata": {"next_cursor": ""}}) is None
    assert not pager.truncated


def test_a_repeated_cursor_ends_the_pages():
    pager = Pager(CURSOR.http.pagination, render(CURSOR))
    assert pager.next("…", None, {"response_metadata": {"next_cursor": "c1"}}) is not None
    assert pager.next("…", None, {"response_metadata": {"next_cursor": "c1"}}) is None


@pytest.mark.parametrize(("answer", "cursor"), [
    ({"next": "abc"}, "abc"), ({"next": 42}, "42"), ({"next": None}, None), ({"next": False}, None),
    ({}, None), ({"next": ""}, None), (None, None), ("text", None),
])
def test_next_cursor(answer, cursor):
    assert next_cursor(answer, "$.next") == cursor


def test_a_cursor_that_is_an_object_is_a_bad_answer():
    with pytest.raises(BadAnswer, match=r"cursor at \$.next is an object or a list"):
        next_cursor({"next": {"page": 2}}, "$.next")


# --- results ----------------------------------------------------------------------------------------------

ROWS = action(result={"type": "object", "required": ["rows", "row_count"], "additionalProperties": False,
                      "properties": {"row_count": {"type": "integer", "minimum": 0},
                                     "rows": {"type": "array", "items": {"type": "object", "properties": {
                                         "id": {"type": "integer"}, "odd key": {"enum": ["a", "b"]}}}},
                                     "truncated": {"type": "boolean"}}})


def test_a_matching_result_has_no_errors():
    assert result_errors(ROWS, {"rows": [{"id": 1}], "row_count": 1}) == []
    check_result(ROWS, {"rows": [], "row_count": 0})


def test_result_errors_name_json_paths_and_never_values():
    result = {"rows": [{"id": 1}, {"id": SECRET}, {"id": 3, "odd key": SECRET}], "row_count": -1, SECRET: 1}
    errors = result_errors(ROWS, result)
    assert sorted(errors) == sorted([
        f"$: unexpected key '{SECRET}'",  # a key is structure, named so the author can fix the schema
        "$.row_count: should be at least 0",
        "$.rows[1].id: should be integer, not string",
        "$.rows[2]['odd key']: should be one of: \"a\", \"b\"",
    ])
    assert [e for e in errors if SECRET in e] == [f"$: unexpected key '{SECRET}'"]


def test_a_missing_key():
    assert result_errors(ROWS, {"rows": []}) == ["$: missing 'row_count'"]


def test_a_million_bad_rows_make_twenty_lines():
    result = {"rows": [{"id": "x"}] * 1_000_000, "row_count": 1}
    assert len(result_errors(ROWS, result)) == 20


def test_a_result_nested_too_deeply_to_check():
    act = action(result={"$defs": {"node": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                         "$ref": "#/$defs/node"})
    deep = json.loads("[" * 900 + "]" * 900)
    assert result_errors(act, deep) == ["$: nested too deeply to check against the result schema"]


def test_check_result_raises_an_unknown_class_error():
    with pytest.raises(InvalidResult) as info:
        check_result(ROWS, [])
    assert info.value.errors == ["$: should be object, not array"]
    assert info.value.error_class is ErrorClass.UNKNOWN


def test_an_empty_result_schema_accepts_anything():
    assert result_errors(action(), object()) == []


# --- preview ----------------------------------------------------------------------------------------------

def test_a_small_result_is_kept_whole():
    assert preview_result({"a": [1, "é"]}) == ('{"a":[1,"é"]}', len('{"a":[1,"é"]}'.encode()), False)


def test_a_big_result_is_cut_at_the_cap_with_its_full_size():
    result = [{"id": i, "name": "x" * 50} for i in range(20_000)]
    full = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
    text, size, truncated = preview_result(result)
    assert truncated and size == len(full) and size > DEFAULT_PREVIEW_BYTES
    assert len(text.encode()) == DEFAULT_PREVIEW_BYTES and full.startswith(text.encode())


def test_the_cut_never_splits_a_character():
    text, size, truncated = preview_result("€" * 100, cap=10)
    assert (text, size, truncated) == ('"€€€', 302, True)


def test_driver_values_are_shown_as_text():
    result = {"at": dt.datetime(2024, 5, 1, 12, 0), "amount": Decimal("12.50"), "blob": b"\x00" * 2048,
              "tags": {"a"}, "obj": object()}
    assert json.loads(preview_result(result).text) == {"at": "2024-05-01T12:00:00", "amount": "12.50",
                                                       "blob": "<2048 bytes>", "tags": ["a"], "obj": "<object>"}


def test_a_result_too_deep_to_preview():
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert preview_result(deep) == ("(the result nests too deeply to preview)", 0, True)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner,
                                                                                 max_size=5), max_leaves=30)


@settings(max_examples=300)
@given(JSON, st.integers(min_value=0, max_value=200))
def test_a_preview_is_a_prefix_of_the_result_within_the_cap(result, cap):
    full = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode()
    text, size, truncated = preview_result(result, cap=cap)
    assert size == len(full) and truncated == (size > cap)
    assert len(text.encode()) <= cap and full.startswith(text.encode())
    assert len(text.encode()) > cap - 4 or not truncated  # at most one character (≤ 3 bytes) is dropped


# --- coded actions ----------------------------------------------------------------------------------------

class Kv(Integration):
    async def get(self, params, config, secrets, ctx):
        return None

    def keys(self, params, config, secrets, ctx):
        return []


def test_a_coded_action_needs_an_async_method_of_its_name():
    kv = Kv.__new__(Kv)
    assert action_method_problem(action(name="get"), kv) is None
    assert action_method_problem(action(name="keys"), Kv) == (
        "action 'keys': Kv.keys is not async: write it as `async def keys(...)`")
    assert action_method_problem(action(name="scan"), Kv) == (
        "action 'scan': Kv has no method 'scan': add `async def scan(...)` or set the action's 'method'")
    assert action_method_problem(action(http={"path": "/x"}), Kv) is None
