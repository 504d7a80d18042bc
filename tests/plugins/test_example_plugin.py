"""The example plugin (examples/connhub-plugin-example), pip-installed, driven through the CLI: discovered,
its hooks called, its PostgreSQL action run, disabled, uninstalled (its instances kept, shown as "type
missing") and reinstalled (back as they were); start-up with it installed imports none of its code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from connhub.testing import canary_leaks
from tests.plugins.conftest import EXAMPLE, forget_plugin_modules, pip_install, pip_uninstall
from tests.support.services import require_service

PLUGIN = "connhub-plugin-example"


def plugins_json(cli, data) -> dict[str, dict]:
    code, out, err = cli(data, "plugins", "--json")
    assert code == 0, err
    return {row["name"]: row for row in json.loads(out)}


def test_connhub_plugins_lists_the_plugin_with_what_it_adds(cli, on_path, example_site, tmp_path):
    on_path(example_site)
    row = plugins_json(cli, tmp_path / "data")[PLUGIN]
    assert {k: row[k] for k in ("version", "distribution", "status", "disabled", "types", "actions")} == {
        "version": "1.0.0", "distribution": PLUGIN, "status": "ok", "disabled": False, "types": ["kvstore"],
        "actions": ["postgres.database_size"]}
    code, out, _ = cli(tmp_path / "data", "plugins")
    assert code == 0
    assert f"{PLUGIN} 1.0.0  ok\n  types:   kvstore\n  actions: postgres.database_size\n" \
           "  hooks:   no hook called yet\n" in out


def test_its_type_is_saved_and_its_hooks_run_from_the_command_line(cli, on_path, example_site, tmp_path):
    on_path(example_site)
    data, store = tmp_path / "data", tmp_path / "store"
    store.mkdir()
    code, _, err = cli(data, "add", "kvstore", "notes", "--set", f"folder={store}", "--no-prompt")
    assert code == 0, err
    note = json.loads((store / "connhub-instance.json").read_text())  # written by its hook before exit
    assert note["name"] == "notes"
    code, out, err = cli(data, "test", "notes")
    assert code == 0, out + err
    (store / "a-key").write_text("1")
    code, out, err = cli(data, "run", "notes", "list_keys", "--json")
    assert code == 0, err
    assert json.loads(out)["result"] == {"keys": ["a-key"]}
    code, _, err = cli(data, "remove", "notes")
    assert code == 0, err
    assert not (store / "connhub-instance.json").exists()
    hooks = [json.loads(line)["hook"] for line in (data / "plugins" / "kvstore" / "hooks.jsonl").read_text()
             .splitlines()]
    # each command is a process of its own: setup and teardown around each command's hook
    assert hooks == ["setup", "on_instance_saved", "teardown", "setup", "on_test_finished", "teardown",
                     "setup", "on_instance_deleted", "teardown"]
    row = plugins_json(cli, data)[PLUGIN]
    assert row["hooks"]["on_instance_saved"]["calls"] == 1 and row["hook_ms"] > 0


def test_its_action_on_the_builtin_postgres_runs_and_says_whose_it_is(cli, on_path, example_site, tmp_path):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    on_path(example_site)
    data = tmp_path / "data"
    code, out, _ = cli(data, "actions", "postgres")
    assert code == 0
    line = next(row for row in out.splitlines() if row.startswith("database_size"))
    assert line.endswith("Database size  (from plugin connhub-plugin-example)")
    code, out, _ = cli(data, "actions", "postgres", "--json")
    sources = {a["name"]: a["source"] for a in json.loads(out)["actions"]}
    assert sources["database_size"] == f"plugin {PLUGIN}" and sources["query"] == "built-in"
    code, _, err = cli(data, "add", "postgres", "pg", "--set", "host=127.0.0.1", "--set", "database=test",
                       "--set", "user=root", "--no-prompt")
    assert code == 0, err
    code, out, err = cli(data, "run", "pg", "database_size", "--json")
    assert code == 0, out + err
    result = json.loads(out)["result"]
    assert result["database"] == "test" and result["bytes"] > 0 and result["pretty"]


def test_disabling_it_takes_its_type_and_action_away_and_enabling_brings_them_back(cli, on_path, example_site,
                                                                                  tmp_path):
    on_path(example_site)
    data, store = tmp_path / "data", tmp_path / "store"
    store.mkdir()
    assert cli(data, "add", "kvstore", "notes", "--set", f"folder={store}", "--no-prompt").returncode == 0
    code, out, _ = cli(data, "plugins", "disable", PLUGIN)
    assert code == 0 and out.startswith(f"disabled {PLUGIN}")
    assert json.loads((data / "plugins.json").read_text()) == {"disabled": [PLUGIN]}
    row = plugins_json(cli, data)[PLUGIN]
    assert (row["status"], row["disabled"], row["actions"]) == ("disabled by user", True, [])
    types = {t["type"]: t for t in json.loads(cli(data, "types", "--json").stdout)}
    assert not types["kvstore"]["ok"] and "disabled by user" in types["kvstore"]["error"]
    assert "database_size" not in cli(data, "actions", "postgres").stdout
    code, _, err = cli(data, "run", "notes", "list_keys")
    assert code == 2 and "disabled" in err
    code, out, _ = cli(data, "show", "notes")
    assert code == 0 and f"type status   type disabled: plugin {PLUGIN} is disabled by user" in out

    assert cli(data, "plugins", "enable", PLUGIN).returncode == 0
    assert plugins_json(cli, data)[PLUGIN]["status"] == "ok"
    assert cli(data, "run", "notes", "list_keys").returncode == 0
    code, _, err = cli(data, "plugins", "disable", "connhub-nothing")
    assert code == 2 and "no installed plugin is named 'connhub-nothing'" in err


def test_uninstalling_keeps_its_instances_shown_as_type_missing_and_reinstalling_brings_them_back(
        cli, on_path, tmp_path):
    site = pip_install([EXAMPLE], tmp_path / "site-packages", tmp_path)
    on_path(site)
    data, store = tmp_path / "data", tmp_path / "store"
    store.mkdir()
    code, _, err = cli(data, "add", "kvstore", "notes", "--set", f"folder={store}", "--tag", "kept", "--no-prompt")
    assert code == 0, err
    before = json.loads(cli(data, "show", "notes", "--json").stdout)

    pip_uninstall(PLUGIN, site)
    forget_plugin_modules()
    assert not (site / "connhub_kvstore").exists()
    assert PLUGIN not in plugins_json(cli, data)
    code, out, _ = cli(data, "list")
    assert code == 0 and "notes" in out and "kvstore" in out
    code, out, _ = cli(data, "show", "notes")
    assert code == 0 and "type status   type missing: its plugin is not installed" in out
    shown = json.loads(cli(data, "show", "notes", "--json").stdout)
    assert {k: shown[k] for k in ("id", "config", "tags")} == {k: before[k] for k in ("id", "config", "tags")}

    pip_install([EXAMPLE], site, tmp_path / "again")
    forget_plugin_modules()
    shown = json.loads(cli(data, "show", "notes", "--json").stdout)
    assert shown["type_status"] == "ok" and shown["config"] == before["config"]
    assert cli(data, "test", "notes").returncode == 0


def test_a_failed_hook_is_shown_by_show_said_after_the_command_and_retried(cli, on_path, example_site, tmp_path):
    on_path(example_site)
    data, folder = tmp_path / "data", tmp_path / "flaky"
    folder.mkdir()
    (folder / "mode").write_text("raise")
    canary = "tok-canary-91d2e6"  # the hook's error quotes the instance's config: never a secret of it
    code, out, err = cli(data, "add", "flaky", "first", "--set", f"folder={folder}", "--secret-env",
                         "token=FLAKY_TOKEN", "--no-prompt", env={"FLAKY_TOKEN": canary, "PYTHON_KEYRING_BACKEND":
                                                                "tests.support.keyrings.MemoryKeyring"})
    assert code == 0, err  # the save is done: a hook's failure is a warning, not the command's failure
    outputs = [out, err]
    assert "connhub: warning: on_instance_saved of connhub-hooks-plugin failed: RuntimeError: the provider " \
           "refused \\x1b[31mfirst\\x1b[0m" in err  # the plugin's text, escaped for the terminal
    assert "Retry with `connhub plugins retry " in err
    code, out, _ = cli(data, "show", "first")
    assert "plugin hook   on_instance_saved of connhub-hooks-plugin failed: RuntimeError" in out
    assert "retry: connhub plugins retry first" in out
    assert "\x1b" not in out
    shown = json.loads(cli(data, "show", "first", "--json").stdout)["plugin_hook_failure"]
    assert (shown["hook"], shown["plugin"]) == ("on_instance_saved", "connhub-hooks-plugin")
    outputs += [out, cli(data, "show", "first", "--json").stdout, cli(data, "plugins", "--json").stdout,
                cli(data, "plugins").stdout]
    assert canary_leaks(canary, data, *outputs) == []

    listed = plugins_json(cli, data)["connhub-hooks-plugin"]["failed_hooks"]
    assert [(f["instance"], f["hook"]) for f in listed] == [("first", "on_instance_saved")]
    assert "  failed hook: on_instance_saved for first: RuntimeError" in cli(data, "plugins").stdout

    code, _, err = cli(data, "plugins", "retry", "first")
    assert code == 1 and "failed again: RuntimeError" in err
    (folder / "mode").write_text("")
    code, out, err = cli(data, "plugins", "retry", "first")
    assert (code, out) == (0, "on_instance_saved of connhub-hooks-plugin ran for first\n"), err
    assert json.loads(cli(data, "show", "first", "--json").stdout)["plugin_hook_failure"] is None
    code, out, _ = cli(data, "plugins", "retry", "first")
    assert (code, out) == (0, "first has no failed plugin hook to retry\n")
    code, _, err = cli(data, "plugins", "retry", "nothing-like-it")
    assert code == 2
    assert plugins_json(cli, data)["connhub-hooks-plugin"]["failed_hooks"] == []

    # A deleted instance's failed hook: nowhere to show it but `connhub plugins`, retried by its id.
    instance_id = json.loads(cli(data, "show", "first", "--json").stdout)["id"]
    (folder / "mode").write_text("raise")
    code, _, err = cli(data, "remove", "first")
    assert code == 0 and f"connhub plugins retry {instance_id}" in err
    assert cli(data, "show", "first").returncode == 2  # the delete is done
    code, out, _ = cli(data, "plugins")
    assert "failed hook: on_instance_deleted for first: RuntimeError" in out
    assert f"retry: connhub plugins retry {instance_id}" in out
    (folder / "mode").write_text("")
    code, out, err = cli(data, "plugins", "retry", instance_id)
    assert (code, out) == (0, "on_instance_deleted of connhub-hooks-plugin ran for first\n"), err
    assert plugins_json(cli, data)["connhub-hooks-plugin"]["failed_hooks"] == []


@pytest.mark.parametrize("args", [("plugins",), ("plugins", "--json")])
def test_without_plugins_the_listing_says_so(cli, tmp_path, args):
    code, out, _ = cli(tmp_path / "data", *args)
    assert code == 0
    assert out.startswith("No plugins installed") if len(args) == 1 else json.loads(out) == []


STARTUP_PROBE = r"""
import asyncio, json, sys, tempfile
from connhub.services.hub import Hub
PLUGIN_CODE = ("connhub_kvstore", "connhub_pg_extras", "connhub_flaky")
hub = Hub()
store = tempfile.mkdtemp()
for i in range(20):
    hub.instances.create("kvstore", f"kv {i}", {"folder": store})
hub.close()  # its hooks ran, teardown too
assert "connhub_kvstore" in sys.modules
for name in [m for m in sys.modules if m.startswith(PLUGIN_CODE)]:
    del sys.modules[name]  # saving imported them; start-up must not

import qasync
from PySide6.QtWidgets import QApplication
from connhub.gui.shell.main_window import MainWindow
app = QApplication(sys.argv)
loop = qasync.QEventLoop(app)
asyncio.set_event_loop(loop)
window = MainWindow(Hub())
window.show()
async def settle():
    await asyncio.sleep(0.6)
with loop:
    loop.run_until_complete(settle())
print(json.dumps({"rows": window.model.rowCount(), "kvstore": "kvstore" in window.hub.registry,
                  "plugin_modules": sorted(m for m in sys.modules if m.startswith(PLUGIN_CODE))}))
"""


def test_start_up_with_the_plugin_installed_imports_no_plugin_code(example_site, tmp_path):
    env = {**os.environ, "CONNHUB_DATA_DIR": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path),
           "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(example_site)}
    proc = subprocess.run([sys.executable, "-c", STARTUP_PROBE], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"rows": 20, "kvstore": True, "plugin_modules": []}
