"""Event payloads checked against a type's JSON Schemas, locally: messages, JSON paths, `$ref`s beside the
manifest, syntax errors with their position, and broken schemas reported as problems of the type."""

from __future__ import annotations

import copy
import json

import pytest

from connhub.plugins.registry import Registry
from connhub.services.events import (
    EventSchemaError,
    PayloadError,
    PayloadSyntaxError,
    UnknownEvent,
    event_records,
    find_event,
    json_path,
    parse_payload,
    validate_payload,
    validate_text,
)
from tests.services.synthetic import VALID_ORDER, make_acme


@pytest.fixture
def acme(tmp_path):
    entry = Registry.from_folders([make_acme(tmp_path)]).get("acme")
    assert entry.ok, entry.error
    return entry


def order(**changes):
    data = copy.deepcopy(VALID_ORDER)
    data.update(changes)
    return data


def test_a_valid_payload_has_no_errors(acme):
    assert validate_payload(acme, "order.created", VALID_ORDER) == []
    assert validate_payload(acme, "order.created", order(note="gift", currency="usd")) == []
    assert validate_text(acme, "ping", '{"zen": "Design for failure.", "hook_id": 7}') == []


def test_each_error_is_reported_at_its_json_path(acme):
    bad = order(id="x", amount="12.50", currency="gbp", created="yesterday", extra=True, note=5,
                customer={"display name": 3}, items=[{"sku": "a"}, {"qty": 0}] + [{"sku": "s"}] * 9 + [{"sku": 5}])
    got = [str(e) for e in validate_payload(acme, "order.created", bad)]
    assert got == [
        "$.amount: expected integer, got string",
        '$.created: is not a valid date-time; got "yesterday"',
        '$.currency: must be one of "usd", "eur"; got "gbp"',
        "$.customer.email: required property is missing",  # through the $ref to common.json
        "$.customer['display name']: expected string, got integer",
        "$.extra: unexpected property",
        '$.id: does not match the pattern ^ord_; got "x"',
        "$.items[1].qty: must be at least 1; got 0",
        "$.items[1].sku: required property is missing",
        "$.items[11].sku: expected string, got integer",  # after [1]: indexes sort as numbers
        "$.note: expected string or null, got integer",
    ]


def test_the_whole_payload_and_missing_properties(acme):
    assert validate_payload(acme, "order.created", []) == [PayloadError("$", "expected object, got array")]
    assert [e.path for e in validate_payload(acme, "order.created", {})] == ["$.amount", "$.customer", "$.id",
                                                                             "$.items"]
    assert validate_payload(acme, "order.created", order(items=[])) == [
        PayloadError("$.items", "must have at least 1 items; has 0")]


def test_unexpected_properties_name_the_allowed_ones_when_there_are_few(tmp_path):
    schema = {"type": "object", "properties": {"zen": {"type": "string"}}, "additionalProperties": False}
    entry = Registry.from_folders([make_acme(tmp_path, schemas={"ping.json": schema})]).get("acme")
    assert validate_payload(entry, "ping", {"zen": "x", "Zen": 1}) == [
        PayloadError("$.Zen", "unexpected property (allowed: zen)")]


def test_long_values_are_shortened_in_messages(acme):
    [error] = validate_payload(acme, "order.created", order(id="x" * 500))
    assert error.path == "$.id" and len(error.message) < 200 and error.message.endswith("…")


def test_a_choice_of_forms_names_the_closest_problem(tmp_path):
    schema = {"type": "object", "properties": {"sender": {"anyOf": [
        {"type": "object", "required": ["login"], "properties": {"login": {"type": "string"}}},
        {"type": "null"}]}}}
    entry = Registry.from_folders([make_acme(tmp_path, schemas={"ping.json": schema})]).get("acme")
    [error] = validate_payload(entry, "ping", {"sender": {"id": 1}})
    assert error.path == "$.sender"
    assert error.message == "matches none of the allowed forms (closest: $.sender.login: required property is missing)"


def test_json_paths_quote_keys_that_are_not_identifiers():
    assert json_path([]) == "$"
    assert json_path(["a", 0, "b_c"]) == "$.a[0].b_c"
    assert json_path(["display name", "it's", "a\\b", "9lives"]) == "$['display name']['it\\'s']['a\\\\b']['9lives']"


def test_text_that_is_not_json_says_where(acme):
    with pytest.raises(PayloadSyntaxError) as caught:
        validate_text(acme, "ping", '{"zen": "x",\n  "hook_id": }')
    assert (caught.value.line, caught.value.column) == (2, 14)
    assert str(caught.value) == "line 2, column 14: Expecting value"
    with pytest.raises(PayloadSyntaxError, match="line 1, column 1"):
        parse_payload("")
    assert parse_payload(" [1, 2] ") == [1, 2]


def test_an_unknown_event_lists_the_known_ones(acme):
    with pytest.raises(UnknownEvent) as caught:
        validate_text(acme, "order.deleted", "not json either")  # the event is checked before the text
    assert str(caught.value) == ("acme has no event 'order.deleted'; its events: order.created, ping "
                                 "(see `connhub events acme`)")
    assert find_event(acme, "ping").schema_path == "events/ping.json"


def test_events_as_kept_on_an_instance(acme):
    assert event_records(acme) == [
        {"type": "order.created", "description": "An order was placed.", "schema": "events/order_created.json"},
        {"type": "ping", "description": "Sent once when a webhook is set up.", "schema": "events/ping.json"}]


@pytest.mark.parametrize(("schema", "problem"), [
    ('{"type": "object",', "ping.json of acme is not valid JSON (line 1, column 19)"),
    ({"type": "objekt"}, "events/ping.json of acme is not a valid JSON Schema at type"),
    ({"properties": {"a": {"$ref": "missing.json"}}}, "refers to 'missing.json', which cannot be found"),
    ({"properties": {"a": {"$ref": "../../../etc/passwd"}}}, "which cannot be found"),  # nothing outside the folder
    ({"properties": {"a": {"$ref": "https://example.com/schema.json"}}}, "which cannot be found"),  # no network
])
def test_a_broken_schema_is_a_problem_of_the_type_not_of_the_payload(tmp_path, schema, problem):
    entry = Registry.from_folders([make_acme(tmp_path, schemas={"ping.json": schema})]).get("acme")
    with pytest.raises(EventSchemaError) as caught:
        validate_payload(entry, "ping", {"a": 1, "zen": "x"})
    assert problem in str(caught.value)


def test_a_changed_schema_file_is_read_again(tmp_path, acme):
    assert validate_payload(acme, "ping", {"zen": 1}) == [PayloadError("$.zen", "expected string, got integer")]
    path = acme.folder / "events" / "ping.json"
    path.write_text(json.dumps({"type": "object", "properties": {"zen": {"type": "integer"}}}))
    import os

    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert validate_payload(acme, "ping", {"zen": 1}) == []


# --- the built-in types' own events ------------------------------------------------------------------------

def _builtin_events():
    registry = Registry.discover(plugins=False)
    return [(entry, event) for entry in registry.entries() if entry.manifest for event in entry.manifest.events]


@pytest.mark.parametrize(("entry", "event"), _builtin_events(), ids=lambda v: getattr(v, "type", ""))
def test_every_builtin_event_schema_compiles_and_resolves(entry, event):
    """Each built-in event's schema is valid JSON Schema whose $refs resolve, and it refuses an empty array
    (no payload of a webhook is a bare list)."""
    assert validate_payload(entry, event.type, {}) is not None  # raises EventSchemaError when broken
    assert validate_payload(entry, event.type, []), f"{entry.type} {event.type} accepts anything"


def test_github_declares_its_events_once_its_manifest_is_there():
    registry = Registry.discover(plugins=False)
    if "github" not in registry or not registry.get("github").ok:
        pytest.skip("the github type is not (yet) in this tree")
    github = registry.get("github")
    events = {e["type"] for e in event_records(github)}
    assert {"push", "pull_request", "issues"} <= events
    # A push without its ref and repository is caught, at the paths a person would look at.
    paths = {e.path for e in validate_payload(github, "push", {"commits": []})}
    assert "$.ref" in paths
