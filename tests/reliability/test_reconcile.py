"""The start-up reconciliation on its own: a note of a dead process is settled (by the CLI too), a note of a
live one is left alone, a secret the keyring lost is marked and shown, and another database's keyring items
are never touched."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.support.keyrings import MemoryKeyring

REGISTRY = Registry.discover(plugins=False)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def make_hub(data_dir, backend) -> Hub:
    return Hub(data_dir=data_dir, registry=REGISTRY, vault=KeyringVault(backend=backend))


def orphan(hub: Hub, backend: MemoryKeyring, pid: int) -> str:
    """What a create killed after its secret write and before its row leaves: a note and an item."""
    instance_id = "0badc0de-0000-4000-8000-000000000001"
    hub.store.journal_put(instance_id, {"fields": ["password"], "pid": pid, "host": os.uname().nodename,
                                        "at": time.time()})
    backend.set_password("connhub", f"{instance_id}:password", "stranded")
    return instance_id


def test_a_dead_processes_note_is_settled_and_a_live_ones_kept(tmp_path):
    backend = MemoryKeyring()
    hub = make_hub(tmp_path / "data", backend)
    try:
        kept = hub.instances.create("redis", "kept", {"host": "h", "port": 6379, "password": "pw"})
        stranded = orphan(hub, backend, os.getppid())  # alive: its operation may still finish
        assert hub.secrets.reconcile().settled == []
        assert f"{stranded}:password" in backend.secrets_of()

        hub.store.journal_clear(stranded)
        stranded = orphan(hub, backend, dead_pid())
        report = hub.secrets.reconcile()
        assert report.settled == [stranded] and report.removed == [f"{stranded}:password"]
        assert backend.secrets_of() == {f"{kept.id}:password": "pw"}  # the claimed one stays
        assert hub.store.journal() == {}
    finally:
        hub.close()


def test_items_of_another_database_sharing_the_keyring_are_left_alone(tmp_path):
    """Two data dirs (work, personal) share one keyring: reconcile works from its own journal, not from a
    keyring listing, so it cannot mistake the other's secrets for orphans."""
    backend = MemoryKeyring()
    work, personal = make_hub(tmp_path / "work", backend), make_hub(tmp_path / "personal", backend)
    try:
        mine = personal.instances.create("redis", "mine", {"host": "h", "port": 6379, "password": "personal-pw"})
        report = work.secrets.reconcile()
        assert report.removed == [] and backend.secrets_of() == {f"{mine.id}:password": "personal-pw"}
    finally:
        work.close()
        personal.close()


def test_a_secret_the_keyring_lost_is_marked_and_shown(qtbot, qloop, make_window, tmp_path, secret_service_keyring):
    from tests.gui.helpers import settle

    data_dir = tmp_path / "data"
    hub = make_hub(data_dir, secret_service_keyring)
    lost = hub.instances.create("redis", "lost", {"host": "h", "port": 6379, "password": "pw"})
    fine = hub.instances.create("redis", "fine", {"host": "h", "port": 6379, "password": "pw2"})
    secret_service_keyring.delete_password("connhub", f"{lost.id}:password")  # someone cleaned the keyring
    hub.close()
    try:
        window = make_window(data_dir=data_dir, backend=secret_service_keyring)
        settle(qtbot, qloop)
        assert window.banner.isVisibleTo(window)
        assert "no longer has the saved secrets of: lost (password)" in window.banner.text()
        record = window.hub.instances.find("lost")
        assert record.secret_fields == [] and record.status == "failing"  # the edit form asks for it again
        assert "edit the connection to enter it again" in record.last_message
        assert window.hub.instances.find("fine").secret_fields == ["password"]
        assert window.hub.secrets.reconcile().missing == {}  # marked once
    finally:
        KeyringVault(backend=secret_service_keyring).delete(fine.id, ["password"])


def test_the_cli_settles_a_dead_processes_note(tmp_path, secret_service_keyring):
    data_dir = tmp_path / "data"
    hub = make_hub(data_dir, secret_service_keyring)
    instance_id = "0badc0de-0000-4000-8000-000000000002"
    try:
        hub.store.journal_put(instance_id, {"fields": ["password"], "pid": dead_pid(), "host": os.uname().nodename,
                                            "at": time.time()})
        secret_service_keyring.set_password("connhub", f"{instance_id}:password", "stranded")
        env = {**os.environ, "CONNHUB_DATA_DIR": str(data_dir)}
        done = subprocess.run([sys.executable, "-m", "connhub", "list"], capture_output=True, text=True, env=env,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert secret_service_keyring.get_password("connhub", f"{instance_id}:password") is None
        assert hub.store.journal() == {}
    finally:
        KeyringVault(backend=secret_service_keyring).delete(instance_id, ["password"])
        hub.close()


def test_reconcile_with_nothing_to_do_makes_no_keyring_call(tmp_path):
    backend = MemoryKeyring()
    hub = make_hub(tmp_path / "data", backend)
    try:
        hub.store.list()
        assert hub.secrets.reconcile().settled == [] and backend.calls == []
    finally:
        hub.close()
