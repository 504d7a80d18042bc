"""The window's first paint without SQLAlchemy, pydantic, jsonschema, keyring or Alembic.

Those imports (and validating every manifest) cost more than starting Qt itself. `StartupHub` stands in for the
Hub until the first paint: the list comes from a read-only sqlite3 query (storage/quick.py), the sidebar and
icons from the cached type listing (plugins/cache.py). Right after the first paint, `finish` builds the real
Hub (same data folder, same registry and vault objects) and gives it to the window; anything asked of the
stand-in before then that it cannot answer itself goes to the real Hub, which is then built on the spot.
"""

from __future__ import annotations

import gc
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connhub.plugins.cache import CachedRegistry, load_registry
from connhub.storage.quick import read_instances
from connhub.storage.records import DEFAULT_WORKSPACE, InstanceRecord
from connhub.storage.vault import SecretVault

if TYPE_CHECKING:
    from connhub.services.hub import Hub

CACHE_NAME = "types-cache.json"


def default_data_dir() -> Path:
    """The same folder as services.hub.default_data_dir (a test pins that), without importing the Hub."""
    env = os.environ.get("CONNHUB_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("connhub", appauthor=False))


class StartupHub:
    def __init__(self, data_dir: Path | None = None, workspace: str = DEFAULT_WORKSPACE):
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.workspace = workspace
        self._db_url = os.environ.get("CONNHUB_DB_URL")
        self.registry: CachedRegistry = load_registry(self.data_dir / CACHE_NAME)
        self.vault = SecretVault()  # imports keyring only when first asked (on a worker thread)
        self._hub: Hub | None = None
        self._lock = threading.Lock()  # built on a worker thread after the first paint, or wherever first asked

    @property
    def loaded(self) -> bool:
        return self._hub is not None

    def real(self) -> Hub:
        with self._lock:
            if self._hub is None:
                from connhub.services.hub import Hub

                self._hub = Hub(data_dir=self.data_dir, db_url=self._db_url, registry=self.registry,
                                vault=self.vault, workspace=self.workspace)
        return self._hub

    def instances(self) -> list[InstanceRecord]:
        if self._hub is None and not self._db_url:
            records = read_instances(self.data_dir / "connhub.db", self.workspace)
            if records is not None:
                return records
        return self.real().instances()  # a new, old or server database: SQLAlchemy creates or migrates it

    def use_workspace(self, name: str) -> None:
        """The window reopens the workspace it showed last: set before the first paint, without the real Hub."""
        self.workspace = " ".join(name.split()) or DEFAULT_WORKSPACE
        if self._hub is not None:
            self._hub.use_workspace(self.workspace)

    def close(self) -> None:
        if self._hub is not None:
            self._hub.close()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.real(), name)


def after_first_paint(widget, callback) -> None:
    """Call `callback` once, as soon as `widget` has painted for the first time (the paint itself done)."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class Once(QObject):
        def eventFilter(self, watched, event) -> bool:
            if event.type() == QEvent.Type.Paint:
                widget.removeEventFilter(self)
                QTimer.singleShot(0, callback)
                self.deleteLater()
            return False

    widget.installEventFilter(Once(widget))


def wait_for_first_paint(widget, limit_ms: int = 3000) -> None:
    """Run Qt's own event loop until `widget` has painted once. A window that is never exposed (started
    minimised, say) holds start-up back at most `limit_ms`."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    after_first_paint(widget, loop.quit)
    QTimer.singleShot(limit_ms, loop.quit)
    loop.exec()


def _load(hub: StartupHub) -> Hub:
    real = hub.real()
    real.store  # noqa: B018 - opens (and if needed migrates) the database now, not on the first click
    hub.registry.full  # noqa: B018 - validates the manifests
    return real


async def finish(window, hub: StartupHub) -> None:
    """After the first paint, on the worker thread (imports included: the window keeps painting): the real Hub,
    its database and the validated registry; then the window holds the real Hub."""
    from connhub.gui.tasks import background

    window.hub = await background(_load, hub)
    # Everything loaded so far (Qt wrappers, SQLAlchemy, pydantic, the manifests) lives as long as the app: out
    # of the cyclic collector's sight, a full collection no longer scans it. Measured during test all of 500
    # instances: full collections of 125-145 ms on the GUI thread, the longest stalls of the event loop.
    gc.freeze()
