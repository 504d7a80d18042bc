"""Find every integration type, check its manifest, and import its code only when it is first needed.

Discovery never raises: a broken type becomes a `TypeEntry` with `error` set (a fix-it message), so one bad
plugin disables only itself and the app still starts and lists it.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import ValidationError

from connhub.core.fields import FieldSpec, field_specs
from connhub.core.integration import Integration
from connhub.core.manifest import Manifest, manifest_problems
from connhub.plugins.catalog import BUILTIN_FOLDER, TOO_DEEP, TypeSummary, read_manifest_json, summarize

ENTRY_POINT_GROUP = "connhub.integrations"
#: The code behind a manifest that declares only a `test` request.
DECLARATIVE_HTTP = "connhub.integrations.http:HttpIntegration"


class UnknownType(KeyError):
    def __str__(self) -> str:
        return f"unknown integration type {self.args[0]!r} (see `connhub types`)"


class PluginLoadError(Exception):
    """The type's code could not be imported; the message says what to fix."""


@dataclass
class TypeEntry:
    type: str
    source: str  # "built-in" or "plugin <distribution>"
    folder: Path | None
    manifest: Manifest | None
    error: str | None = None
    _integration: Integration | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.manifest is not None and self.error is None

    @property
    def name(self) -> str:
        return self.manifest.name if self.manifest else self.type

    @cached_property
    def specs(self) -> list[FieldSpec]:
        return field_specs(self.manifest.credentials) if self.manifest else []

    @property
    def icon_path(self) -> Path | None:
        if self.manifest and self.folder and (self.folder / self.manifest.icon).is_file():
            return self.folder / self.manifest.icon
        return None

    def integration(self) -> Integration:
        """Import the type's code on first use (never at start-up)."""
        if self._integration is None:
            if not self.ok:
                raise PluginLoadError(f"{self.type} is disabled: {self.error}")
            target = self.manifest.entrypoint or DECLARATIVE_HTTP
            module_name, _, attr = target.partition(":")
            try:
                cls = getattr(importlib.import_module(module_name), attr)
            except Exception as exc:  # any import-time failure disables just this type
                raise PluginLoadError(f"cannot load {target} for {self.type}: {type(exc).__name__}: {exc}; "
                                      "check the entrypoint and that the plugin's dependencies are installed"
                                      ) from exc
            if not (isinstance(cls, type) and issubclass(cls, Integration)):
                raise PluginLoadError(f"{target} is not a connhub Integration subclass: derive it from "
                                      "connhub.core.integration.Integration")
            self._integration = cls(self.manifest)
        return self._integration


def load_folder(folder: Path, source: str, require_folder_name: bool) -> TypeEntry:
    """Read and check one integration folder; problems go into the entry, never raise."""
    raw, error = read_manifest_json(folder)
    if raw is None:
        return TypeEntry(folder.name, source, folder, None, error)
    type_name = raw.get("type") if isinstance(raw.get("type"), str) else folder.name
    try:
        manifest = Manifest.model_validate(raw)
    except ValidationError as exc:
        return TypeEntry(type_name, source, folder, None, "; ".join(manifest_problems(exc)))
    except RecursionError:  # nesting that parsed, but is too deep for the schema checks
        return TypeEntry(type_name, source, folder, None, TOO_DEEP)
    problems = []
    if require_folder_name and folder.name != manifest.type:
        problems.append(f"folder {folder.name!r} holds type {manifest.type!r}: rename one so they match")
    if not (folder / manifest.icon).is_file():
        problems.append(f"icon {manifest.icon!r} not found beside manifest.json: add the file or fix 'icon'")
    for event in manifest.events:
        if not schema_inside(folder, event.schema_path):
            problems.append(schema_outside_message(event.type, event.schema_path))
        elif not (folder / event.schema_path).is_file():
            problems.append(f"event {event.type!r} names schema {event.schema_path!r}, which does not exist")
    return TypeEntry(manifest.type, source, folder, manifest, "; ".join(problems) or None)


def schema_inside(folder: Path, schema_path: str) -> bool:
    """Whether the schema file, links followed, is inside the type's folder (the manifest refuses '..' and
    absolute paths; a link in events/ pointing elsewhere is caught here)."""
    try:
        return (folder / schema_path).resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError, ValueError):  # a link loop, a NUL
        return False


def schema_outside_message(event_type: str, schema_path: str) -> str:
    return (f"event {event_type!r} names schema {schema_path!r}, which leads outside the plugin's folder: put the "
            "schema file itself in the folder (e.g. in events/), not a link to a file elsewhere")


def _entry_point_folders() -> Iterable[tuple[Path | None, str, str | None, str]]:
    """(folder, source, error, entry point name) per entry point; the name stands in for a broken one's type."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else "unknown distribution"
        source = f"plugin {dist}"
        try:  # a dotted name imports its parent package: whatever that raises disables only this entry
            spec = importlib.util.find_spec(ep.value)
        except Exception as exc:
            spec, error = None, f"{type(exc).__name__}: {exc}"
        else:
            error = None
        if spec is None or not spec.submodule_search_locations:
            yield None, source, (f"entry point {ep.name!r} names {ep.value!r}, which is not an installed "
                                 f"package{': ' + error if error else ''}; reinstall {dist}"), ep.name
            continue
        yield Path(next(iter(spec.submodule_search_locations))), source, None, ep.name


class Registry:
    def __init__(self, entries: Iterable[TypeEntry]):
        self._entries: dict[str, TypeEntry] = {}
        for entry in entries:
            if entry.type in self._entries:
                first = self._entries[entry.type]
                entry = TypeEntry(f"{entry.type} ({entry.source})", entry.source, entry.folder, None,
                                  f"type {first.type!r} is already provided by {first.source}: "
                                  "give this plugin's type another name")
            self._entries[entry.type] = entry

    @classmethod
    def discover(cls, builtin_folder: Path = BUILTIN_FOLDER, plugins: bool = True) -> Registry:
        entries = [load_folder(folder, "built-in", require_folder_name=True)
                   for folder in (sorted(builtin_folder.iterdir()) if builtin_folder.is_dir() else [])
                   if folder.is_dir() and (folder / "manifest.json").exists()]
        if plugins:
            for folder, source, error, name in _entry_point_folders():
                if error or folder is None:
                    entries.append(TypeEntry(name, source, None, None, error))
                else:
                    entries.append(load_folder(folder, source, require_folder_name=False))
        return cls(entries)

    @classmethod
    def from_folders(cls, folders: Iterable[Path], source: str = "test") -> Registry:
        """A registry of given folders only, for tests that must not see real discovery."""
        return cls(load_folder(Path(f), source, require_folder_name=False) for f in folders)

    def entries(self) -> list[TypeEntry]:
        return list(self._entries.values())

    def working(self) -> list[TypeEntry]:
        return [e for e in self._entries.values() if e.ok]

    def summaries(self) -> list[TypeSummary]:
        """What the list and the sidebar show (`TypeCatalog`, as the first paint's `TypeListing` answers it)."""
        return [summarize(entry) for entry in self._entries.values()]

    def summary(self, type_name: str) -> TypeSummary | None:
        entry = self._entries.get(type_name)
        return summarize(entry) if entry is not None else None

    def get(self, type_name: str) -> TypeEntry:
        try:
            return self._entries[type_name]
        except KeyError:
            raise UnknownType(type_name) from None

    def __contains__(self, type_name: str) -> bool:
        return type_name in self._entries
