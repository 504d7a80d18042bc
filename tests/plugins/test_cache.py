"""The cached type listing: the same as discovery says, rebuilt when anything it came from changes."""

from __future__ import annotations

import json
import shutil

from connhub.plugins.cache import load_registry
from connhub.plugins.registry import BUILTIN_FOLDER, Registry


def _folders(tmp_path, *types):
    root = tmp_path / "integrations"
    for name in types:
        shutil.copytree(BUILTIN_FOLDER / name, root / name, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def test_cache_hit_lists_what_discovery_lists_without_validating(tmp_path):
    cache = tmp_path / "types-cache.json"
    first = load_registry(cache)
    assert first.loaded and cache.is_file(), "a miss discovers now and writes the cache"
    second = load_registry(cache)
    assert not second.loaded, "a hit must not validate the manifests"
    assert second.summaries() == Registry.discover().summaries()
    assert "postgres" in second and not second.loaded
    assert second.get("postgres").manifest.name == "PostgreSQL", "anything else loads the validated registry"
    assert second.loaded


def test_a_changed_manifest_or_icon_misses_the_cache(tmp_path):
    root = _folders(tmp_path, "redis", "postgres")
    cache = tmp_path / "types-cache.json"
    load_registry(cache, root, plugins=False)
    manifest = root / "redis" / "manifest.json"
    raw = json.loads(manifest.read_text())
    raw["name"] = "Redis (renamed)"
    manifest.write_text(json.dumps(raw))
    assert load_registry(cache, root, plugins=False).summary("redis").name == "Redis (renamed)"

    (root / "postgres" / raw_icon(root / "postgres")).unlink()
    again = load_registry(cache, root, plugins=False)
    assert again.loaded, "a removed icon must be noticed"
    assert "icon" in again.summary("postgres").error


def raw_icon(folder):
    return json.loads((folder / "manifest.json").read_text())["icon"]


def test_a_broken_type_keeps_its_fix_it_message_from_the_cache(tmp_path):
    root = _folders(tmp_path, "redis")
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text('{"type": "broken", ')
    cache = tmp_path / "types-cache.json"
    fresh = load_registry(cache, root, plugins=False).summary("broken")
    cached = load_registry(cache, root, plugins=False)
    assert not cached.loaded
    assert cached.summary("broken") == fresh and not fresh.ok and "not valid JSON" in fresh.error


def test_a_corrupt_cache_is_rebuilt(tmp_path):
    root = _folders(tmp_path, "redis")
    cache = tmp_path / "types-cache.json"
    cache.write_text("{ not json")
    registry = load_registry(cache, root, plugins=False)
    assert registry.loaded and registry.summary("redis").name == "Redis"
    assert not load_registry(cache, root, plugins=False).loaded
