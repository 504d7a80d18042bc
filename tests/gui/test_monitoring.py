"""Monitoring in the window: the detail pane's control, live row updates from a real server going down and
up, the tray's menu and notifications (offscreen there is no tray: its menu and texts are tested as such)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QSpinBox

from connhub.core.errors import ErrorClass
from connhub.core.results import TestResult
from connhub.gui.instances.models import Roles
from connhub.gui.shell.tray import KEEP_IN_TRAY, Tray, notification
from connhub.services.monitor import StatusChange
from connhub.storage.repository import InstanceRecord
from tests.gui.helpers import settle
from tests.support.servers import throwaway_redis
from tests.support.services import free_port, require_binary

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def change(name: str, old: str, new: str, message: str = "Connected", error: ErrorClass | None = None):
    record = InstanceRecord(name=name, type="redis", status=new, last_error_class=error.value if error else None)
    return StatusChange(record, old, new, TestResult(ok=new == "ok", message=message, error_class=error), AT)


def test_tray_menu_lists_failing_connections_then_show_setting_and_quit(qtbot):
    tray = Tray(available=False)
    assert tray.menu_texts() == ["No failing connections", "-", "Show connhub",
                                 "Keep running in the tray when the window is closed", "-", "Quit connhub"]
    records = [InstanceRecord(name="orders", type="postgres", status="failing", last_error_class="auth"),
               InstanceRecord(name="cache", type="redis", status="failing", last_error_class="refused"),
               InstanceRecord(name="api", type="http", status="ok")]
    tray.set_failing(records)
    assert tray.menu_texts()[:4] == ["Failing connections (2)", "✖ cache — Connection refused",
                                     "✖ orders — Authentication failed", "-"]
    assert not tray.menu.actions()[0].isEnabled()  # a heading, not a command
    with qtbot.waitSignal(tray.select_requested) as picked:
        tray.menu.actions()[2].trigger()
    assert picked.args == [records[0].id]
    with qtbot.waitSignal(tray.show_requested):
        next(a for a in tray.menu.actions() if a.text() == "Show connhub").trigger()
    with qtbot.waitSignal(tray.quit_requested):
        next(a for a in tray.menu.actions() if a.text() == "Quit connhub").trigger()
    tray.keep_action.setChecked(True)
    assert QSettings().value(KEEP_IN_TRAY, type=bool) is True
    assert Tray(available=False).keep_action.isChecked()  # remembered


def test_notifications_say_what_changed_and_a_first_pass_is_no_news():
    assert notification(change("cache", "untested", "ok")) is None
    assert notification(change("cache", "ok", "failing", "Nothing accepts connections on 127.0.0.1:1",
                               ErrorClass.REFUSED)) == (
        "cache is failing", "Connection refused: Nothing accepts connections on 127.0.0.1:1")
    assert notification(change("cache", "untested", "failing", "Connection refused", ErrorClass.REFUSED)) == (
        "cache is failing", "Connection refused")
    assert notification(change("cache", "failing", "ok", "Connected to Redis 7.0")) == (
        "cache works again", "Connected to Redis 7.0")


def test_the_monitor_updates_the_row_tray_and_detail_as_a_real_server_goes_down_and_up(make_window, qtbot, qloop):
    require_binary("redis-server", "redis-server")
    window = make_window()
    controller = window.monitoring
    assert not controller.running  # nothing monitored: no background task at all
    port = free_port()
    record = window.hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": port})
    window.reload()
    window.select(record.id)
    box = next(b for b in window.findChildren(QCheckBox) if b.accessibleName() == "Monitor this connection")
    spin = next(s for s in window.findChildren(QSpinBox) if s.accessibleName() == "Monitoring interval in minutes")
    assert (box.isChecked(), spin.value(), spin.isEnabled()) == (False, 15, False)

    def row_status() -> str:
        return window.model.index(window.model.row_of(record.id)).data(Roles.STATUS)

    box.click()  # turn it on: saved, due at once, tested in the background
    qtbot.waitUntil(lambda: row_status() == "failing", timeout=15_000)
    saved = window.hub.instances.find("cache")
    assert saved.monitor_enabled and saved.monitor_next_run_at is not None and controller.running
    assert "✖ cache — Connection refused" in controller.tray.menu_texts()
    assert controller.tray.last_notification[0] == "cache is failing"
    assert window.detail.status.text().startswith("✖ Connection refused")  # the selected row's pane follows

    with throwaway_redis(port):
        spin.setValue(2)  # a changed interval reschedules: due now
        qtbot.waitUntil(lambda: row_status() == "ok", timeout=15_000)
    assert window.hub.instances.find("cache").monitor_interval_min == 2
    assert controller.tray.menu_texts()[0] == "No failing connections"
    assert controller.tray.last_notification[0] == "cache works again"
    assert [(c.old, c.new) for c in controller.changes] == [("untested", "failing"), ("failing", "ok")]
    assert window.detail.status.text().startswith("✔ Working")

    box.click()  # off: the monitor finds nothing to watch and ends by itself
    qtbot.waitUntil(lambda: not controller.running, timeout=15_000)
    assert window.hub.instances.find("cache").monitor_enabled is False
    settle(qtbot, qloop)


def test_closing_the_window_hides_it_when_kept_in_the_tray(make_window, qtbot):
    window = make_window()
    controller = window.monitoring
    assert controller.hide_instead_of_close() is False  # no tray here, and the setting is off by default
    controller.tray.available = True  # as on a desktop with a tray
    controller.tray.keep_action.setChecked(True)
    window.close()
    assert window.isHidden() and controller.hide_instead_of_close()
    controller.quitting = True  # Quit from the tray's menu closes for real
    assert controller.hide_instead_of_close() is False


def test_the_tray_follows_the_rows_and_rebuilds_only_when_its_list_changes(make_window, monkeypatch):
    """A Test all changes every row two or three times: the tray menu is rebuilt when the failing set (or a
    failing row's name or error) changes, not once per row change with a pass over the whole list."""
    window = make_window()
    controller = window.monitoring
    records = [InstanceRecord(name=f"r{i}", type="redis", status="ok") for i in range(5)]
    window.model.set_records(records)
    rebuilds = []
    real = controller.tray.set_failing
    monkeypatch.setattr(controller.tray, "set_failing", lambda rs: (rebuilds.append([r.name for r in rs]), real(rs)))

    window.model.set_live([r.id for r in records], "testing")  # live state only: nothing the tray lists
    window.model.upsert(records[1])  # saved again, unchanged
    assert rebuilds == []
    failing = replace(records[3], status="failing", last_error_class="refused")
    window.model.upsert(failing)
    assert rebuilds == [["r3"]] and "✖ r3 — Connection refused" in controller.tray.menu_texts()
    window.model.upsert(replace(failing, last_error_class="auth"))
    assert controller.tray.menu_texts()[1] == "✖ r3 — Authentication failed"
    window.model.upsert(replace(failing, name="a-renamed"))  # moves to the top
    assert controller.tray.menu_texts()[1] == "✖ a-renamed — Connection refused"
    window.model.upsert(replace(failing, name="a-renamed", status="ok"))
    assert controller.tray.menu_texts()[0] == "No failing connections"
    assert len(rebuilds) == 4
    window.model.upsert(InstanceRecord(name="new", type="redis", status="failing", last_error_class="dns"))
    window.model.remove(records[0].id)
    assert controller.tray.menu_texts()[:2] == ["Failing connections (1)", "✖ new — Host name not found"]
