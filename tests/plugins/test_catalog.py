"""The first paint's type listing: what validated discovery says when its cache is current, the manifests as
they are when not (a first start), and never pydantic."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from connhub.plugins.catalog import read_listing, write_listing
from connhub.plugins.registry import BUILTIN_FOLDER, Registry


def _folders(tmp_path, *types):
    root = tmp_path / "integrations"
    for name in types:
        shutil.copytree(BUILTIN_FOLDER / name, root / name, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return root


def _by_type(catalog) -> dict:
    return {s.type: s for s in catalog.summaries()}


def test_a_first_start_lists_the_builtin_manifests_as_discovery_does_without_validating(tmp_path):
    listing = read_listing(tmp_path / "types-cache.json")
    assert not listing.validated and not (tmp_path / "types-cache.json").exists(), "reading never writes"
    assert _by_type(listing) == _by_type(Registry.discover(plugins=False)), \
        "valid built-in manifests: the sidebar must not change once they are validated"
    assert "postgres" in listing and listing.summary("postgres").name == "PostgreSQL"
    assert listing.summary("nope") is None and "nope" not in listing


def test_the_listing_imports_no_pydantic_even_without_a_cache(tmp_path):
    code = ("import sys; from pathlib import Path; from connhub.plugins.catalog import read_listing; "
            f"listing = read_listing(Path({str(tmp_path / 'none.json')!r})); "
            "print(len(listing.summaries()), sorted(m for m in ('pydantic', 'jsonschema', 'connhub.plugins.registry', "
            "'importlib.metadata') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    count, heavy = out.stdout.split(" ", 1)
    assert int(count) > 10 and heavy.strip() == "[]"


def test_the_cache_a_validated_discovery_wrote_is_read_back_as_validated(tmp_path):
    cache = tmp_path / "types-cache.json"
    registry = Registry.discover()
    write_listing(cache, registry)
    listing = read_listing(cache)
    assert listing.validated
    assert listing.summaries() == registry.summaries()


def test_a_changed_manifest_or_icon_misses_the_cache(tmp_path):
    root = _folders(tmp_path, "redis", "postgres")
    cache = tmp_path / "types-cache.json"
    write_listing(cache, Registry.discover(root, plugins=False), root, plugins=False)
    assert read_listing(cache, root, plugins=False).validated
    manifest = root / "redis" / "manifest.json"
    raw = json.loads(manifest.read_text())
    raw["name"] = "Redis (renamed)"
    manifest.write_text(json.dumps(raw))
    changed = read_listing(cache, root, plugins=False)
    assert not changed.validated and changed.summary("redis").name == "Redis (renamed)"

    write_listing(cache, Registry.discover(root, plugins=False), root, plugins=False)
    (root / "postgres" / raw_icon(root / "postgres")).unlink()
    again = read_listing(cache, root, plugins=False)
    assert not again.validated, "a removed icon must be noticed"
    assert again.summary("postgres").icon_path is None, "no icon drawn from a file that is gone"
    assert "icon" in Registry.discover(root, plugins=False).summary("postgres").error


def raw_icon(folder):
    return json.loads((folder / "manifest.json").read_text())["icon"]


def test_a_broken_type_keeps_its_fix_it_message_from_the_cache(tmp_path):
    root = _folders(tmp_path, "redis")
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text('{"type": "broken", ')
    cache = tmp_path / "types-cache.json"
    unvalidated = read_listing(cache, root, plugins=False).summary("broken")
    registry = Registry.discover(root, plugins=False)
    write_listing(cache, registry, root, plugins=False)
    cached = read_listing(cache, root, plugins=False)
    assert cached.validated
    assert cached.summary("broken") == registry.summary("broken") == unvalidated, \
        "unreadable JSON reads the same before and after validation"
    assert not unvalidated.ok and "not valid JSON" in unvalidated.error


def test_a_manifest_that_only_validation_rejects_is_listed_until_then(tmp_path):
    """The first paint takes a manifest's own words; validation then disables it (the window redraws)."""
    root = _folders(tmp_path, "redis")
    manifest = root / "redis" / "manifest.json"
    raw = json.loads(manifest.read_text())
    raw["group"] = "no such group"
    manifest.write_text(json.dumps(raw))
    listing = read_listing(tmp_path / "types-cache.json", root, plugins=False)
    validated = Registry.discover(root, plugins=False).summary("redis")
    assert listing.summary("redis").ok and not validated.ok
    assert listing.summaries() != Registry.discover(root, plugins=False).summaries()


def test_a_corrupt_cache_is_read_as_no_cache(tmp_path):
    root = _folders(tmp_path, "redis")
    cache = tmp_path / "types-cache.json"
    cache.write_text("{ not json")
    listing = read_listing(cache, root, plugins=False)
    assert not listing.validated and listing.summary("redis").name == "Redis"
    write_listing(cache, Registry.discover(root, plugins=False), root, plugins=False)
    assert read_listing(cache, root, plugins=False).validated
