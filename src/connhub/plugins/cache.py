"""What the window lists about each type, cached as plain JSON so that start-up skips manifest validation.

Validating the manifests (pydantic, plus jsonschema for each credentials schema) and importing what that needs
costs about as much as starting Qt. The first paint only needs each type's name, group, description, icon and
error, so those are cached, keyed by the connhub version and the size and mtime of every file discovery reads;
the fully validated `Registry` loads on first real use (or right after the first paint). Any change to a
manifest, an icon, an event schema or an installed distribution (site-packages changes) misses the cache and
discovery runs as before. Nothing here imports pydantic.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connhub.plugins.registry import Registry, TypeEntry

BUILTIN_FOLDER = Path(__file__).resolve().parent.parent / "integrations"
CACHE_FORMAT = 1


@dataclass(frozen=True)
class TypeSummary:
    """One type as the list, the sidebar and the icons see it."""

    type: str
    name: str
    group: str
    description: str
    icon_path: str | None
    error: str | None
    ok: bool
    folder: str | None
    source: str


def summarize(entry: TypeEntry) -> TypeSummary:
    icon = entry.icon_path
    return TypeSummary(entry.type, entry.name, entry.manifest.group if entry.manifest else "other",
                       entry.manifest.description if entry.manifest else "", str(icon) if icon else None,
                       entry.error, entry.ok, str(entry.folder) if entry.folder else None, entry.source)


def _folder_stats(folder: Path) -> list:
    """(name, size, mtime) of the files discovery reads in a type's folder: manifest, icon, events/."""
    stats = []
    for sub in (folder, folder / "events"):
        try:
            with os.scandir(sub) as it:
                for item in it:
                    if item.is_file() and not item.name.endswith((".py", ".pyc")):
                        st = item.stat()
                        stats.append([f"{sub.name}/{item.name}", st.st_size, st.st_mtime_ns])
        except OSError:
            continue
    return sorted(stats)


def fingerprint(builtin_folder: Path, plugin_folders: list[str], plugins: bool) -> dict[str, Any]:
    from connhub import __version__

    builtin = {}
    try:
        with os.scandir(builtin_folder) as it:
            for item in it:
                if item.is_dir() and item.name != "__pycache__":
                    builtin[item.name] = _folder_stats(Path(item.path))
    except OSError:
        pass
    paths = {}
    if plugins:  # installing or removing any distribution (a plugin) touches its site-packages folder. Only
        # those: the script's own folder or the working directory on sys.path must not decide.
        for entry in sys.path:
            if os.path.basename(entry) not in ("site-packages", "dist-packages"):
                continue
            try:
                paths[entry] = os.stat(entry or ".").st_mtime_ns
            except OSError:
                paths[entry] = None
    return {"format": CACHE_FORMAT, "version": __version__, "builtin_folder": str(builtin_folder),
            "builtin": builtin, "sys_path": paths,
            "plugins": {folder: _folder_stats(Path(folder)) for folder in plugin_folders}}


class CachedRegistry:
    """Answers the listing from the cache; everything else goes to the validated `Registry`, loaded once on
    first use (thread-safe: the window may warm it up on a worker thread)."""

    def __init__(self, summaries: list[TypeSummary], load: Callable[[], Registry], full: Registry | None = None):
        self._summaries = {s.type: s for s in summaries}
        self._load = load
        self._full = full
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._full is not None

    @property
    def full(self) -> Registry:
        if self._full is None:
            with self._lock:
                if self._full is None:
                    self._full = self._load()
        return self._full

    def summaries(self) -> list[TypeSummary]:
        return list(self._summaries.values())

    def summary(self, type_name: str) -> TypeSummary | None:
        return self._summaries.get(type_name)

    def __contains__(self, type_name: str) -> bool:
        return type_name in self._summaries

    def entries(self) -> list[TypeEntry]:
        return self.full.entries()

    def working(self) -> list[TypeEntry]:
        return self.full.working()

    def get(self, type_name: str) -> TypeEntry:
        return self.full.get(type_name)

    def __getattr__(self, name: str):  # whatever else Registry offers
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.full, name)


def _discover(builtin_folder: Path, plugins: bool) -> Registry:
    from connhub.plugins.registry import Registry

    return Registry.discover(builtin_folder, plugins=plugins)


def load_registry(cache_file: Path, builtin_folder: Path = BUILTIN_FOLDER, plugins: bool = True) -> CachedRegistry:
    """The cached listing when nothing changed since it was written; otherwise discover now and rewrite it."""
    def discover() -> Registry:
        return _discover(builtin_folder, plugins)

    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
        plugin_folders = list(cached["fingerprint"]["plugins"])
        if cached["fingerprint"] == fingerprint(builtin_folder, plugin_folders, plugins):
            return CachedRegistry([TypeSummary(**s) for s in cached["types"]], discover)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    registry = discover()
    summaries = registry.summaries()
    plugin_folders = sorted({s.folder for s in summaries if s.folder and s.source != "built-in"})
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"fingerprint": fingerprint(builtin_folder, plugin_folders, plugins),
                                   "types": [asdict(s) for s in summaries]}), encoding="utf-8")
        os.replace(tmp, cache_file)
    except OSError:
        pass  # a read-only data folder: start-up just stays slower
    return CachedRegistry(summaries, discover, full=registry)
