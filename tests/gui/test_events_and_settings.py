"""The detail pane's events (list, payload box, Validate) and the Settings dialog's app-level (`cfg:`) sections,
on real widgets, with the synthetic `acme` type of tests/services/synthetic.py beside the built-ins."""

from __future__ import annotations

import copy
import json
import threading

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontInfo
from PySide6.QtWidgets import QApplication

from connhub.gui.editor.form import SAVED_SECRET_PLACEHOLDER
from connhub.gui.editor.instance_dialog import InstanceDialog
from connhub.gui.settings.dialog import SettingsDialog
from connhub.gui.shell.main_window import MainWindow
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import SERVICE, KeyringVault
from tests.gui.test_main_window import click, settle, wait_dialog
from tests.services.synthetic import VALID_ORDER, Recorder, make_acme

ACME = {"host": "api.acme.test", "port": 8443, "token": "tok-instance"}


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Registry:
    folder = make_acme(tmp_path_factory.mktemp("types"))
    return Registry(Registry.discover(plugins=False).entries() + Registry.from_folders([folder]).entries())


@pytest.fixture
def make_window(qtbot, qloop, tmp_path, memory_keyring, registry):
    made: list[tuple[Hub, MainWindow]] = []

    def make() -> MainWindow:
        hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=memory_keyring))
        window = MainWindow(hub)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        made.append((hub, window))
        return window

    yield make
    settle(qtbot, qloop)
    for _hub, window in made:
        if shiboken6.isValid(window):  # pytest-qt may have closed it already, after a failure
            window.close()
    settle(qtbot, qloop)
    for hub, _window in made:
        hub.close()


def show(window: MainWindow, name: str) -> None:
    window.reload()
    window.select(window.hub.instances.find(name).id)
    assert window.selected().name == name


def paste_and_validate(qtbot, events, text: str) -> None:
    events.payload.setPlainText(text)
    click(qtbot, events.validate_button)


# --- events in the detail pane ------------------------------------------------------------------------


def test_the_detail_pane_lists_the_instances_events(qtbot, make_window):
    window = make_window()
    window.hub.instances.create("acme", "shop", dict(ACME))
    window.hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379})
    detail, events = window.detail, window.detail.events

    show(window, "shop")
    assert detail.tabs.isTabVisible(1) and detail.tabs.tabText(1) == "Events (2)"
    rows = [(events.list.topLevelItem(i).text(0), events.list.topLevelItem(i).text(1))
            for i in range(events.list.topLevelItemCount())]
    assert rows == [("order.created", "An order was placed."), ("ping", "Sent once when a webhook is set up.")]
    assert events.current_event() == "order.created"  # the first one is chosen
    assert "order.created" in events.payload_label.text()
    assert QFontInfo(events.payload.font()).fixedPitch()  # monospace

    show(window, "cache")  # a type without events: no Events tab
    assert not detail.tabs.isTabVisible(1)


def test_validate_a_pasted_payload(qtbot, make_window):
    window = make_window()
    window.hub.instances.create("acme", "shop", dict(ACME))
    show(window, "shop")
    window.detail.tabs.setCurrentIndex(1)
    events = window.detail.events

    bad = copy.deepcopy(VALID_ORDER)
    bad.update(amount="12.50", extra=True, customer={"display name": "Ann"})
    paste_and_validate(qtbot, events, json.dumps(bad, indent=2))
    assert events.result.text() == "✖ Not a valid order.created payload: 3 errors"
    assert events.result.property("outcome") == "failed"
    assert events.errors.isVisibleTo(window)
    assert events.error_lines() == ["$.amount  —  expected integer, got string",
                                    "$.customer.email  —  required property is missing",
                                    "$.extra  —  unexpected property"]

    events.payload.setPlainText(json.dumps(VALID_ORDER, indent=2))
    assert events.result.text() == "" and not events.errors.isVisibleTo(window)  # an old verdict is not kept
    events.payload.setFocus()
    qtbot.keyClick(events.payload, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Enter
    assert events.result.text() == "✔ Valid order.created payload"
    assert events.result.property("outcome") == "ok" and not events.errors.isVisibleTo(window)

    # Another event of the list: its own schema.
    events.select_event("ping")
    assert "ping" in events.payload_label.text() and events.result.text() == ""
    paste_and_validate(qtbot, events, '{"zen": 42}')
    assert events.error_lines() == ["$.zen  —  expected string, got integer"]


def test_text_that_is_not_json_says_where_and_puts_the_cursor_there(qtbot, make_window):
    window = make_window()
    window.hub.instances.create("acme", "shop", dict(ACME))
    show(window, "shop")
    window.detail.tabs.setCurrentIndex(1)
    events = window.detail.events
    events.select_event("ping")

    paste_and_validate(qtbot, events, '{"zen": "x",\n  "hook_id": }')
    assert events.result.text() == "Not JSON — line 2, column 14: Expecting value"
    cursor = events.payload.textCursor()
    assert (cursor.blockNumber(), cursor.positionInBlock()) == (1, 13)
    paste_and_validate(qtbot, events, "   ")
    assert events.result.text() == "Nothing to check: paste the ping payload first."


def test_the_same_instance_shown_again_keeps_the_payload(qtbot, qloop, make_window):
    """A test or an edit re-shows the selected instance: what was pasted, and its verdict, stay."""
    window = make_window()
    window.hub.instances.create("acme", "shop", dict(ACME))
    window.hub.instances.create("acme", "shop 2", dict(ACME))
    show(window, "shop")
    events = window.detail.events
    paste_and_validate(qtbot, events, '{"zen": 1}')
    window.detail.show_record(window.hub.instances.find("shop"))
    assert events.payload.toPlainText() == '{"zen": 1}' and events.result.text().startswith("✖")
    show(window, "shop 2")  # another instance starts empty
    assert events.payload.toPlainText() == "" and events.result.text() == ""


def test_an_instance_saved_before_events_were_kept_shows_its_types_events(qtbot, make_window):
    window = make_window()
    record = window.hub.instances.create("acme", "old", dict(ACME))
    record.events = None  # as migration 0002 leaves a row of 0001
    window.hub.store.update(record)
    show(window, "old")
    assert window.detail.tabs.tabText(1) == "Events (2)"


# --- Settings: app-level sections ---------------------------------------------------------------------


def test_settings_has_a_section_per_type_with_cfg_fields_and_saves_them(qtbot, qloop, make_window, memory_keyring,
                                                                        monkeypatch):
    window = make_window()
    hub = window.hub
    memory_keyring.calls.clear()
    on_gui_thread = []
    original = hub.app_config.save

    def recording(*args, **kwargs):
        on_gui_thread.append(threading.current_thread() is threading.main_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(hub.app_config, "save", recording)
    task = qloop.create_task(window.settings_flow())
    dialog = wait_dialog(qtbot, window, SettingsDialog)
    assert memory_keyring.calls == []  # opening Settings reads no secret
    expected = [e.type for e in hub.registry.working() if any(s.app_level for s in e.specs)]
    assert list(dialog.sections) == expected and "acme" in expected and "redis" not in expected
    section = dialog.sections["acme"]
    assert section.box.title() == "Acme API"
    form = section.form
    # Only the cfg: fields, drawn by the form builder (instance fields are not there).
    for key in ("client_id", "client_secret", "proxy", "retries"):
        assert form.field_widget(key) is not None
    with pytest.raises(KeyError):
        form.field_widget("host")
    assert form.field_widget("retries").text() == "2"  # the default
    assert form.field_widget("client_secret").echoMode() == form.field_widget("client_secret").EchoMode.Password

    form.field_widget("client_id").setText("client-42")
    form.field_widget("client_secret").setText("app-s3cret")
    form.field_widget("proxy").setText("not a url")
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: form.error_text("proxy") != "")
    assert form.error_text("proxy") == "Enter a full URL starting with http:// or https://"
    assert dialog.isVisible() and on_gui_thread == []  # nothing saved

    form.field_widget("proxy").setText("http://proxy.internal:3128")
    form.field_widget("retries").setText("${env:ACME_RETRIES}")  # an integer field takes a reference
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(task.done, timeout=5000)
    assert on_gui_thread == [False]  # the keyring and the database were written off the GUI thread
    saved = hub.app_config.get("acme")
    assert saved.values == {"cfg:client_id": "client-42", "cfg:proxy": "http://proxy.internal:3128",
                            "cfg:retries": "${env:ACME_RETRIES}"}
    assert saved.secret_fields == ["cfg:client_secret"]
    assert memory_keyring.secrets_of(SERVICE) == {"app:acme:cfg:client_secret": "app-s3cret"}
    assert window.statusBar().currentMessage() == "Settings saved"
    assert hub.app_config.get("github").values == {}  # untouched sections save nothing


def test_reopened_settings_mask_the_saved_secret(qtbot, qloop, make_window, memory_keyring):
    window = make_window()
    window.hub.app_config.save("acme", {"cfg:client_id": "client-42", "cfg:client_secret": "app-s3cret"})
    memory_keyring.calls.clear()
    task = qloop.create_task(window.settings_flow())
    dialog = wait_dialog(qtbot, window, SettingsDialog)
    form = dialog.sections["acme"].form
    secret = form.field_widget("client_secret")
    assert secret.text() == "" and secret.placeholderText() == SAVED_SECRET_PLACEHOLDER
    assert form.field_widget("client_id").text() == "client-42"
    assert memory_keyring.calls == []  # masked from the database's record, never read
    assert "app-s3cret" not in json.dumps([w.text() for w in dialog.findChildren(type(secret))])

    form.field_widget("client_id").setText("client-43")  # the secret left as it is
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(task.done, timeout=5000)
    assert window.hub.app_config.get("acme").values["cfg:client_id"] == "client-43"
    assert memory_keyring.secrets_of(SERVICE) == {"app:acme:cfg:client_secret": "app-s3cret"}


def test_settings_without_a_working_keyring_stay_open_and_say_so(qtbot, qloop, make_window, monkeypatch):
    from tests.support.keyrings import LockedKeyring

    window = make_window()
    monkeypatch.setattr(window.hub.secrets, "vault", KeyringVault(backend=LockedKeyring()))
    task = qloop.create_task(window.settings_flow())
    dialog = wait_dialog(qtbot, window, SettingsDialog)
    dialog.sections["acme"].form.field_widget("client_secret").setText("app-s3cret")
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: any(box.objectName() == "errorBox" and box.isVisible()
                                for box in QApplication.topLevelWidgets()))
    box = next(b for b in QApplication.topLevelWidgets() if b.objectName() == "errorBox" and b.isVisible())
    assert "locked" in box.text() and "Acme API" in box.text()
    assert dialog.isVisible() and not task.done()
    box.close()
    dialog.reject()
    qtbot.waitUntil(task.done)
    assert window.hub.app_config.get("acme").secret_fields == []


# --- ${env:NAME} through the GUI --------------------------------------------------------------------------


def test_an_env_reference_in_an_integer_field_is_saved_and_resolved_by_the_test(qtbot, qloop, make_window,
                                                                             monkeypatch):
    monkeypatch.delenv("ACME_PORT", raising=False)
    Recorder.seen.clear()
    window = make_window()
    dialog = InstanceDialog(window.hub, window.hub.types.entry("acme"), parent=window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name_edit.setText("shop")
    dialog.form.field_widget("host").setText("api.acme.test")
    dialog.form.field_widget("port").setText("${env:ACME_PORT}")
    assert dialog.form.validate() == {}  # no "Enter a whole number"

    task = qloop.create_task(dialog.run_test())
    qtbot.waitUntil(task.done, timeout=5000)
    assert task.result().error_class == "config"
    assert "ACME_PORT" in dialog.test_panel.headline.text()

    monkeypatch.setenv("ACME_PORT", "9443")
    task = qloop.create_task(dialog.run_test())
    qtbot.waitUntil(task.done, timeout=5000)
    assert task.result().ok and Recorder.seen[-1][0]["port"] == 9443

    task = qloop.create_task(dialog.save())
    qtbot.waitUntil(task.done, timeout=5000)
    assert window.hub.instances.find("shop").config["port"] == "${env:ACME_PORT}"  # saved as written
