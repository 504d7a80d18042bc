"""The app's own start-up path (gui/app.py): first paint (the rows drawn) before SQLAlchemy, pydantic, jsonschema,
keyring, Alembic, asyncio and qasync are even imported, with the same list; then the real Hub takes over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from connhub.gui.main_window import MainWindow
from connhub.gui.startup import StartupHub, default_data_dir, finish
from connhub.services.hub import Hub
from connhub.storage.vault import SecretVault
from tests.support.startup_probe import COUNTERS

PROBE = COUNTERS + textwrap.dedent(r"""
    import json, sys
    import keyring

    if sys.argv[1] == "seed":  # in its own process, so that the run below starts with nothing imported
        from connhub.services.hub import Hub
        from connhub.storage.vault import SecretVault
        hub = Hub(vault=SecretVault(backend=CountingKeyring()))
        for i in range(25):
            hub.create("postgres", f"db {i}", {"host": f"db{i}.example.com", "port": 5432, "database": "app",
                                               "user": "app", "password": f"pw-{i}"})
        hub.create("redis", "cache", {"host": "127.0.0.1", "port": 6379})
        from connhub.storage.records import InstanceRecord
        for i in range(1000):  # a QListView laying out in batches drew none of 1,000 rows in its first paint
            hub.store.add(InstanceRecord(name=f"z {i:04d}", type="redis", config={"host": "127.0.0.1", "port": 6379},
                                         summary="redis://127.0.0.1:6379"))
        hub.close()
        raise SystemExit(0)
    HEAVY = ("sqlalchemy", "pydantic", "jsonschema", "keyring.backends.SecretService", "alembic", "asyncpg",
             "redis", "connhub.integrations.postgres", "connhub.services.hub", "connhub.plugins.registry",
             "asyncio", "qasync", "connhub.gui.detail_pane", "connhub.gui.transfer", "connhub.cli")
    keyring.set_keyring(CountingKeyring())
    CountingKeyring.calls = 0
    count_connections()

    import gc
    import connhub.gui.delegate as delegate
    import connhub.gui.startup as startup
    seen, windows, painted = {}, [], set()
    paint = delegate.InstanceDelegate.paint
    def counting_paint(self, painter, option, index):
        painted.add(index.row())
        return paint(self, painter, option, index)
    delegate.InstanceDelegate.paint = counting_paint
    original = startup.after_first_paint
    def spy(widget, callback):
        def at_paint():
            from shibokensupport import feature
            seen.setdefault("heavy", sorted(m for m in HEAVY if m in sys.modules))
            seen.setdefault("rows", widget.model.rowCount())
            seen.setdefault("rows_painted", len(painted))
            seen.setdefault("quick_check", feature._mod_uses_pyside.__module__)
            seen.setdefault("types", widget.types_view.model().rowCount())
            seen.setdefault("detail_at_paint", widget._detail is not None)
            windows.append(widget)
            callback()
        original(widget, at_paint)
    startup.after_first_paint = spy
    from connhub.launch import main  # what the `connhub` command runs
    main([])
    seen["detail_after"] = windows[0]._detail is not None and windows[0].monitoring is not None
    seen["clear_buttons_after"] = windows[0].search.isClearButtonEnabled() and windows[0].type_search.isClearButtonEnabled()
    seen["collecting_after"] = gc.isenabled()
    print(json.dumps({**seen, "keyring_calls": CountingKeyring.calls, "inet": inet}))
""")


def test_first_paint_needs_no_sqlalchemy_pydantic_keyring_or_network(tmp_path):
    env = {**os.environ, "CONNHUB_DATA_DIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path),
           "QT_QPA_PLATFORM": "offscreen", "CONNHUB_EXIT_AFTER_PAINT": "1"}
    for run in ("first start (cache written)", "second start (cache read)"):
        for leftover in tmp_path.glob("connhub.db*"):
            leftover.unlink()
        seeded = subprocess.run([sys.executable, "-c", PROBE, "seed"], env=env, capture_output=True, text=True,
                                timeout=120)
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        if run.startswith("first"):
            (tmp_path / "types-cache.json").unlink(missing_ok=True)
        out = subprocess.run([sys.executable, "-c", PROBE, "run"], env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr[-3000:]
        assert "first-paint" in out.stdout
        report = json.loads(out.stdout.strip().splitlines()[-1])
        assert report["rows"] == 1026, f"{run}: the window should list every saved instance"
        assert report["types"] > 3, f"{run}: the sidebar lists the types by group"
        assert report["rows_painted"] >= 10, f"{run}: the first paint draws the rows, not an empty list"
        assert report["quick_check"] == "connhub.gui.pyside_speedups"
        assert report["collecting_after"], "garbage collection, paused for the start, runs again after it"
        assert report["clear_buttons_after"], "the search boxes get their clear buttons right after the paint"
        assert report["keyring_calls"] == 0, f"{run}: start-up must not touch a secret"
        assert report["inet"] == [], f"{run}: start-up must not open network connections"
        assert not report["detail_at_paint"] and report["detail_after"], \
            f"{run}: the detail pane (and monitoring) come right after the first paint, not before"
        if run.startswith("second"):
            assert report["heavy"] == [], "the first paint must not wait for these imports"
        else:  # a first start validates the manifests (pydantic) to write the cache, still without SQLAlchemy
            assert not [m for m in report["heavy"] if m.startswith(("sqlalchemy", "keyring", "alembic"))]
    assert (tmp_path / "types-cache.json").is_file()


def _seed(data_dir, memory_keyring, count=3) -> list:
    hub = Hub(data_dir=data_dir, vault=SecretVault(backend=memory_keyring))
    made = [hub.create("postgres", f"db {i}", {"host": f"db{i}.example.com", "port": 5432,
                                                  "database": "app", "user": "app", "password": f"pw-{i}"})
            for i in range(count)]
    expected = hub.instances()
    hub.close()
    return expected if made else []


def test_the_real_hub_takes_over_after_the_first_paint(qtbot, qloop, arun, tmp_path, memory_keyring):
    expected = _seed(tmp_path, memory_keyring)
    StartupHub(data_dir=tmp_path).close()  # writes the type cache, as a first start does
    hub = StartupHub(data_dir=tmp_path)
    hub.vault = SecretVault(backend=memory_keyring)
    window = MainWindow(hub)
    qtbot.addWidget(window)
    window.show()
    assert window.model.records() == expected and not hub.loaded and not hub.registry.loaded
    arun(finish(window, hub), timeout=60_000)
    assert isinstance(window.hub, Hub) and window.hub.registry is hub.registry and hub.registry.loaded
    assert window.hub.vault is hub.vault
    window.reload()
    assert window.model.records() == expected
    arun(window.check_keyring())
    window.close()
    hub.close()


def test_a_new_data_folder_goes_through_sqlalchemy_and_migrations(tmp_path, memory_keyring):
    hub = StartupHub(data_dir=tmp_path / "new")
    assert hub.instances() == [] and hub.loaded, "no database yet: the real Hub creates it"
    assert hub.find  # anything else the stand-in lacks comes from the real Hub
    hub.close()


def test_a_server_database_url_skips_the_sqlite_path(tmp_path, memory_keyring, monkeypatch):
    _seed(tmp_path, memory_keyring, count=1)
    monkeypatch.setenv("CONNHUB_DB_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    hub = StartupHub(data_dir=tmp_path)
    assert hub.instances() == [], "the configured database, not the data folder's file"
    hub.close()


def test_same_data_folder_as_the_hub(monkeypatch, tmp_path):
    from connhub.services.hub import default_data_dir as hubs

    assert default_data_dir() == hubs()
    monkeypatch.delenv("CONNHUB_DATA_DIR")
    assert default_data_dir() == hubs()
