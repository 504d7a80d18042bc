"""`connhub workflow …` in process, against real PostgreSQL and Redis and a local chat.postMessage server:
exit codes 0 / 1 / 2, errors at their paths, import/export round trip, the run log, no secret in any output."""

from __future__ import annotations

import json
import secrets

import pytest

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.services.test_workflows import EXAMPLE, FAILING, PG, PG_PASSWORD, REDIS, SLACK_TOKEN, slack  # noqa: F401
from tests.support.services import require_service


@pytest.fixture
def data_dir(tmp_path, memory_keyring, slack):  # noqa: F811
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    data = tmp_path / "data"
    hub = Hub(data_dir=data, registry=Registry.discover(plugins=False), vault=KeyringVault(backend=memory_keyring))
    try:
        hub.instances.create("postgres", "orders-db", {**PG, "password": PG_PASSWORD})
        hub.instances.create("redis", "cache", dict(REDIS))
        hub.instances.create("slack", "team-slack", {"base_url": slack.url, "bot_token": SLACK_TOKEN})
    finally:
        hub.close()
    return data


@pytest.fixture
def key():
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    name = f"connhub-wf-cli:{secrets.token_hex(6)}"
    yield client, name
    client.delete(name)
    client.close()


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_run_runs_log_export_and_remove(cli, data_dir, tmp_path, slack, key):  # noqa: F811
    client, name = key
    source = _write(tmp_path, "nightly.yaml", EXAMPLE % {"n": 3, "key": name})
    assert cli(data_dir, "workflow", "validate", source)[0] == 0
    code, out, err = cli(data_dir, "workflow", "import", source)
    assert code == 0 and "nightly-count" in out, err
    code, out, _ = cli(data_dir, "workflow", "list")
    assert code == 0 and "nightly-count" in out and "never run" in out
    code, out, err = cli(data_dir, "workflow", "run", "nightly-count")
    assert code == 0, out + err
    assert "ok" in out and "tell" in out
    assert client.get(name) == b"3" and [m["text"] for m in slack.posted] == ["Orders today: 3"]
    code, out, _ = cli(data_dir, "workflow", "runs", "nightly-count", "--json")
    (listed,) = json.loads(out)
    assert listed["status"] == "ok" and listed["trigger"] == "cli"
    code, out, _ = cli(data_dir, "workflow", "log", listed["id"], "--json")
    logged = json.loads(out)
    assert [(s["id"], s["outcome"]) for s in logged["steps"]] == [("count", "ok"), ("cache", "ok"), ("tell", "ok")]
    code, out, _ = cli(data_dir, "workflow", "log", listed["id"])
    assert code == 0 and "Orders today: 3" in out
    assert cli(data_dir, "workflow", "show", "nightly-count")[1].strip() == source.read_text().strip()
    exported = tmp_path / "out.json"
    assert cli(data_dir, "workflow", "export", "nightly-count", "--format", "json", "-o", exported)[0] == 0
    assert json.loads(exported.read_text())["steps"][1]["params"]["key"] == name
    assert cli(data_dir, "workflow", "remove", "nightly-count")[0] == 0
    assert cli(data_dir, "workflow", "show", "nightly-count")[0] == 2
    assert cli(data_dir, "workflow", "import", exported)[0] == 0  # the JSON spelling imports back
    assert cli(data_dir, "workflow", "run", "nightly-count", "--json")[0] == 0
    code, out, err = cli(data_dir, "workflow", "import", "-", stdin=FAILING % {"policy": "continue"})
    assert code == 0 and "failing" in out, err
    assert "on_failure: continue" in cli(data_dir, "workflow", "export", "failing")[1]


def test_a_failed_step_exits_1_and_an_invalid_or_unknown_workflow_2(cli, data_dir, tmp_path):
    failing = _write(tmp_path, "failing.yaml", FAILING % {"policy": "stop"})
    assert cli(data_dir, "workflow", "import", failing)[0] == 0
    code, out, _ = cli(data_dir, "workflow", "run", "failing", "--json")
    assert code == 1
    assert [s["outcome"] for s in json.loads(out)["steps"]] == ["failed", "skipped"]
    assert cli(data_dir, "workflow", "run", "no-such-workflow")[0] == 2
    bad = _write(tmp_path, "bad.yaml", """
name: bad
steps:
  - {id: a, instance: cache, action: set, params: {key: k, value: "${steps.b.result.v}"}}
  - {id: b, instance: ghost, action: get, params: {key: k}}
  - {id: b, instance: cache, action: explode}
""")
    code, out, err = cli(data_dir, "workflow", "validate", bad)
    assert code == 2
    assert "steps[0].params.value:" in err and "steps[1].instance:" in err and "ghost" in err
    assert "steps[2].id:" in err and "steps[2].action:" in err
    code, out, err = cli(data_dir, "workflow", "validate", bad, "--json")
    assert code == 2 and set(json.loads(out)["errors"]) == {"steps[0].params.value", "steps[1].instance",
                                                            "steps[2].id", "steps[2].action"}
    assert cli(data_dir, "workflow", "import", bad)[0] == 2
    assert cli(data_dir, "workflow", "show", "bad")[0] == 2  # not saved
    unreadable = _write(tmp_path, "broken.yaml", "name: [oops\n")
    code, _, err = cli(data_dir, "workflow", "validate", unreadable)
    assert code == 2 and "(document)" in err


def test_inputs_from_the_command_line(cli, data_dir, tmp_path, slack):  # noqa: F811
    source = _write(tmp_path, "hello.yaml", """
name: hello
inputs: {type: object, required: [who], properties: {who: {type: string}, times: {type: integer}}}
steps:
  - {id: tell, instance: team-slack, action: post_message, params: {channel: C1, text: "hi ${inputs.who} x${inputs.times}"}}
""")
    assert cli(data_dir, "workflow", "import", source)[0] == 0
    code, _, err = cli(data_dir, "workflow", "run", "hello")
    assert code == 2 and "inputs.who" in err
    assert cli(data_dir, "workflow", "run", "hello", "--input", "who=ops", "--input", "times=nope")[0] == 2
    assert cli(data_dir, "workflow", "run", "hello", "--input", "who=ops", "--input", "times=4")[0] == 0
    assert [m["text"] for m in slack.posted] == ["hi ops x4"]


def test_a_deleted_instance_shows_the_workflow_broken_with_the_step(cli, data_dir, tmp_path, key):
    _client, name = key
    assert cli(data_dir, "workflow", "import", _write(tmp_path, "n.yaml", EXAMPLE % {"n": 1, "key": name}))[0] == 0
    assert cli(data_dir, "remove", "cache")[0] == 0
    code, out, _ = cli(data_dir, "workflow", "list")
    assert "BROKEN" in out and "steps[1].instance" in out and "'cache'" in out
    code, _, err = cli(data_dir, "workflow", "run", "nightly-count")
    assert code == 2 and "steps[1].instance" in err


def test_canary_no_instance_secret_in_any_output(cli, data_dir, tmp_path, key):
    _client, name = key
    outputs = []
    outputs += cli(data_dir, "workflow", "import", _write(tmp_path, "n.yaml", EXAMPLE % {"n": 3, "key": name}))[1:]
    outputs += cli(data_dir, "workflow", "import", _write(tmp_path, "f.yaml", FAILING % {"policy": "continue"}))[1:]
    for wf in ("nightly-count", "failing"):
        for args in (("run", wf), ("run", wf, "--json"), ("runs", wf), ("runs", wf, "--json"), ("show", wf),
                     ("list",), ("list", "--json"), ("export", wf)):
            outputs += cli(data_dir, "workflow", *args)[1:]
    for run_id in range(1, 5):
        outputs += cli(data_dir, "workflow", "log", run_id)[1:] + cli(data_dir, "workflow", "log", run_id, "--json")[1:]
    everything = "\n".join(outputs)
    assert "Orders today: 3" in everything and "no_such_table_at_all" in everything
    assert PG_PASSWORD not in everything and SLACK_TOKEN not in everything


def test_kill_9_mid_run_then_the_run_reads_as_interrupted(cli, tmp_path, memory_keyring):
    import os
    import signal
    import subprocess
    import sys
    import time

    require_service("PostgreSQL", "127.0.0.1", 5432)
    data = tmp_path / "data"
    hub = Hub(data_dir=data, registry=Registry.discover(plugins=False), vault=KeyringVault(backend=memory_keyring))
    try:
        hub.instances.create("postgres", "orders-db", dict(PG))  # no secret: the child needs no keyring
        hub.workflows.save("""
name: slow
steps:
  - {id: first, instance: orders-db, action: query, params: {sql: "select 1"}}
  - {id: sleep, instance: orders-db, action: query, params: {sql: "select pg_sleep(30)"}, timeout: 60}
  - {id: after, instance: orders-db, action: query, params: {sql: "select 2"}}
""")
        env = {**os.environ, "CONNHUB_DATA_DIR": str(data)}
        child = subprocess.Popen([sys.executable, "-m", "connhub", "workflow", "run", "slow"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                runs = hub.workflows.runs("slow")
                if runs and runs[0].steps[1].outcome == "running":
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the child never reached the slow step")
            assert runs[0].status == "running"
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait(10)
    finally:
        hub.close()
    code, out, _ = cli(data, "workflow", "runs", "slow", "--json")
    (run,) = json.loads(out)
    assert run["status"] == "interrupted"
    code, out, _ = cli(data, "workflow", "log", run["id"], "--json")
    assert [s["outcome"] for s in json.loads(out)["steps"]] == ["ok", "interrupted", "skipped"]


def test_tick_runs_a_due_schedule_once(cli, data_dir, tmp_path, slack):  # noqa: F811
    import time
    from datetime import UTC, datetime

    source = _write(tmp_path, "tick.yaml", """
name: ticking
schedule: {every: 10s}
steps:
  - {id: tell, instance: team-slack, action: post_message, params: {channel: C1, text: tock}}
""")
    if datetime.now(UTC).timestamp() % 10 > 7:  # not just before a slot: the first tick must find none due
        time.sleep(3.5)
    assert cli(data_dir, "workflow", "import", source)[0] == 0
    assert cli(data_dir, "workflow", "tick")[1] == ""  # saved just now: no slot has come yet
    now = datetime.now(UTC).timestamp()
    time.sleep(10 - now % 10 + 0.2)  # past the next 10-second slot
    code, out, err = cli(data_dir, "workflow", "tick", "--json")
    assert code == 0, err
    (line,) = out.splitlines()
    assert json.loads(line)["status"] == "ok" and json.loads(line)["trigger"] == "schedule"
    assert cli(data_dir, "workflow", "tick")[1] == ""  # the same slot: not run twice
    assert [m["text"] for m in slack.posted] == ["tock"]
