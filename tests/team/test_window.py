"""The window follows the catalog: a change made through the CLI (SQLite, polled) or by another member
(PostgreSQL, NOTIFY) appears without F5, keeping the selection and scroll position; an edit changed elsewhere
meanwhile is reported on save with both versions, and nothing is lost."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from connhub.gui.editor.instance_dialog import InstanceDialog
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.gui.helpers import settle
from tests.support.keyrings import MemoryKeyring

REGISTRY = Registry.discover(plugins=False)
REDIS = {"host": "127.0.0.1", "port": 6379}


def names(window):
    return [r.name for r in window.model.records()]


def test_a_change_made_through_the_cli_appears_in_the_open_window_keeping_selection_and_scroll(
        qtbot, qloop, make_window, tmp_path):
    data_dir = tmp_path / "data"
    window = make_window(data_dir=data_dir)
    for n in range(60):
        window.hub.instances.create("redis", f"cache-{n:02}", dict(REDIS))
    window.reload()
    window.select(window.hub.instances.find("cache-40").id)
    bar = window.list_view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.setValue(bar.maximum() // 2)
    scrolled = bar.value()

    env = {**os.environ, "CONNHUB_DATA_DIR": str(data_dir), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    env.pop("CONNHUB_DB_URL", None)
    done = subprocess.run([sys.executable, "-m", "connhub", "add", "redis", "cache-from-cli", "--set",
                           "host=127.0.0.1", "--no-prompt"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: "cache-from-cli" in names(window), timeout=5000)  # no F5
    assert window.selected().name == "cache-40" and bar.value() == scrolled
    settle(qtbot, qloop)


def test_a_member_s_change_on_postgresql_appears_and_an_edit_conflict_shows_both_versions(
        qtbot, qloop, make_window, tmp_path, catalog, monkeypatch):
    url, _catalog_id, _ = catalog
    db_url = url.replace("postgresql://", "postgresql+psycopg://")
    monkeypatch.setenv("CONNHUB_DB_URL", db_url)  # member A's window on the team catalog
    window = make_window(data_dir=tmp_path / "a")
    other = Hub(data_dir=tmp_path / "b", db_url=db_url, registry=REGISTRY, vault=KeyringVault(backend=MemoryKeyring()))
    try:
        record = other.instances.create("redis", "edited-by-two", dict(REDIS))
        qtbot.waitUntil(lambda: "edited-by-two" in names(window), timeout=5000)

        task = qloop.create_task(window.edit_flow(window.hub.instances.find("edited-by-two")))
        qtbot.waitUntil(lambda: isinstance(window.active_dialog, InstanceDialog) and window.active_dialog.isVisible())
        dialog = window.active_dialog
        edit = dialog.form.field_widget("host").line_edit  # the text box beside "TCP host / Unix socket"
        edit.selectAll()
        qtbot.keyClicks(edit, "10.0.0.1")
        other.instances.update(record.id, {**REDIS, "host": "10.0.0.2"}, expected_updated_at=record.updated_at)
        qtbot.waitUntil(lambda: window.model.records()[0].config["host"] == "10.0.0.2", timeout=5000)
        assert edit.text() == "10.0.0.1"  # the reload left the edit in progress alone

        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: _error_box(dialog) is not None, timeout=10_000)
        text = _error_box(dialog).text()
        assert "changed elsewhere" in text and "theirs 10.0.0.2, yours 10.0.0.1" in text
        assert other.instances.find("edited-by-two").config["host"] == "10.0.0.2"  # no lost update
        _error_box(dialog).accept()
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)  # told, saved knowingly
        qtbot.waitUntil(task.done, timeout=10_000)
        assert other.instances.find("edited-by-two").config["host"] == "10.0.0.1"
    finally:
        window.live_refresh and window.live_refresh.stop()
        other.close()
        settle(qtbot, qloop)


def _error_box(dialog):
    boxes = [b for b in dialog.findChildren(QMessageBox) if b.objectName() == "errorBox" and b.isVisible()]
    return boxes[0] if boxes else None


def test_settings_team_page_joins_shows_both_ends_and_leaves(qtbot, qloop, make_window, tmp_path, bao, catalog):
    from connhub.gui.settings.dialog import SettingsDialog
    from connhub.services.team import TeamConfig, owner

    url, catalog_id, _ = catalog
    window = make_window(data_dir=tmp_path / "data")
    task = qloop.create_task(window.settings_flow())
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, SettingsDialog) and window.active_dialog.isVisible())
    settings = window.active_dialog
    qtbot.mouseClick(settings.team_button, Qt.MouseButton.LeftButton)
    page = settings.team_page
    qtbot.waitUntil(page.refreshing.done)
    assert page.status_label.text().startswith("Not in a team") and not page.leave_button.isEnabled()

    page.db_url.setText(url)
    page.openbao_addr.setText(f"{bao.addr}")
    page.token.setText("not-a-token")
    qtbot.mouseClick(page.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _error_box(page) is not None, timeout=15_000)
    assert "refused the token" in _error_box(page).text() and "not-a-token" not in _error_box(page).text()
    _error_box(page).accept()
    assert TeamConfig.load(tmp_path / "data") is None  # nothing switched

    token = bao.member_token(catalog_id)
    page.token.setText(token)
    qtbot.mouseClick(page.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Joined" in page.status_label.text(), timeout=15_000)
    text = page.status_label.text()
    assert text.count("— answers") == 2 and token not in text and page.token.text() == ""
    assert TeamConfig.load(tmp_path / "data").openbao_addr == bao.addr
    assert window.hub.vault.fetch(owner(tmp_path / "data"), ["openbao-token"]) == {"openbao-token": token}  # the keyring only

    qtbot.mouseClick(page.leave_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Left" in page.status_label.text(), timeout=15_000)
    assert TeamConfig.load(tmp_path / "data") is None and window.hub.vault.fetch(owner(tmp_path / "data"), ["openbao-token"]) == {}
    page.close()
    settings.reject()
    qtbot.waitUntil(task.done)
    settle(qtbot, qloop)


def test_the_catalog_server_gone_mid_session_is_said_and_the_window_follows_again_when_it_is_back(
        qtbot, qloop, make_window, tmp_path, catalog, monkeypatch):
    from tests.support.openbao import Outage

    url, _catalog_id, _ = catalog
    relay = Outage("127.0.0.1", 5432)
    via_relay = url.replace("postgresql://", "postgresql+psycopg://").replace(":5432/", f":{relay.port}/")
    monkeypatch.setenv("CONNHUB_DB_URL", via_relay)
    other = Hub(data_dir=tmp_path / "b", db_url=url.replace("postgresql://", "postgresql+psycopg://"),
                registry=REGISTRY, vault=KeyringVault(backend=MemoryKeyring()))
    try:
        window = make_window(data_dir=tmp_path / "a")
        before = names(window)
        relay.down()
        qtbot.keyClick(window, Qt.Key.Key_F5)
        qtbot.waitUntil(lambda: _error_box(window) is not None, timeout=15_000)
        assert _error_box(window).windowTitle() == "Not reloaded" and "does not answer" in _error_box(window).text()
        assert names(window) == before  # the list is kept as it was
        _error_box(window).accept()
        other.instances.create("redis", "made-while-away", dict(REDIS))
        relay.up()  # the feed reconnects and reloads: what changed meanwhile shows without F5
        qtbot.waitUntil(lambda: "made-while-away" in names(window), timeout=10_000)
    finally:
        other.close()
        relay.close()
        settle(qtbot, qloop)


def test_a_workflow_saved_elsewhere_appears_in_the_open_workflows_window(qtbot, qloop, make_window, tmp_path):
    from connhub.gui.shell.menus import open_workflows

    window = make_window(data_dir=tmp_path / "data")
    flows = open_workflows(window)
    qtbot.waitUntil(lambda: flows.isVisible())
    other = Hub(data_dir=tmp_path / "data", registry=REGISTRY, vault=KeyringVault(backend=MemoryKeyring()))
    try:
        other.workflows.save("name: from-elsewhere\nsteps:\n  - {id: a, instance: shop, action: query, "
                             "params: {sql: \"select 1\"}}\n", check=False)
        qtbot.waitUntil(lambda: "from-elsewhere" in flows.infos, timeout=5000)
    finally:
        other.close()
        flows.close()
        settle(qtbot, qloop)
