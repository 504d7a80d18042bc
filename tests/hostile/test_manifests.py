"""Hostile manifests: 1,000 hypothesis-made manifest.json files — valid-shaped ones with hostile values,
wrong types, missing keys, deep nesting, huge strings, broken JSON Schema, icon paths that climb out of the
folder, bytes that are not UTF-8. Discovery never raises: each type is usable, or disabled with a fix-it
message that names what to fix."""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connhub.core.fields import all_specs
from connhub.plugins.registry import Registry

SVG = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"/>'
BASE = {
    "manifest_version": 1, "type": "acme", "name": "Acme API", "group": "http-api", "variant": "rest",
    "description": "A declarative HTTP type.", "icon": "icon.svg", "docs_url": "https://acme.example/docs",
    "url_schemes": ["acme"],
    "credentials": {"type": "object", "required": ["base_url"], "properties": {
        "base_url": {"type": "string", "title": "Base URL", "format": "uri", "default": "https://api.acme.example",
                     "x-order": 1},
        "token": {"type": "string", "title": "API token", "format": "password", "writeOnly": True, "x-order": 2},
        "region": {"enum": ["eu", "us"], "x-enum-labels": ["Europe", "USA"], "default": "eu", "x-group": "Advanced"},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3, "x-show-if": {"region": "eu"}},
        "auth": {"title": "Sign-in", "oneOf": [
            {"title": "Token", "properties": {"method": {"const": "token"}, "key": {"type": "string",
                                                                                    "writeOnly": True}}},
            {"title": "None", "properties": {"method": {"const": "none"}}}]},
    }},
    "test": {"method": "GET", "path": "/v1/me", "headers": {"Authorization": "Bearer {token}"},
             "expect_status": [200], "version_header": "X-Acme-Version"},
    "events": [{"type": "ping", "description": "A ping.", "schema": "events/ping.json"}],
}

text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(["\x00", "\u202e", "\u05d0", "\ud800", "\udfff", "..", "/", "\\", "%", "{",
                                      "}", "${env:X}", "\n", "é", "🚀"]), max_size=30).map("".join),
    st.integers(min_value=10_000, max_value=1_000_000).map(lambda n: "A" * n),  # huge (up to 1 MB)
    st.sampled_from(["../icon.svg", "../../etc/passwd", "/etc/passwd", "icons/../icon.svg", "./icon.svg",
                     "icon.svg\x00.png", "C:\\icon.svg", "", ".", "..", "icon.SVG", "missing.svg"]),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), text)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(text, inner, max_size=4)),
                           max_leaves=6)


def _paths(value, prefix=()):
    """Every path (tuple of keys/indexes) inside a JSON value."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


PATHS = [p for p in _paths(BASE) if p]


def _deep(depth: int, kind: str):
    return json.loads("[" * depth + "]" * depth) if kind == "list" and depth < 900 else {"d": depth}


@st.composite
def mutations(draw):
    """(manifest as bytes, the keys on the paths the changes touched; empty when the file is not JSON)."""
    manifest = copy.deepcopy(BASE)
    touched: set[str] = set()
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(PATHS))
        parent = manifest
        try:
            for step in path[:-1]:
                parent = parent[step]
            action = draw(st.sampled_from(["replace", "delete", "wrap", "add"]))
            if action == "replace":
                parent[path[-1]] = draw(json_values)
            elif action == "delete":
                del parent[path[-1]]
            elif action == "wrap":
                parent[path[-1]] = [parent[path[-1]]] if draw(st.booleans()) else {"value": parent[path[-1]]}
            elif isinstance(parent, dict):
                parent[draw(text)] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed or retyped the parent
        touched |= {step for step in path if isinstance(step, str)}
    data = json.dumps(manifest).encode()
    shape = draw(st.sampled_from(["json"] * 12 + ["deep", "truncated", "latin1", "bom", "empty", "top-list"]))
    if shape == "deep":  # nesting far past any recursion limit
        depth = draw(st.one_of(st.integers(min_value=30, max_value=990), st.integers(min_value=1_000, max_value=200_000)))
        data = data[:-1] + b', "deep": ' + b"[" * depth + b"]" * depth + b"}"
        touched = set()
    elif shape == "truncated":
        data = data[:draw(st.integers(min_value=0, max_value=max(0, len(data) - 1)))]
    elif shape == "latin1":
        data = data.replace(b'"Acme API"', '"Acmé ÄPI"'.encode("latin-1"))
    elif shape == "bom":
        data = b"\xef\xbb\xbf" + data
    elif shape == "empty":
        data = b""
    elif shape == "top-list":
        data = b"[" + data + b"]"
    return data, (touched if shape == "json" else set())


def assert_usable(entry) -> None:
    """What the form builder and the list need from a usable type: specs whose texts are texts."""
    for spec in all_specs(entry.specs):
        for name in ("key", "title", "description", "placeholder", "group"):
            assert isinstance(getattr(spec, name), str), (spec.key, name, getattr(spec, name))
        for label in spec.option_labels:
            assert isinstance(label, str), (spec.key, spec.option_labels)
    assert isinstance(entry.name, str) and entry.name
    assert entry.icon_path is None or entry.icon_path.resolve().parent == entry.folder.resolve()


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=mutations())
def test_discovery_never_raises_on_hostile_manifests(case):
    data, touched = case
    root = Path(tempfile.mkdtemp(prefix="connhub-hostile-"))
    try:
        folder = root / "acme"
        (folder / "events").mkdir(parents=True)
        (folder / "icon.svg").write_text(SVG)
        (folder / "events" / "ping.json").write_text('{"type": "object"}')
        (folder / "manifest.json").write_bytes(data)

        registry = Registry.discover(builtin_folder=root, plugins=False)  # must not raise

        [entry] = registry.entries()
        if entry.ok:
            assert_usable(entry)
        else:
            assert isinstance(entry.error, str) and entry.error.strip(), entry
            assert len(entry.error) < 20_000, "a fix-it message must stay readable"
            if touched and entry.manifest is None:  # the message names what to fix
                assert any(key in entry.error for key in touched | {"manifest"}), (touched, entry.error[:500])
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- what hypothesis found, pinned ----------------------------------------------------------------------

def _discover_one(tmp_path: Path, data: bytes):
    folder = tmp_path / "acme"
    (folder / "events").mkdir(parents=True)
    (folder / "icon.svg").write_text(SVG)
    (folder / "events" / "ping.json").write_text('{"type": "object"}')
    (folder / "manifest.json").write_bytes(data)
    [entry] = Registry.discover(builtin_folder=tmp_path, plugins=False).entries()
    return entry


def test_deeply_nested_manifest_disables_only_its_type(tmp_path):
    """json's decoder recursed until RecursionError, which took the whole discovery (the app's start) down."""
    data = json.dumps(BASE).encode()[:-1] + b', "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    entry = _discover_one(tmp_path, data)
    assert not entry.ok and "nests" in entry.error and "flatten" in entry.error


def test_enum_labels_must_be_texts_one_per_value(tmp_path):
    """A label that is not a text was accepted, and would reach the form's combo box."""
    for labels in ([{"value": "Europe"}, "USA"], ["Europe"], "Europe,USA"):
        manifest = copy.deepcopy(BASE)
        manifest["credentials"]["properties"]["region"]["x-enum-labels"] = labels
        entry = _discover_one(tmp_path / f"case{len(labels)}{type(labels).__name__}", json.dumps(manifest).encode())
        assert not entry.ok and "x-enum-labels of 'region'" in entry.error, entry.error


def test_group_must_be_a_text(tmp_path):
    manifest = copy.deepcopy(BASE)
    manifest["credentials"]["properties"]["region"]["x-group"] = ["Advanced"]
    entry = _discover_one(tmp_path, json.dumps(manifest).encode())
    assert not entry.ok and "x-group of 'region'" in entry.error
