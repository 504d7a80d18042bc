"""`connhub settings --concurrency`, and `connhub test --all` bounded by it (the window's Test all setting)."""

from __future__ import annotations

import json
import selectors
import socket
import threading
from contextlib import contextmanager

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault


def test_concurrency_setting_shown_changed_and_refused(cli, tmp_path):
    data_dir = tmp_path / "data"
    changed = cli(data_dir, "settings", "--concurrency", "2")
    assert changed.returncode == 0, changed.stderr
    assert "concurrency      2" in changed.stdout
    shown, refused = cli.many(data_dir, ("settings", "--json"), ("settings", "--concurrency", "65"))
    assert json.loads(shown.stdout)["concurrency"] == 2
    assert refused.returncode == 2 and "whole number from 1 to 64" in refused.stderr


@contextmanager
def silent_counting_server():
    """Accepts, never answers, and counts how many connections are open at once (`peak`)."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    stats = {"open": 0, "peak": 0, "total": 0}
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            for key, _ in selector.select(0.05):
                if key.fileobj is server:
                    conn, _addr = server.accept()
                    conn.setblocking(False)
                    selector.register(conn, selectors.EVENT_READ)
                    stats["open"] += 1
                    stats["total"] += 1
                    stats["peak"] = max(stats["peak"], stats["open"])
                else:
                    try:
                        data = key.fileobj.recv(4096)
                    except OSError:
                        data = b""
                    if not data:  # the client gave up (its timeout) and closed
                        selector.unregister(key.fileobj)
                        key.fileobj.close()
                        stats["open"] -= 1

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], stats
    finally:
        stop.set()
        thread.join(5)
        for key in list(selector.get_map().values()):
            key.fileobj.close()
        selector.close()


def test_test_all_runs_at_most_the_setting_at_once(cli, tmp_path, memory_keyring):
    data_dir = tmp_path / "data"
    with silent_counting_server() as (port, stats):
        hub = Hub(data_dir=data_dir, registry=Registry.discover(plugins=False), vault=KeyringVault(memory_keyring))
        for i in range(5):
            hub.instances.create("redis", f"silent{i}", {"host": "127.0.0.1", "port": port})
        hub.settings.set_concurrency(2)
        hub.close()
        tested = cli(data_dir, "test", "--all", "--json", "--timeout", "0.5")
    lines = [json.loads(line) for line in tested.stdout.splitlines()]
    assert tested.returncode == 1 and [r["error_class"] for r in lines] == ["timeout"] * 5
    assert (stats["total"], stats["peak"]) == (5, 2)
