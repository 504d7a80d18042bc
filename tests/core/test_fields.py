"""Field specs: the credential schema read as a form, which fields are shown, and the messages of validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import connhub
from connhub.core.fields import (
    FieldKind,
    active_keys,
    all_specs,
    defaults,
    field_specs,
    secret_keys,
    unflatten,
    validate_values,
)

BUILTIN = Path(connhub.__file__).resolve().parent / "integrations"


def builtin_schema(type_name: str) -> dict:
    return json.loads((BUILTIN / type_name / "manifest.json").read_text(encoding="utf-8"))["credentials"]


HTTP = builtin_schema("http")
POSTGRES = builtin_schema("postgres")

EVERY_KIND = {
    "type": "object",
    "required": ["host"],
    "properties": {
        "notes": {"type": "string", "format": "multiline", "x-order": 9},
        "host": {"type": "string", "title": "Host name", "format": "hostname", "examples": ["db.example.com"],
                 "description": "Where the server runs.", "x-order": 1},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 5432, "x-order": 2},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "x-order": 3},
        "password": {"type": "string", "format": "password", "writeOnly": True, "x-order": 4},
        "use_tls": {"type": "boolean", "default": False, "x-group": "TLS", "x-order": 5},
        "mode": {"enum": ["a", "b"], "x-enum-labels": ["Mode A", "Mode B"], "default": "a", "x-order": 6},
        "key_file": {"type": "string", "format": "file-path", "x-order": 7, "x-group": "TLS"},
        "script": {"type": "string", "x-multiline": True, "x-order": 8},
        "cfg:client_id": {"type": "string"},
    },
}


def spec_map(schema: dict) -> dict:
    return {s.key: s for s in all_specs(field_specs(schema))}


# --- reading the schema ------------------------------------------------------------------------------------

def test_every_kind_is_recognised():
    kinds = {key: spec.kind for key, spec in spec_map(EVERY_KIND).items()}
    assert kinds == {
        "host": FieldKind.TEXT, "port": FieldKind.INTEGER, "ratio": FieldKind.NUMBER,
        "password": FieldKind.PASSWORD, "use_tls": FieldKind.BOOLEAN, "mode": FieldKind.ENUM,
        "key_file": FieldKind.FILE, "script": FieldKind.MULTILINE, "notes": FieldKind.MULTILINE,
        "cfg:client_id": FieldKind.TEXT,
    }


def test_http_auth_is_a_choice_of_methods():
    auth = spec_map(HTTP)["auth"]
    assert auth.kind is FieldKind.CHOICE
    assert auth.discriminator == "auth.method"
    assert auth.default == "none"
    assert [(c.value, c.title) for c in auth.choices] == [
        ("none", "None"), ("bearer", "Bearer token"), ("basic", "Basic (user and password)"),
        ("api_key", "API key header")]
    basic = auth.choices[2]
    assert [f.key for f in basic.fields] == ["auth.username", "auth.password"]  # x-order, no discriminator
    assert [f.required for f in basic.fields] == [True, False]
    assert secret_keys(field_specs(HTTP)) == {"auth.token", "auth.password", "auth.key", "webhook_secret"}


def test_fields_come_in_x_order_and_unordered_ones_last():
    assert [s.key for s in field_specs(EVERY_KIND)] == [
        "host", "port", "ratio", "password", "use_tls", "mode", "key_file", "script", "notes", "cfg:client_id"]


def test_titles_help_placeholders_groups_and_flags():
    specs = spec_map(EVERY_KIND)
    host = specs["host"]
    assert (host.title, host.description, host.placeholder, host.required) == (
        "Host name", "Where the server runs.", "db.example.com", True)
    assert specs["key_file"].title == "Key file"  # derived from the key when no title
    assert specs["use_tls"].group == "TLS" and specs["host"].group == ""
    assert specs["password"].secret and not specs["host"].secret
    assert specs["cfg:client_id"].app_level and specs["cfg:client_id"].title == "Client id"
    assert (specs["port"].minimum, specs["port"].maximum) == (1, 65535)
    assert specs["mode"].options == ("a", "b") and specs["mode"].option_labels == ("Mode A", "Mode B")


def test_defaults_include_the_default_choice():
    assert defaults(field_specs(EVERY_KIND)) == {"port": 5432, "use_tls": False, "mode": "a"}
    assert defaults(field_specs(HTTP)) == {"auth.method": "none", "auth.header": "X-API-Key", "test_path": "/",
                                           "verify_tls": True}


# --- what is shown -----------------------------------------------------------------------------------------

def test_x_show_if_with_a_single_value():
    specs = field_specs(HTTP)
    assert "ca_file" in active_keys(specs, {"verify_tls": True})
    assert "ca_file" not in active_keys(specs, {"verify_tls": False})


def test_x_show_if_with_a_list_of_values():
    specs = field_specs(POSTGRES)
    assert "sslrootcert" not in active_keys(specs, {"sslmode": "prefer"})
    assert "sslrootcert" in active_keys(specs, {"sslmode": "verify-ca"})
    assert "sslrootcert" in active_keys(specs, {"sslmode": "verify-full"})


def test_only_the_chosen_branch_is_active():
    specs = field_specs(HTTP)
    base = {"base_url", "auth.method", "test_path", "headers", "verify_tls", "webhook_secret"}
    assert active_keys(specs, {"auth.method": "bearer"}) == base | {"auth.token"}
    assert active_keys(specs, {"auth.method": "basic"}) == base | {"auth.username", "auth.password"}
    assert active_keys(specs, {}) == base  # the default choice "none" has no fields


def test_unflatten():
    assert unflatten({"a": 1, "auth.method": "basic", "auth.user.name": "x"}) == {
        "a": 1, "auth": {"method": "basic", "user": {"name": "x"}}}


# --- validation messages -----------------------------------------------------------------------------------

def check(schema: dict, values: dict) -> dict[str, str]:
    return validate_values(schema, field_specs(schema), values)


PG_OK = {"host": "db.example.com", "port": 5432, "database": "app", "user": "app"}
HTTP_OK = {"base_url": "https://api.example.com/v1", "auth.method": "none"}


def test_valid_values_have_no_messages():
    assert check(POSTGRES, PG_OK) == {}
    assert check(HTTP, HTTP_OK) == {}
    assert check(POSTGRES, {**PG_OK, "host": "10.0.0.1"}) == {}
    assert check(POSTGRES, {**PG_OK, "host": "[::1]"}) == {}


@pytest.mark.parametrize(("port", "message"), [
    (0, "Must be at least 1"), (70000, "Must be at most 65535"), ("5432x", "Enter a whole number"),
    (5.5, "Enter a whole number")])
def test_port_messages(port, message):
    assert check(POSTGRES, {**PG_OK, "port": port}) == {"port": message}


def test_required_fields():
    assert check(POSTGRES, {"port": 5432}) == {"host": "Required", "database": "Required", "user": "Required"}
    assert check(POSTGRES, {**PG_OK, "host": ""}) == {"host": "Required"}


def test_enum_message():
    assert check(POSTGRES, {**PG_OK, "sslmode": "always"}) == {
        "sslmode": "Choose one of: disable, prefer, require, verify-ca, verify-full"}


@pytest.mark.parametrize("host", ["https://db.example.com", "db.example.com:5432", "db example", "-db"])
def test_hostname_format(host):
    assert check(POSTGRES, {**PG_OK, "host": host}) == {
        "host": "Enter a host name, an IP address, or the path of a local Unix socket (starting with /)"}


@pytest.mark.parametrize("host", ["/var/run/postgresql", "/tmp", "localhost", "::1"])
def test_a_postgres_host_may_be_a_socket_folder(host):
    assert check(POSTGRES, {**PG_OK, "host": host}) == {}


@pytest.mark.parametrize("host", ["var/run/postgresql", "/tmp/" + "x" * 200, "/tmp/\x1b[2J"])
def test_a_socket_folder_is_absolute_short_and_plain(host):
    assert set(check(POSTGRES, {**PG_OK, "host": host})) == {"host"}


@pytest.mark.parametrize("url", ["api.example.com", "ftp://example.com", "https://", "http://[::1"])
def test_uri_format(url):
    assert check(HTTP, {**HTTP_OK, "base_url": url}) == {
        "base_url": "Enter a full URL starting with http:// or https://"}


def test_pattern_message():
    assert check(HTTP, {**HTTP_OK, "test_path": "health"}) == {"test_path": "Does not have the expected format"}
    assert check(HTTP, {**HTTP_OK, "auth.method": "api_key", "auth.header": "X Key", "auth.key": "k"}) == {
        "auth.header": "Does not have the expected format"}


def test_chosen_branch_required_field():
    assert check(HTTP, {**HTTP_OK, "auth.method": "bearer"}) == {"auth.token": "Required"}
    assert check(HTTP, {**HTTP_OK, "auth.method": "bearer", "auth.token": "t0k"}) == {}
    assert check(HTTP, {**HTTP_OK, "auth.method": "basic", "auth.password": "pw"}) == {
        "auth.username": "Required"}


def test_fields_of_other_branches_are_not_checked():
    values = {**HTTP_OK, "auth.method": "none", "auth.header": "not a header!", "auth.username": ""}
    assert check(HTTP, values) == {}


def test_an_unknown_choice_names_the_valid_ones():
    message = "Choose one of: none, bearer, basic, api_key"
    assert check(HTTP, {**HTTP_OK, "auth.method": "oauth"}) == {"auth.method": message}
    assert check(HTTP, {**HTTP_OK, "auth.method": ""}) == {"auth.method": message}


def test_a_missing_choice_means_its_default():
    assert check(HTTP, {"base_url": "https://api.example.com"}) == {}


def test_hidden_fields_are_not_validated():
    values = {**PG_OK, "sslmode": "prefer", "sslrootcert": 12}
    assert check(POSTGRES, values) == {}
    assert check(POSTGRES, {**values, "sslmode": "verify-full"}) == {"sslrootcert": "Enter text"}


def test_env_references_skip_validation():
    assert check(POSTGRES, {**PG_OK, "port": "${env:PGPORT}", "host": "${env:PGHOST}"}) == {}
    assert check(POSTGRES, {"host": "${env:PGHOST}", "port": "${env:PGPORT}", "database": "${env:PGDATABASE}",
                            "user": "${env:PGUSER}"}) == {}
    assert check(HTTP, {**HTTP_OK, "auth.method": "bearer", "auth.token": "${env:API_TOKEN}"}) == {}
    # Only the whole value is a reference: anything else is checked as typed.
    assert check(POSTGRES, {**PG_OK, "port": "${env:PGPORT}0"}) == {"port": "Enter a whole number"}


# --- no input makes validation raise -----------------------------------------------------------------------

TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("\u05d0\u05d1\u0627\u0644\u202e\u200f\x00:/[]@%.-")),  # RTL, NUL, URL bits
    st.text(min_size=1, max_size=5).map(lambda s: s * 20_000),  # huge
    st.sampled_from(["http://[", "http://a\uff03b", "${env:X}", "${env:", "\ud800", "ⅷ"]),
)


def every_field_strategy(schema: dict) -> st.SearchStrategy[dict]:
    specs = all_specs(field_specs(schema))
    keys = [s.discriminator if s.kind is FieldKind.CHOICE else s.key for s in specs]
    return st.fixed_dictionaries({key: TEXT for key in keys})


@pytest.mark.parametrize("schema", [HTTP, POSTGRES], ids=["http", "postgres"])
def test_arbitrary_text_never_raises(schema):
    specs = field_specs(schema)

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.data_too_large])
    @given(every_field_strategy(schema))
    def run(values):
        errors = validate_values(schema, specs, values)
        assert isinstance(errors, dict)
        assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items())

    run()


def test_a_value_of_none_of_several_types_gets_a_message():
    """{"type": ["string", "null"]} (a nullable param) once crashed the message with an unhashable list."""
    from connhub.core.fields import field_specs, validate_values

    schema = {"type": "object", "properties": {"note": {"type": ["string", "null"], "title": "Note"}}}
    assert validate_values(schema, field_specs(schema), {"note": 5}) == {"note": "Must be text or empty"}
