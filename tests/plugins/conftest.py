"""Plugins installed for real: `pip install --target` of the example plugin (examples/) and the fixtures
(tests/plugins/fixtures/) into a folder, put on sys.path for a test and taken off afterwards."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "connhub-plugin-example"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PLUGIN_MODULES = ("connhub_kvstore", "connhub_pg_extras", "connhub_flaky", "connhub_clash", "connhub_future",
                  "connhub_badjson")
PIP_ENV = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}


def pip(*args: str, env: dict | None = None) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                          env=env or PIP_ENV, timeout=240)
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        if "invalid command 'bdist_wheel'" in output:
            pytest.skip("this environment cannot build a wheel offline: add 'wheel' to the test extras")
        pytest.fail(f"pip {' '.join(args)} failed:\n{output}")


def pip_install(projects: list[Path], site: Path, work: Path) -> Path:
    """Build from copies (setuptools leaves build/ and *.egg-info in a source tree), offline, no dependencies."""
    sources = []
    for project in projects:
        copy = work / "src" / project.name
        if not copy.exists():
            shutil.copytree(project, copy, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        sources.append(str(copy))
    pip("install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", "--upgrade", "--target",
        str(site), *sources)
    return site


def pip_uninstall(name: str, site: Path) -> None:
    """What `pip uninstall` does — remove every file the distribution's RECORD lists, then its metadata — done
    here because pip refuses to uninstall from a folder outside its own environment (a --target folder)."""
    from importlib.metadata import distributions

    dist = next(d for d in distributions(path=[str(site)]) if d.metadata["Name"] == name)
    files = list(dist.files or [])  # read once: RECORD is among them
    for file in files:
        (site / file).unlink(missing_ok=True)
    for folder in sorted({(site / f).parent for f in files}, key=lambda p: -len(p.parts)):
        if folder.name == "__pycache__":
            shutil.rmtree(folder, ignore_errors=True)  # with the bytecode written since, as pip does
        elif folder != site and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


@pytest.fixture(scope="session")
def example_site(tmp_path_factory) -> Path:
    """The example plugin and the hooks fixture, installed (the folder is named like one pip installs into)."""
    work = tmp_path_factory.mktemp("example")
    return pip_install([EXAMPLE, FIXTURES / "connhub-hooks-plugin"], work / "site-packages", work)


@pytest.fixture(scope="session")
def hostile_site(tmp_path_factory) -> Path:
    """The example plugin beside one that clashes with it and one built for a future plugin API."""
    work = tmp_path_factory.mktemp("hostile")
    return pip_install([EXAMPLE, FIXTURES / "connhub-clash-plugin", FIXTURES / "connhub-future-plugin"],
                       work / "site-packages", work)


def forget_plugin_modules() -> None:
    for name in [m for m in sys.modules if m.startswith(PLUGIN_MODULES)]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def on_path(monkeypatch):
    """on_path(site): the plugins of `site` installed for this test (discovery and imports see them)."""
    def put(site: Path) -> Path:
        monkeypatch.syspath_prepend(str(site))
        forget_plugin_modules()
        return site

    yield put
    forget_plugin_modules()
