"""The app's own start-up path (gui/shell/app.py): first paint (the rows drawn) before SQLAlchemy, pydantic,
jsonschema, keyring, Alembic, asyncio and qasync are even imported, with the same list, on the very first start
too; then the real Hub takes over. The window reads a `FirstPaint` before it, never a stand-in for the Hub."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from connhub.gui.shell.main_window import MainWindow
from connhub.gui.shell.startup import finish
from connhub.plugins.catalog import read_listing
from connhub.plugins.registry import BUILTIN_FOLDER, Registry
from connhub.services.first_paint import CACHE_NAME, FirstPaint, default_data_dir
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.support.startup_probe import COUNTERS

PROBE = COUNTERS + textwrap.dedent(r"""
    import json, sys
    import keyring

    if sys.argv[1] == "seed":  # in its own process, so that the run below starts with nothing imported
        from connhub.services.hub import Hub
        from connhub.storage.vault import KeyringVault
        hub = Hub(vault=KeyringVault(backend=CountingKeyring()))
        for i in range(25):
            hub.instances.create("postgres", f"db {i}", {"host": f"db{i}.example.com", "port": 5432, "database": "app",
                                               "user": "app", "password": f"pw-{i}"})
        hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379})
        from connhub.core.records import InstanceRecord
        for i in range(1000):  # a QListView laying out in batches drew none of 1,000 rows in its first paint
            hub.store.add(InstanceRecord(name=f"z {i:04d}", type="redis", config={"host": "127.0.0.1", "port": 6379},
                                         summary="redis://127.0.0.1:6379"))
        hub.close()
        raise SystemExit(0)
    HEAVY = ("sqlalchemy", "pydantic", "jsonschema", "keyring.backends.SecretService", "alembic", "asyncpg",
             "redis", "connhub.integrations.postgres", "connhub.services.hub", "connhub.plugins.registry",
             "asyncio", "qasync", "connhub.gui.instances.detail_pane", "connhub.gui.transfer.actions", "connhub.cli",
             "importlib.metadata")
    keyring.set_keyring(CountingKeyring())
    CountingKeyring.calls = 0
    count_connections()

    import gc
    import connhub.gui.instances.delegate as delegate
    import connhub.gui.shell.main_window as main_window
    import connhub.gui.shell.startup as startup
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
            seen.setdefault("path", sorted(m for m in sys.modules if m.startswith("connhub")))
            seen.setdefault("rows", widget.model.rowCount())
            seen.setdefault("rows_painted", len(painted))
            seen.setdefault("empty_shown", widget.list_stack.currentWidget() is widget.empty_label)
            seen.setdefault("quick_check", feature._mod_uses_pyside.__module__)
            seen.setdefault("types", widget.types_view.model().rowCount())
            seen.setdefault("listing_validated", widget.model.catalog.validated)
            seen.setdefault("detail_at_paint", widget._detail is not None)
            seen.setdefault("hub_at_paint", widget._hub is not None)
            windows.append(widget)
            callback()
        original(widget, at_paint)
    startup.after_first_paint = spy
    start_with_hub = main_window.MainWindow._start_with_hub
    def started(self):  # the start-up is over: quit (the detail pane and monitoring are built by then)
        start_with_hub(self)
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
        QTimer.singleShot(0, QApplication.quit)
    main_window.MainWindow._start_with_hub = started
    from connhub.launch import main  # what the `connhub` command runs
    main([])
    window = windows[0]
    seen["hub_after"] = type(window.hub).__name__
    seen["sidebar_after"] = sorted(s.type for s in window.model.catalog.summaries())
    seen["detail_after"] = window._detail is not None and window.monitoring is not None
    seen["clear_buttons_after"] = window.search.isClearButtonEnabled() and window.type_search.isClearButtonEnabled()
    seen["collecting_after"] = gc.isenabled()
    print(json.dumps({**seen, "keyring_calls": CountingKeyring.calls, "inet": inet}))
""")

STARTS = ("very first start", "a database, no type cache", "both read as they are")


@pytest.fixture(scope="module")
def starts(tmp_path_factory) -> dict[str, dict]:
    """Three starts of the `connhub` command, each in a fresh interpreter: an empty data folder (nothing saved,
    no type cache, no settings); then 1,026 saved instances without the type cache; then the same again,
    reading the cache the previous start wrote after its paint."""
    data = tmp_path_factory.mktemp("data") / "connhub"  # not even the folder: the platform's first start
    env = {**os.environ, "CONNHUB_DATA_DIR": str(data), "XDG_CONFIG_HOME": str(data.parent / "config"),
           "QT_QPA_PLATFORM": "offscreen"}

    def run(*args: str) -> subprocess.CompletedProcess:
        out = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr[-3000:]
        return out

    reports = {}
    for name in STARTS:
        if name == STARTS[1]:
            assert (data / CACHE_NAME).is_file() and (data / "connhub.db").is_file(), \
                "the very first start writes the database and the type cache after its paint"
            (data / CACHE_NAME).unlink()
            for leftover in data.glob("connhub.db*"):
                leftover.unlink()
            run("seed")
        reports[name] = json.loads(run("run").stdout.strip().splitlines()[-1])
    return reports


@pytest.mark.parametrize("name", STARTS)
def test_first_paint_needs_no_sqlalchemy_pydantic_keyring_or_network(starts, name):
    report = starts[name]
    assert report["heavy"] == [], f"{name}: the first paint must not wait for these imports"
    assert not report["hub_at_paint"] and report["hub_after"] == "Hub", f"{name}: the real Hub comes after the paint"
    if name == STARTS[0]:
        assert report["rows"] == 0 and report["empty_shown"], "nothing saved yet: the empty list says so"
    else:
        assert report["rows"] == 1026, f"{name}: the window should list every saved instance"
        assert report["rows_painted"] >= 10, f"{name}: the first paint draws the rows, not an empty list"
    assert report["listing_validated"] == (name == STARTS[2]), "the cache, once a validated discovery wrote it"
    assert report["types"] > 3, f"{name}: the sidebar lists the types by group"
    assert report["sidebar_after"] == sorted(s.type for s in Registry.discover().summaries()), \
        f"{name}: after the Hub, what validated discovery lists"
    assert report["quick_check"] == "connhub.gui.shell.pyside_speedups"
    assert report["collecting_after"], "garbage collection, paused for the start, runs again after it"
    assert report["clear_buttons_after"], "the search boxes get their clear buttons right after the paint"
    assert report["keyring_calls"] == 0, f"{name}: start-up must not touch a secret"
    assert report["inet"] == [], f"{name}: start-up must not open network connections"
    assert not report["detail_at_paint"] and report["detail_after"], \
        f"{name}: the detail pane (and monitoring) come right after the first paint, not before"


def _proxy_hooks(module: str) -> list[str]:
    """Where the module's source defines `__getattr__` / `__getattribute__`, at module level or in a class."""
    path = Path(sys.modules[module].__file__) if module in sys.modules else None
    if path is None:
        __import__(module)
        path = Path(sys.modules[module].__file__)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{module}:{node.lineno} {node.name}" for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name in ("__getattr__", "__getattribute__")]


def test_no_attribute_forwarding_on_the_start_up_path(starts):
    """What the first paint holds is what it is: no object (or module) that answers whatever it is asked by
    forwarding to another one built on the spot."""
    path = set(starts[STARTS[2]]["path"]) | set(starts[STARTS[0]]["path"])
    assert {"connhub.services.first_paint", "connhub.plugins.catalog", "connhub.storage.quick",
            "connhub.gui.shell.main_window", "connhub.plugins"} <= path
    found = [hook for module in sorted(path | {"connhub.services.hub", "connhub.plugins.registry"})
             for hook in _proxy_hooks(module)]
    assert not found, f"attribute forwarding on the start-up path: {found}"


def _seed(data_dir, memory_keyring, count=3) -> list:
    hub = Hub(data_dir=data_dir, vault=KeyringVault(backend=memory_keyring))
    made = [hub.instances.create("postgres", f"db {i}", {"host": f"db{i}.example.com", "port": 5432,
                                                  "database": "app", "user": "app", "password": f"pw-{i}"})
            for i in range(count)]
    expected = hub.instances.list()
    hub.close()
    return expected if made else []


def test_the_real_hub_takes_over_after_the_first_paint(qtbot, qloop, arun, tmp_path, memory_keyring):
    expected = _seed(tmp_path, memory_keyring)
    first = FirstPaint.quick(data_dir=tmp_path, vault=KeyringVault(backend=memory_keyring))
    window = MainWindow(first, start_after_paint=False)
    qtbot.addWidget(window)
    window.show()
    assert window.model.records() == expected and not first.loaded
    arun(finish(window, first), timeout=60_000)
    assert isinstance(window.hub, Hub) and first.loaded and window.hub is first.load_hub()
    assert window.hub.vault is first.vault and window.model.catalog is window.hub.registry
    assert read_listing(tmp_path / CACHE_NAME).validated, "the validated discovery wrote the cache"
    window.start()
    assert window.monitoring is not None and window.monitoring.hub is window.hub, "monitoring holds the real Hub"
    window.reload()
    assert window.model.records() == expected
    qtbot.waitUntil(window._keyring_check.done, timeout=10_000)
    window.close()
    first.close()


def test_a_click_before_the_hub_is_there_gets_the_real_hub(qtbot, qloop, tmp_path, memory_keyring):
    _seed(tmp_path, memory_keyring, count=1)
    first = FirstPaint.quick(data_dir=tmp_path, vault=KeyringVault(backend=memory_keyring))
    window = MainWindow(first, start_after_paint=False)
    qtbot.addWidget(window)
    assert not first.loaded
    window.select(window.model.records()[0].id)  # the detail pane needs the validated registry: it waits for it
    assert first.loaded and isinstance(window.hub, Hub) and window.detail.registry is window.hub.registry
    window.close()
    first.close()


def test_validation_after_the_paint_redraws_a_sidebar_it_disagrees_with(qtbot, tmp_path, memory_keyring):
    """A first start draws the sidebar from the manifests as they are; one that validation rejects is shown
    disabled once the Hub is there."""
    root = tmp_path / "integrations"
    for name in ("redis", "postgres"):
        (root / name).mkdir(parents=True)
        for item in (BUILTIN_FOLDER / name).iterdir():
            if item.is_file() and item.suffix != ".py":
                (root / name / item.name).write_bytes(item.read_bytes())
    raw = json.loads((root / "redis" / "manifest.json").read_text())
    (root / "redis" / "manifest.json").write_text(json.dumps({**raw, "group": "no such group"}))
    listing = read_listing(tmp_path / CACHE_NAME, root, plugins=False)
    registry = Registry.discover(root, plugins=False)
    hub = Hub(data_dir=tmp_path, registry=registry, vault=KeyringVault(backend=memory_keyring))
    first = FirstPaint(tmp_path, "default", listing, hub.store, hub.vault, lambda _first: hub)
    window = MainWindow(first, start_after_paint=False)
    qtbot.addWidget(window)

    def sidebar() -> list[str]:
        model = window.types_view.model()
        return [model.index(row, 0, model.index(group, 0)).data() for group in range(model.rowCount())
                for row in range(model.rowCount(model.index(group, 0)))]

    assert "Redis" in sidebar()
    window.take_hub(hub)
    assert "redis (disabled)" in sidebar() and "Redis" not in sidebar() and "PostgreSQL" in sidebar()
    window.close()
    hub.close()


def test_a_server_database_url_skips_the_sqlite_path(tmp_path, memory_keyring, monkeypatch):
    _seed(tmp_path, memory_keyring, count=1)
    monkeypatch.setenv("CONNHUB_DB_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    first = FirstPaint.quick(data_dir=tmp_path, vault=KeyringVault(backend=memory_keyring))
    assert first.instances() == [], "the configured database, not the data folder's file"
    assert first.loaded, "read through the real Hub, which opened (and created) it"
    first.close()


def test_same_data_folder_as_the_hub(monkeypatch, tmp_path):
    from connhub.services.hub import default_data_dir as hubs

    assert default_data_dir() == hubs()
    monkeypatch.delenv("CONNHUB_DATA_DIR")
    assert default_data_dir() == hubs()


def test_the_window_makes_an_open_data_folder_private_after_the_first_paint(qtbot, qloop, arun, tmp_path,
                                                                            memory_keyring, caplog):
    """As `connhub` does at its start: an older connhub's 0755 folder and 0644 database are made private, logged."""
    import stat

    _seed(tmp_path, memory_keyring, count=1)
    tmp_path.chmod(0o755)
    (tmp_path / "connhub.db").chmod(0o644)
    first = FirstPaint.quick(data_dir=tmp_path, vault=KeyringVault(backend=memory_keyring))
    window = MainWindow(first, start_after_paint=False)
    qtbot.addWidget(window)
    window.show()
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755, "not on the first-paint path"
    with caplog.at_level("WARNING", logger="connhub"):
        arun(finish(window, first), timeout=60_000)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "connhub.db").stat().st_mode) == 0o600
    assert any("now 0700" in record.getMessage() for record in caplog.records)
    window.close()
    first.close()
