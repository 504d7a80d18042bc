"""The workflow catalog and run log on a SQLite file and the machine's PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from connhub.core.workflow import StepRun, WorkflowRun
from connhub.storage.db import SCHEMA_HEAD, current_revision, open_engine, sqlite_url
from connhub.storage.workflows import WorkflowStore
from tests.storage.test_store import _empty_postgres, pg_database  # noqa: F401 - the throwaway PostgreSQL


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    url = request.getfixturevalue("pg_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def engine(url):
    engine = open_engine(url)
    yield engine
    engine.dispose()


def _run(workflow_id, **changes):
    run = WorkflowRun(workflow_id, "v1", "cli", {"who": "ops"}, "running", datetime.now(UTC),
                      [StepRun("a", "cache", "set"), StepRun("b", "cache", "get")])
    run.__dict__.update(changes)
    return run


def test_migration_makes_both_tables_at_head(engine):
    assert current_revision(engine) == SCHEMA_HEAD >= "0006"
    tables = set(inspect(engine).get_table_names())
    assert {"workflows", "workflow_runs", "action_runs", "instances"} <= tables


def test_catalog_saves_replaces_lists_and_removes_per_workspace(engine):
    store = WorkflowStore(engine)
    first = store.save("default", "nightly", "name: nightly\n", "v1")
    again = store.save("default", "nightly", "name: nightly # edited\n", "v2")
    store.save("team", "nightly", "name: nightly\n", "v1")
    store.save("default", "alpha", "name: alpha\n", "v9")
    assert again.id == first.id and again.version == "v2"
    assert [w.name for w in store.list("default")] == ["alpha", "nightly"]
    assert store.get("default", "nightly").definition == "name: nightly # edited\n"
    assert store.get("default", "nightly").created_at.tzinfo is not None
    store.start_run(_run(first.id))
    assert store.remove("default", "nightly") is True
    assert store.get("default", "nightly") is None and store.count_runs(first.id) == 0
    assert store.remove("default", "nightly") is False
    assert store.get("team", "nightly") is not None


def test_runs_round_trip_steps_and_come_back_newest_first(engine):
    store = WorkflowStore(engine)
    wf = store.save("default", "nightly", "x", "v1")
    run = store.start_run(_run(wf.id))
    assert run.id is not None and run.pid == os.getpid()
    assert store.get_run(run.id).status == "running"  # this process is alive
    run.steps[0].outcome, run.steps[0].params, run.steps[0].preview = "ok", {"key": "k"}, '{"stored":true}'
    run.steps[1].outcome = "skipped"
    run.status, run.finished_at, run.duration_ms = "ok", datetime.now(UTC), 12.5
    store.update_run(run)
    later = store.start_run(_run(wf.id, started_at=datetime.now(UTC)))
    back = store.get_run(run.id)
    assert back.status == "ok" and back.workflow_name == "nightly" and back.duration_ms == 12.5
    assert [(s.id, s.outcome) for s in back.steps] == [("a", "ok"), ("b", "skipped")]
    assert back.steps[0].params == {"key": "k"} and back.inputs == {"who": "ops"}
    assert [r.id for r in store.runs(wf.id)] == [later.id, run.id]
    assert store.get_run(999999) is None


def test_a_run_of_a_killed_process_reads_as_interrupted(engine, url):
    store = WorkflowStore(engine)
    wf = store.save("default", "nightly", "x", "v1")
    code = (
        "import sys, time\n"
        "from datetime import UTC, datetime\n"
        "from connhub.core.workflow import StepRun, WorkflowRun\n"
        "from connhub.storage.db import open_engine\n"
        "from connhub.storage.workflows import WorkflowStore\n"
        "store = WorkflowStore(open_engine(sys.argv[1]))\n"
        "run = WorkflowRun(sys.argv[2], 'v1', 'cli', {}, 'running', datetime.now(UTC),"
        " [StepRun('a', 'c', 'set', outcome='running'), StepRun('b', 'c', 'get')])\n"
        "print(store.start_run(run).id, flush=True)\n"
        "time.sleep(60)\n")
    child = subprocess.Popen([sys.executable, "-c", code, url, wf.id], stdout=subprocess.PIPE, text=True)
    try:
        run_id = int(child.stdout.readline())
        assert store.get_run(run_id).status == "running"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    deadline = time.monotonic() + 5
    while store.get_run(run_id).status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    back = store.get_run(run_id)
    assert back.status == "interrupted"
    assert [s.outcome for s in back.steps] == ["interrupted", "skipped"]
    assert [r.status for r in store.runs(wf.id)] == ["interrupted"]
