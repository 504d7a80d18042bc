"""Test a connhub plugin the way connhub tests itself (docs/PLUGINS.md, "Testing a plugin").

- `load_plugin(project)`: the plugin's packages (its pyproject's `connhub.integrations` entry points) loaded
  in isolation beside the built-ins — no other installed plugin, no real discovery, nothing installed;
- `plugin_hub(registry, data_dir)`: a real Hub (SQLite store, the keyring vault, the hook service) on a
  throwaway data folder; `hub.plugin_hooks.wait()` waits for the hooks a save scheduled;
- `canary_leaks(canary, data_dir, *texts)`: where a secret was written that must not hold it (every file in
  the data folder — the database, connhub.log — and any output you pass);
- the `connhub_plugin` pytest fixture (`pytest_plugins = ["connhub.testing"]`) giving all three for the
  project in the current folder.

Fake-free keyring: the vault is the real `keyring` one. Run the tests inside a throwaway GNOME Keyring
(`KEYRING_RECIPE`, connhub's scripts/with-test-keyring); `secret_service_problem()` says why one is missing,
and tests that store secrets skip with it.
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from connhub.plugins.catalog import BUILTIN_FOLDER
from connhub.plugins.registry import (
    ENTRY_POINT_GROUP,
    Contribution,
    PluginInfo,
    Registry,
    TypeEntry,
    load_folder,
    load_plugin_folder,
)

if TYPE_CHECKING:
    from connhub.services.hub import Hub

KEYRING_RECIPE = """\
apt-get install -y --no-install-recommends gnome-keyring dbus
T=$(mktemp -d); mkdir -m700 "$T/data" "$T/run" "$T/cache"
export XDG_DATA_HOME=$T/data XDG_RUNTIME_DIR=$T/run XDG_CACHE_HOME=$T/cache CONNHUB_TEST_KEYRING=secret-service
export PYTHON_KEYRING_BACKEND=keyring.backends.SecretService.Keyring
dbus-run-session -- sh -c 'echo -n test | gnome-keyring-daemon --unlock --components=secrets --daemonize \\
  >/dev/null && exec python -m pytest'
"""


def plugin_packages(project: Path) -> tuple[str, str, list[Path]]:
    """The distribution's name, its version and the package folders its `connhub.integrations` entry points
    name (from its pyproject.toml)."""
    meta = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = meta.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
    return meta["name"], str(meta.get("version", "?")), [project.joinpath(*v.split(".")) for v in names.values()]


def load_plugin(project: Path | str) -> Registry:
    """The built-ins and this one plugin, as an installed copy would be found (its code importable from the
    project folder, imported only on first use)."""
    project = Path(project).resolve()
    if str(project) not in sys.path:
        sys.path.insert(0, str(project))
    name, version, folders = plugin_packages(project)
    builtins = [load_folder(f, "built-in", require_folder_name=True) for f in sorted(BUILTIN_FOLDER.iterdir())
                if (f / "manifest.json").is_file()]
    loaded = [load_plugin_folder(f, f"plugin {name}") for f in folders]
    return Registry(builtins + [e for e in loaded if isinstance(e, TypeEntry)],
                    [c for c in loaded if isinstance(c, Contribution)], [PluginInfo(name, version)])


def plugin_hub(registry: Registry, data_dir: Path | str) -> Hub:
    """A real Hub on `data_dir` with this registry; close it (`hub.close()`) to run the plugin's teardown."""
    from connhub.services.hub import Hub

    return Hub(data_dir=Path(data_dir), registry=registry)


def secret_service_problem() -> str | None:
    """None when a throwaway Secret Service is there (KEYRING_RECIPE), or why not."""
    if os.environ.get("CONNHUB_TEST_KEYRING") != "secret-service":
        return "no throwaway Secret Service: run the tests inside connhub.testing.KEYRING_RECIPE"
    return None


def canary_leaks(canary: str, data_dir: Path | str, *texts: str) -> list[str]:
    """Where the secret `canary` is written down outside the keyring: files of the data folder, given texts."""
    found = [str(path) for path in Path(data_dir).rglob("*") if path.is_file()
             and canary.encode() in path.read_bytes()]
    return found + [f"text #{i}" for i, text in enumerate(texts) if canary in text]


@dataclass
class PluginHarness:
    registry: Registry
    hub: Hub
    data_dir: Path


try:  # the fixture, for projects that test with pytest (connhub itself does not need pytest to run)
    import pytest
except ImportError:  # pragma: no cover
    pytest = None

if pytest is not None:

    @pytest.fixture
    def connhub_plugin(tmp_path):
        """The plugin of the project in the current folder, loaded in isolation, with a Hub on tmp_path."""
        registry = load_plugin(Path.cwd())
        hub = plugin_hub(registry, tmp_path / "data")
        try:
            yield PluginHarness(registry, hub, tmp_path / "data")
        finally:
            hub.close()
