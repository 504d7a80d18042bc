"""What the window's list, sidebar and icons read about the types (`TypeCatalog`), and its fast implementation.

Two implementations: the validated `Registry` (plugins/registry.py: pydantic, jsonschema, every manifest checked)
and `TypeListing` here, which imports neither and is what the first paint reads. `read_listing` makes the
listing: from the cache the last validated discovery wrote (keyed by the connhub version and the size and mtime
of every file discovery reads), or, when that is missing or stale (a first start, a changed manifest, a plugin
installed), from the built-in manifests' JSON as it is, not validated. Validation runs after the paint; it
writes the cache (`write_listing`), and the window redraws its sidebar if the validated registry says otherwise.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from connhub.plugins.registry import Registry, TypeEntry

BUILTIN_FOLDER = Path(__file__).resolve().parent.parent / "integrations"
CACHE_FORMAT = 1
TOO_DEEP = "manifest.json nests objects or lists too deeply to be checked: flatten it (a few levels are enough)"


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


class TypeCatalog(Protocol):
    """What the window reads about the types to draw its list, sidebar and icons; `Registry` (validated) and
    `TypeListing` (the first paint's) both answer it."""

    def summaries(self) -> list[TypeSummary]: ...

    def summary(self, type_name: str) -> TypeSummary | None: ...

    def __contains__(self, type_name: str) -> bool: ...


class TypeListing:
    """The first paint's `TypeCatalog`. `validated`: it comes from the cache a validated discovery wrote; if
    not, from the built-in manifests as they are (no plugins yet: finding them costs more than the paint has)."""

    def __init__(self, summaries: Iterable[TypeSummary], validated: bool):
        self._summaries = {s.type: s for s in summaries}
        self.validated = validated

    def summaries(self) -> list[TypeSummary]:
        return list(self._summaries.values())

    def summary(self, type_name: str) -> TypeSummary | None:
        return self._summaries.get(type_name)

    def __contains__(self, type_name: str) -> bool:
        return type_name in self._summaries


def summarize(entry: TypeEntry) -> TypeSummary:
    icon = entry.icon_path
    return TypeSummary(entry.type, entry.name, entry.manifest.group if entry.manifest else "other",
                       entry.manifest.description if entry.manifest else "", str(icon) if icon else None,
                       entry.error, entry.ok, str(entry.folder) if entry.folder else None, entry.source)


def read_manifest_json(folder: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The folder's manifest.json as a JSON object, or None and a fix-it message. Discovery checks it further."""
    path = folder / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, f"no manifest.json in {folder}: add one"
    except json.JSONDecodeError as exc:
        return None, f"manifest.json is not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read manifest.json: {exc}"
    except RecursionError:  # json's decoder recurses once per level: "[[[[…" would take discovery down
        return None, TOO_DEEP
    if not isinstance(raw, dict):
        return None, "manifest.json must hold one JSON object"
    return raw, None


def _text(raw: dict[str, Any], key: str, default: str) -> str:
    value = raw.get(key)
    return value if isinstance(value, str) and value else default


def unvalidated_summary(folder: Path, source: str = "built-in") -> TypeSummary:
    """What the sidebar shows of a folder before its manifest is validated: its own words, taken as they are."""
    raw, error = read_manifest_json(folder)
    if raw is None:
        return TypeSummary(folder.name, folder.name, "other", "", None, error, False, str(folder), source)
    icon = raw.get("icon")
    icon_path = folder / icon if isinstance(icon, str) and icon else None
    type_name = _text(raw, "type", folder.name)
    return TypeSummary(type_name, _text(raw, "name", type_name), _text(raw, "group", "other"),
                       _text(raw, "description", ""), str(icon_path) if icon_path and icon_path.is_file() else None,
                       None, True, str(folder), source)


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


def _builtin_folders(builtin_folder: Path) -> list[Path]:
    try:
        with os.scandir(builtin_folder) as it:
            return sorted(Path(item.path) for item in it if item.is_dir() and item.name != "__pycache__")
    except OSError:
        return []


def fingerprint(builtin_folder: Path, plugin_folders: list[str], plugins: bool) -> dict[str, Any]:
    from connhub import __version__

    builtin = {folder.name: _folder_stats(folder) for folder in _builtin_folders(builtin_folder)}
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


def read_listing(cache_file: Path, builtin_folder: Path = BUILTIN_FOLDER, plugins: bool = True) -> TypeListing:
    """The cached listing when nothing changed since a validated discovery wrote it; otherwise the built-in
    manifests as they are (`validated` False). Never validates, never writes."""
    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
        plugin_folders = list(cached["fingerprint"]["plugins"])
        if cached["fingerprint"] == fingerprint(builtin_folder, plugin_folders, plugins):
            return TypeListing([TypeSummary(**s) for s in cached["types"]], validated=True)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    folders = [f for f in _builtin_folders(builtin_folder) if (f / "manifest.json").exists()]
    return TypeListing(map(unvalidated_summary, folders), validated=False)


def write_listing(cache_file: Path, registry: Registry, builtin_folder: Path = BUILTIN_FOLDER,
                  plugins: bool = True) -> None:
    """Cache what a validated discovery found, for the next start's first paint. A read-only data folder only
    leaves the next start without it."""
    summaries = registry.summaries()
    plugin_folders = sorted({s.folder for s in summaries if s.folder and s.source != "built-in"})
    try:
        if not cache_file.parent.is_dir():  # the data folder, first made here when the window starts: 0700
            cache_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(cache_file.parent, 0o700)
        tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the owner's only, like the database
        with open(fd, "w", encoding="utf-8") as out:
            out.write(json.dumps({"fingerprint": fingerprint(builtin_folder, plugin_folders, plugins),
                                  "types": [asdict(s) for s in summaries]}))
        os.replace(tmp, cache_file)
    except OSError:
        pass


#: In the data folder: the plugins the user switched off (Settings → Plugins, `connhub plugins disable`). A file
#: and not a database row: discovery reads it before (and without) the database.
PLUGINS_FILE = "plugins.json"


def disabled_plugins(data_dir: Path) -> set[str]:
    """The distributions switched off; an unreadable file switches none off."""
    try:
        raw = json.loads((data_dir / PLUGINS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    disabled = raw.get("disabled") if isinstance(raw, dict) else None
    return {name for name in disabled if isinstance(name, str)} if isinstance(disabled, list) else set()


def set_plugin_enabled(data_dir: Path, name: str, enabled: bool, cache_file: Path | None = None) -> None:
    """Kept for the next discovery; the type listing cached for the first paint is dropped (it would show the
    plugin's types as they were)."""
    disabled = disabled_plugins(data_dir)
    disabled = disabled - {name} if enabled else disabled | {name}
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = data_dir / f".{PLUGINS_FILE}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps({"disabled": sorted(disabled)}, indent=2) + "\n")
    os.replace(tmp, data_dir / PLUGINS_FILE)
    if cache_file is not None:
        cache_file.unlink(missing_ok=True)
