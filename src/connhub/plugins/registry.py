"""Find every integration type, check its manifest, and import its code only when it is first needed.

Discovery never raises: a broken type becomes a `TypeEntry` with `error` set (a fix-it message), so one bad
plugin disables only itself and the app still starts and lists it. Plugins (docs/PLUGINS.md) are grouped by
distribution (`PluginInfo`): each manifest's `api_version` is checked first, an `extends` manifest adds its
actions to another type (`Contribution`; a name already taken is refused, naming both), and a plugin the user
switched off is listed but not used.
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
from connhub.core.manifest import Extension, Manifest, manifest_problems, validate_actions
from connhub.core.plugin import api_problem
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
    #: Action name → the plugin that added it to this type (docs/PLUGINS.md, "Contributions").
    contributions: dict[str, Contribution] = field(default_factory=dict, repr=False)
    #: Its plugin is switched off (Settings → Plugins): listed, with its form, but not usable.
    disabled: bool = False

    @property
    def plugin(self) -> str | None:
        """The distribution that provides the type, or None for a built-in (or a test's folder)."""
        return plugin_of(self.source)

    def action_source(self, action: str) -> str:
        """Who provides one of the type's actions: the type's own source, or the plugin that added it."""
        contribution = self.contributions.get(action)
        return contribution.source if contribution else self.source

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


@dataclass
class Contribution:
    """A plugin's additions to a type it does not own: actions (an `extends` manifest, core.manifest.Extension)."""

    source: str
    extends: str
    folder: Path
    entrypoint: str | None = None
    raw_actions: list = field(default_factory=list, repr=False)
    actions: list[str] = field(default_factory=list)  # the names added to the type
    error: str | None = None
    _code: dict[int, object] = field(default_factory=dict, repr=False)

    def code(self, integration: Integration) -> object:
        """The plugin's object running the added coded actions, built on first use with the type's Integration."""
        built = self._code.get(id(integration))
        if built is None:
            module_name, _, attr = (self.entrypoint or "").partition(":")
            try:
                built = getattr(importlib.import_module(module_name), attr)(integration)
            except Exception as exc:  # noqa: BLE001 - a broken plugin fails its own actions only
                raise PluginLoadError(f"cannot load {self.entrypoint} ({self.source}) for its {self.extends} "
                                      f"actions: {type(exc).__name__}: {exc}") from exc
            self._code[id(integration)] = built
        return built


def plugin_of(source: str) -> str | None:
    return source.removeprefix("plugin ") if source.startswith("plugin ") else None


def disabled_message(plugin: str) -> str:
    return (f"plugin {plugin} is disabled by user: enable it in Settings → Plugins or with "
            f"`connhub plugins enable {plugin}`")


def load_plugin_folder(folder: Path, source: str, disabled: bool = False) -> TypeEntry | Contribution:
    """A plugin's folder: a type, or an `extends` manifest adding actions to another type. Its `api_version`
    is checked first (a future manifest may not validate here at all); a disabled plugin is read, not used."""
    raw, error = read_manifest_json(folder)
    plugin = plugin_of(source) or source
    if raw is not None and "extends" in raw:
        return load_extension(folder, source, raw, disabled)
    if raw is not None and (problem := api_problem(raw.get("api_version"), plugin)):
        type_name = raw.get("type") if isinstance(raw.get("type"), str) else folder.name
        return TypeEntry(type_name, source, folder, None, f"incompatible: {problem}")
    entry = load_folder(folder, source, require_folder_name=False)
    if disabled:
        entry.error, entry.disabled = disabled_message(plugin), True
    return entry


def load_extension(folder: Path, source: str, raw: dict, disabled: bool) -> Contribution:
    extends = raw.get("extends") if isinstance(raw.get("extends"), str) else "?"
    contribution = Contribution(source, extends, folder)
    plugin = plugin_of(source) or source
    if problem := api_problem(raw.get("api_version"), plugin):
        contribution.error = f"incompatible: {problem}"
        return contribution
    try:
        extension = Extension.model_validate(raw)
    except ValidationError as exc:
        contribution.error = "; ".join(manifest_problems(exc))
        return contribution
    except RecursionError:
        contribution.error = TOO_DEEP
        return contribution
    contribution.entrypoint, contribution.raw_actions = extension.entrypoint, extension.actions
    if disabled:
        contribution.error = disabled_message(plugin)
    return contribution


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


@dataclass
class PluginInfo:
    """One installed plugin (a distribution with `connhub.integrations` entry points), as `connhub plugins`
    and Settings → Plugins show it."""

    name: str
    version: str
    types: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)  # "postgres.database_size"
    problems: list[str] = field(default_factory=list)
    disabled: bool = False

    @property
    def status(self) -> str:
        """ok, disabled by user, incompatible: why, or failed: why."""
        if self.disabled:
            return "disabled by user"
        incompatible = [p for p in self.problems if p.startswith("incompatible: ")]
        if incompatible:
            return incompatible[0]
        return f"failed: {self.problems[0]}" if self.problems else "ok"


def _entry_point_folders() -> Iterable[tuple[Path | None, str, str | None, str, str]]:
    """(folder, source, error, entry point name, version) per entry point; the name stands in for a broken
    one's type."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else "unknown distribution"
        version = (ep.dist.version if ep.dist else None) or "?"
        source = f"plugin {dist}"
        try:  # a dotted name imports its parent package: whatever that raises disables only this entry
            spec = importlib.util.find_spec(ep.value)
        except Exception as exc:
            spec, error = None, f"{type(exc).__name__}: {exc}"
        else:
            error = None
        if spec is None or not spec.submodule_search_locations:
            yield None, source, (f"entry point {ep.name!r} names {ep.value!r}, which is not an installed "
                                 f"package{': ' + error if error else ''}; reinstall {dist}"), ep.name, version
            continue
        yield Path(next(iter(spec.submodule_search_locations))), source, None, ep.name, version


class Registry:
    def __init__(self, entries: Iterable[TypeEntry], contributions: Iterable[Contribution] = (),
                 plugins: Iterable[PluginInfo] = ()):
        self._entries: dict[str, TypeEntry] = {}
        for entry in entries:
            if entry.type in self._entries:
                first = self._entries[entry.type]
                entry = TypeEntry(f"{entry.type} ({entry.source})", entry.source, entry.folder, None,
                                  f"type {first.type!r} is already provided by {first.source}, so {entry.source} "
                                  "cannot add it: give this plugin's type another name")
            self._entries[entry.type] = entry
        self.contributions = list(contributions)
        for contribution in self.contributions:
            if contribution.error is None:
                self._contribute(contribution)
        self._plugins = {p.name: p for p in plugins}
        self._describe_plugins()

    def _contribute(self, contribution: Contribution) -> None:
        """Add a plugin's actions to their type, each checked as the type's own are; a name the type (or another
        plugin) has already is refused, naming both."""
        target = self._entries.get(contribution.extends)
        if target is None or not target.ok:
            state = "not installed" if target is None else "disabled"
            contribution.error = f"extends type {contribution.extends!r}, which is {state}"
            return
        manifest = target.manifest
        checked_as = manifest.model_copy(update={"entrypoint": contribution.entrypoint})
        good, broken = validate_actions(contribution.raw_actions, checked_as)
        problems = [f"action {name!r}: {why}" for name, why in broken.items()]
        for action in good:
            if manifest.action(action.name) is not None:
                problems.append(f"action {action.name!r} of {target.type} is already provided by "
                                f"{target.action_source(action.name)}, so {contribution.source} cannot add it: "
                                "rename the action")
                continue
            manifest.actions.append(action)
            target.contributions[action.name] = contribution
            contribution.actions.append(action.name)
        contribution.error = "; ".join(problems) or None

    def _describe_plugins(self) -> None:
        for entry in self._entries.values():
            if (info := self._plugins.get(entry.plugin or "")) is None:
                continue
            if entry.manifest is not None:
                info.types.append(entry.manifest.type)
            if entry.error and not info.disabled:
                info.problems.append(entry.error if entry.error.startswith("incompatible: ")
                                     else f"{entry.type}: {entry.error}")
        for contribution in self.contributions:
            if (info := self._plugins.get(plugin_of(contribution.source) or "")) is not None:
                info.actions += [f"{contribution.extends}.{name}" for name in contribution.actions]
                if contribution.error and not info.disabled:
                    info.problems.append(contribution.error if contribution.error.startswith("incompatible: ")
                                         else f"{contribution.extends} actions: {contribution.error}")

    @classmethod
    def discover(cls, builtin_folder: Path = BUILTIN_FOLDER, plugins: bool = True,
                 disabled: Iterable[str] = ()) -> Registry:
        """Built-ins, then entry-point plugins; those named in `disabled` (distributions, kept in the data
        folder's plugins.json) are listed but not used."""
        entries = [load_folder(folder, "built-in", require_folder_name=True)
                   for folder in (sorted(builtin_folder.iterdir()) if builtin_folder.is_dir() else [])
                   if folder.is_dir() and (folder / "manifest.json").exists()]
        contributions: list[Contribution] = []
        infos: dict[str, PluginInfo] = {}
        disabled = set(disabled)
        if plugins:
            for folder, source, error, name, version in _entry_point_folders():
                dist = plugin_of(source) or source
                infos.setdefault(dist, PluginInfo(dist, version, disabled=dist in disabled))
                if error or folder is None:
                    entries.append(TypeEntry(name, source, None, None, error))
                    continue
                loaded = load_plugin_folder(folder, source, disabled=dist in disabled)
                (contributions if isinstance(loaded, Contribution) else entries).append(loaded)
        return cls(entries, contributions, infos.values())

    @classmethod
    def from_folders(cls, folders: Iterable[Path], source: str = "test") -> Registry:
        """A registry of given folders only, for tests that must not see real discovery (`extends` folders add
        their actions)."""
        loaded = [load_plugin_folder(Path(f), source) for f in folders]
        return cls([e for e in loaded if isinstance(e, TypeEntry)], [c for c in loaded if isinstance(c, Contribution)])

    def plugins(self) -> list[PluginInfo]:
        return sorted(self._plugins.values(), key=lambda p: p.name.casefold())

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
