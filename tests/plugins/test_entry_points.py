"""Third-party plugins, installed for real: `pip install` two small packages (tests/plugins/fixtures/) into a
folder, then list the types the way a user would, in a fresh interpreter and in-process."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from connhub.plugins.registry import Registry

FIXTURES = Path(__file__).resolve().parent / "fixtures"
PACKAGES = ("connhub-example-plugin", "connhub-broken-plugin")

BROKEN_ERROR = "test.path 'ping' must start with '/': write '/ping'"
MISSING_ERROR = ("entry point 'missing_api' names 'connhub_missing_module', which is not an installed package; "
                 "reinstall connhub-broken-plugin")


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory) -> Path:
    """Both fixture packages installed (offline, no dependencies) into a folder to put on sys.path."""
    work = tmp_path_factory.mktemp("plugins")
    sources = []
    for name in PACKAGES:  # build from copies: setuptools leaves build/ and *.egg-info in the source tree
        shutil.copytree(FIXTURES / name, work / "src" / name)
        sources.append(str(work / "src" / name))
    site = work / "site"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--target", str(site), *sources], capture_output=True, text=True, env=env, timeout=180)
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        if "invalid command 'bdist_wheel'" in output:
            pytest.skip("this environment cannot build a wheel offline: its setuptools predates 70.1 and the "
                        "'wheel' package is not installed (add 'wheel' to the test extras)")
        pytest.fail(f"pip install of the fixture plugins failed:\n{output}")
    return site


def test_the_plugins_are_installed(plugin_site):
    assert (plugin_site / "connhub_example_plugin" / "manifest.json").is_file()
    assert (plugin_site / "connhub_example_plugin" / "icon.svg").is_file()
    entry_points = (next(plugin_site.glob("connhub_broken_plugin-*.dist-info")) / "entry_points.txt").read_text()
    assert "missing_api = connhub_missing_module" in entry_points


def by_type(rows: list[dict]) -> dict[str, dict]:
    return {row["type"]: row for row in rows}


def test_connhub_types_lists_plugins_good_and_broken(plugin_site, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(plugin_site), "CONNHUB_DATA_DIR": str(tmp_path / "data")}
    env.pop("CONNHUB_DB_URL", None)
    proc = subprocess.run([sys.executable, "-m", "connhub", "types", "--json"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr  # a broken plugin never stops the app
    types = by_type(json.loads(proc.stdout))

    for builtin in ("http", "postgres", "redis"):
        assert types[builtin]["ok"] and types[builtin]["source"] == "built-in", types[builtin]
    assert types["example_api"] == {"type": "example_api", "name": "Example API", "group": "http-api",
                                    "source": "plugin connhub-example-plugin", "ok": True, "error": None}
    assert types["broken_api"] == {"type": "broken_api", "name": "broken_api", "group": None,
                                   "source": "plugin connhub-broken-plugin", "ok": False, "error": BROKEN_ERROR}
    assert types["missing_api"] == {"type": "missing_api", "name": "missing_api", "group": None,
                                    "source": "plugin connhub-broken-plugin", "ok": False, "error": MISSING_ERROR}


def test_in_process_discovery_sees_the_same(plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    importlib.invalidate_caches()
    registry = Registry.discover()

    example = registry.get("example_api")
    assert example.ok, example.error
    assert example.source == "plugin connhub-example-plugin"
    assert example.folder == plugin_site / "connhub_example_plugin"
    assert example.icon_path == plugin_site / "connhub_example_plugin" / "icon.svg"
    assert example.manifest.test.path == "/v1/ping"
    assert [s.key for s in example.specs] == ["base_url", "token"] and example.specs[1].secret
    assert "connhub_example_plugin" not in sys.modules  # discovery reads files; it runs no plugin code

    broken, missing = registry.get("broken_api"), registry.get("missing_api")
    assert (broken.ok, broken.source, broken.error) == (False, "plugin connhub-broken-plugin", BROKEN_ERROR)
    assert (missing.ok, missing.source, missing.error) == (False, "plugin connhub-broken-plugin", MISSING_ERROR)
    assert {"http", "postgres", "redis", "example_api"} <= {e.type for e in registry.working()}


def test_a_declarative_plugin_runs_on_the_builtin_http_code(plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    importlib.invalidate_caches()
    integration = Registry.discover().get("example_api").integration()
    assert type(integration).__module__ == "connhub.integrations.http"
    assert integration.manifest.type == "example_api"


def test_without_the_plugins_there_are_no_plugin_types():
    importlib.invalidate_caches()
    assert not {"example_api", "broken_api", "missing_api"} & {e.type for e in Registry.discover().entries()}
