"""The manifest format: one test per validation rule, each breaking one field of a valid manifest and pinning
the fix-it message a plugin author reads (npe2's habit)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

import connhub.core.manifest as manifest_module
from connhub.core.manifest import Manifest, manifest_json_schema, manifest_problems

BUILTIN = Path(manifest_module.__file__).resolve().parent.parent / "integrations"

BASE: dict[str, Any] = {
    "manifest_version": 1,
    "type": "acme",
    "name": "Acme",
    "group": "http-api",
    "icon": "icon.svg",
    "entrypoint": "acme_plugin.integration:AcmeIntegration",
    "credentials": {
        "type": "object",
        "required": ["host"],
        "properties": {
            "host": {"type": "string", "format": "hostname"},
            "port": {"type": "integer", "minimum": 1},
            "token": {"type": "string", "writeOnly": True},
        },
    },
}


def problems(change: Callable[[dict[str, Any]], Any]) -> list[str]:
    """Break the base manifest with `change` and return the fix-it lines."""
    raw = copy.deepcopy(BASE)
    change(raw)
    with pytest.raises(ValidationError) as info:
        Manifest.model_validate(raw)
    return manifest_problems(info.value)


def props(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["credentials"]["properties"]


def test_the_base_manifest_is_valid():
    manifest = Manifest.model_validate(copy.deepcopy(BASE))
    assert manifest.type == "acme"
    assert manifest.test is None


def test_missing_required_key():
    assert problems(lambda m: m.pop("name")) == ["'name' is missing: add it (see `connhub manifest-schema`)"]


def test_unknown_top_level_key():
    assert problems(lambda m: m.update(colour="red")) == [
        "unknown key 'colour': remove it or check its spelling"]


def test_manifest_version_other_than_1():
    assert problems(lambda m: m.update(manifest_version=2)) == [
        "manifest_version must be 1: this connhub reads version 1 manifests"]


def test_bad_type_comes_with_a_suggestion():
    assert problems(lambda m: m.update(type="My Service")) == [
        "type 'My Service' must be lowercase letters, digits and '_', starting with a letter: try 'my_service'"]


def test_unknown_group():
    assert problems(lambda m: m.update(group="databases")) == [
        "group 'databases' is unknown: use one of database, cache, messaging, storage, http-api, devtools, "
        "communication, payments, remote, other"]


@pytest.mark.parametrize("icon", ["icon.png", "icons/icon.svg", "../icon.svg", "/usr/share/icon.svg"])
def test_icon_must_be_an_svg_beside_the_manifest(icon):
    assert problems(lambda m: m.update(icon=icon)) == [
        f"icon {icon!r} must be an .svg file next to manifest.json, e.g. 'icon.svg'"]


def test_icon_with_a_leading_dot_slash_is_fine():
    assert Manifest.model_validate({**copy.deepcopy(BASE), "icon": "./icon.svg"}).icon == "./icon.svg"


def test_entrypoint_shape():
    assert problems(lambda m: m.update(entrypoint="acme_plugin.AcmeIntegration")) == [
        "entrypoint 'acme_plugin.AcmeIntegration' must look like 'package.module:ClassName'"]


def test_no_entrypoint_and_no_test():
    assert problems(lambda m: m.pop("entrypoint")) == [
        "nothing can test this type: add an 'entrypoint' (module:Class) or a declarative 'test' request"]


def test_test_path_without_leading_slash():
    assert problems(lambda m: m.update(test={"path": "health", "url_field": "host"})) == [
        "test.path 'health' must start with '/': write '/health'"]


def test_test_url_field_must_be_a_credential_field():
    assert problems(lambda m: m.update(test={"path": "/health"})) == [
        "test.url_field 'base_url' is not a credential field: add it to credentials.properties or point "
        "url_field at the base-URL field"]


def test_credentials_not_valid_json_schema():
    assert problems(lambda m: props(m)["port"].update(type="integr")) == [
        "credentials is not valid JSON Schema at properties/port/type: 'integr' is not valid under any of "
        "the given schemas"]


def test_credentials_not_an_object_schema():
    assert problems(lambda m: m["credentials"].update(type="array")) == [
        'credentials must be an object schema: {"type": "object", "properties": {…}}']


def test_required_names_a_non_property():
    assert problems(lambda m: m["credentials"]["required"].append("hostname")) == [
        "credentials.required names 'hostname', which is not a property: add it to properties or remove it "
        "from required"]


def test_field_key_not_lower_snake_case():
    assert problems(lambda m: props(m).update(apiKey={"type": "string"})) == [
        "field key 'apiKey' must be lower_snake_case (optionally prefixed 'cfg:')"]


def test_cfg_prefixed_field_key_is_fine():
    raw = copy.deepcopy(BASE)
    props(raw)["cfg:client_id"] = {"type": "string"}
    assert "cfg:client_id" in Manifest.model_validate(raw).credentials["properties"]


def test_field_must_be_a_schema_object():
    assert problems(lambda m: props(m).update(flag=True)) == [
        'field \'flag\' must be a schema object like {"type": "string"}, not true']


def test_write_only_field_must_be_a_string():
    assert problems(lambda m: props(m)["port"].update(writeOnly=True)) == [
        "secret field 'port' (writeOnly) must have type 'string'"]


@pytest.mark.parametrize("order", ["2", 2.5, True])
def test_x_order_must_be_an_integer(order):
    assert problems(lambda m: props(m)["port"].update({"x-order": order})) == [
        "x-order of 'port' must be an integer"]


@pytest.mark.parametrize("show_if", ["host", {}, ["host"]])
def test_x_show_if_must_be_an_object(show_if):
    assert problems(lambda m: props(m)["port"].update({"x-show-if": show_if})) == [
        'x-show-if of \'port\' must be an object like {"other_field": value}']


def test_x_show_if_names_an_unknown_field():
    assert problems(lambda m: props(m)["port"].update({"x-show-if": {"hots": "db"}})) == [
        "x-show-if of 'port' refers to 'hots', which is not a field beside it: use a field of the same object"]


@pytest.mark.parametrize("first_choice", [
    {"properties": {"method": {"const": "a"}, "kind": {"const": "b"}}},  # two consts
    {"properties": {"method": {"type": "string"}}},  # none
    True,  # a boolean schema is valid JSON Schema, but not a choice
])
def test_one_of_choice_needs_exactly_one_const(first_choice):
    auth = {"oneOf": [first_choice, {"properties": {"method": {"const": "b"}}}]}
    assert problems(lambda m: props(m).update(auth=auth)) == [
        "oneOf choice 0 of 'auth' needs exactly one property with a 'const' (e.g. {\"method\": {\"const\": "
        "\"bearer\"}}) to tell the choices apart"]


def test_one_of_choices_with_different_discriminator_keys():
    auth = {"oneOf": [{"properties": {"method": {"const": "a"}}}, {"properties": {"kind": {"const": "b"}}}]}
    assert problems(lambda m: props(m).update(auth=auth)) == [
        "oneOf choices of 'auth' use different discriminator keys ['kind', 'method']: use the same key in "
        "every choice"]


def test_rules_apply_inside_one_of_choices():
    auth = {"oneOf": [{"properties": {"method": {"const": "key"}, "api_key": {"type": "integer",
                                                                                "writeOnly": True}}}]}
    assert problems(lambda m: props(m).update(auth=auth)) == [
        "secret field 'auth.api_key' (writeOnly) must have type 'string'"]


def _models() -> list[type[BaseModel]]:
    return [obj for obj in vars(manifest_module).values()
            if isinstance(obj, type) and issubclass(obj, BaseModel) and obj is not BaseModel
            and obj.__module__ == manifest_module.__name__]


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_every_manifest_field_is_described(model):
    undocumented = [name for name, info in model.model_fields.items() if not (info.description or "").strip()]
    assert undocumented == []


def test_the_models_cover_the_manifest_and_its_parts():
    assert {m.__name__ for m in _models()} >= {"Manifest", "HttpTest", "EventSpec"}


def test_manifest_json_schema_is_valid_json_schema_with_descriptions():
    schema = manifest_json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["properties"]["type"]["description"].startswith("Unique id")
    assert "schema" in schema["$defs"]["EventSpec"]["properties"]  # the alias plugin authors write


def test_manifest_json_schema_accepts_the_builtin_manifests():
    validator = Draft202012Validator(manifest_json_schema())
    for path in sorted(BUILTIN.glob("*/manifest.json")):
        assert list(validator.iter_errors(json.loads(path.read_text()))) == [], path


@pytest.mark.parametrize("path", sorted(BUILTIN.glob("*/manifest.json")), ids=lambda p: p.parent.name)
def test_builtin_manifests_validate(path):
    manifest = Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    assert manifest.type == path.parent.name
    assert (path.parent / manifest.icon).suffix == ".svg"


def test_there_are_builtin_manifests():
    assert {p.parent.name for p in BUILTIN.glob("*/manifest.json")} >= {"http", "postgres", "redis"}
