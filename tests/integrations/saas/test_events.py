"""The event schemas (JSON Schema 2020-12) the manifests declare: every declared event has a schema file, a
realistic example payload (tests/integrations/saas/events/<type>/<event>.json) validates, and a broken one fails
with the path of what is wrong — the checks a receiver of webhooks relies on."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from tests.integrations.saas.conftest import SAAS_TYPES

EXAMPLES = Path(__file__).parent / "events"


def declared(registry) -> list[tuple[str, str]]:
    return [(type_name, event.type) for type_name in SAAS_TYPES
            for event in registry.get(type_name).manifest.events]


def schema_of(registry, type_name: str, event_type: str) -> dict:
    entry = registry.get(type_name)
    event = next(e for e in entry.manifest.events if e.type == event_type)
    return json.loads((entry.folder / event.schema_path).read_text(encoding="utf-8"))


def example(type_name: str, event_type: str) -> dict:
    return json.loads((EXAMPLES / type_name / f"{event_type}.json").read_text(encoding="utf-8"))


def errors(schema: dict, payload: dict) -> list:
    return list(Draft202012Validator(schema).iter_errors(payload))


def test_github_slack_and_stripe_declare_at_least_three_events(registry):
    for type_name in ("github", "slack", "stripe"):
        events = registry.get(type_name).manifest.events
        assert len(events) >= 3, type_name
        assert all(e.schema_path == f"events/{e.type}.json" and e.description for e in events)


def test_every_declared_event_has_an_example(registry):
    have = {(p.parent.name, p.stem) for p in EXAMPLES.glob("*/*.json")}
    assert set(declared(registry)) == have


@pytest.mark.parametrize("type_name, event_type", [
    ("github", "push"), ("github", "pull_request"), ("github", "issues"),
    ("slack", "message"), ("slack", "app_mention"), ("slack", "reaction_added"),
    ("stripe", "charge.succeeded"), ("stripe", "payment_intent.succeeded"),
    ("stripe", "customer.subscription.deleted"),
])
def test_schema_is_2020_12_and_the_example_validates(registry, type_name, event_type):
    schema = schema_of(registry, type_name, event_type)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schema["description"] and schema["required"]
    payload = example(type_name, event_type)
    assert errors(schema, payload) == []
    if type_name == "stripe":
        assert payload["type"] == event_type
    if type_name == "slack":
        assert (payload["type"], payload["event"]["type"]) == ("event_callback", event_type)


@pytest.mark.parametrize("type_name, event_type", [
    ("github", "push"), ("github", "pull_request"), ("github", "issues"),
    ("slack", "message"), ("slack", "app_mention"), ("slack", "reaction_added"),
    ("stripe", "charge.succeeded"), ("stripe", "payment_intent.succeeded"),
    ("stripe", "customer.subscription.deleted"),
])
def test_a_missing_required_field_fails_at_the_top(registry, type_name, event_type):
    schema = schema_of(registry, type_name, event_type)
    for key in schema["required"]:
        payload = example(type_name, event_type)
        del payload[key]
        found = errors(schema, payload)
        assert [(e.validator, e.json_path) for e in found] == [("required", "$")], key
        assert repr(key) in found[0].message


def _set(payload: dict, path: list, value) -> None:
    node = payload
    for part in path[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value


_DELETE = object()

#: (type, event, where, new value or _DELETE, JSON path the error must name, validator that must fail)
BROKEN = [
    ("github", "push", ["commits", 0, "distinct"], "yes", "$.commits[0].distinct", "type"),
    ("github", "push", ["after"], "HEAD", "$.after", "pattern"),
    ("github", "pull_request", ["pull_request", "number"], "1347", "$.pull_request.number", "type"),
    ("github", "pull_request", ["pull_request", "head", "sha"], _DELETE, "$.pull_request.head", "required"),
    ("github", "issues", ["issue", "state"], "opened", "$.issue.state", "enum"),
    ("github", "issues", ["sender", "id"], "583231", "$.sender.id", "type"),
    ("slack", "message", ["event", "ts"], 1355517523.000005, "$.event.ts", "type"),
    ("slack", "message", ["type"], "url_verification", "$.type", "const"),
    ("slack", "app_mention", ["event", "user"], _DELETE, "$.event", "required"),
    ("slack", "reaction_added", ["event", "item", "type"], "emoji", "$.event.item.type", "enum"),
    ("slack", "reaction_added", ["event", "item", "channel"], _DELETE, "$.event.item", "required"),
    ("stripe", "charge.succeeded", ["data", "object", "amount"], "20.00", "$.data.object.amount", "type"),
    ("stripe", "charge.succeeded", ["type"], "charge.failed", "$.type", "const"),
    ("stripe", "payment_intent.succeeded", ["data", "object", "status"], "processing", "$.data.object.status",
     "const"),
    ("stripe", "payment_intent.succeeded", ["data", "object", "currency"], "USD", "$.data.object.currency",
     "pattern"),
    ("stripe", "customer.subscription.deleted", ["data", "object", "items", "data", 0, "quantity"], -1,
     "$.data.object.items.data[0].quantity", "minimum"),
    ("stripe", "customer.subscription.deleted", ["livemode"], "false", "$.livemode", "type"),
]


@pytest.mark.parametrize("type_name, event_type, where, value, json_path, validator", BROKEN,
                         ids=[f"{t}-{e}-{p}" for t, e, _, _, p, _ in BROKEN])
def test_a_broken_payload_fails_with_its_path(registry, type_name, event_type, where, value, json_path, validator):
    schema = schema_of(registry, type_name, event_type)
    payload = copy.deepcopy(example(type_name, event_type))
    _set(payload, where, value)
    found = [(e.json_path, e.validator) for e in errors(schema, payload)]
    assert (json_path, validator) in found, found
