"""Workflows run against the real services: PostgreSQL, Redis and a local server answering Slack's
chat.postMessage; stop vs continue, retries, `when`, cancel, parallel steps, a deleted instance, the canary."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from urllib.parse import parse_qs

import pytest
from sqlalchemy import text

from connhub.core.workflow import WorkflowError
from connhub.services.workflows import WorkflowNotFound
from tests.integrations.actions_support import saved_hub
from tests.integrations.saas.conftest import bearer, fake_api
from tests.support.services import require_service

PG = {"host": "127.0.0.1", "port": 5432, "database": "test", "user": "postgres", "sslmode": "disable"}
REDIS = {"host": "127.0.0.1", "port": 6379}
SLACK_TOKEN = "xoxb-9999-8888-" + "Zx" * 12
PG_PASSWORD = "canary-" + secrets.token_hex(8)  # trust auth ignores it; it must still never be logged

EXAMPLE = """
name: nightly-count
description: Count today's orders and publish the figure
on_failure: stop
steps:
  - id: count
    instance: orders-db
    action: query
    params: {sql: "select %(n)s as n"}
  - id: cache
    instance: cache
    action: set
    params: {key: "%(key)s", value: "${steps.count.result.rows[0].n}"}
  - id: tell
    instance: team-slack
    action: post_message
    when: "${steps.count.result.rows[0].n} > 0"
    params: {channel: "#ops", text: "Orders today: ${steps.count.result.rows[0].n}"}
"""


@pytest.fixture
def slack():
    """chat.postMessage as Slack documents it (form body, bearer token, 200 with `ok`); `fail_first` answers
    that many requests with a 500 first."""
    posted = []
    state = {"fail_first": 0, "seen": 0}

    def post_message(request):
        state["seen"] += 1
        if state["seen"] <= state["fail_first"]:
            return 500, {}, {"ok": False, "error": "internal_error"}
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        posted.append(form)
        return 200, {}, {"ok": True, "channel": form["channel"], "ts": "1765100000.000100",
                         "message": {"text": form["text"], "type": "message"}}

    routes = {("POST", "/chat.postMessage"): post_message}
    with fake_api(routes, lambda r: bearer(r) == SLACK_TOKEN,
                  (200, {}, {"ok": False, "error": "invalid_auth"})) as server:
        server.posted, server.state = posted, state
        yield server


@pytest.fixture
def redis_key():
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    key = f"connhub-wf-test:{secrets.token_hex(6)}"
    yield client, key
    client.delete(key)
    client.close()


@pytest.fixture
def hub(tmp_path, memory_keyring, slack):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    with saved_hub(tmp_path, memory_keyring) as hub:
        hub.instances.create("postgres", "orders-db", {**PG, "password": PG_PASSWORD})
        hub.instances.create("redis", "cache", dict(REDIS))
        hub.instances.create("slack", "team-slack", {"base_url": slack.url, "bot_token": SLACK_TOKEN})
        hub.memory_keyring = memory_keyring
        yield hub


def run(hub, name, inputs=None):
    return asyncio.run(hub.workflows.run(name, inputs, trigger="cli"))


def test_the_issue_example_counts_caches_in_redis_and_posts_to_slack(hub, slack, redis_key):
    client, key = redis_key
    saved = hub.workflows.save(EXAMPLE % {"n": 3, "key": key})
    assert not saved.broken
    done = run(hub, "nightly-count")
    assert done.status == "ok", [(s.id, s.outcome, s.message) for s in done.steps]
    assert [(s.id, s.outcome) for s in done.steps] == [("count", "ok"), ("cache", "ok"), ("tell", "ok")]
    assert client.get(key) == b"3"  # the whole-string reference, written as text by the redis action
    assert [m["text"] for m in slack.posted] == ["Orders today: 3"]
    assert slack.posted[0]["channel"] == "#ops"
    back = hub.workflows.get_run(done.id)
    assert back.status == "ok" and back.trigger == "cli" and back.version == saved.record.version
    assert back.steps[1].params == {"key": key, "value": "3", "encoding": "utf-8"}
    assert '"stored":true' in back.steps[1].preview.replace(" ", "")
    assert back.steps[0].action_run_id is not None
    record = hub.instances.find("cache")
    assert [r.trigger for r in hub.actions.history(record.id)] == ["workflow"]
    assert [r.id for r in hub.workflows.runs("nightly-count")] == [done.id]


def test_when_false_skips_the_step(hub, slack, redis_key):
    _client, key = redis_key
    hub.workflows.save(EXAMPLE % {"n": 0, "key": key})
    done = run(hub, "nightly-count")
    assert done.status == "ok"
    assert [(s.id, s.outcome) for s in done.steps] == [("count", "ok"), ("cache", "ok"), ("tell", "skipped")]
    assert "when" in done.steps[2].message
    assert slack.posted == []


FAILING = """
name: failing
on_failure: %(policy)s
steps:
  - {id: bad, instance: orders-db, action: query, params: {sql: "select * from no_such_table_at_all"}}
  - {id: after, instance: team-slack, action: post_message, params: {channel: C1, text: "still here"}}
"""


def test_on_failure_stop_skips_the_rest_and_continue_runs_it(hub, slack):
    hub.workflows.save(FAILING % {"policy": "stop"})
    stopped = run(hub, "failing")
    assert stopped.status == "failed"
    assert [(s.id, s.outcome) for s in stopped.steps] == [("bad", "failed"), ("after", "skipped")]
    assert stopped.steps[0].error_class and "no_such_table_at_all" in stopped.steps[0].message
    assert slack.posted == []
    hub.workflows.save(FAILING % {"policy": "continue"})
    went_on = run(hub, "failing")
    assert went_on.status == "failed"
    assert [(s.id, s.outcome) for s in went_on.steps] == [("bad", "failed"), ("after", "ok")]
    assert [m["text"] for m in slack.posted] == ["still here"]
    # a step's own on_failure overrides the workflow's
    hub.workflows.save((FAILING % {"policy": "stop"}).replace('"select * from no_such_table_at_all"}}',
                                                              '"select * from no_such_table_at_all"}, '
                                                              'on_failure: continue}'))
    assert [s.outcome for s in run(hub, "failing").steps] == ["failed", "ok"]


def test_retries_with_backoff_until_the_step_succeeds(hub, slack):
    slack.state["fail_first"] = 2
    hub.workflows.save("""
name: retrying
steps:
  - {id: tell, instance: team-slack, action: post_message, retries: 3, backoff_seconds: 0.2,
     params: {channel: C1, text: hello}}
""")
    start = time.monotonic()
    done = run(hub, "retrying")
    took = time.monotonic() - start
    assert done.status == "ok" and done.steps[0].attempts == 3
    assert took >= 0.2 + 0.4  # backoff doubles: 0.2 s, then 0.4 s
    assert [m["text"] for m in slack.posted] == ["hello"]
    slack.state.update(fail_first=10, seen=0)
    hub.workflows.save("""
name: retrying
steps:
  - {id: tell, instance: team-slack, action: post_message, retries: 1, backoff_seconds: 0,
     params: {channel: C1, text: hello}}
""")
    done = run(hub, "retrying")
    assert done.status == "failed" and done.steps[0].attempts == 2 and slack.state["seen"] == 2


def test_cancel_stops_the_current_step_at_once_and_skips_the_rest(hub, slack):
    hub.workflows.save("""
name: slow
steps:
  - {id: first, instance: orders-db, action: query, params: {sql: "select 1"}}
  - {id: sleep, instance: orders-db, action: query, params: {sql: "select pg_sleep(20)"}, timeout: 60}
  - {id: tell, instance: team-slack, action: post_message, params: {channel: C1, text: never}}
""")
    seen = []

    async def main():
        task = asyncio.ensure_future(hub.workflows.run("slow", on_step=lambda r, s: seen.append((s.id, s.outcome))))
        while ("sleep", "running") not in seen:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    took = asyncio.run(main())
    assert took < 0.1
    (last,) = hub.workflows.runs("slow")
    assert last.status == "cancelled"
    assert [(s.id, s.outcome) for s in last.steps] == [("first", "ok"), ("sleep", "cancelled"), ("tell", "skipped")]
    assert slack.posted == []


def test_parallel_steps_run_together(hub):
    hub.workflows.save("""
name: together
steps:
  - {id: a, instance: orders-db, action: query, params: {sql: "select pg_sleep(0.6)"}, parallel: true}
  - {id: b, instance: orders-db, action: query, params: {sql: "select pg_sleep(0.6)"}, parallel: true}
  - {id: c, instance: orders-db, action: query, params: {sql: "select 1"}}
""")
    start = time.monotonic()
    done = run(hub, "together")
    assert done.status == "ok", [(s.id, s.message) for s in done.steps]
    assert time.monotonic() - start < 1.1  # two 0.6 s queries side by side, not one after the other


def test_a_deleted_instance_marks_the_workflow_broken_with_the_step_named(hub, redis_key):
    _client, key = redis_key
    hub.workflows.save(EXAMPLE % {"n": 3, "key": key})
    hub.instances.delete(hub.instances.find("cache").id)
    (info,) = hub.workflows.list()
    assert info.name == "nightly-count" and info.broken
    assert "'cache'" in info.problems["steps[1].instance"]
    with pytest.raises(WorkflowError) as caught:
        run(hub, "nightly-count")
    assert "steps[1].instance" in caught.value.errors
    assert hub.workflows.runs("nightly-count") == []  # nothing ran


def test_an_invalid_workflow_is_refused_and_nothing_is_saved(hub):
    with pytest.raises(WorkflowError) as caught:
        hub.workflows.save("""
name: wrong
steps:
  - {id: a, instance: cache, action: set, params: {key: k, value: "${steps.b.result.x}"}}
  - {id: b, instance: nowhere, action: get, params: {key: k}}
""")
    assert set(caught.value.errors) == {"steps[0].params.value", "steps[1].instance"}
    with pytest.raises(WorkflowNotFound):
        hub.workflows.get("wrong")


def test_inputs_are_checked_and_used(hub, slack):
    hub.workflows.save("""
name: hello
inputs: {type: object, required: [who], properties: {who: {type: string}, times: {type: integer, default: 2}}}
steps:
  - {id: tell, instance: team-slack, action: post_message,
     params: {channel: C1, text: "hi ${inputs.who} x${inputs.times}"}}
""")
    with pytest.raises(WorkflowError) as caught:
        run(hub, "hello", {})
    assert "inputs.who" in caught.value.errors
    done = run(hub, "hello", {"who": "ops"})
    assert done.status == "ok" and done.inputs == {"who": "ops", "times": 2}
    assert [m["text"] for m in slack.posted] == ["hi ops x2"]


def test_canary_no_instance_secret_in_any_run_row(hub, slack, redis_key):
    _client, key = redis_key
    hub.workflows.save(EXAMPLE % {"n": 3, "key": key})
    assert run(hub, "nightly-count").status == "ok"
    hub.workflows.save(FAILING % {"policy": "continue"})
    run(hub, "failing")
    with hub.store.engine.connect() as conn:
        dumped = json.dumps([list(map(str, row)) for table in ("workflows", "workflow_runs", "action_runs")
                             for row in conn.execute(text(f"SELECT * FROM {table}"))])
    assert "Orders today" in dumped  # the rows are there
    assert PG_PASSWORD not in dumped and SLACK_TOKEN not in dumped


def test_the_example_with_the_catalog_on_postgresql(tmp_path, memory_keyring, slack, redis_key):
    """The same run with the Hub's database on a throwaway PostgreSQL (a team catalog): saved, run, logged."""
    from connhub.plugins.registry import Registry
    from connhub.services.hub import Hub
    from connhub.storage.vault import KeyringVault
    from tests.storage.test_store import PG_ADMIN

    require_service("PostgreSQL", "127.0.0.1", 5432)
    import psycopg

    client, key = redis_key
    name = f"connhub_wf_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        hub = Hub(data_dir=tmp_path / "data", db_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
                  registry=Registry.discover(plugins=False), vault=KeyringVault(backend=memory_keyring))
        try:
            hub.instances.create("postgres", "orders-db", dict(PG))
            hub.instances.create("redis", "cache", dict(REDIS))
            hub.instances.create("slack", "team-slack", {"base_url": slack.url, "bot_token": SLACK_TOKEN})
            hub.workflows.save(EXAMPLE % {"n": 7, "key": key})
            done = run(hub, "nightly-count")
            assert done.status == "ok" and client.get(key) == b"7"
            assert [m["text"] for m in slack.posted] == ["Orders today: 7"]
            (back,) = hub.workflows.runs("nightly-count")
            assert back.status == "ok" and [s.outcome for s in back.steps] == ["ok", "ok", "ok"]
            assert back.started_at.tzinfo is not None
        finally:
            hub.close()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_schedule_fires_once_per_slot_and_slots_nobody_ran_are_missed(hub, slack):
    from datetime import UTC, datetime, timedelta

    saved = hub.workflows.save("""
name: every10
schedule: {every: 10m}
steps:
  - {id: tell, instance: team-slack, action: post_message, params: {channel: C1, text: tick}}
""")
    period = 600
    base = saved.record.updated_at
    slot = [datetime.fromtimestamp((int(base.timestamp()) // period + k) * period, UTC) for k in range(9)]

    def tick(at):
        return asyncio.run(hub.workflows.run_schedules(at))

    assert tick(slot[0] + timedelta(seconds=1)) == []  # the slot before saving is not due
    first = tick(slot[1] + timedelta(seconds=1))
    assert [(r.status, r.scheduled_for) for r in first] == [("ok", slot[1])]
    assert tick(slot[1] + timedelta(seconds=20)) == []  # the same slot again: not run twice
    assert [r.scheduled_for for r in tick(slot[2] + timedelta(seconds=30))] == [slot[2]]
    # slots 3 and 4 passed with nothing watching; 5 is on time
    later = tick(slot[5] + timedelta(seconds=10))
    assert [(r.status, r.scheduled_for) for r in later] == [("missed", slot[4]), ("ok", slot[5])]
    assert later[0].message.startswith("2 scheduled runs missed")
    # taken up 5 minutes late: beyond the grace, slots 6 and 7 are missed, nothing runs
    late = tick(slot[7] + timedelta(minutes=5))
    assert [(r.status, r.scheduled_for) for r in late] == [("missed", slot[7])]
    assert tick(slot[7] + timedelta(minutes=6)) == []
    assert [m["text"] for m in slack.posted] == ["tick"] * 3
    statuses = [(r.status, r.trigger) for r in hub.workflows.runs("every10")]
    assert statuses == [("missed", "schedule"), ("ok", "schedule"), ("missed", "schedule"), ("ok", "schedule"),
                        ("ok", "schedule")]


def test_a_secret_input_is_masked_in_the_inputs_and_in_every_step_it_reaches(hub, slack):
    token = "input-canary-" + secrets.token_hex(8)
    hub.workflows.save("""
name: secretive
inputs: {type: object, properties: {token: {type: string, format: password}}}
steps:
  - {id: tell, instance: team-slack, action: post_message, params: {channel: C1, text: "token ${inputs.token}"}}
""")
    done = run(hub, "secretive", {"token": token})
    assert done.status == "ok" and slack.posted[0]["text"] == f"token {token}"  # it was used
    with hub.store.engine.connect() as conn:
        dumped = json.dumps([list(map(str, row)) for row in conn.execute(text("SELECT * FROM workflow_runs"))])
    assert token not in dumped and "token ********" in dumped
