"""The declarative `test` section of a manifest: one test per validation rule, each breaking one thing of a
valid SaaS-style manifest and pinning the fix-it message a plugin author reads."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from connhub.core.manifest import HttpTest, Manifest, manifest_json_schema, manifest_problems

BASE: dict[str, Any] = {
    "manifest_version": 1, "type": "acme_api", "name": "Acme API", "group": "http-api", "icon": "icon.svg",
    "credentials": {
        "type": "object", "required": ["base_url", "token"],
        "properties": {
            "base_url": {"type": "string", "format": "uri", "default": "https://api.acme.example"},
            "account": {"type": "string"},
            "email": {"type": "string"},
            "token": {"type": "string", "writeOnly": True},
            "cfg:proxy": {"type": "string", "format": "uri"},
        },
    },
    "test": {
        "method": "POST", "path": "/auth.test", "query": {"account": "{account}"},
        "headers": {"Authorization": "Bearer {token}"}, "proxy_field": "cfg:proxy",
        "success_field": "ok", "error_field": ["error.code", "error"], "error_classes": {"invalid_auth": "auth"},
        "rate_limit_header": "X-RateLimit-Remaining", "rate_limit_reset_header": "X-RateLimit-Reset",
        "version_header": ["X-Acme-Version", "X-Api-Version"], "version_field": "meta.version",
        "detail_fields": {"user": "user.name"}, "detail_headers": {"scopes": "X-Scopes"},
        "secret_prefix": {"field": "token", "detail": "mode", "prefixes": {"ak_test_": "test mode"}},
    },
}


def problems(change: Callable[[dict[str, Any]], Any]) -> list[str]:
    raw = copy.deepcopy(BASE)
    change(raw)
    with pytest.raises(ValidationError) as info:
        Manifest.model_validate(raw)
    return manifest_problems(info.value)


def section(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["test"]


def test_the_base_manifest_is_valid():
    manifest = Manifest.model_validate(copy.deepcopy(BASE))
    assert manifest.test.error_fields == ["error.code", "error"]
    assert manifest.test.version_headers == ["X-Acme-Version", "X-Api-Version"]


def test_single_paths_may_be_written_as_strings():
    parsed = HttpTest.model_validate({"error_field": "message", "version_header": "X-Version"})
    assert (parsed.error_fields, parsed.version_headers) == (["message"], ["X-Version"])
    assert (HttpTest().error_fields, HttpTest().version_headers) == ([], [])


def test_expect_status_must_be_http_codes():
    assert problems(lambda m: section(m).update(expect_status=[200, 2000])) == [
        "test.expect_status 2000 is not an HTTP status: use codes from 100 to 599"]


def test_error_class_must_be_known():
    assert problems(lambda m: section(m)["error_classes"].update(missing_scope="forbidden")) == [
        "test.error_classes maps 'missing_scope' to 'forbidden': use one of auth, permission, rate_limited, "
        "not_found, config, unknown"]


def test_error_classes_need_an_error_field():
    assert problems(lambda m: section(m).pop("error_field")) == [
        "test.error_classes is set but test.error_field is not: name the JSON field that holds the API's error "
        "code, e.g. 'error'"]


@pytest.mark.parametrize("key, value", [("headers", {"Bad Header": "x"}), ("detail_headers", {"scopes": "X Scopes"})])
def test_header_names_must_be_tokens(key, value):
    name = next(iter(value)) if key == "headers" else next(iter(value.values()))
    assert problems(lambda m: section(m).update({key: value})) == [
        f"test.{key} names header {name!r}, which is not a valid header name: use letters, digits and '-'"]


def test_rate_limit_header_must_be_a_header_name():
    assert problems(lambda m: section(m).update(rate_limit_header="X-RateLimit: Remaining")) == [
        "test.rate_limit_header 'X-RateLimit: Remaining' is not a valid header name: use letters, digits and '-'"]


@pytest.mark.parametrize("where, change", [
    ("success_field", lambda t: t.update(success_field="ok.")),
    ("error_field", lambda t: t.update(error_field=["error..code"])),
    ("detail_fields.user", lambda t: t["detail_fields"].update(user="user name")),
])
def test_json_paths_must_be_dotted(where, change):
    bad = {"success_field": "ok.", "error_field": "error..code", "detail_fields.user": "user name"}[where]
    assert problems(lambda m: change(section(m))) == [
        f"test.{where} {bad!r} is not a dotted JSON path: write it like 'error.code' (keys joined by '.')"]


def test_head_has_no_body_to_read():
    assert problems(lambda m: section(m).update(method="HEAD")) == [
        "test.method HEAD gets no body, but test.success_field reads one: use GET or POST"]


@pytest.mark.parametrize("change, name", [
    (lambda t: t["detail_headers"].update(user="X-User"), "user"),
    (lambda t: t["detail_fields"].update(mode="meta.mode"), "mode"),
    (lambda t: t["detail_fields"].update(status="meta.status"), "status"),
])
def test_a_detail_name_is_used_once(change, name):
    assert problems(lambda m: change(section(m))) == [
        f"test detail {name!r} is reported twice: give each detail its own name ('status' and 'http_version' "
        "are taken)"]


def test_secret_prefix_needs_prefixes():
    assert problems(lambda m: section(m)["secret_prefix"].update(prefixes={})) == [
        "test.secret_prefix.prefixes needs at least one non-empty prefix, e.g. {\"sk_test_\": \"test mode\"}"]


@pytest.mark.parametrize("where, change, key", [
    ("path_field", lambda t: t.update(path_field="test_path"), "test_path"),
    ("proxy_field", lambda t: t.update(proxy_field="cfg:proxy_url"), "cfg:proxy_url"),
    ("basic_auth.password", lambda t: t.update(basic_auth={"username": "email", "password": "api_token"}),
     "api_token"),
    ("secret_prefix.field", lambda t: t["secret_prefix"].update(field="key"), "key"),
    ("headers.Authorization", lambda t: t["headers"].update(Authorization="Bearer {tokn}"), "tokn"),
    ("query.account", lambda t: t["query"].update(account="{acount}"), "acount"),
])
def test_named_fields_must_exist(where, change, key):
    assert problems(lambda m: change(section(m))) == [
        f"test.{where} names {key!r}, which is not a credential field: add it to credentials.properties or fix "
        "the name"]


def test_secrets_stay_out_of_the_query():
    assert problems(lambda m: section(m)["query"].update(key="{token}")) == [
        "test.query.key puts secret field 'token' into the URL, where proxies and logs keep it: send it in "
        "test.headers instead"]


def test_basic_auth_user_name_must_not_be_a_secret():
    assert problems(lambda m: section(m).update(basic_auth={"username": "token", "password": "token"})) == [
        "test.basic_auth.username 'token' is a secret field, but user names are shown to users: use a non-secret "
        "field"]


def test_fields_inside_a_choice_can_be_named():
    def add_choice(m):
        m["credentials"]["properties"]["auth"] = {"oneOf": [
            {"properties": {"method": {"const": "basic"}, "user": {"type": "string"},
                            "password": {"type": "string", "writeOnly": True}}}]}
        section(m)["basic_auth"] = {"username": "auth.user", "password": "auth.password"}

    raw = copy.deepcopy(BASE)
    add_choice(raw)
    assert Manifest.model_validate(raw).test.basic_auth.username == "auth.user"


def test_unknown_key_in_the_test_section():
    assert problems(lambda m: section(m).update(json_checks={})) == [
        "unknown key 'test.json_checks': remove it or check its spelling"]


def test_plugin_authors_schema_describes_the_new_keys():
    schema = manifest_json_schema()
    Draft202012Validator.check_schema(schema)
    props = schema["$defs"]["HttpTest"]["properties"]
    for key in ("query", "basic_auth", "proxy_field", "success_field", "error_field", "error_classes",
                "rate_limit_header", "rate_limit_reset_header", "version_field", "detail_fields", "detail_headers",
                "secret_prefix"):
        assert props[key]["description"], key
    assert list(Draft202012Validator(schema).iter_errors(copy.deepcopy(BASE))) == []
