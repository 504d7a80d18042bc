"""The manifest's `actions`: one test per validation rule, each breaking one field of a valid action and pinning
the fix-it message (npe2's habit). A broken action never disables its type: the manifest still validates, the
other actions stay, and `action_problems` says why the broken one is off."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from connhub.core.manifest import Manifest, action_problem_lines, manifest_json_schema
from connhub.plugins.registry import load_folder
from tests.services.synthetic import make_acme

#: A declarative HTTP-API type (no code) with one good action.
HTTP_TYPE: dict[str, Any] = {
    "manifest_version": 1, "type": "acme", "name": "Acme", "group": "devtools", "icon": "icon.svg",
    "credentials": {"type": "object", "required": ["base_url", "token"], "properties": {
        "base_url": {"type": "string", "format": "uri", "default": "https://api.acme.test"},
        "token": {"type": "string", "writeOnly": True},
    }},
    "test": {"path": "/user", "headers": {"Authorization": "Bearer {token}"}},
}

CREATE_ISSUE: dict[str, Any] = {
    "name": "create_issue", "title": "Create issue", "description": "Opens an issue in a repository.",
    "effect": "write",
    "params": {"type": "object", "required": ["owner", "repo", "title"], "properties": {
        "owner": {"type": "string"}, "repo": {"type": "string"}, "title": {"type": "string"},
        "labels": {"type": "array", "items": {"type": "string"}},
        "otp": {"type": "string", "writeOnly": True},
    }},
    "result": {"type": "object", "required": ["number"], "properties": {"number": {"type": "integer"}}},
    "http": {"method": "POST", "path": "/repos/{owner}/{repo}/issues", "headers": {"X-OTP": "{otp}"},
             "body": {"title": "{title}", "labels": "{labels}"},
             "result_fields": {"number": "$.number", "url": "$.html_url"}},
}

LIST_ISSUES: dict[str, Any] = {
    "name": "list_issues", "title": "List issues", "description": "Lists a repository's open issues.",
    "effect": "read",
    "params": {"type": "object", "required": ["owner", "repo"], "properties": {
        "owner": {"type": "string"}, "repo": {"type": "string"}, "state": {"enum": ["open", "closed"]}}},
    "result": {"type": "array"},
    "http": {"path": "/repos/{owner}/{repo}/issues", "query": {"state": "{state}", "per_page": 100},
             "result_path": "$[*]", "pagination": {"style": "link", "max_pages": 5}},
}

#: A coded type: actions are methods of its Integration class.
CODED_TYPE: dict[str, Any] = {
    "manifest_version": 1, "type": "kv", "name": "KV", "group": "cache", "icon": "icon.svg",
    "entrypoint": "kv_plugin:KvIntegration",
    "credentials": {"type": "object", "properties": {"host": {"type": "string"}}},
}

GET: dict[str, Any] = {
    "name": "get", "title": "Get", "description": "Reads one key.", "effect": "read",
    "params": {"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}},
    "result": {"type": ["string", "null"]},
}


def load(manifest: dict[str, Any], *actions: dict[str, Any]) -> Manifest:
    return Manifest.model_validate({**copy.deepcopy(manifest), "actions": copy.deepcopy(list(actions))})


def broken(change: Callable[[dict[str, Any]], Any], action: dict[str, Any] = CREATE_ISSUE,
           manifest: dict[str, Any] = HTTP_TYPE) -> str:
    """Break one field of `action` with `change`; the type must still load, without that action, and the
    one fix-it message is returned."""
    raw = copy.deepcopy(action)
    change(raw)
    loaded = load(manifest, raw, LIST_ISSUES if manifest is HTTP_TYPE else {**GET, "name": "get_other"})
    assert [a.name for a in loaded.actions] == ["list_issues" if manifest is HTTP_TYPE else "get_other"]
    assert len(loaded.action_problems) == 1
    return next(iter(loaded.action_problems.values()))


def http(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["http"]


def props(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["params"]["properties"]


# --- what works -------------------------------------------------------------------------------------------

def test_valid_actions_load_with_their_parts():
    manifest = load(HTTP_TYPE, CREATE_ISSUE, LIST_ISSUES)
    assert manifest.action_problems == {}
    create, listing = manifest.actions
    assert (create.name, create.effect, create.http.method, create.method_name) == ("create_issue", "write",
                                                                                     "POST", None)
    assert listing.http.pagination.style == "link" and listing.http.pagination.max_pages == 5
    assert manifest.action("list_issues") is listing and manifest.action("nope") is None


def test_a_coded_action_runs_the_method_of_its_name_unless_told_otherwise():
    manifest = load(CODED_TYPE, GET, {**GET, "name": "fetch", "method": "fetch_key"})
    assert [a.method_name for a in manifest.actions] == ["get", "fetch_key"]


def test_params_default_to_none():
    manifest = load(CODED_TYPE, {k: v for k, v in GET.items() if k != "params"})
    assert manifest.actions[0].params == {"type": "object", "properties": {}}


def test_a_type_without_actions_has_none_and_no_problems():
    manifest = Manifest.model_validate(copy.deepcopy(HTTP_TYPE))
    assert manifest.actions == [] and manifest.action_problems == {}


def test_a_broken_action_keeps_its_type_working_through_discovery(tmp_path):
    """The registry's own loader: the type is ok (tests, forms, URLs work), the good action stays, the broken
    one is listed with its reason."""
    bad = {**GET, "name": "flush", "effect": "nuke"}
    folder = make_acme(tmp_path, manifest={"actions": [GET, bad]})
    entry = load_folder(folder, "test", require_folder_name=False)
    assert entry.ok and entry.error is None
    assert [a.name for a in entry.manifest.actions] == ["get"]
    assert action_problem_lines(entry.manifest) == [
        "action 'flush' is off: effect 'nuke' is unknown: use read (changes nothing), write (changes data) or "
        "destructive (deletes or cannot be undone)"]


def test_a_broken_rest_of_the_manifest_still_disables_the_type():
    with pytest.raises(ValueError, match="group 'nope' is unknown"):
        load({**HTTP_TYPE, "group": "nope"}, CREATE_ISSUE)


# --- the list itself --------------------------------------------------------------------------------------

def test_actions_not_a_list():
    manifest = Manifest.model_validate({**copy.deepcopy(HTTP_TYPE), "actions": {"create_issue": CREATE_ISSUE}})
    assert manifest.actions == []
    assert manifest.action_problems == {
        "actions": 'actions must be a list of action objects: [{"name": …, "title": …, …}]'}


def test_an_action_that_is_not_an_object():
    manifest = load(HTTP_TYPE, LIST_ISSUES, "create_issue")
    assert [a.name for a in manifest.actions] == ["list_issues"]
    assert manifest.action_problems == {
        "actions[1]": "actions[1] must be an object with name, title, description, effect, params and result"}


def test_duplicate_name():
    manifest = load(HTTP_TYPE, LIST_ISSUES, {**CREATE_ISSUE, "name": "list_issues"})
    assert [a.http.method for a in manifest.actions] == ["GET"]  # the first one wins
    assert manifest.action_problems == {
        "actions[1]": "name 'list_issues' is already used by actions[0]: give each action of a type its own name"}


def test_a_broken_action_without_a_usable_name_is_listed_by_place():
    manifest = load(HTTP_TYPE, LIST_ISSUES, {k: v for k, v in CREATE_ISSUE.items() if k != "name"})
    assert manifest.action_problems == {"actions[1]": "'name' is missing: add it (see `connhub manifest-schema`)"}


# --- one rule, one message --------------------------------------------------------------------------------

def test_bad_identifier_comes_with_a_suggestion():
    assert broken(lambda a: a.update(name="Create Issue")) == (
        "action name 'Create Issue' must be lowercase letters, digits and '_' (at most 40), starting with a "
        "letter: try 'create_issue'")


def test_identifier_starting_with_a_digit():
    assert broken(lambda a: a.update(name="2fa_reset")) == (
        "action name '2fa_reset' must be lowercase letters, digits and '_' (at most 40), starting with a letter: "
        "try 'do_2fa_reset'")


def test_unknown_effect():
    assert broken(lambda a: a.update(effect="delete")) == (
        "effect 'delete' is unknown: use read (changes nothing), write (changes data) or destructive (deletes or "
        "cannot be undone)")


def test_missing_title():
    assert broken(lambda a: a.pop("title")) == "'title' is missing: add it (see `connhub manifest-schema`)"


def test_empty_description():
    assert broken(lambda a: a.update(description="")) == "description is empty: write it"


def test_missing_result_schema():
    assert broken(lambda a: a.pop("result")) == "'result' is missing: add it (see `connhub manifest-schema`)"


def test_unknown_key_in_an_action():
    assert broken(lambda a: a.update(sideeffect="write")) == (
        "unknown key 'sideeffect': remove it or check its spelling")


def test_unknown_key_in_http():
    assert broken(lambda a: http(a).update(url="/x")) == "unknown key 'http.url': remove it or check its spelling"


def test_params_not_an_object_schema():
    assert broken(lambda a: a.update(params={"type": "array", "items": {"type": "string"}})) == (
        'params must be an object schema: {"type": "object", "properties": {…}}')


def test_params_not_a_json_object():
    assert broken(lambda a: a.update(params=["owner", "repo"])) == "params must be a JSON object"


def test_params_not_valid_json_schema():
    assert broken(lambda a: props(a)["owner"].update(type="text")) == (
        "params is not valid JSON Schema at properties/owner/type: 'text' is not valid under any of the given "
        "schemas")


def test_params_required_names_a_non_property():
    assert broken(lambda a: a["params"]["required"].append("body")) == (
        "params.required names 'body', which is not a property: add it to properties or remove it from required")


def test_param_key_not_lower_snake_case():
    assert broken(lambda a: props(a).update(dryRun={"type": "boolean"})) == (
        "param key 'dryRun' must be lower_snake_case")


def test_app_level_keys_are_for_credentials_not_params():
    assert broken(lambda a: props(a).update({"cfg:owner": {"type": "string"}})) == (
        "param key 'cfg:owner' must be lower_snake_case")


def test_secret_param_must_be_text():
    assert broken(lambda a: props(a)["otp"].update(type="integer")) == (
        "secret param 'otp' (writeOnly) must have type 'string'")


def test_param_x_show_if_names_an_unknown_param():
    assert broken(lambda a: props(a)["labels"].update({"x-show-if": {"kind": "bug"}})) == (
        "x-show-if of 'labels' refers to 'kind', which is not a param beside it: use a param of the same object")


def test_result_not_valid_json_schema():
    assert broken(lambda a: a["result"].update(required="number")) == (
        "result is not valid JSON Schema at required: 'number' is not of type 'array'")


def test_both_method_and_http():
    assert broken(lambda a: a.update(method="create_issue")) == (
        "both 'method' and 'http' are set: keep 'method' for an action coded on the Integration class, or 'http' "
        "for a declared request, not both")


def test_method_part_of_the_integration_contract():
    assert broken(lambda a: a.update(method="test_connection"), action=GET, manifest=CODED_TYPE) == (
        "method 'test_connection' is part of connhub's Integration contract, not an action: set 'method' to the "
        "action's own method, e.g. 'run_get'")


def test_action_named_like_the_contract_needs_its_own_method():
    assert broken(lambda a: a.update(name="preload"), action=GET, manifest=CODED_TYPE) == (
        "the default method 'preload' (the name) is part of connhub's Integration contract, not an action: set "
        "'method' to the action's own method, e.g. 'run_preload'")


def test_method_not_an_identifier():
    assert broken(lambda a: a.update(method="_get"), action=GET, manifest=CODED_TYPE) == (
        "method '_get' must name a public method of the Integration class: lowercase letters, digits and '_', "
        "starting with a letter")


def test_coded_action_on_a_type_without_code():
    assert broken(lambda a: a.pop("http")) == (
        "has no 'http' request, and the type has no code (entrypoint) whose method could run it: describe the "
        "request as 'http'")


def test_method_on_a_type_without_code():
    assert broken(lambda a: (a.pop("http"), a.update(method="create"))) == (
        "method 'create' needs code, but the type has no entrypoint: describe the request as 'http' instead, or "
        "add an entrypoint")


def test_http_action_on_a_type_without_a_declarative_test():
    raw = {**copy.deepcopy(GET), "http": {"path": "/keys/{key}"}}
    manifest = load(CODED_TYPE, raw)
    assert manifest.actions == []
    assert manifest.action_problems == {"get": (
        "'http' takes its base URL and authentication from the type's declarative 'test' request, but the type "
        "has none: add a 'test', or code the action as a method")}


# --- http ---------------------------------------------------------------------------------------------------

def test_unknown_http_method():
    assert broken(lambda a: http(a).update(method="FETCH")) == (
        "http.method 'FETCH' is unknown: use 'GET', 'HEAD', 'POST', 'PUT', 'PATCH' or 'DELETE'")


def test_http_path_without_leading_slash():
    assert broken(lambda a: http(a).update(path="repos/{owner}/{repo}/issues")) == (
        "http.path 'repos/{owner}/{repo}/issues' must start with '/': write '/repos/{owner}/{repo}/issues'")


def test_http_path_with_a_query():
    assert broken(lambda a: http(a).update(path="/repos/{owner}/{repo}/issues?state=open")) == (
        "http.path '/repos/{owner}/{repo}/issues?state=open' contains '?' or '#': put query parameters in "
        "http.query")


def test_http_path_placeholder_not_in_params():
    assert broken(lambda a: http(a).update(path="/repos/{owner}/{repository}/issues")) == (
        "http.path uses {repository}, which is not a param: add 'repository' to params.properties or fix the name")


def test_http_path_placeholder_is_optional():
    assert broken(lambda a: a["params"]["required"].remove("repo")) == (
        "http.path uses {repo}, which is optional: list 'repo' in params.required or give it a default (a path "
        "cannot leave a segment out)")


def test_http_path_placeholder_with_a_default_is_fine():
    raw = copy.deepcopy(CREATE_ISSUE)
    raw["params"]["required"].remove("repo")
    props(raw)["repo"]["default"] = "connhub"
    assert load(HTTP_TYPE, raw).action_problems == {}


def test_http_query_placeholder_not_in_params():
    assert broken(lambda a: http(a).update(query={"q": "is:open {text}"})) == (
        "http.query.q uses {text}, which is not a param: add 'text' to params.properties or fix the name")


def test_http_body_placeholder_not_in_params():
    assert broken(lambda a: http(a)["body"].update(body="{text}")) == (
        "http.body.body uses {text}, which is not a param: add 'text' to params.properties or fix the name")


def test_secret_param_in_the_query():
    assert broken(lambda a: http(a).update(query={"otp": "{otp}"})) == (
        "http.query.otp puts secret param 'otp' into the URL, where proxies and logs keep it: send it in "
        "http.headers or http.body instead")


def test_password_format_param_in_the_path_is_a_secret_too():
    def change(a):
        a["params"]["required"].append("pin")
        props(a)["pin"] = {"type": "string", "format": "password"}
        http(a)["path"] = "/repos/{owner}/{repo}/issues/{pin}"
    assert broken(change) == (
        "http.path puts secret param 'pin' into the URL, where proxies and logs keep it: send it in "
        "http.headers or http.body instead")


def test_list_param_inside_text():
    assert broken(lambda a: http(a).update(headers={"X-Labels": "{labels}"})) == (
        "http.headers.X-Labels puts {labels}, which may be an object or a list, into text: only texts, numbers "
        "and yes/no fit there (a query value of exactly '{labels}' may be a list, a body value anything)")


def test_object_param_as_a_whole_query_value():
    def change(a):
        props(a)["filters"] = {"type": "object"}
        http(a)["query"] = {"filters": "{filters}"}
    assert broken(change) == (
        "http.query.filters puts {filters}, which may be an object or a list, into text: only texts, numbers and "
        "yes/no fit there (a query value of exactly '{filters}' may be a list, a body value anything)")


def test_bad_header_name():
    assert broken(lambda a: http(a).update(headers={"X OTP": "{otp}"})) == (
        "http.headers names header 'X OTP', which is not a valid header name: use letters, digits and '-'")


def test_header_template_with_a_line_break():
    assert broken(lambda a: http(a).update(headers={"X-OTP": "{otp}\r\nX-Admin: 1"})) == (
        "http.headers.X-OTP contains a line break: write the value on one line")


def test_bad_query_parameter_name():
    assert broken(lambda a: http(a).update(query={"state&admin=1": "open"})) == (
        "http.query names parameter 'state&admin=1', which is not a plain query parameter name: use letters, "
        "digits and '_', '-', '.', '[', ']'")


def test_get_with_a_body():
    assert broken(lambda a: http(a).update(method="GET")) == (
        "http.method GET sends no body, but http.body is set: move the values into http.query, or use POST")


def test_head_reads_no_answer():
    assert broken(lambda a: http(a).update(method="HEAD", body=None)) == (
        "http.method HEAD gets no body, but http.result_fields reads one: use GET")


def test_form_body_must_be_flat():
    assert broken(lambda a: http(a).update(body_format="form", body={"issue": {"title": "{title}"}})) == (
        'http.body_format \'form\' sends a flat object: write http.body as {"name": "{param}", …} with texts, '
        "numbers or lists of them as values")


def test_body_template_nested_too_deeply():
    deep: Any = "{title}"
    for _ in range(40):
        deep = {"x": deep}
    assert broken(lambda a: http(a).update(body=deep)) == (
        "http.body nests more than 32 levels: flatten the template")


def test_expect_status_not_http():
    assert broken(lambda a: http(a).update(expect_status=[201, 999])) == (
        "http.expect_status 999 is not an HTTP status: use codes from 100 to 599")


@pytest.mark.parametrize(("path", "message"), [
    ("$..number", "http.result_fields.number: JSONPath '$..number' uses '..' (recursive descent), which connhub "
                  "does not support: spell out each key, e.g. '$.data.items[*]'"),
    ("number", "http.result_fields.number: JSONPath 'number' must start with '$' (the whole answer): write "
               "'$.number'"),
    ("$.items[?(@.open)]", "http.result_fields.number: JSONPath '$.items[?(@.open)]' uses a filter or script, "
                           "which connhub does not support: select with keys, indexes and [*] only"),
    ("$.items[0:2]", "http.result_fields.number: JSONPath '$.items[0:2]' uses a slice, which connhub does not "
                     "support: use [*] or one index"),
    ("$.items[0", "http.result_fields.number: JSONPath '$.items[0' has an unfinished '[' at character 8: write "
                  "[0], [*] or ['key']"),
    ("$.", "http.result_fields.number: JSONPath '$.' has a '.' not followed by a key at character 2: write "
           "'.key', or \"['odd key']\" for keys with other characters"),
])
def test_bad_jsonpath_in_the_field_map(path, message):
    assert broken(lambda a: http(a)["result_fields"].update(number=path)) == message


def test_bad_result_path():
    assert broken(lambda a: http(a).update(result_path="items[*]")) == (
        "http.result_path: JSONPath 'items[*]' must start with '$' (the whole answer): write '$.items[*]'")


def test_pagination_needs_a_list_of_items():
    assert broken(lambda a: http(a).update(result_path="$"), action=LIST_ISSUES) == (
        "http.pagination appends each page's items, but http.result_path '$' selects one value: select the list's "
        "items, e.g. '$.items[*]' (or '$[*]' for an answer that is a list)")


def test_cursor_pagination_needs_its_query_parameter():
    assert broken(lambda a: http(a).update(pagination={"style": "cursor", "cursor_path": "$.next"}),
                  action=LIST_ISSUES) == (
        "http.pagination style 'cursor' needs cursor_param: name where the next cursor is (cursor_path, e.g. "
        "'$.next_cursor') and the query parameter that sends it back (cursor_param, e.g. 'cursor')")


def test_cursor_path_names_one_value():
    pagination = {"style": "cursor", "cursor_path": "$.pages[*].next", "cursor_param": "cursor"}
    assert broken(lambda a: http(a).update(pagination=pagination), action=LIST_ISSUES) == (
        "http.pagination.cursor_path '$.pages[*].next' must name one value, but its wildcard selects many: drop "
        "the [*] or .*")


def test_link_pagination_takes_no_cursor():
    assert broken(lambda a: http(a)["pagination"].update(cursor_param="page"), action=LIST_ISSUES) == (
        "http.pagination style 'link' follows the Link header and takes no cursor_path or cursor_param: remove "
        "them, or use style 'cursor'")


def test_unknown_pagination_style():
    assert broken(lambda a: http(a)["pagination"].update(style="offset"), action=LIST_ISSUES) == (
        "http.pagination.style 'offset' is unknown: use 'link' or 'cursor'")


def test_page_cap_out_of_range():
    assert broken(lambda a: http(a)["pagination"].update(max_pages=0), action=LIST_ISSUES) == (
        "http.pagination.max_pages: Input should be greater than or equal to 1")


def test_several_problems_of_one_action_are_all_listed():
    message = broken(lambda a: a.update(effect="nuke", title=""))
    assert message == "title is empty: write it; effect 'nuke' is unknown: use read (changes nothing), write " \
                      "(changes data) or destructive (deletes or cannot be undone)"


def test_hostile_values_are_quoted_short():
    assert broken(lambda a: http(a).update(method="X" * 10_000)) == (
        f"http.method '{'X' * 38}… is unknown: use 'GET', 'HEAD', 'POST', 'PUT', 'PATCH' or 'DELETE'")


# --- the schema for plugin authors ------------------------------------------------------------------------

def test_manifest_schema_describes_actions():
    schema = manifest_json_schema()
    Draft202012Validator.check_schema(schema)
    assert {"ActionSpec", "HttpAction", "HttpPagination"} <= set(schema["$defs"])
    assert schema["$defs"]["ActionSpec"]["properties"]["effect"]["enum"] == ["read", "write", "destructive"]
    validator = Draft202012Validator(schema)
    good = {**copy.deepcopy(HTTP_TYPE), "actions": [CREATE_ISSUE, LIST_ISSUES]}
    assert list(validator.iter_errors(good)) == []
    bad = {**copy.deepcopy(HTTP_TYPE), "actions": [{**CREATE_ISSUE, "effect": "nuke"}]}
    assert [e.message for e in validator.iter_errors(bad)] == ["'nuke' is not one of ['read', 'write', "
                                                               "'destructive']"]


def test_connhub_manifest_schema_prints_the_actions(capsys):
    from connhub import cli

    assert cli.main(["manifest-schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "actions" in printed["properties"]
    assert printed["$defs"]["HttpAction"]["properties"]["auth"]["description"].startswith("`test`: send")
