"""What the window reads before the real Hub is there (`FirstPaint`), and how that Hub is then built.

Importing SQLAlchemy, pydantic, jsonschema, keyring and Alembic, opening the database and validating every
manifest cost more than starting Qt. The first paint needs none of it: it reads the workspace's instances
(`InstanceReader`) and what the list, sidebar and icons show of the types (`TypeCatalog`). `FirstPaint.quick`
gives the fast implementations (sqlite3, the type listing); `FirstPaint.of(hub)` the full ones (the store and
the validated registry of a Hub that already exists). The window reads only those before the paint;
right after it, `load_hub` builds the real Hub (same data folder, workspace and vault) on a worker thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from connhub.core.records import DEFAULT_WORKSPACE, InstanceReader, InstanceRecord
from connhub.plugins.catalog import TypeCatalog, read_listing
from connhub.storage.quick import QuickReader
from connhub.storage.vault import KeyringVault

if TYPE_CHECKING:
    from connhub.services.hub import Hub

CACHE_NAME = "types-cache.json"
DB_NAME = "connhub.db"


def default_data_dir() -> Path:
    """Where connhub keeps its database, logs and caches: CONNHUB_DATA_DIR, else the platform's user data
    folder. The Hub takes it from here (without importing the Hub, the first paint knows it too)."""
    env = os.environ.get("CONNHUB_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("connhub", appauthor=False))


def instance_reader(data_dir: Path, db_url: str | None, full: InstanceReader) -> InstanceReader:
    """The quick sqlite3 reader for the default SQLite file (it hands a file it does not know to `full`);
    `full` itself for a database URL (a server, or a file elsewhere)."""
    if db_url:
        return full
    return QuickReader(data_dir / DB_NAME, fallback=full)


class _StoreOf:
    """`InstanceReader` of the real Hub's store: building the Hub creates or migrates the database."""

    def __init__(self, hub: Callable[[], Hub]):
        self._hub = hub

    def list(self, workspace: str) -> list[InstanceRecord]:
        return self._hub().store.list(workspace)


class FirstPaint:
    """Exactly what the window's first paint reads: the workspace, its instances and the type catalog. Then
    `load_hub()` gives the real Hub, built once (on whichever thread asks first: the worker right after the
    paint, or the window if a click needs it sooner)."""

    def __init__(self, data_dir: Path, workspace: str, types: TypeCatalog, reader: InstanceReader,
                 vault: KeyringVault, build: Callable[[FirstPaint], Hub]):
        self.data_dir = data_dir
        self.workspace = workspace
        self.types = types
        self.vault = vault  # the Hub's too: the keyring check needs no Hub (keyring loads on a worker thread)
        self._reader = reader
        self._build = build
        self._hub: Hub | None = None
        self._lock = threading.Lock()

    @classmethod
    def quick(cls, data_dir: Path | None = None, workspace: str = DEFAULT_WORKSPACE,
              vault: KeyringVault | None = None) -> FirstPaint:
        """The app's start: nothing heavy imported, no database opened, no manifest validated."""
        data_dir = Path(data_dir) if data_dir else default_data_dir()
        from connhub.services.team import TeamConfig  # standard library only

        team = TeamConfig.load(data_dir)
        db_url = os.environ.get("CONNHUB_DB_URL") or (team.db_url if team else None)
        listing = read_listing(data_dir / CACHE_NAME)
        vault = vault or KeyringVault()  # imports keyring only when first asked

        def build(first: FirstPaint) -> Hub:
            from connhub.plugins.catalog import disabled_plugins, write_listing
            from connhub.plugins.registry import Registry
            from connhub.services.hub import Hub

            registry = Registry.discover(disabled=disabled_plugins(data_dir))
            if not listing.validated:
                write_listing(data_dir / CACHE_NAME, registry)
            hub = Hub(data_dir=data_dir, db_url=db_url, registry=registry, vault=first.vault,
                      workspace=first.workspace)
            hub.store  # noqa: B018 - opens (and if needed migrates) the database now, not on the first click
            return hub

        full = _StoreOf(lambda: first.load_hub())  # a database the quick reader does not know
        first = cls(data_dir, workspace, listing, instance_reader(data_dir, db_url, full), vault, build)
        return first

    @classmethod
    def of(cls, hub: Hub) -> FirstPaint:
        """A Hub already built (tests, the screenshots): the first paint reads its store and registry."""
        first = cls(hub.data_dir, hub.instances.workspace, hub.registry, _StoreOf(lambda: hub), hub.vault, lambda _f: hub)
        first._hub = hub
        return first

    @property
    def loaded(self) -> bool:
        return self._hub is not None

    def instances(self) -> list[InstanceRecord]:
        return self._reader.list(self.workspace)

    def use_workspace(self, name: str) -> None:
        """The window reopens the workspace it showed last: set before the first paint, before the Hub."""
        self.workspace = " ".join(name.split()) or DEFAULT_WORKSPACE
        if self._hub is not None:
            self._hub.instances.use_workspace(self.workspace)

    def load_hub(self) -> Hub:
        with self._lock:
            if self._hub is None:
                self._hub = self._build(self)
        return self._hub

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()
