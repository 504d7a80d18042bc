"""`connhub new-type`: the scaffolded folder is a working type at once — read by the registry as a plugin,
listed by `connhub types --check` (exit 0), and its own tests pass; bad or taken names are refused (exit 2)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest


def as_plugin(tmp_path, monkeypatch, name: str) -> None:
    """Install the folder the way a plugin distribution does: an entry point in connhub.integrations."""
    info = tmp_path / f"connhub_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: connhub-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[connhub.integrations]\n{name} = {name}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()


@pytest.mark.parametrize("kind", ["--http", "--python"])
def test_a_scaffolded_type_passes_the_check_and_is_listed(cli, tmp_path, monkeypatch, kind):
    name = f"acme_{kind.strip('-')}"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    made = cli(tmp_path / "data", "new-type", name, kind, "--dir", str(plugins))
    assert made.returncode == 0, made.stderr
    files = sorted(p.relative_to(plugins / name).as_posix() for p in (plugins / name).rglob("*") if p.is_file())
    assert files == sorted(["manifest.json", "icon.svg", f"tests/test_{name}.py"]
                           + (["__init__.py"] if kind == "--python" else []))
    as_plugin(plugins, monkeypatch, name)

    checked = cli(tmp_path / "data", "types", "--check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert name in checked.stdout and "DISABLED" not in checked.stdout
    listed = cli(tmp_path / "data", "types", "--json")
    entry = next(e for e in json.loads(listed.stdout) if e["type"] == name)
    assert entry["ok"] and entry["source"].startswith("plugin")

    # The scaffold's own tests pass as they are (the HTTP one against a local server).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), *sys.path])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(plugins / name)],
                         capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_a_python_type_says_its_test_is_not_written_yet(cli, tmp_path, monkeypatch):
    import asyncio

    from connhub.plugins.registry import Registry
    from connhub.services.runner import run_test

    assert cli(tmp_path / "data", "new-type", "widget_db", "--python", "--dir", str(tmp_path)).returncode == 0
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = Registry.from_folders([tmp_path / "widget_db"]).get("widget_db")
    result = asyncio.run(run_test(entry, {}, {}, timeout=5))
    assert not result.ok and result.error_class == "config"
    assert "not implemented yet" in result.message and "widget_db/__init__.py" in result.message


@pytest.mark.parametrize("name", ["Acme", "1acme", "acme-api", "", "a" * 41, "postgres", "github"])
def test_bad_or_taken_names_are_refused(cli, tmp_path, name):
    run = cli(tmp_path / "data", "new-type", name, "--http", "--dir", str(tmp_path))
    assert run.returncode == 2, (name, run.stdout, run.stderr)
    assert list(tmp_path.glob("*/manifest.json")) == []


def test_an_existing_folder_is_not_overwritten(cli, tmp_path):
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "keep.txt").write_text("mine")
    assert cli(tmp_path / "data", "new-type", "acme", "--http", "--dir", str(tmp_path)).returncode == 2
    assert (tmp_path / "acme" / "keep.txt").read_text() == "mine"


def test_check_fails_when_a_type_is_broken(cli, tmp_path, monkeypatch):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    assert cli(tmp_path / "data", "new-type", "acme_broken", "--http", "--dir", str(plugins)).returncode == 0
    manifest = plugins / "acme_broken" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"http-api"', '"no-such-group"'))
    as_plugin(plugins, monkeypatch, "acme_broken")
    assert cli(tmp_path / "data", "types").returncode == 0  # listing alone still succeeds
    checked = cli(tmp_path / "data", "types", "--check")
    assert checked.returncode == 1 and "DISABLED" in checked.stdout and "no-such-group" in checked.stdout
