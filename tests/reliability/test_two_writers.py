"""Two writers on one SQLite database: a real MainWindow (in this process) and `connhub` CLI processes at once.

Different instances and the same one: no "database is locked" reaches the user, no exception, no lost
update — the window's edits and the CLI's test results, additions and removals are all in the final state —
and an edit made from a stale editor is never silently lost: the user is told and decides.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from connhub.gui.editor.instance_dialog import InstanceDialog
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.repository import InstanceNotFound
from connhub.storage.vault import KeyringVault
from tests.gui.helpers import settle
from tests.gui.test_instance_dialog import discard_changes
from tests.support.services import free_port

REGISTRY = Registry.discover(plugins=False)


def cli(data_dir, *args: str, env: dict | None = None) -> subprocess.Popen:
    full = {**os.environ, "CONNHUB_DATA_DIR": str(data_dir), **(env or {})}
    full.pop("CONNHUB_DB_URL", None)
    return subprocess.Popen([sys.executable, "-m", "connhub", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=full)


def open_editor(qtbot, qloop, window, name: str):
    record = window.hub.instances.find(name)
    task = qloop.create_task(window.edit_flow(record))
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, InstanceDialog) and window.active_dialog.isVisible())
    return task, window.active_dialog


def set_host(qtbot, dialog, host: str) -> None:
    edit = dialog.form.field_widget("host").line_edit  # the text box beside "TCP host / Unix socket"
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, host)


def error_box(dialog):
    boxes = [b for b in dialog.findChildren(QMessageBox) if b.objectName() == "errorBox" and b.isVisible()]
    return boxes[0] if boxes else None


@pytest.fixture
def cleanup_keyring(secret_service_keyring):
    ids: list[str] = []
    yield ids
    vault = KeyringVault(backend=secret_service_keyring)
    for instance_id in ids:
        vault.delete(instance_id, ["password"])


def test_the_window_and_cli_processes_write_at_once_and_nothing_is_lost(qtbot, qloop, make_window, tmp_path,
                                                                       secret_service_keyring, cleanup_keyring):
    data_dir = tmp_path / "data"
    closed = free_port()
    window = make_window(data_dir=data_dir, backend=secret_service_keyring)
    hub = window.hub
    for name in ("shared", "doomed", "quiet"):
        cleanup_keyring.append(hub.instances.create("redis", name, {"host": "127.0.0.1", "port": closed,
                                                          "password": f"pw-{uuid.uuid4().hex}"}).id)
    window.reload()

    # The CLI: tests of the instance the window edits (each records a result on its row), additions, a removal.
    procs = {f"test {i}": cli(data_dir, "test", "shared", "--timeout", "2") for i in range(2)}
    procs |= {f"add {i}": cli(data_dir, "add", "redis", f"cli-{i}", "--set", "host=127.0.0.1", "--set",
                              f"port={closed}", "--secret-env", "password=PW", env={"PW": f"pw-cli-{i}"})
              for i in range(2)}
    procs["remove"] = cli(data_dir, "remove", "doomed")
    procs["list"] = cli(data_dir, "list", "--json")

    # Meanwhile the window edits "shared" through its dialog for as long as a CLI process runs, then "quiet".
    hosts: list[str] = []
    while len(hosts) < 3 or (any(p.poll() is None for p in procs.values()) and len(hosts) < 200):
        host = f"10.0.{len(hosts) // 250}.{len(hosts) % 250 + 1}"
        hosts.append(host)
        task, dialog = open_editor(qtbot, qloop, window, "shared")
        set_host(qtbot, dialog, host)
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(task.done, timeout=20_000)
        assert task.result() is not None and task.result().config["host"] == host, error_box(dialog)
    task, dialog = open_editor(qtbot, qloop, window, "quiet")
    set_host(qtbot, dialog, "10.9.9.9")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=20_000)
    assert task.result() is not None

    outputs = {label: (p.wait(timeout=120), *p.communicate()) for label, p in procs.items()}
    print(f"{len(hosts)} window edits of 'shared' while {len(procs)} CLI processes ran")
    settle(qtbot, qloop)
    for label, (code, out, err) in outputs.items():
        assert "locked" not in (out + err).lower() and "Traceback" not in err, (label, err)
        assert code == (1 if label.startswith("test") else 0), (label, code, err)

    fresh = Hub(data_dir=data_dir, registry=REGISTRY, vault=KeyringVault(backend=secret_service_keyring))
    try:
        names = sorted(r.name for r in fresh.instances.list())
        cleanup_keyring.extend(r.id for r in fresh.instances.list())
        assert names == ["cli-0", "cli-1", "quiet", "shared"]
        shared = fresh.instances.find("shared")
        assert shared.config["host"] == hosts[-1]  # the window's last edit
        assert fresh.instances.find("quiet").config["host"] == "10.9.9.9"
        assert len(fresh.prober.history(shared.id)) == 2 and shared.error_count == 2  # every CLI result, counted
        assert shared.status == "failing"
        assert fresh.secrets.known(fresh.instances.find("cli-1")) == {"password": "pw-cli-1"}
        assert fresh.secrets.known(shared)["password"].startswith("pw-")
        assert fresh.store.journal() == {}
    finally:
        fresh.close()


def test_an_edit_from_a_stale_editor_is_not_lost_silently(qtbot, qloop, make_window, tmp_path,
                                                          secret_service_keyring, cleanup_keyring):
    data_dir = tmp_path / "data"
    window = make_window(data_dir=data_dir, backend=secret_service_keyring)
    record = window.hub.instances.create("redis", "shared", {"host": "127.0.0.1", "port": 6379, "password": "pw"})
    cleanup_keyring.append(record.id)
    window.reload()

    task, dialog = open_editor(qtbot, qloop, window, "shared")
    set_host(qtbot, dialog, "10.0.0.1")
    other = Hub(data_dir=data_dir, registry=REGISTRY, vault=KeyringVault(backend=secret_service_keyring))
    try:  # another process (a second window, say) saves the same instance meanwhile
        other.instances.update(record.id, {"host": "10.0.0.2", "port": 6379})
    finally:
        other.close()

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: error_box(dialog) is not None, timeout=10_000)
    box = error_box(dialog)
    assert box.windowTitle() == "Changed elsewhere" and "'shared' was changed elsewhere" in box.text()
    assert window.hub.instances.find("shared").config["host"] == "10.0.0.2"  # the other save is intact
    box.accept()
    # Told, the user saves again: now theirs replaces it, knowingly.
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(task.done, timeout=10_000)
    assert task.result().config["host"] == "10.0.0.1"
    assert window.hub.instances.find("shared").config["host"] == "10.0.0.1"
    assert window.hub.secrets.known(window.hub.instances.find("shared")) == {"password": "pw"}


def test_saving_an_instance_the_cli_removed_says_so(qtbot, qloop, make_window, tmp_path, secret_service_keyring,
                                                   cleanup_keyring):
    data_dir = tmp_path / "data"
    window = make_window(data_dir=data_dir, backend=secret_service_keyring)
    record = window.hub.instances.create("redis", "gone", {"host": "127.0.0.1", "port": 6379, "password": "pw"})
    cleanup_keyring.append(record.id)
    window.reload()
    task, dialog = open_editor(qtbot, qloop, window, "gone")
    set_host(qtbot, dialog, "10.0.0.1")
    done = cli(data_dir, "remove", "gone")
    assert done.wait(timeout=60) == 0, done.communicate()

    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: error_box(dialog) is not None, timeout=10_000)
    assert "was deleted elsewhere" in error_box(dialog).text()
    with pytest.raises(InstanceNotFound):
        window.hub.instances.find("gone")  # not brought back
    error_box(dialog).accept()
    dialog.reject()
    discard_changes(qtbot, dialog)  # the edit was not saved: closing asks first
    qtbot.waitUntil(task.done, timeout=5000)
