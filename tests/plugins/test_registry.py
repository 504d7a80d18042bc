"""Discovery: one broken type disables only itself, with a message that says how to fix it; code loads late."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from connhub.plugins.registry import PluginLoadError, Registry, TypeEntry, UnknownType

SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"/>'
CREDENTIALS = {"type": "object", "required": ["host"],
               "properties": {"host": {"type": "string"}, "password": {"type": "string", "writeOnly": True}}}


def manifest(type_name: str, **changes) -> dict:
    return {"manifest_version": 1, "type": type_name, "name": type_name.title(), "group": "database",
            "icon": "icon.svg", "entrypoint": "connhub_test_unused:Nope", "credentials": CREDENTIALS, **changes}


def write_type(root: Path, folder: str, content: dict | str | None, icon: bool = True) -> Path:
    path = root / folder
    path.mkdir(parents=True)
    if content is not None:
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        (path / "manifest.json").write_text(text, encoding="utf-8")
    if icon:
        (path / "icon.svg").write_text(SVG)
    return path


@pytest.fixture
def builtins(tmp_path) -> Path:
    root = tmp_path / "integrations"
    write_type(root, "good", manifest("good"))
    write_type(root, "badjson", '{\n  "manifest_version": 1,\n  "type": "badjson"\n  "name": "x"\n}')
    write_type(root, "badschema", manifest("badschema", group="databases"))
    write_type(root, "noicon", manifest("noicon"), icon=False)
    write_type(root, "renamed", manifest("other_name"))
    write_type(root, "notjson_object", "[1, 2]")
    (root / "__pycache__").mkdir()  # folders without a manifest are not types
    return root


@pytest.fixture
def registry(builtins) -> Registry:
    return Registry.discover(builtin_folder=builtins, plugins=False)


def test_discovery_lists_good_and_broken_types(registry):
    assert sorted(e.type for e in registry.entries()) == [
        "badjson", "badschema", "good", "noicon", "notjson_object", "other_name"]
    assert [e.type for e in registry.working()] == ["good"]
    good = registry.get("good")
    assert good.ok and good.error is None and good.source == "built-in"
    assert good.icon_path == good.folder / "icon.svg"
    assert [s.key for s in good.specs] == ["host", "password"]


def test_bad_json_says_where(registry):
    entry = registry.get("badjson")
    assert not entry.ok and entry.manifest is None
    assert entry.error == "manifest.json is not valid JSON (line 4, column 3): Expecting ',' delimiter"


def test_a_json_value_that_is_not_an_object(registry):
    assert registry.get("notjson_object").error == "manifest.json must hold one JSON object"


def test_schema_error_gives_the_fix_it_text(registry):
    entry = registry.get("badschema")
    assert not entry.ok and entry.specs == []
    assert entry.error == ("group 'databases' is unknown: use one of database, cache, messaging, storage, "
                           "http-api, devtools, communication, payments, remote, other")


def test_missing_icon(registry):
    entry = registry.get("noicon")
    assert not entry.ok and entry.icon_path is None
    assert entry.error == "icon 'icon.svg' not found beside manifest.json: add the file or fix 'icon'"


def test_builtin_folder_name_must_equal_the_type(registry):
    entry = registry.get("other_name")
    assert not entry.ok
    assert entry.error == "folder 'renamed' holds type 'other_name': rename one so they match"


def test_plugin_folders_may_have_any_name(tmp_path):
    folder = write_type(tmp_path, "connhub_acme_plugin", manifest("acme"))
    assert Registry.from_folders([folder]).get("acme").ok


def test_missing_event_schema(tmp_path):
    events = [{"type": "push", "description": "Sent on every push.", "schema": "events/push.json"}]
    folder = write_type(tmp_path, "hooks", manifest("hooks", events=events))
    assert Registry.from_folders([folder]).get("hooks").error == (
        "event 'push' names schema 'events/push.json', which does not exist")


def test_a_broken_type_cannot_be_loaded(registry):
    with pytest.raises(PluginLoadError, match="^badschema is disabled: group 'databases' is unknown"):
        registry.get("badschema").integration()


def test_duplicate_types_disable_the_second(tmp_path):
    first = write_type(tmp_path / "a", "dup", manifest("dup", name="First"))
    second = write_type(tmp_path / "b", "dup", manifest("dup", name="Second"))
    registry = Registry(TypeEntry(e.type, source, e.folder, e.manifest, e.error) for e, source in [
        (Registry.from_folders([first]).get("dup"), "built-in"),
        (Registry.from_folders([second]).get("dup"), "plugin connhub-dup")])
    assert registry.get("dup").name == "First" and registry.get("dup").ok
    shadow = registry.get("dup (plugin connhub-dup)")
    assert not shadow.ok and shadow.source == "plugin connhub-dup"
    assert shadow.error == ("type 'dup' is already provided by built-in, so plugin connhub-dup cannot add it: "
                            "give this plugin's type another name")
    assert [e.type for e in registry.working()] == ["dup"]


def test_discovery_never_raises(tmp_path):
    root = tmp_path / "integrations"
    write_type(root, "binary", None)
    (root / "binary" / "manifest.json").write_bytes(b"\xff\xfe\x00{")  # not UTF-8
    write_type(root, "empty", "")
    write_type(root, "nulls", manifest("nulls", credentials=None, name=None))
    write_type(root, "weird", manifest("weird", credentials={"type": "object", "properties": {
        "a": True, "b": {"oneOf": [False]}, "c": {"x-show-if": []}}}))
    (root / "dir_manifest").mkdir()
    (root / "dir_manifest" / "manifest.json").mkdir()
    registry = Registry.discover(builtin_folder=root, plugins=False)
    errors = {e.type: e.error for e in registry.entries()}
    assert set(errors) == {"binary", "empty", "nulls", "weird", "dir_manifest"}
    assert all(errors.values()) and registry.working() == []
    assert errors["empty"] == "manifest.json is not valid JSON (line 1, column 1): Expecting value"
    assert errors["weird"] == 'field \'a\' must be a schema object like {"type": "string"}, not true'
    assert Registry.discover(builtin_folder=tmp_path / "missing", plugins=False).entries() == []


def test_unknown_type(registry):
    with pytest.raises(UnknownType) as info:
        registry.get("mongo")
    assert str(info.value) == "unknown integration type 'mongo' (see `connhub types`)"
    assert "mongo" not in registry and "good" in registry


# --- lazy code --------------------------------------------------------------------------------------------

@pytest.fixture
def plugin_module(tmp_path, monkeypatch) -> str:
    """A uniquely named integration module on sys.path, not imported yet."""
    name = f"connhub_lazy_{uuid.uuid4().hex[:8]}"
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    (code_dir / f"{name}.py").write_text(textwrap.dedent("""
        from connhub.core.integration import Integration
        from connhub.core.results import ProbeInfo

        class LazyIntegration(Integration):
            async def test_connection(self, config, secrets, ctx):
                return ProbeInfo(server_version="lazy 1")
    """))
    (code_dir / f"{name}_broken.py").write_text("import connhub_test_missing_driver\n")
    monkeypatch.syspath_prepend(str(code_dir))
    yield name
    for module in (name, f"{name}_broken"):
        sys.modules.pop(module, None)


def test_integration_code_is_imported_on_first_use(tmp_path, plugin_module):
    root = tmp_path / "integrations"
    write_type(root, "lazy", manifest("lazy", entrypoint=f"{plugin_module}:LazyIntegration"))
    registry = Registry.discover(builtin_folder=root, plugins=False)
    entry = registry.get("lazy")
    assert entry.ok
    _ = entry.specs, entry.icon_path, entry.name  # what the window shows at start-up
    assert plugin_module not in sys.modules
    integration = entry.integration()
    assert plugin_module in sys.modules
    assert type(integration).__name__ == "LazyIntegration" and integration.manifest is entry.manifest
    assert entry.integration() is integration  # imported once


def test_an_import_error_disables_only_that_type(tmp_path, plugin_module):
    root = tmp_path / "integrations"
    write_type(root, "broken", manifest("broken", entrypoint=f"{plugin_module}_broken:Nope"))
    write_type(root, "lazy", manifest("lazy", entrypoint=f"{plugin_module}:LazyIntegration"))
    registry = Registry.discover(builtin_folder=root, plugins=False)
    assert registry.get("broken").ok  # the manifest is fine; only its code is not
    with pytest.raises(PluginLoadError) as info:
        registry.get("broken").integration()
    assert str(info.value) == (
        f"cannot load {plugin_module}_broken:Nope for broken: ModuleNotFoundError: No module named "
        "'connhub_test_missing_driver'; check the entrypoint and that the plugin's dependencies are installed")
    assert type(registry.get("lazy").integration()).__name__ == "LazyIntegration"


def test_builtins_are_discovered():
    registry = Registry.discover(plugins=False)
    for type_name in ("http", "postgres", "redis"):
        entry = registry.get(type_name)
        assert entry.ok, entry.error
        assert entry.source == "built-in" and entry.icon_path is not None


def test_discovery_imports_no_driver():
    code = textwrap.dedent("""
        import json, sys
        import connhub.plugins.registry
        from connhub.plugins.registry import Registry
        registry = Registry.discover()
        _ = [e.specs for e in registry.entries()]
        heavy = ("asyncpg", "redis", "httpx", "PySide6", "connhub.integrations.http",
                 "connhub.integrations.postgres", "connhub.integrations.redis")
        print(json.dumps({"types": [e.type for e in registry.working()],
                          "imported": sorted(m for m in heavy if m in sys.modules)}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(out.stdout)
    assert report["imported"] == []
    assert {"http", "postgres", "redis"} <= set(report["types"])


def test_an_entry_point_whose_package_raises_on_import_disables_only_itself(tmp_path, monkeypatch):
    """A dotted entry point makes discovery import the parent package; whatever that raises is contained."""
    site = tmp_path / "site"
    (site / "connhub_exploding_plugin").mkdir(parents=True)
    (site / "connhub_exploding_plugin" / "__init__.py").write_text("raise RuntimeError('needs a licence key')\n")
    dist_info = site / "connhub_exploding_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: connhub-exploding-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text(
        "[connhub.integrations]\nexploding_api = connhub_exploding_plugin.integration\n")
    monkeypatch.syspath_prepend(str(site))
    registry = Registry.discover()
    entry = registry.get("exploding_api")
    assert (entry.ok, entry.source) == (False, "plugin connhub-exploding-plugin")
    assert entry.error == (
        "entry point 'exploding_api' names 'connhub_exploding_plugin.integration', which is not an installed "
        "package: RuntimeError: needs a licence key; reinstall connhub-exploding-plugin")
    assert registry.get("postgres").ok
    sys.modules.pop("connhub_exploding_plugin", None)
