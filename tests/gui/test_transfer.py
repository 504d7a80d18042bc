"""Export… and Import… on real widgets: what is exported, the passphrase checks, the import preview and its
per-row decisions, and refusals that leave the catalog and the keyring as they were."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from connhub.gui.transfer.actions import (
    ExportDialog,
    ImportPlanModel,
    ImportPreviewDialog,
    PassphraseDialog,
    passphrase_strength,
)
from connhub.services.transfer import SECRET_PLACEHOLDER
from tests.gui.helpers import settle
from tests.gui.test_main_window import activate, click, click_row, rows, wait_dialog

PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def fake():
    from faker import Faker

    return Faker()


@pytest.fixture
def catalog(fake):
    """fill(window) → the secrets of three connections it adds: PostgreSQL (password), HTTP (token), Redis."""

    def fill(window):
        secrets = {"pg": fake.password(length=20), "token": fake.sha256()}
        hub = window.hub
        hub.instances.create("postgres", "Orders", {"host": "db.local", "port": 5432, "database": "orders", "user": "app",
                                          "password": secrets["pg"]}, tags=["team-a"], environment="prod")
        hub.instances.create("http", "Billing API", {"base_url": "https://billing.example/v1", "auth.method": "bearer",
                                           "auth.token": secrets["token"]})
        hub.instances.create("redis", "Cache", {"host": "cache.local", "port": 6379})
        window.reload()
        return secrets

    return fill


def keyring_items(memory_keyring, hub) -> dict[str, str]:
    ids = {r.id for r in hub.instances.list()}
    return {user: pw for user, pw in memory_keyring.secrets_of().items() if user.split(":")[0] in ids}


def table_text(model: ImportPlanModel) -> dict[str, list[str]]:
    return {model.index(r, 0).data(): [model.index(r, c).data() for c in range(1, model.columnCount())]
            for r in range(model.rowCount())}


def choose_decision(qtbot, dialog: ImportPreviewDialog, name: str, text: str) -> None:
    """Keyboard only: go to the row's Decision cell, F2, arrow to the choice, Enter."""
    model, table = dialog.model, dialog.table
    row = next(r for r in range(model.rowCount()) if model.index(r, 0).data() == name)
    index = model.index(row, ImportPlanModel.DECISION)
    table.setFocus()
    table.setCurrentIndex(index)
    qtbot.keyClick(table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: table.indexWidget(index) is not None)
    combo = table.indexWidget(index)
    assert combo.accessibleName() == f"Decision for {name}"
    target = combo.findText(text)
    assert target >= 0, [combo.itemText(i) for i in range(combo.count())]
    key = Qt.Key.Key_Down if target > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentIndex() != target:
        qtbot.keyClick(combo, key)
    qtbot.keyClick(combo, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: table.indexWidget(index) is None)
    assert index.data() == text


# --- export -----------------------------------------------------------------------------------------------

def test_export_the_selected_connection_or_all_of_them(qtbot, qloop, make_window, catalog, tmp_path):
    window = make_window()
    secrets = catalog(window)
    click_row(qtbot, window, "Cache")
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = wait_dialog(qtbot, window, ExportDialog)
    assert dialog.selected_radio.isChecked() and dialog.selected_radio.text() == "&Selected connection (1)"
    assert dialog.all_radio.text() == "&All connections (3)"
    assert dialog.plain_radio.isChecked() and not dialog.passphrase_box.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # Cancel: nothing asked, nothing written
    qtbot.waitUntil(lambda: window.active_dialog is None)
    settle(qtbot, qloop)

    one, every = tmp_path / "one.json", tmp_path / "all.json"
    asked = []
    window.transfer.choose_export_path = lambda parent, suggested: asked.append(suggested) or str(one)
    task = qloop.create_task(window.transfer.export_flow())
    dialog = wait_dialog(qtbot, window, ExportDialog)
    click(qtbot, dialog.export_button)
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() == one and asked == ["connhub-export.json"]
    assert [i["name"] for i in json.loads(one.read_text())["instances"]] == ["Cache"]
    assert "Exported 1 connection to one.json" in window.statusBar().currentMessage()

    window.transfer.choose_export_path = lambda parent, suggested: str(every)
    task = qloop.create_task(window.transfer.export_flow())
    dialog = wait_dialog(qtbot, window, ExportDialog)
    dialog.all_radio.setFocus()
    qtbot.keyClick(dialog.all_radio, Qt.Key.Key_Space)
    assert dialog.all_radio.isChecked()
    click(qtbot, dialog.export_button)
    qtbot.waitUntil(task.done, timeout=10_000)
    text = every.read_text()
    document = json.loads(text)
    assert sorted(i["name"] for i in document["instances"]) == ["Billing API", "Cache", "Orders"]
    orders = next(i for i in document["instances"] if i["name"] == "Orders")
    assert orders["secrets"] == {"password": SECRET_PLACEHOLDER}
    assert all(secret not in text for secret in secrets.values())


def test_the_passphrase_is_checked_before_a_bundle_is_written(qtbot, qloop, make_window, catalog, tmp_path):
    window = make_window()
    secrets = catalog(window)
    path = tmp_path / "bundle.json"
    window.transfer.choose_export_path = lambda parent, suggested: str(path)
    task = qloop.create_task(window.transfer.export_flow())
    dialog = wait_dialog(qtbot, window, ExportDialog)
    assert not dialog.selected_radio.isEnabled() and dialog.all_radio.isChecked()  # nothing selected
    dialog.encrypted_radio.setFocus()
    qtbot.keyClick(dialog.encrypted_radio, Qt.Key.Key_Space)
    assert dialog.passphrase_box.isEnabled()
    # Labels are bound to their fields: Alt+P reaches the passphrase.
    qtbot.keyClick(dialog, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(dialog.passphrase.hasFocus)

    qtbot.keyClicks(dialog.passphrase, "short")
    assert dialog.strength.text().startswith("Too short")
    click(qtbot, dialog.export_button)
    assert dialog.isVisible() and dialog.error.text() == "The passphrase must have at least 8 characters."
    dialog.passphrase.clear()
    qtbot.keyClicks(dialog.passphrase, PASSPHRASE)
    assert dialog.strength.text() == "Strong."
    qtbot.keyClicks(dialog.confirm, PASSPHRASE + "!")
    click(qtbot, dialog.export_button)
    assert dialog.isVisible() and "differ" in dialog.error.text() and not path.exists()
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Backspace)
    qtbot.keyClick(dialog.confirm, Qt.Key.Key_Return)
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() == path
    text = path.read_text()
    assert json.loads(text)["format"] == "connhub-bundle"
    assert all(secret not in text for secret in secrets.values())


def test_passphrase_strength_hints():
    assert passphrase_strength("")[0] == "empty"
    assert passphrase_strength("abc")[0] == "short"
    assert passphrase_strength("aaaaaaaaaaaa")[0] == "weak"  # long, but one repeated letter
    assert passphrase_strength("password")[0] == "weak"
    assert passphrase_strength("Tr0ub4dor")[0] == "fair"
    assert passphrase_strength(PASSPHRASE)[0] == "strong"


# --- import -------------------------------------------------------------------------------------------------

def test_an_encrypted_bundle_round_trip_refuses_a_wrong_passphrase_first(qtbot, qloop, make_window, catalog,
                                                                        tmp_path, memory_keyring):
    source = make_window()
    secrets = catalog(source)
    bundle = tmp_path / "bundle.json"


    bundle.write_text(source.hub.transfer.export_bundle(source.hub.instances.list(), PASSPHRASE))
    target = make_window(data_dir=tmp_path / "target")
    target.hub.instances.create("redis", "Existing", {"host": "h", "port": 6379, "password": "kept"})
    target.reload()
    items = keyring_items(memory_keyring, target.hub)
    target.transfer.choose_import_path = lambda parent: str(bundle)

    task = qloop.create_task(target.transfer.import_flow())
    asking = wait_dialog(qtbot, target, PassphraseDialog)
    qtbot.waitUntil(asking.passphrase.hasFocus)
    qtbot.keyClicks(asking.passphrase, "not the passphrase")
    qtbot.keyClick(asking.passphrase, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: asking.error.isVisibleTo(asking), timeout=10_000)
    assert asking.error.text().startswith("Wrong passphrase, or the bundle was changed")
    assert asking.isVisible() and target.active_dialog is asking
    assert [r.name for r in target.hub.instances.list()] == ["Existing"]
    assert keyring_items(memory_keyring, target.hub) == items

    asking.passphrase.selectAll()
    qtbot.keyClicks(asking.passphrase, PASSPHRASE)
    click(qtbot, asking.ok_button)
    preview = wait_dialog(qtbot, target, ImportPreviewDialog)
    assert {name: cells[1] for name, cells in table_text(preview.model).items()} == {
        "Orders": "New", "Billing API": "New", "Cache": "New"}
    assert not preview.apply_all_button.isEnabled()  # nothing matches
    assert [r.name for r in target.hub.instances.list()] == ["Existing"]  # still nothing written
    click(qtbot, preview.import_button)
    summary = wait_dialog(qtbot, target, QMessageBox)
    assert "3 created, 0 overwritten, 0 skipped." in summary.text() and "needs" not in summary.text()
    click(qtbot, summary.button(QMessageBox.StandardButton.Ok))
    qtbot.waitUntil(task.done, timeout=10_000)
    assert sorted(task.result().created) == ["Billing API", "Cache", "Orders"]
    assert rows(target) == ["Billing API", "Cache", "Existing", "Orders"]  # the list was reloaded
    hub = target.hub
    assert hub.secrets.known(hub.instances.find("Orders")) == {"password": secrets["pg"]}
    assert hub.secrets.known(hub.instances.find("Billing API")) == {"auth.token": secrets["token"]}


def test_the_preview_shows_matches_and_applies_each_rows_decision(qtbot, qloop, make_window, catalog, tmp_path,
                                                                 memory_keyring):
    source = make_window()
    catalog(source)
    export = tmp_path / "export.json"
    export.write_text(source.hub.transfer.export_plain(source.hub.instances.list()))
    target = make_window(data_dir=tmp_path / "target")
    hub = target.hub
    hub.instances.create("postgres", "Orders", {"host": "old.local", "port": 5432, "database": "orders", "user": "app",
                                      "password": "old-password"})
    hub.instances.create("redis", "Cache", {"host": "old-cache", "port": 6379})
    hub.instances.create("redis", "Billing API", {"host": "h", "port": 6379})  # same name, another type
    target.reload()
    target.transfer.choose_import_path = lambda parent: str(export)

    def before_import():
        return sorted((r.name, r.config.get("host")) for r in hub.instances.list())

    untouched = before_import()
    task = qloop.create_task(target.transfer.import_flow())
    preview = wait_dialog(qtbot, target, ImportPreviewDialog)
    cells = table_text(preview.model)
    assert cells["Orders"][:3] == ["postgres", "Same name and type exists", "Skip"]
    assert cells["Cache"][:3] == ["redis", "Same name and type exists", "Skip"]
    assert cells["Billing API"][:3] == ["http", "New", "Import"]
    assert cells["Billing API"][3] == "Will be added as “Billing API (imported)”; needs a token before it can be tested"
    assert cells["Orders"][3] == "Will be skipped: one with the same name and type is saved"  # nothing done yet

    # "Apply to all": keep both for every match; then Orders, alone, is overwritten.
    preview.all_choice.setCurrentIndex(preview.all_choice.findText("Keep both"))
    click(qtbot, preview.apply_all_button)
    cells = table_text(preview.model)
    assert cells["Cache"][2:] == ["Keep both", "Will be added as “Cache (imported)”"]
    assert cells["Orders"][2] == "Keep both"
    choose_decision(qtbot, preview, "Orders", "Overwrite")
    cells = table_text(preview.model)
    assert cells["Orders"][2:] == ["Overwrite", "Will replace the saved one"]  # its saved password stays
    assert before_import() == untouched  # nothing written before Import

    click(qtbot, preview.import_button)
    summary = wait_dialog(qtbot, target, QMessageBox)
    assert "1 created" not in summary.text() and "2 created, 1 overwritten, 0 skipped." in summary.text()
    assert "“Billing API (imported)” needs a token before it can be tested." in summary.text()
    click(qtbot, summary.button(QMessageBox.StandardButton.Ok))
    qtbot.waitUntil(task.done, timeout=10_000)
    assert rows(target) == ["Billing API", "Billing API (imported)", "Cache", "Cache (imported)", "Orders"]
    orders = hub.instances.find("Orders")
    assert orders.config["host"] == "db.local" and orders.environment == "prod"
    assert hub.secrets.known(orders) == {"password": "old-password"}
    assert hub.instances.find("Cache").config["host"] == "old-cache" and hub.instances.find("Cache (imported)").config["host"] == \
        "cache.local"
    assert hub.instances.find("Billing API (imported)").secret_fields == []


def test_cancel_or_a_bad_file_writes_nothing(qtbot, qloop, make_window, catalog, tmp_path, memory_keyring):
    source = make_window()
    catalog(source)
    export = tmp_path / "export.json"
    export.write_text(source.hub.transfer.export_plain(source.hub.instances.list()))
    target = make_window(data_dir=tmp_path / "target")
    target.transfer.choose_import_path = lambda parent: str(export)
    task = qloop.create_task(target.transfer.import_flow())
    preview = wait_dialog(qtbot, target, ImportPreviewDialog)
    qtbot.keyClick(preview, Qt.Key.Key_Escape)
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() is None and target.hub.instances.list() == []

    broken = tmp_path / "broken.json"
    broken.write_text(export.read_text()[:-30])
    target.transfer.choose_import_path = lambda parent: str(broken)
    task = qloop.create_task(target.transfer.import_flow())
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() is None
    box = target.findChild(QMessageBox, "errorBox")
    assert box is not None and "broken.json: not a connhub export: invalid JSON" in box.text()
    box.close()
    assert target.hub.instances.list() == [] and keyring_items(memory_keyring, target.hub) == {}
    assert rows(target) == []


def test_a_keyring_refusing_during_import_is_said_in_the_preview_and_nothing_is_kept(
        qtbot, qloop, make_window, catalog, tmp_path):

    from tests.support.keyrings import FullAfterKeyring

    source = make_window()
    catalog(source)
    bundle = tmp_path / "bundle.json"
    bundle.write_text(source.hub.transfer.export_bundle(source.hub.instances.list(), PASSPHRASE))
    full = FullAfterKeyring(room=1)  # takes one secret, refuses the next
    target = make_window(data_dir=tmp_path / "target", backend=full)
    target.transfer.choose_import_path = lambda parent: str(bundle)
    task = qloop.create_task(target.transfer.import_flow())
    asking = wait_dialog(qtbot, target, PassphraseDialog)
    qtbot.keyClicks(asking.passphrase, PASSPHRASE)
    qtbot.keyClick(asking.passphrase, Qt.Key.Key_Return)
    preview = wait_dialog(qtbot, target, ImportPreviewDialog)
    click(qtbot, preview.import_button)
    qtbot.waitUntil(lambda: preview.error.isVisibleTo(preview), timeout=10_000)
    assert preview.error.text().startswith("Not imported: ")
    assert preview.isVisible() and preview.import_button.isEnabled()  # the user can cancel, or retry
    assert target.hub.instances.list() == [] and full.secrets_of() == {}
    click(qtbot, preview.buttons.button(preview.buttons.StandardButton.Cancel))
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result() is None and rows(target) == []


def test_file_dialogs_open_in_documents_then_the_folder_used_last(qtbot, tmp_path, monkeypatch):
    from pathlib import Path

    from PySide6.QtCore import QStandardPaths

    from connhub.gui.transfer import actions

    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    assert actions.start_folder() == (documents or str(Path.home()))
    assert actions.start_folder() != str(Path.cwd()) or Path.cwd() == Path(documents)
    used = tmp_path / "exports"
    used.mkdir()
    monkeypatch.setattr(actions.QFileDialog, "getSaveFileName",
                        lambda parent, title, start, filters: (str(used / "mine.json"), filters))
    assert actions._default_export_path(None, "connhub-export.json") == str(used / "mine.json")
    assert actions.start_folder() == str(used)  # the next dialog opens where the last file went
    used.rmdir()
    assert actions.start_folder() == (documents or str(Path.home()))  # gone since: documents again
