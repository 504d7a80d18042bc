"""What a new user tripped over in the window (issue 22): the count of rows shown, natural order remembered
across restarts, Test all off with nothing to test, View → Reload (F5), File → Quit (Ctrl+Q), Help → About,
and the keyring by the name people know it."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from connhub.core.records import VaultStatus
from tests.gui.helpers import settle
from tests.gui.test_main_window import rows


def make_named(hub, *names):
    for name in names:
        hub.instances.create("redis", name, {"host": "redis.example", "port": 6379})


def test_the_status_bar_counts_the_rows_shown_of_all(qtbot, qloop, make_window):
    window = make_window()
    assert window.count_label.text() == "0 connections"
    make_named(window.hub, "cache-1", "cache-2", "queue")
    window.reload()
    assert window.count_label.text() == "3 connections"
    window.search.setText("cache")
    assert window.count_label.text() == "2 of 3 connections"
    window.search.setText("nothing matches this")
    assert window.count_label.text() == "0 of 3 connections"
    window.search.clear()
    assert window.count_label.text() == "3 connections"


def test_names_sort_naturally_and_the_chosen_order_survives_a_restart(qtbot, qloop, make_window, tmp_path):
    window = make_window(data_dir=tmp_path / "d")
    make_named(window.hub, "cache-10", "Cache-2", "cache-1", "db")
    window.hub.instances.create("postgres", "analytics", {"host": "db.example", "port": 5432, "database": "a",
                                                          "user": "u"})
    window.reload()
    assert rows(window) == ["analytics", "cache-1", "Cache-2", "cache-10", "db"]  # not cache-1, cache-10, Cache-2
    window.sort_box.setCurrentIndex(window.sort_box.findData("type"))
    assert rows(window)[0] == "analytics"  # postgres before redis
    window.close()
    again = make_window(data_dir=tmp_path / "d")
    assert again.sort_box.currentData() == "type"
    assert rows(again) == ["analytics", "cache-1", "Cache-2", "cache-10", "db"]


def test_test_all_is_off_until_there_is_something_to_test(qtbot, qloop, make_window):
    window = make_window()
    settle(qtbot, qloop)
    assert not window.test_all.all_action.isEnabled()
    make_named(window.hub, "cache")
    window.reload()
    assert window.test_all.all_action.isEnabled()


def test_f5_shows_what_the_cli_changed(qtbot, qloop, make_window, tmp_path):
    from connhub.services.hub import Hub

    window = make_window(data_dir=tmp_path / "d")
    settle(qtbot, qloop)
    assert window.reload_action.shortcut() == QKeySequence("F5")
    other = Hub(data_dir=tmp_path / "d", vault=window.hub.vault)  # another process, as `connhub add` is
    try:
        other.instances.create("redis", "added-elsewhere", {"host": "redis.example", "port": 6379})
    finally:
        other.close()
    assert rows(window) == []
    window.reload_action.trigger()
    qtbot.waitUntil(lambda: rows(window) == ["added-elsewhere"])
    assert "Reloaded: 1 connection" in window.statusBar().currentMessage()


def test_quit_closes_the_window_and_the_app_even_with_the_tray(qtbot, qloop, make_window, monkeypatch):
    from connhub.gui.shell import menus

    quits = []
    monkeypatch.setattr(menus.QApplication, "quit", lambda: quits.append(True))
    window = make_window()
    settle(qtbot, qloop)
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.quit_action in window.menuBar().actions()[0].menu().actions()  # in File
    window.quit_action.trigger()
    assert quits == [True] and not window.isVisible()
    if window.monitoring is not None:
        assert window.monitoring.quitting  # not hidden in the tray


def test_about_says_what_a_bug_report_needs_and_never_the_catalog_url(qtbot, qloop, make_window, monkeypatch):
    from connhub import __version__

    window = make_window()
    settle(qtbot, qloop)
    window.hub.db_url = "postgresql://app:canary-Pw-4417@db.example/catalog"  # as a team catalog would be
    window.about_action.trigger()
    dialog = window.about_dialog
    facts = dict(dialog.facts)
    assert facts["Version"] == __version__ and facts["Licence"] == "MIT"
    assert facts["Data folder"] == str(window._first.data_dir)
    assert facts["Keyring"] == window.vault_status.title
    assert facts["Catalog"] == "a shared database (CONNHUB_DB_URL)"
    assert "canary-Pw-4417" not in dialog.text.text() and "db.example" not in dialog.text.text()
    window.hub.db_url = None
    dialog.close()


def test_the_keyring_is_named_as_people_know_it():
    assert VaultStatus(True, "keyring.backends.SecretService.Keyring").title == \
        "Secret Service (GNOME Keyring, KWallet…)"
    assert VaultStatus(True, "keyring.backends.macOS.Keyring").title == "macOS Keychain"
    assert VaultStatus(True, "tests.support.MemoryKeyring").title == "MemoryKeyring"  # unknown: the class
    assert VaultStatus(True, "some.plugin.Keyring").title == "plugin"


def test_the_window_shows_the_human_keyring_name_with_the_class_in_the_tooltip(qtbot, qloop, make_window):
    window = make_window()
    settle(qtbot, qloop)
    assert window.keyring_label.text() == f"Keyring: {window.vault_status.title}"
    assert window.keyring_label.toolTip() == window.vault_status.backend


# --- the form: a test's result is kept, a failed one is not saved silently ----------------------------

def open_new_redis(qtbot, qloop, window, host, port):
    from connhub.gui.editor.instance_dialog import InstanceDialog
    from tests.gui.test_main_window import set_text

    dialog = InstanceDialog(window.hub, window.hub.types.entry("redis"), parent=window)
    # closed at teardown without the "Discard changes?" question (tested on its own below)
    qtbot.addWidget(dialog, before_close_func=lambda d: setattr(d, "_discard_confirmed", True))
    dialog.show()
    dialog.name_edit.setText("cache")
    set_text(qtbot, dialog.form.field_widget("host"), host)
    set_text(qtbot, dialog.form.field_widget("port"), str(port))
    return dialog


def test_a_failed_form_test_asks_before_saving_and_back_saves_nothing(qtbot, qloop, make_window):
    from PySide6.QtWidgets import QMessageBox

    from tests.support.services import free_port

    window = make_window()
    settle(qtbot, qloop)
    dialog = open_new_redis(qtbot, qloop, window, "127.0.0.1", free_port())  # nothing listens: refused
    test = qloop.create_task(dialog.run_test())
    qtbot.waitUntil(test.done, timeout=10_000)
    assert not test.result().ok
    save = qloop.create_task(dialog.save())
    qtbot.waitUntil(lambda: dialog.findChild(QMessageBox, "failedTestWarning") is not None)
    box = dialog.findChild(QMessageBox, "failedTestWarning")
    assert test.result().message in box.text() and "Save anyway?" in box.text()
    next(b for b in box.buttons() if b.text() == "Back to the form").click()
    qtbot.waitUntil(save.done)
    assert save.result() is None and window.hub.instances.list() == []  # nothing saved, the form still open
    assert dialog.isVisible()

    save = qloop.create_task(dialog.save())  # then Save anyway: saved, the failed test its first history line
    qtbot.waitUntil(lambda: dialog.findChild(QMessageBox, "failedTestWarning") is not None)
    next(b for b in dialog.findChild(QMessageBox, "failedTestWarning").buttons() if b.text() == "Save anyway").click()
    qtbot.waitUntil(save.done, timeout=5000)
    saved = save.result()
    assert saved.status == "failing" and [r.ok for r in window.hub.prober.history(saved.id)] == [False]


def test_a_test_of_other_values_than_those_saved_is_not_kept(qtbot, qloop, make_window):
    from tests.gui.test_main_window import set_text
    from tests.support.services import free_port

    window = make_window()
    settle(qtbot, qloop)
    dialog = open_new_redis(qtbot, qloop, window, "127.0.0.1", free_port())
    test = qloop.create_task(dialog.run_test())
    qtbot.waitUntil(test.done, timeout=10_000)
    set_text(qtbot, dialog.form.field_widget("port"), "6390")  # changed after the test: no question, no history
    save = qloop.create_task(dialog.save())
    qtbot.waitUntil(save.done, timeout=5000)
    saved = save.result()
    assert saved.status == "untested" and window.hub.prober.history(saved.id) == []


def test_esc_on_unsaved_changes_asks_and_keep_editing_loses_nothing(qtbot, qloop, make_window):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    from connhub.gui.editor.instance_dialog import InstanceDialog

    window = make_window()
    settle(qtbot, qloop)
    untouched = InstanceDialog(window.hub, window.hub.types.entry("redis"), parent=window)
    qtbot.addWidget(untouched)
    untouched.show()
    qtbot.keyClick(untouched, Qt.Key.Key_Escape)
    assert not untouched.isVisible()  # nothing typed: Esc closes at once

    dialog = open_new_redis(qtbot, qloop, window, "cache.example", 6380)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: dialog.findChild(QMessageBox, "discardChanges") is not None)
    box = dialog.findChild(QMessageBox, "discardChanges")
    assert box.defaultButton().text() == "Keep editing"
    box.defaultButton().click()
    qtbot.waitUntil(lambda: dialog.findChild(QMessageBox, "discardChanges") is None or
                    not dialog.findChild(QMessageBox, "discardChanges").isVisible())
    settle(qtbot, qloop)
    assert dialog.isVisible() and dialog.form.field_widget("host").text() == "cache.example"
    assert dialog.name_edit.text() == "cache"

    dialog.reject()  # the title bar's close does the same
    qtbot.waitUntil(lambda: any(b.text() == "Discard changes" and b.isVisible()
                                for box in dialog.findChildren(QMessageBox) for b in box.buttons()))
    box = next(box for box in dialog.findChildren(QMessageBox) if box.isVisible())
    next(b for b in box.buttons() if b.text() == "Discard changes").click()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert window.hub.instances.list() == []


def test_the_field_that_made_the_test_fail_is_marked_and_gets_the_cursor(qtbot, qloop, make_window):
    from tests.gui.test_main_window import set_text
    from tests.support.services import free_port

    window = make_window()
    settle(qtbot, qloop)
    dialog = open_new_redis(qtbot, qloop, window, "127.0.0.1", free_port())  # refused: the port is wrong
    test = qloop.create_task(dialog.run_test())
    qtbot.waitUntil(test.done, timeout=10_000)
    assert test.result().error_class.value == "refused"
    assert dialog.form.error_text("port") == "Connection refused: check this value"
    assert dialog.form.field_widget("port").hasFocus() and dialog.form.error_text("host") == ""

    set_text(qtbot, dialog.form.field_widget("host"), "no-such-host.invalid")  # editing clears the mark
    assert dialog.form.error_text("port") == ""
    test = qloop.create_task(dialog.run_test())
    qtbot.waitUntil(test.done, timeout=10_000)
    assert test.result().error_class.value == "dns"
    assert dialog.form.error_text("host") == "Host name not found: check this value"
    assert dialog.form.field_widget("host").hasFocus()


def test_blamed_fields_exist_in_every_type_that_has_them():
    """Every candidate names a real field of its type, so a renamed field cannot silently stop the marking."""
    from connhub.core.errors import ErrorClass
    from connhub.core.fields import all_specs
    from connhub.plugins.registry import Registry
    from connhub.services.runner import fields_to_blame

    registry = Registry.discover(plugins=False)
    for summary in registry.summaries():
        entry = registry.get(summary.type)
        keys = {spec.key for spec in all_specs(entry.specs)}
        for error_class in ErrorClass:
            assert set(fields_to_blame(error_class, entry.specs)) <= keys
        if {"host", "port"} <= keys:
            assert fields_to_blame(ErrorClass.REFUSED, entry.specs)[0] == "port"
            assert fields_to_blame(ErrorClass.DNS, entry.specs)[0] == "host"


def test_toolbar_actions_have_icons_in_the_themes_colour_and_drop_their_text_when_narrow(qtbot, qloop, make_window):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QIcon, QPalette
    from PySide6.QtWidgets import QApplication, QToolBar

    window = make_window()
    toolbar = window.findChild(QToolBar, "mainToolbar")
    buttons = [a for a in toolbar.actions() if not a.isSeparator() and a.text()]
    assert buttons and all(not a.icon().isNull() for a in buttons), [a.text() for a in buttons if a.icon().isNull()]
    ink = QApplication.palette().color(QPalette.ColorRole.ButtonText)
    image = window.new_action.icon().pixmap(24, 24).toImage()
    drawn = {image.pixelColor(x, y).rgb() for x in range(24) for y in range(24) if image.pixelColor(x, y).alpha() > 200}
    assert drawn == {ink.rgb()}, "the symbol is drawn in the palette's button text colour"
    window.delete_action.setEnabled(False)
    off = window.delete_action.icon().pixmap(24, 24, QIcon.Mode.Disabled).toImage()
    assert any(off.pixelColor(x, y).alpha() > 200 and off.pixelColor(x, y).rgb() != ink.rgb()
               for x in range(24) for y in range(24)), "a disabled action's symbol is greyed"

    window.resize(1400, 700)
    settle(qtbot, qloop)
    assert toolbar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    window.resize(700, 700)
    settle(qtbot, qloop)
    assert toolbar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly, "icons alone rather than overflow"
    assert all(a.shortcut().isEmpty() or a.shortcut().toString() in a.toolTip() for a in buttons)
    window.resize(1400, 700)
    settle(qtbot, qloop)
    assert toolbar.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon


def test_a_dialog_grows_to_its_form_and_remembers_its_size_per_type(qtbot, qloop, make_window):
    """The HTTP form is long: its dialog opens tall enough not to scroll (up to the screen); a size the user
    gives a type's dialog comes back next time, for that type only."""
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QApplication

    from tests.gui.test_instance_dialog import cancel_dialog, open_new

    window = make_window()
    task, dialog = open_new(qtbot, qloop, window, "http")
    screen = QApplication.primaryScreen().availableGeometry()
    bar = dialog._scroll.verticalScrollBar()
    assert bar.maximum() == 0 or dialog.height() >= int(screen.height() * 0.9) - 1, (dialog.height(), bar.maximum())
    assert dialog.height() > 680 or bar.maximum() == 0
    dialog.resize(QSize(700, 500))
    cancel_dialog(qtbot, task, dialog)

    task, again = open_new(qtbot, qloop, window, "http")
    assert again.size() == QSize(700, 500)
    cancel_dialog(qtbot, task, again)
    task, other = open_new(qtbot, qloop, window, "redis")
    assert other.size() != QSize(700, 500)
    cancel_dialog(qtbot, task, other)


def test_quick_connect_from_the_clipboard_and_from_a_paste_into_the_filter(qtbot, qloop, make_window):
    """Ctrl+Shift+V, or pasting a URL into the filter box, opens a new connection of the URL's type filled
    in from it (the password in its field, not in any box); other text only says what connhub reads."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from connhub.gui.editor.instance_dialog import InstanceDialog
    from tests.gui.test_instance_dialog import discard_changes
    from tests.gui.test_main_window import wait_dialog

    window = make_window()
    QApplication.clipboard().setText("jdbc:postgresql://db.example.com:6543/orders?user=app&password=Canary-q7")
    window.paste_connection_action.trigger()
    dialog = wait_dialog(qtbot, window, InstanceDialog)
    assert dialog.entry.type == "postgres"
    values = dialog.form.values()
    assert (values["host"], values["port"], values["user"], values["password"]) == \
        ("db.example.com", 6543, "app", "Canary-q7")
    assert dialog.url_edit.text() == "", "the URL is not kept in its box"
    dialog.reject()
    discard_changes(qtbot, dialog)
    qtbot.waitUntil(lambda: window.active_dialog is None or not window.active_dialog.isVisible())

    QApplication.clipboard().setText("redis://:Canary-r8@cache.example.com:6380/2")
    window.search.setFocus()
    qtbot.keyClick(window.search, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)  # a real paste
    dialog = wait_dialog(qtbot, window, InstanceDialog)
    assert dialog.entry.type == "redis" and dialog.form.values()["port"] == 6380
    assert window.search.text() == "", "the filter box does not keep a URL with a password"
    dialog.reject()
    discard_changes(qtbot, dialog)
    qtbot.waitUntil(lambda: window.active_dialog is None or not window.active_dialog.isVisible())

    QApplication.clipboard().setText("just some words")
    window.paste_connection_action.trigger()
    assert "no connection URL connhub reads" in window.statusBar().currentMessage()


def test_every_url_type_is_found_from_its_own_example(make_window):
    """Quick connect finds the type of each registry type's example URL, and of a libpq keyword string."""
    from connhub.core.urls import example_url

    hub = make_window().hub
    for entry in hub.registry.entries():
        if entry.ok and entry.manifest.url_schemes:
            assert hub.types.type_for_url(example_url(entry.manifest, entry.specs)) == entry.type, entry.type
    assert hub.types.type_for_url("host=db dbname=orders user=app") == "postgres"
    assert hub.types.type_for_url("mysql+pymysql://u@db/x") == "mysql"
    assert hub.types.type_for_url("ftp://files.example.com") is None


def test_favourites_stay_on_top_in_every_order_and_across_a_restart(qtbot, qloop, make_window, tmp_path):
    from connhub.gui.instances.models import SORTS, Roles

    data = tmp_path / "fav"
    window = make_window(data_dir=data)
    for name in ("alpha", "beta", "gamma"):
        window.hub.instances.create("redis", name, {"host": f"{name}.example", "port": 6379})
    window.reload()
    window.select(window.hub.instances.find("gamma").id)
    window.favourite_action.trigger()
    for key in SORTS:
        window.sort_by(key)
        assert rows(window)[0] == "gamma", key
    assert window.proxy.index(0, 0).data(Roles.FAVOURITE) is True
    assert window.selected().name == "gamma", "the pinned row stays selected"
    menu = window.context_menu()
    assert "Remove from favourites" in [a.text() for a in menu.actions()]
    menu.close()
    window.close()

    again = make_window(data_dir=data)
    assert rows(again)[0] == "gamma", "pins are kept in the window's settings"
    again.select(again.hub.instances.find("gamma").id)
    again.favourite_action.trigger()
    again.sort_by("name")
    assert rows(again) == ["alpha", "beta", "gamma"]


def test_names_sort_by_their_letters_whatever_the_accents():
    from connhub.gui.instances.models import natural_key

    names = ["Zoe", "émile", "Eve", "cache-10", "Édouard", "cache-2", "eric"]
    assert sorted(names, key=natural_key) == ["cache-2", "cache-10", "Édouard", "émile", "eric", "Eve", "Zoe"]
