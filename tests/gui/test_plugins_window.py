"""The example plugin, pip-installed, through the window: its type in the sidebar and the detail pane, its
postgres action in the Actions tab marked with its plugin and run from there, a failed hook shown with Retry,
Settings → Plugins switching it off for the next start, and its instances kept as "type missing" once it is
uninstalled."""

# ruff: noqa: F811
from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QLabel

from connhub.gui.actions.panel import ActionsPanel
from connhub.gui.instances.plugin_hook import PluginHookFact
from connhub.gui.settings.dialog import SettingsDialog
from connhub.plugins.registry import Registry
from tests.gui.test_main_window import click, click_row, settle, wait_dialog

# The plugin installs of tests/plugins/conftest.py, as fixtures here too (F811: pytest passes them by name).
from tests.plugins.conftest import EXAMPLE, example_site, on_path, pip_install, pip_uninstall  # noqa: F401
from tests.support.services import require_service

PLUGIN = "connhub-plugin-example"


@pytest.fixture
def plugin_window(make_window):
    """plugin_window() → a shown MainWindow on a Hub that discovers the plugins on sys.path now."""
    return lambda: make_window(registry=Registry.discover())


def actions_panel(window) -> ActionsPanel:
    return window.detail.findChild(ActionsPanel)


def test_its_type_and_its_action_show_in_the_window(qtbot, qloop, on_path, example_site, plugin_window,
                                                    tmp_path):
    on_path(example_site)
    window = plugin_window()
    assert "kvstore" in {s.type for s in window.hub.registry.summaries()}
    store = tmp_path / "store"
    store.mkdir()
    window.hub.instances.create("kvstore", "notes", {"folder": str(store)})
    window.hub.instances.create("postgres", "pg", {"host": "127.0.0.1", "database": "test", "user": "root"})
    window.reload()
    click_row(qtbot, window, "notes")
    qtbot.waitUntil(lambda: "Key-value file store" in window.detail.title.text())
    click_row(qtbot, window, "pg")
    panel = actions_panel(window)
    qtbot.waitUntil(lambda: panel.list.count() > 0)
    titles = [panel.list.item(i).text() for i in range(panel.list.count())]
    assert "Database size" in titles
    panel.select_action("database_size")
    assert panel.description.text().endswith(f"From plugin {PLUGIN}.")
    panel.select_action("query")
    assert "From plugin" not in panel.description.text()
    settle(qtbot, qloop)


def test_a_failed_hook_shows_in_the_detail_pane_and_retry_clears_it(qtbot, qloop, on_path, example_site,
                                                                     plugin_window, tmp_path):
    on_path(example_site)
    window = plugin_window()
    folder = tmp_path / "flaky"
    folder.mkdir()
    (folder / "mode").write_text("raise")
    record = window.hub.instances.create("flaky", "first", {"folder": str(folder)})
    window.reload()
    click_row(qtbot, window, "first")
    fact = window.detail.findChild(PluginHookFact)
    qtbot.waitUntil(lambda: fact.isVisible(), timeout=10_000)  # told by the hook thread once it is recorded
    assert fact.text.text().startswith("⚠ on_instance_saved of connhub-hooks-plugin failed: RuntimeError: the "
                                       "provider refused \x1b[31mfirst")  # plain text, as the plugin wrote it
    assert window.hub.instances.get(record.id).name == "first"
    (folder / "mode").write_text("")
    click(qtbot, fact.retry_button)
    qtbot.waitUntil(lambda: not fact.isVisible(), timeout=10_000)
    assert window.hub.plugin_hooks.failure(record.id) is None
    settle(qtbot, qloop)


def test_settings_plugins_lists_it_and_switches_it_off_for_the_next_start(qtbot, qloop, on_path,
                                                                           example_site, plugin_window, tmp_path):
    on_path(example_site)
    window = plugin_window()
    task = qloop.create_task(window.settings_flow())
    dialog = wait_dialog(qtbot, window, SettingsDialog)
    page = dialog.plugins
    assert set(page.switches) == {PLUGIN, "connhub-hooks-plugin"}
    switch = page.switches[PLUGIN]
    assert switch.text() == f"{PLUGIN} 1.0.0" and switch.isChecked()
    texts = [label.text() for label in page.findChildren(QLabel)]
    assert "ok · adds kvstore, postgres.database_size · hooks: no hook called yet" in texts
    switch.setChecked(False)
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(task.done, timeout=5000)
    assert json.loads((tmp_path / "data" / "plugins.json").read_text()) == {"disabled": [PLUGIN]}

    from connhub.plugins.catalog import disabled_plugins

    restarted = Registry.discover(disabled=disabled_plugins(tmp_path / "data"))  # what the next start finds
    assert restarted.get("kvstore").disabled
    assert "database_size" not in [a.name for a in restarted.get("postgres").manifest.actions]
    settle(qtbot, qloop)


def test_uninstalled_its_instances_stay_listed_as_type_missing(qtbot, qloop, on_path, plugin_window, tmp_path):
    site = on_path(pip_install([EXAMPLE], tmp_path / "site-packages", tmp_path))
    window = plugin_window()
    store = tmp_path / "store"
    store.mkdir()
    record = window.hub.instances.create("kvstore", "notes", {"folder": str(store)}, tags=["kept"])
    window.hub.plugin_hooks.wait(10)
    pip_uninstall(PLUGIN, site)
    from tests.plugins.conftest import forget_plugin_modules

    forget_plugin_modules()
    again = plugin_window()  # the next start
    assert "kvstore" not in again.hub.registry
    click_row(qtbot, again, "notes")
    qtbot.waitUntil(lambda: "type missing" in again.detail.title.text())
    assert again.hub.instances.get(record.id).config == {"folder": str(store)}
    assert again.hub.instances.get(record.id).tags == ["kept"]
    settle(qtbot, qloop)


def test_its_postgres_action_runs_from_the_actions_tab(qtbot, qloop, on_path, example_site, plugin_window):
    require_service("PostgreSQL", "127.0.0.1", 5432)
    on_path(example_site)
    window = plugin_window()
    window.hub.instances.create("postgres", "pg", {"host": "127.0.0.1", "database": "test", "user": "root"})
    window.reload()
    click_row(qtbot, window, "pg")
    panel = actions_panel(window)
    qtbot.waitUntil(lambda: panel.list.count() > 0)
    panel.select_action("database_size")
    click(qtbot, panel.run_button)
    qtbot.waitUntil(lambda: panel.status.text().startswith(("✔", "✖")), timeout=15_000)
    assert panel.status.text().startswith("✔ Done in"), panel.status.text()
    assert '"database": "test"' in panel.result_view.text.toPlainText()
    qtbot.waitUntil(lambda: panel.history.count() == 1)  # logged like any action
    settle(qtbot, qloop)
