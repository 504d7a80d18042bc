"""The window's organising features on real widgets: workspaces, environments (and the typed confirmation
before a production connection is deleted), tags, sort, the context menu, F2 rename, the duplicate warning,
"ask every time" secrets, the type search, a keyboard-only create → test → save, the theme, and accessible
names on every control."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QWidget,
)

from connhub.gui.editor.instance_dialog import InstanceDialog
from connhub.gui.editor.secret_prompt import SecretPrompt
from connhub.gui.editor.type_picker import TypePicker
from connhub.gui.settings.dialog import SettingsDialog
from connhub.gui.theme import apply_theme, saved_theme
from tests.gui.helpers import settle
from tests.gui.test_main_window import activate, click_row, rows, set_text, wait_dialog
from tests.support.services import free_port, require_binary, require_service

REDIS = ("127.0.0.1", 6379)


@pytest.fixture
def window(make_window):
    window = make_window()
    hub = window.hub
    hub.instances.create("postgres", "Orders", {"host": "db.prod.example", "port": 5432, "database": "orders",
                                      "user": "app"}, environment="prod", tags=["billing"])
    hub.instances.create("redis", "Sessions", {"host": "cache.dev.example", "port": 6379}, environment="dev",
               tags=["web"])
    hub.instances.create("redis", "Queue", {"host": "queue.staging.example", "port": 6379}, environment="staging")
    window.reload()
    return window


def run(qloop, qtbot, coro, timeout=10_000):
    task = qloop.create_task(coro)
    qtbot.waitUntil(task.done, timeout=timeout)
    return task.result()


# --- filter and sort ----------------------------------------------------------------------------------

def test_filter_matches_tags_environments_and_hosts(qtbot, window):
    for text, expected in (("billing", ["Orders"]), ("prod", ["Orders"]), ("staging", ["Queue"]),
                           ("cache.dev", ["Sessions"]), ("redis web", ["Sessions"])):
        window.search.setText(text)
        assert rows(window) == expected, text


def test_sort_by_type_status_and_last_test(qtbot, qloop, window):
    hub = window.hub
    run(qloop, qtbot, hub.prober.test_instance(hub.instances.find("Queue"), timeout=2))  # unresolvable host: failing
    window.reload()
    assert rows(window) == ["Orders", "Queue", "Sessions"]
    window.sort_box.setCurrentIndex(window.sort_box.findData("type"))
    assert rows(window) == ["Orders", "Queue", "Sessions"]  # postgres, then the two redis by name
    window.sort_box.setCurrentIndex(window.sort_box.findData("status"))
    assert rows(window)[0] == "Queue"  # failing first
    window.sort_box.setCurrentIndex(window.sort_box.findData("tested"))
    assert rows(window)[0] == "Queue"  # the only one tested, newest first


# --- environments -------------------------------------------------------------------------------------

def test_a_production_connection_must_be_named_to_be_deleted(qtbot, qloop, window):
    click_row(qtbot, window, "Orders")
    task = qloop.create_task(window.delete(window.selected()))
    dialog = wait_dialog(qtbot, window, QInputDialog)
    assert dialog.objectName() == "confirmProdDelete" and "Type “Orders”" in dialog.labelText()
    dialog.setTextValue("orders")  # close is not enough
    dialog.accept()
    qtbot.waitUntil(task.done)
    assert task.result() is False and "Orders" in rows(window)

    task = qloop.create_task(window.delete(window.selected()))
    dialog = wait_dialog(qtbot, window, QInputDialog)
    dialog.setTextValue("Orders")
    dialog.accept()
    qtbot.waitUntil(task.done)
    assert task.result() is True and "Orders" not in rows(window)
    assert [r.name for r in window.hub.instances.list()] == ["Queue", "Sessions"]


def test_a_non_production_delete_asks_yes_or_no_for_several_at_once(qtbot, qloop, window):
    window.list_view.selectAll()
    window.list_view.selectionModel().select(
        window.proxy.index(rows(window).index("Orders"), 0),
        window.list_view.selectionModel().SelectionFlag.Deselect)
    assert [r.name for r in window.selected_records()] == ["Queue", "Sessions"]
    task = qloop.create_task(window.delete_many(window.selected_records()))
    box = wait_dialog(qtbot, window, QMessageBox)
    assert "these 2 connections" in box.text() and "Queue" in box.text() and "Sessions" in box.text()
    box.done(QMessageBox.StandardButton.Yes)
    qtbot.waitUntil(task.done)
    assert task.result() is True and rows(window) == ["Orders"]


def test_context_menu_sets_the_environment_and_offers_every_action(qtbot, qloop, window):
    click_row(qtbot, window, "Queue")
    menu = window.context_menu()
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts[:6] == ["Test", "Test selected", "Edit…", "Rename", "Duplicate", "Copy address"]
    assert "Delete…" in texts and "Environment" in texts
    environments = menu.findChild(type(menu), "environmentMenu")
    production = next(a for a in environments.actions() if a.text() == "Production")
    production.trigger()
    settle(qtbot, qloop)
    assert window.hub.instances.find("Queue").environment == "prod"
    assert window.selected().environment == "prod"
    menu.close()


def test_copy_as_puts_each_form_on_the_clipboard_without_the_password(qtbot, window):
    """Copy as… offers what the type's registry entry can write (its URL styles, then its client's command
    line); each entry copies that form, the password never, and the command names where psql reads it."""
    from PySide6.QtWidgets import QApplication

    canary = "Canary-Copy-5e2f"
    window.hub.instances.create("postgres", "Billing", {"host": "db.prod.example", "port": 5432,
                                                        "database": "orders", "user": "app", "password": canary})
    window.reload()
    click_row(qtbot, window, "Billing")
    menu = window.context_menu()
    copy_as = menu.findChild(type(menu), "copyAsMenu")
    assert [a.data() for a in copy_as.actions()] == window.hub.types.connection_forms("postgres")
    copied = {}
    for act in copy_as.actions():
        act.trigger()
        copied[act.data()] = QApplication.clipboard().text()
        assert "Copied Billing as" in window.statusBar().currentMessage()
    assert copied["url"] == "postgres://app@db.prod.example:5432/orders"
    assert copied["jdbc"] == "jdbc:postgresql://db.prod.example:5432/orders?user=app"
    assert copied["command"] == "psql 'host=db.prod.example port=5432 dbname=orders user=app'  # password: $PGPASSWORD"
    assert not any(canary in text for text in copied.values())
    menu.close()


def test_rows_draw_the_environment_stripe(qtbot, window):
    """The production row has a red stripe at its left edge; a row without an environment has none."""
    window.hub.instances.create("redis", "Plain", {"host": "plain.example", "port": 6379})
    window.reload()
    image = window.list_view.viewport().grab().toImage()

    def left_edge(name):
        rect = window.list_view.visualRect(window.proxy.index(rows(window).index(name), 0))
        return image.pixelColor(QPoint(rect.left() + 1, rect.center().y()))

    assert left_edge("Orders").red() > 180 and left_edge("Orders").green() < 80
    assert left_edge("Plain") != left_edge("Orders")


# --- rename -------------------------------------------------------------------------------------------

def test_f2_renames_in_place(qtbot, qloop, window):
    activate(qtbot, window)
    click_row(qtbot, window, "Sessions")
    window.list_view.setFocus()
    qtbot.keyClick(window.list_view, Qt.Key.Key_F2)
    editor = window.list_view.findChild(QLineEdit)
    qtbot.waitUntil(lambda: editor is not None and editor.isVisible() or bool(
        window.list_view.findChild(QLineEdit)))
    editor = next(e for e in window.list_view.findChildren(QLineEdit) if e.isVisible())
    assert editor.text() == "Sessions"
    editor.selectAll()
    qtbot.keyClicks(editor, "Web sessions")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Web sessions" in rows(window))
    settle(qtbot, qloop)
    assert window.hub.instances.find("Web sessions").environment == "dev"  # the same instance, renamed
    assert window.selected().name == "Web sessions"


def test_renaming_to_a_taken_name_is_refused(qtbot, qloop, window):
    from PySide6.QtWidgets import QMessageBox

    record = window.hub.instances.find("Queue")
    assert run(qloop, qtbot, window.rename(record.id, "Orders")) is None
    shown = [box.text() for box in window.findChildren(QMessageBox, "errorBox") if box.isVisible()]
    assert len(shown) == 1 and "already exists" in shown[0]
    assert sorted(rows(window)) == ["Orders", "Queue", "Sessions"]


# --- workspaces ---------------------------------------------------------------------------------------

def test_workspaces_switch_the_list_and_keep_names_apart(qtbot, qloop, window):
    assert run(qloop, qtbot, window.new_workspace("Client X")) == "Client X"
    assert rows(window) == [] and window.windowTitle() == "connhub — Client X"
    assert window.workspace_box.currentText() == "Client X"
    window.hub.instances.create("redis", "Orders", {"host": "other.example", "port": 6379})  # the same name, allowed here
    window.reload()
    assert rows(window) == ["Orders"]
    index = window.workspace_box.findData("default")
    window.workspace_box.setCurrentIndex(index)
    window.workspace_box.activated.emit(index)
    qtbot.waitUntil(lambda: window.windowTitle() == "connhub")
    settle(qtbot, qloop)
    assert rows(window) == ["Orders", "Queue", "Sessions"]
    assert window.hub.instances.find("Orders").type == "postgres"
    items = [window.workspace_box.itemText(i) for i in range(window.workspace_box.count())]
    assert items[:2] == ["Client X", "default"] and items[-1] == "New workspace…"


def test_the_last_workspace_is_reopened(qtbot, qloop, make_window, tmp_path):
    first = make_window()
    run(qloop, qtbot, first.new_workspace("ops"))
    second = make_window(data_dir=tmp_path / "data")
    assert second.hub.instances.workspace == "ops" and second.windowTitle() == "connhub — ops"


# --- duplicate warning --------------------------------------------------------------------------------

def open_new(qtbot, qloop, window, type_name):
    task = qloop.create_task(window.create_flow(type_name))
    return task, wait_dialog(qtbot, window, InstanceDialog)


def fill_sessions_lookalike(qtbot, dialog):
    qtbot.keyClicks(dialog.name_edit, "Sessions again")
    set_text(qtbot, dialog.form.field_widget("host"), "CACHE.dev.example")


def test_saving_a_lookalike_warns_and_can_open_the_existing_one(qtbot, qloop, window):
    task, dialog = open_new(qtbot, qloop, window, "redis")
    fill_sessions_lookalike(qtbot, dialog)
    dialog.start_save()
    box = wait_for_box(qtbot, dialog, "duplicateWarning")
    assert "“Sessions” already connects to redis://cache.dev.example:6379/0" in box.text()
    assert box.defaultButton().text() == "Back to the form"  # Enter does not save the duplicate
    next(b for b in box.buttons() if b.text() == "Open “Sessions”").click()
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, InstanceDialog) and window.active_dialog is not dialog
                    and window.active_dialog.isVisible())
    edit = window.active_dialog
    assert edit.record.name == "Sessions"  # the existing one, open for editing
    edit.reject()
    qtbot.waitUntil(task.done)
    assert sorted(r.name for r in window.hub.instances.list()) == ["Orders", "Queue", "Sessions"]


def test_save_anyway_keeps_the_lookalike(qtbot, qloop, window):
    task, dialog = open_new(qtbot, qloop, window, "redis")
    fill_sessions_lookalike(qtbot, dialog)
    dialog.start_save()
    box = wait_for_box(qtbot, dialog, "duplicateWarning")
    next(b for b in box.buttons() if b.text() == "Save anyway").click()
    qtbot.waitUntil(task.done)
    assert task.result().name == "Sessions again"


def wait_for_box(qtbot, parent: QWidget, name: str) -> QMessageBox:
    qtbot.waitUntil(lambda: any(b.isVisible() for b in parent.findChildren(QMessageBox, name)))
    return next(b for b in parent.findChildren(QMessageBox, name) if b.isVisible())


# --- "ask every time" ---------------------------------------------------------------------------------

def test_ask_every_time_prompts_once_per_session_and_never_saves(qtbot, qloop, make_window, memory_keyring,
                                                                  tmp_path):
    require_binary("redis-server", "redis-server")
    from tests.support.servers import throwaway_redis

    with throwaway_redis(free_port(), "--requirepass", "per-session-pw") as server:
        window = make_window()
        task, dialog = open_new(qtbot, qloop, window, "redis")
        qtbot.keyClicks(dialog.name_edit, "Guarded")
        set_text(qtbot, dialog.form.field_widget("host"), server.host)
        set_text(qtbot, dialog.form.field_widget("port"), str(server.port))
        qtbot.keyClicks(dialog.form.field_widget("password"), "per-session-pw")
        dialog.ask_every_time.setChecked(True)
        dialog.start_save()
        qtbot.waitUntil(task.done)
        saved = task.result()
        assert saved.secret_mode == "session" and memory_keyring.entries == {}

        window.hub.secrets._session.clear()  # as after a restart: the secret is gone with the process
        click_row(qtbot, window, "Guarded")
        test = qloop.create_task(window.test(window.selected()))
        prompt = wait_dialog(qtbot, window, SecretPrompt)
        prompt.accept()  # empty: refused in place
        assert prompt.isVisible() and "Enter Password" in prompt.error.text()
        qtbot.keyClicks(prompt.edits["password"], "per-session-pw")
        qtbot.keyClick(prompt.edits["password"], Qt.Key.Key_Return)  # OK is the default button
        qtbot.waitUntil(test.done, timeout=10_000)
        assert test.result().ok, test.result().message
        # Known for the rest of the session: a second test asks nothing.
        again = qloop.create_task(window.test(window.selected()))
        qtbot.waitUntil(again.done, timeout=10_000)
        assert again.result().ok and memory_keyring.entries == {}


# --- type search, keyboard only -----------------------------------------------------------------------

def test_type_search_narrows_the_sidebar(qtbot, window):
    window.type_search.setText("post")
    model = window.types_view.model()
    names = []
    for group in range(model.rowCount()):
        parent = model.index(group, 0)
        names += [model.index(r, 0, parent).data() for r in range(model.rowCount(parent))]
    assert names == ["PostgreSQL"]


def test_tab_goes_from_the_list_to_the_detail_pane_and_on_to_the_toolbar(qtbot, qloop, make_window):
    """The detail pane is built after the first paint; Tab still reaches it straight from the list."""
    window = make_window()
    window.hub.instances.create("redis", "Cache", {"host": "127.0.0.1", "port": 6379})
    window.reload()
    activate(qtbot, window)
    click_row(qtbot, window, "Cache")
    order = []
    for _ in range(7):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        order.append(QApplication.focusWidget())
    detail = window.detail
    assert order[:4] == [detail.test_button, detail.edit_button, detail.duplicate_button, detail.delete_button]
    assert window.workspace_box in order[4:]


def test_keyboard_only_create_test_and_save(qtbot, qloop, make_window):
    require_service("Redis", *REDIS)
    window = make_window()
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    picker = wait_dialog(qtbot, window, TypePicker)
    qtbot.keyClicks(picker.search, "redis")
    qtbot.keyClick(picker.search, Qt.Key.Key_Return)
    dialog = wait_dialog(qtbot, window, InstanceDialog)
    assert dialog.name_edit.hasFocus()
    qtbot.keyClicks(dialog.name_edit, "Keyboard cache")
    # Tab moves through the form in reading order: Paste URL, then the host.
    focused = []
    for _ in range(3):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focused.append(QApplication.focusWidget())
    assert dialog.form.field_widget("host").line_edit in focused
    set_text(qtbot, dialog.form.field_widget("host"), REDIS[0])
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: "Connected" in dialog.test_panel.headline.text(), timeout=10_000)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)  # Save is the default button
    qtbot.waitUntil(lambda: window.active_dialog is None, timeout=10_000)
    settle(qtbot, qloop)
    assert rows(window) == ["Keyboard cache"]


# --- theme --------------------------------------------------------------------------------------------

def test_dark_theme_is_chosen_in_settings_and_applied(qtbot, qloop, make_window):
    app = QApplication.instance()
    before = app.palette()
    window = make_window()
    try:
        dialog = SettingsDialog(5.0, "/tmp/x", None, window, hub=window.hub)
        qtbot.addWidget(dialog)
        dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
        task = qloop.create_task(dialog.save())
        qtbot.waitUntil(task.done)
        assert task.result() is True and saved_theme() == "dark"
        assert app.palette().color(QPalette.ColorRole.Window).lightness() < 60
        assert app.palette().color(QPalette.ColorRole.WindowText).lightness() > 200
        apply_theme(app, "light")
        assert app.palette().color(QPalette.ColorRole.Window).lightness() > 180
    finally:
        app.setPalette(before)


def test_the_light_palette_is_fusions_own(qapp):
    """theme.LIGHT spells Fusion's standard palette out (start-up does not ask the style for it): every role of
    every colour group must match what Fusion itself gives, or a Qt update changed it."""
    from PySide6.QtWidgets import QStyleFactory

    from connhub.gui.theme import light_palette

    fusion, ours = QStyleFactory.create("Fusion").standardPalette(), light_palette()
    roles = [r for name, r in QPalette.ColorRole.__members__.items() if name not in ("NoRole", "NColorRoles")]
    differing = [(group.name, role.name, ours.color(group, role).name(QColor.NameFormat.HexArgb),
                  fusion.color(group, role).name(QColor.NameFormat.HexArgb))
                 for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive, QPalette.ColorGroup.Disabled)
                 for role in roles if ours.color(group, role).rgba() != fusion.color(group, role).rgba()]
    assert differing == []


# --- accessibility ------------------------------------------------------------------------------------

def unnamed_controls(root: QWidget) -> list[str]:
    """Focusable controls a screen reader could not name: no accessible name, no text, no buddy label."""
    from PySide6.QtWidgets import QLabel

    buddies = {label.buddy() for label in root.findChildren(QLabel) if label.buddy() is not None}
    missing = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or widget.focusPolicy() == Qt.FocusPolicy.NoFocus:
            continue
        if not isinstance(widget, (QLineEdit, QComboBox, QAbstractButton)) and \
                type(widget).__name__ not in ("QListView", "QTreeView", "QPlainTextEdit", "QSpinBox",
                                              "QDoubleSpinBox", "QTableView"):
            continue
        if isinstance(widget, QLineEdit) and isinstance(widget.parent(), (QComboBox, QAbstractSpinBox)):
            continue  # the inner editor of a named combo or spin box
        text = widget.text() if isinstance(widget, QAbstractButton) else ""
        if not (widget.accessibleName() or text or widget in buddies or widget.toolTip()):
            missing.append(f"{type(widget).__name__} {widget.objectName()!r}")
    return missing


def test_every_control_has_an_accessible_name(qtbot, qloop, window):
    assert unnamed_controls(window) == []
    for type_name in ("postgres", "http", "ssh"):
        dialog = InstanceDialog(window.hub, window.hub.types.entry(type_name), parent=window)
        qtbot.addWidget(dialog)
        dialog.show()
        assert unnamed_controls(dialog) == [], type_name
        dialog.reject()
    settings = SettingsDialog(5.0, "/tmp/x", None, window, hub=window.hub, app_types=window.hub.app_config.types(),
                              app_settings={})
    qtbot.addWidget(settings)
    settings.show()
    assert unnamed_controls(settings) == []
    settings.reject()


def test_test_all_leaves_out_connections_that_ask_for_their_secrets(qtbot, qloop, make_window):
    """A batch asks no questions: an "ask every time" connection without its secret this session is skipped
    (and said so), not recorded as failing for a missing password."""
    window = make_window()
    hub = window.hub
    asking = hub.instances.create("redis", "Asks", {"host": "127.0.0.1", "port": free_port(), "password": "pw"},
                        secret_mode="session")
    hub.secrets._session.clear()  # as after a restart
    hub.instances.create("redis", "Plain", {"host": "127.0.0.1", "port": free_port()})
    window.reload()
    task = window.test_all.test_all()
    qtbot.waitUntil(task.done, timeout=15_000)
    settle(qtbot, qloop)
    assert window.test_all.skipped == ["Asks"] and "1 skipped" in window.statusBar().currentMessage()
    assert hub.instances.find("Asks").status == "untested" and hub.prober.history(asking.id) == []
    assert hub.instances.find("Plain").status == "failing"
