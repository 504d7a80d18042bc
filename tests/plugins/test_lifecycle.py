"""Lifecycle hooks (services/plugin_hooks.py): called in order with the right arguments, and never at the cost
of the save — a hook that raises, hangs or is cancelled leaves the save committed, its failure recorded on the
instance (without a secret), and a retry that works once the plugin does."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from connhub.testing import canary_leaks, load_plugin
from tests.plugins.conftest import EXAMPLE, FIXTURES, forget_plugin_modules

CANARY = "tok-canary-5be1f0a7"


@pytest.fixture
def make_hub(tmp_path, memory_keyring):
    hubs = []

    def make(project: Path, timeout: float = 5.0) -> Hub:
        hub = Hub(data_dir=tmp_path / "data", registry=load_plugin(project),
                  vault=KeyringVault(backend=memory_keyring))
        hub.plugin_hooks.timeout = timeout
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()
    forget_plugin_modules()


def lines(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_hooks_are_called_in_order_with_the_instance_and_what_changed(make_hub, tmp_path):
    hub = make_hub(EXAMPLE)
    store = tmp_path / "store"
    store.mkdir()
    record = hub.instances.create("kvstore", "notes", {"folder": str(store)})
    hub.instances.update(record.id, {"folder": str(store)}, name="notes 2")
    result = asyncio.run(hub.prober.test_instance(hub.instances.get(record.id)))
    assert result.ok, result
    hub.plugin_hooks.wait(10)
    assert json.loads((store / "connhub-instance.json").read_text()) == {
        "id": record.id, "name": "notes 2", "secret_fields": []}
    hub.instances.delete(record.id)
    hub.close()
    log = lines(tmp_path / "data" / "plugins" / "kvstore" / "hooks.jsonl")
    assert log == [
        {"hook": "setup", "type": "kvstore", "plugin": "connhub-plugin-example"},
        {"hook": "on_instance_saved", "id": record.id, "name": "notes", "change": "created"},
        {"hook": "on_instance_saved", "id": record.id, "name": "notes 2", "change": "updated"},
        {"hook": "on_test_finished", "id": record.id, "ok": True},
        {"hook": "on_instance_deleted", "id": record.id, "name": "notes 2"},
        {"hook": "teardown"}]
    assert not (store / "connhub-instance.json").exists()
    times = hub.plugin_hooks.saved_times()["connhub-plugin-example"]  # kept when the Hub closed
    assert {h: t.calls for h, t in times.items()} == {"setup": 1, "on_instance_saved": 2, "on_test_finished": 1,
                                                      "on_instance_deleted": 1, "teardown": 1}


def test_a_built_in_type_runs_no_hook_machinery(make_hub):
    hub = make_hub(EXAMPLE)
    hub.instances.create("postgres", "db", {"host": "localhost", "database": "test", "user": "root"})
    assert hub.plugin_hooks._loop is None  # no thread, no import: a dictionary lookup


def flaky(make_hub, tmp_path, mode: str, timeout: float = 5.0):
    hub = make_hub(FIXTURES / "connhub-hooks-plugin", timeout)
    folder = tmp_path / "flaky"
    folder.mkdir(exist_ok=True)
    (folder / "mode").write_text(mode)
    return hub, folder


@pytest.mark.parametrize(("mode", "error"), [
    ("raise", "RuntimeError: the provider refused \x1b[31mfirst\x1b[0m: {'folder': "),
    ("hang", "timed out after 0.5 s"),
    ("cancel", "cancelled"),
    ("stubborn", "timed out after 0.5 s"),  # it swallows the cancel: left behind, not waited for
])
def test_a_failing_hook_keeps_the_save_records_the_failure_and_can_be_retried(make_hub, tmp_path, mode, error):
    hub, folder = flaky(make_hub, tmp_path, mode, timeout=0.5)
    started = time.perf_counter()
    record = hub.instances.create("flaky", "first", {"folder": str(folder), "token": CANARY})
    assert time.perf_counter() - started < 0.5  # the save never waits for its hook
    hub.plugin_hooks.wait(10)
    assert hub.instances.get(record.id).name == "first"  # committed, and still there
    assert hub.secrets.read(record, ["token"]) == {"token": CANARY}
    failure = hub.plugin_hooks.failure(record.id)
    assert (failure.hook, failure.plugin, failure.type) == ("on_instance_saved", "connhub-hooks-plugin", "flaky")
    assert failure.error.startswith(error)
    assert failure.text.startswith(f"on_instance_saved of connhub-hooks-plugin failed: {error}")
    assert hub.plugin_hooks.retry(record.id) is not None  # still broken: still recorded
    assert hub.plugin_hooks.failure(record.id) is not None

    (folder / "mode").write_text("")  # the provider is back
    assert hub.plugin_hooks.retry(record.id) is None
    assert hub.plugin_hooks.failure(record.id) is None
    assert lines(folder / "calls.jsonl") == [["on_instance_saved", record.id, "created"]]


def test_a_failed_delete_hook_is_kept_for_the_deleted_instance_and_retried_with_it(make_hub, tmp_path):
    hub, folder = flaky(make_hub, tmp_path, "")
    record = hub.instances.create("flaky", "gone", {"folder": str(folder)})
    hub.plugin_hooks.wait(10)
    (folder / "mode").write_text("raise")
    hub.instances.delete(record.id)
    hub.plugin_hooks.wait(10)
    assert record.id not in {r.id for r in hub.instances.list()}  # the delete is done
    failure = hub.plugin_hooks.failure(record.id)
    assert failure.hook == "on_instance_deleted" and failure.instance["name"] == "gone"
    (folder / "mode").write_text("")
    assert hub.plugin_hooks.retry(record.id) is None
    assert lines(folder / "calls.jsonl") == [["on_instance_saved", record.id, "created"],
                                             ["on_instance_deleted", record.id]]


def test_a_failed_test_hook_is_retried_with_the_result_it_missed(make_hub, tmp_path):
    hub, folder = flaky(make_hub, tmp_path, "")
    record = hub.instances.create("flaky", "tested", {"folder": str(folder)})
    hub.plugin_hooks.wait(10)
    (folder / "mode").write_text("raise")
    assert asyncio.run(hub.prober.test_instance(hub.instances.get(record.id))).ok
    hub.plugin_hooks.wait(10)
    assert hub.plugin_hooks.failure(record.id).hook == "on_test_finished"
    assert hub.instances.get(record.id).status == "ok"  # the test's outcome is recorded all the same
    (folder / "mode").write_text("")
    assert hub.plugin_hooks.retry(record.id) is None
    assert lines(folder / "calls.jsonl")[-1] == ["on_test_finished", record.id, True]


def test_no_secret_reaches_the_failure_record_the_database_or_the_log(make_hub, tmp_path):
    hub, folder = flaky(make_hub, tmp_path, "raise")
    record = hub.instances.create("flaky", "first", {"folder": str(folder), "token": CANARY})
    hub.plugin_hooks.wait(10)
    failure = hub.plugin_hooks.failure(record.id)
    assert failure is not None and "token" in failure.instance["secret_fields"]
    hub.close()
    assert hub.secrets.read(record, ["token"]) == {"token": CANARY}  # planted for real
    assert canary_leaks(CANARY, tmp_path / "data", json.dumps(failure.__dict__)) == []


def test_setup_runs_once_per_process_and_a_failing_setup_is_tried_again(make_hub, tmp_path):
    hub, folder = flaky(make_hub, tmp_path, "")
    for name in ("one", "two"):
        hub.instances.create("flaky", name, {"folder": str(folder)})
    hub.plugin_hooks.wait(10)
    assert hub.plugin_hooks.times["connhub-hooks-plugin"]["setup"].calls == 1
    assert hub.plugin_hooks.times["connhub-hooks-plugin"]["on_instance_saved"].calls == 2


def test_a_retry_of_nothing_and_of_a_type_gone_say_so(make_hub, tmp_path):
    hub, folder = flaky(make_hub, tmp_path, "raise")
    record = hub.instances.create("flaky", "first", {"folder": str(folder)})
    hub.plugin_hooks.wait(10)
    other = make_hub(EXAMPLE)  # the same data folder, a registry without the flaky plugin
    assert other.plugin_hooks.retry(record.id) == "the type 'flaky' is not installed or not enabled"
    assert other.plugin_hooks.retry("no-such-id") is None



def test_hooks_still_running_at_quit_are_cancelled_and_recorded(make_hub, tmp_path):
    """close() lets running hooks finish within their timeout, then cancels the rest, recording each."""
    hub, folder = flaky(make_hub, tmp_path, "hang", timeout=1.5)
    first, second, third = (hub.instances.create("flaky", name, {"folder": str(folder)})
                            for name in ("first", "second", "third"))
    started = time.perf_counter()
    hub.close()  # first times out at 1.5 s; second starts then and is cut at 2.5 s; third never started
    assert time.perf_counter() - started < 6
    errors = {r.name: hub.plugin_hooks.failure(r.id).error for r in (first, second, third)}
    assert errors.pop("first") == "timed out after 1.5 s"
    assert errors.pop("second") == "cancelled when connhub quit"
    # third waited behind second; a cancel landing as second lets go may find it just started
    assert errors.pop("third") in ("cancelled when connhub quit, before it ran", "cancelled when connhub quit")
    assert [r.name for r in hub.instances.list()] == ["first", "second", "third"]  # every save kept
