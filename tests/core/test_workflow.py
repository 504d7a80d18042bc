"""The workflow definition, references, the `when` language and validation, without I/O."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connhub.core.workflow import (
    Scope,
    WorkflowError,
    check_inputs,
    dump_workflow,
    evaluate,
    mask_inputs,
    parse_expression,
    parse_text,
    parse_workflow,
    read_workflow,
    resolve,
    validate_workflow,
)
from connhub.plugins.registry import Registry

EXAMPLE = """
name: nightly-count
description: Count today's orders and publish the figure
on_failure: stop
steps:
  - id: count
    instance: orders-db
    action: query
    params: {sql: "select 3 as n"}
  - id: cache
    instance: cache
    action: set
    params: {key: "orders:today", value: "${steps.count.result.rows[0].n}"}
  - id: tell
    instance: team-slack
    action: post_message
    when: "${steps.count.result.rows[0].n} > 0"
    params: {channel: "#ops", text: "Orders today: ${steps.count.result.rows[0].n}"}
"""


@pytest.fixture(scope="module")
def registry():
    return Registry.discover()


@pytest.fixture(scope="module")
def actions_of(registry):
    types = {"orders-db": "postgres", "cache": "redis", "team-slack": "slack"}

    def of(instance):
        if instance not in types:
            return None
        return {a.name: a for a in registry.get(types[instance]).manifest.actions}

    return of


def example(**changes):
    wf = parse_text(EXAMPLE).to_dict()
    wf.update(changes)
    return wf


def test_yaml_and_json_spellings_are_the_same_workflow_with_the_same_version(tmp_path):
    yaml_wf = parse_text(EXAMPLE)
    path = tmp_path / "wf.json"
    path.write_text(dump_workflow(yaml_wf, "json"))
    json_wf = read_workflow(path)
    assert json_wf == yaml_wf
    assert json_wf.version == yaml_wf.version
    assert [s.id for s in json_wf.steps] == ["count", "cache", "tell"]
    assert parse_text(dump_workflow(yaml_wf)) == yaml_wf
    changed = example()
    changed["steps"][0]["params"]["sql"] = "select 4 as n"
    assert parse_workflow(changed).version != yaml_wf.version


def test_the_example_validates_against_the_real_actions(actions_of):
    assert validate_workflow(parse_text(EXAMPLE), actions_of) == {}


def test_whole_string_reference_keeps_the_type_and_text_is_formatted():
    scope = Scope(steps={"count": {"rows": [{"n": 3, "tags": ["a"]}], "ok": True, "none": None}},
                  inputs={"who": "ops"}, environ={"REGION": "eu"})
    assert resolve("${steps.count.result.rows[0].n}", scope) == 3
    assert resolve("${steps.count.result.rows[0]}", scope) == {"n": 3, "tags": ["a"]}
    assert resolve("n=${steps.count.result.rows[0].n} ok=${steps.count.result.ok} "
                   "none=${steps.count.result.none} tags=${steps.count.result.rows[0].tags}", scope) \
        == 'n=3 ok=true none=null tags=["a"]'
    assert resolve({"a": ["${inputs.who}", "${env:REGION}-x"]}, scope) == {"a": ["ops", "eu-x"]}
    with pytest.raises(WorkflowError, match=r"nothing at \.rows\[5\]"):
        resolve("${steps.count.result.rows[5].n}", scope)
    with pytest.raises(WorkflowError, match="no step result named 'later'"):
        resolve("${steps.later.result}", scope)
    with pytest.raises(WorkflowError, match="MISSING is not set"):
        resolve("${env:MISSING}", scope)
    with pytest.raises(WorkflowError, match="is not a reference"):
        resolve("${os.system('x')}", scope)


@pytest.mark.parametrize(("text", "truth"), [
    ("${steps.c.result.n} > 0", True), ("${steps.c.result.n} >= 3 and ${steps.c.result.n} < 4", True),
    ("not (${steps.c.result.n} == 3)", False), ("${steps.c.result.s} == 'hi'", True),
    ('${steps.c.result.s} != "hi" or false', False), ("${steps.c.result.z} == null", True),
    ("${steps.c.result.text_n} > 2", True),  # a number read back as text compares as a number
    ("true and not false", True), ("1.5 <= 1", False), ("(((true)))", True), ("${steps.c.result.n}", True),
    ("${steps.c.result.z}", False), ("'b' > 'a'", True), ("-1 < 0", True),
])
def test_when_expressions(text, truth):
    scope = Scope(steps={"c": {"n": 3, "s": "hi", "z": None, "text_n": "3"}})
    assert evaluate(text, scope) is truth


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"), ("1 >", "ends too soon"), ("(1 > 0", "not closed"), ("1 > 0)", "after a complete"),
    ("__import__('os')", "unknown word"), ("1 < 2 < 3", "do not chain"), ("a.b", "unknown word"),
    ("1 + 1", r"unexpected '\+'"), ("'x' < 1", "cannot compare"), ("null > 1", "cannot compare"),
    ("(" * 40 + "1" + ")" * 40, "nested deeper"),
])
def test_bad_expressions_are_workflow_errors(text, message):
    with pytest.raises(WorkflowError, match=message):
        evaluate(text, Scope())


def _errors(data, actions_of):
    try:
        wf = parse_workflow(data)
    except WorkflowError as exc:
        return exc.errors
    return validate_workflow(wf, actions_of)


def test_every_validation_error_is_at_its_path(actions_of):
    data = example()
    data["steps"][0]["params"]["value"] = "${steps.tell.result.ts}"  # not a query param, and a later step
    data["steps"][1]["params"]["value"] = "${steps.nope.result.x}"
    data["steps"][2]["params"]["text"] = "${inputs.who}"
    data["steps"][2]["params"]["channel"] = ""
    data["steps"].append({"id": "cache", "instance": "cache", "action": "flyaway"})
    data["steps"].append({"id": "gone", "instance": "deleted-db", "action": "query"})
    data["steps"].append({"id": "self", "instance": "cache", "action": "set",
                          "params": {"key": "${steps.self.result.key}", "value": 3, "ttl_seconds": 0}})
    errors = _errors(data, actions_of)
    assert "runs later (steps[2])" in errors["steps[0].params.value"]
    assert "does not exist" in errors["steps[1].params.value"]
    assert "not declared under inputs" in errors["steps[2].params.text"]
    assert errors["steps[2].params.channel"]
    assert "already used by steps[1]" in errors["steps[3].id"]
    assert "no action 'flyaway'" in errors["steps[3].action"]
    assert "'gone'" in errors["steps[4].instance"] and "deleted-db" in errors["steps[4].instance"]
    assert "its own step" in errors["steps[5].params.key"]
    assert errors["steps[5].params.value"]  # 3 is not a string
    assert errors["steps[5].params.ttl_seconds"]
    assert set(errors) == {"steps[0].params.value", "steps[1].params.value", "steps[2].params.text",
                           "steps[2].params.channel", "steps[3].id", "steps[3].action", "steps[4].instance",
                           "steps[5].params.key", "steps[5].params.value", "steps[5].params.ttl_seconds"}


def test_a_missing_required_param_is_an_error_but_a_referenced_one_is_not(actions_of):
    data = example()
    del data["steps"][1]["params"]["value"]
    assert set(_errors(data, actions_of)) == {"steps[1].params.value"}
    data = example(inputs={"type": "object", "properties": {"ttl": {"type": "integer"}}})
    data["steps"][1]["params"]["ttl_seconds"] = "${inputs.ttl}"
    assert _errors(data, actions_of) == {}


def test_when_referring_to_a_later_step_is_an_error(actions_of):
    data = example()
    data["steps"][0]["when"] = "${steps.tell.result.ok}"
    assert "runs later" in _errors(data, actions_of)["steps[0].when"]


def test_shape_errors_are_at_their_paths():
    errors = _errors({"name": "bad name!", "on_failure": "retry", "extra": 1, "inputs": {"type": "nope"},
                      "steps": [{"id": "1x", "action": "", "params": [], "timeout": -1, "retries": 99,
                                 "backoff_seconds": "x", "on_failure": "maybe", "parallel": "yes",
                                 "when": "1 >", "bogus": 1}, "not a step"]}, lambda name: {})
    assert set(errors) == {"name", "on_failure", "extra", "inputs", "steps[0].id", "steps[0].instance",
                           "steps[0].action", "steps[0].params", "steps[0].timeout", "steps[0].retries",
                           "steps[0].backoff_seconds", "steps[0].on_failure", "steps[0].parallel",
                           "steps[0].when", "steps[0].bogus", "steps[1]"}
    assert set(_errors({"name": "x", "steps": []}, lambda name: {})) == {"steps"}
    assert set(_errors([1], lambda name: {})) == {"(workflow)"}


def test_a_document_that_does_not_parse_is_a_workflow_error(tmp_path):
    path = tmp_path / "wf.yaml"
    path.write_text("name: [unclosed\n")
    with pytest.raises(WorkflowError) as caught:
        read_workflow(path)
    assert "(document)" in caught.value.errors


def test_inputs_are_checked_defaulted_and_secret_ones_masked():
    wf = parse_workflow(example(inputs={"type": "object", "required": ["who"], "properties": {
        "who": {"type": "string"}, "n": {"type": "integer", "default": 2},
        "token": {"type": "string", "format": "password"}}}))
    assert check_inputs(wf, {"who": "ops"}) == {"who": "ops", "n": 2}
    with pytest.raises(WorkflowError) as caught:
        check_inputs(wf, {"n": "x", "other": 1})
    assert set(caught.value.errors) == {"inputs.who", "inputs.n", "inputs.other"}
    with pytest.raises(WorkflowError) as caught:
        check_inputs(wf, {"who": "ops", "token": 12345})
    assert "12345" not in json.dumps(caught.value.errors)
    assert mask_inputs(wf, {"who": "ops", "token": "s3cret"}) == {"who": "ops", "token": "********"}


# --- fuzz: only WorkflowError, never anything else ---------------------------------------------------------

_pieces = st.sampled_from(["${", "}", "steps", "inputs", "env:", ".", "[", "]", "0", "result", "c", "n", "x",
                           " ", "and", "or", "not", "(", ")", "==", "<", ">=", "'", '"', "\\", "true", "null",
                           "1e999", "-", "__import__", "9" * 12, "\x00", "é"])
_texts = st.one_of(st.text(max_size=60), st.lists(_pieces, max_size=30).map("".join))
_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _texts),
                       lambda inner: st.one_of(st.lists(inner, max_size=4),
                                               st.dictionaries(st.text(max_size=5), inner, max_size=4)),
                       max_leaves=20)
_SCOPE = Scope(steps={"c": {"n": [1, {"x": "y"}], "result": None}}, inputs={"n": 3, "x": "t"},
               environ={"X": "1"})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values)
def test_fuzz_resolver_raises_only_workflow_errors(value):
    try:
        resolve(value, _SCOPE)
    except WorkflowError:
        pass


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_texts)
def test_fuzz_expressions_raise_only_workflow_errors(text):
    try:
        parse_expression(text)
        evaluate(text, _SCOPE)
    except WorkflowError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["name", "steps", "on_failure", "inputs", "description", "x"]), _values,
                       max_size=5))
def test_fuzz_definitions_raise_only_workflow_errors(data):
    try:
        validate_workflow(parse_workflow(data), lambda name: None)
    except WorkflowError:
        pass


def test_a_number_given_to_a_text_param_becomes_text_and_nothing_else_changes():
    from connhub.core.workflow import fit_params

    schema = {"properties": {"value": {"type": "string"}, "ttl": {"type": "integer"}, "on": {"type": "string"}}}
    assert fit_params({"value": 3, "ttl": 5, "on": True, "other": 1.5}, schema) == \
        {"value": "3", "ttl": 5, "on": "true", "other": 1.5}


# --- schedules ------------------------------------------------------------------------------------------------

def _t(text):
    from datetime import datetime

    return datetime.fromisoformat(text + "+00:00")


@pytest.mark.parametrize(("spec", "after", "expected"), [
    ("15m", "2026-12-07 13:37:12", "2026-12-07 13:45:00"), ({"every": 900}, "2026-12-07 13:45:00", "2026-12-07 14:00:00"),
    ({"every": "1d"}, "2026-12-07 13:00:00", "2026-12-08 00:00:00"),
    ("0 6 * * 1-5", "2026-12-07 13:37:00", "2026-12-08 06:00:00"),  # Monday afternoon → Tuesday 06:00
    ("0 6 * * 1-5", "2026-12-11 07:00:00", "2026-12-14 06:00:00"),  # Friday → Monday
    ({"cron": "*/20 * * * *"}, "2026-12-07 13:40:00", "2026-12-07 14:00:00"),
    ("30 2 29 2 *", "2026-12-07 00:00:00", "2028-02-29 02:30:00"), ("0 0 * * 7", "2026-12-07 00:00:00", "2026-12-13 00:00:00"),
    ("5,10 1-2 * 12 *", "2026-12-07 02:10:00", "2026-12-08 01:05:00"),
])
def test_schedule_next_slots(spec, after, expected):
    from connhub.core.workflow import parse_schedule

    assert parse_schedule(spec).next_after(_t(after)) == _t(expected)


def test_schedule_due_counts_slots_and_finds_the_newest():
    from connhub.core.workflow import parse_schedule

    every = parse_schedule("10m")
    assert every.due(_t("2026-12-07 10:05:00"), _t("2026-12-07 10:59:59")) == (5, _t("2026-12-07 10:10:00"),
                                                                                _t("2026-12-07 10:50:00"))
    assert every.due(_t("2026-12-07 10:05:00"), _t("2026-12-07 10:09:00")) == (0, None, None)
    minutely = parse_schedule("* * * * *")
    count, first, newest = minutely.due(_t("2026-01-01 00:00:00"), _t("2026-03-01 00:00:30"), cap=1000)
    assert count == 1000 and first == _t("2026-01-01 00:01:00") and newest == _t("2026-03-01 00:00:00")


@pytest.mark.parametrize("spec", ["5s", "0 25 * * *", "* * *", "every day", {"every": "1m", "cron": "x"}, True,
                                  "*/0 * * * *", "a-b * * * *", "0 0 31 2 *", [1]])
def test_bad_schedules_are_errors_at_schedule(spec):
    assert "schedule" in _errors(example(schedule=spec), lambda name: None)


def test_a_query_rows_value_is_named_by_its_column():
    """The issue's own spelling: `rows[0].n` names column "n" of a query result's first row (rows are lists,
    `columns` names them); the index still works, and a name that is no column says where it failed."""
    from connhub.core.workflow import Scope, WorkflowError, parse_reference

    scope = Scope(steps={"count": {"columns": ["n", "label"], "rows": [[3, "today"]], "row_count": 1}})
    assert scope.lookup(parse_reference("steps.count.result.rows[0].n")) == 3
    assert scope.lookup(parse_reference("steps.count.result.rows[0].label")) == "today"
    assert scope.lookup(parse_reference("steps.count.result.rows[0][1]")) == "today"
    with pytest.raises(WorkflowError, match="nothing at"):
        scope.lookup(parse_reference("steps.count.result.rows[0].missing"))
