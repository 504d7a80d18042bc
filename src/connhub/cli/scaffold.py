"""`connhub new-type NAME --http|--python [--dir DIR]`: a type folder that passes `connhub types --check` at once;
`connhub new-plugin NAME`: a plugin project (its own distribution) whose tests pass at once.

The folder holds everything a type is (docs/ADDING_A_TYPE.md): manifest.json, icon.svg and, for --python, an
`__init__.py` with a `DriverIntegration` subclass; plus `tests/test_NAME.py`, runnable with pytest as it is.
"""

from __future__ import annotations

import json
from pathlib import Path

from connhub.cli.common import EXIT_OK, UsageError, safe

ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><title>{name}</title>'
        '<rect x="3" y="3" width="18" height="18" rx="4" fill="#6b7280"/></svg>\n')


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_")) + "Integration"


def http_manifest(name: str) -> dict:
    return {
        "manifest_version": 1, "type": name, "name": name.replace("_", " ").title(), "group": "http-api",
        "variant": "rest", "description": f"{name}'s HTTP API with a bearer token (scaffolded: edit me).",
        "icon": "icon.svg",
        "credentials": {
            "type": "object", "required": ["base_url", "token"],
            "properties": {
                "base_url": {"type": "string", "title": "API URL", "format": "uri",
                             "default": "https://api.example.com", "x-order": 1},
                "token": {"type": "string", "title": "API token", "writeOnly": True, "x-order": 2},
            },
        },
        "test": {"method": "GET", "url_field": "base_url", "path": "/me",
                 "headers": {"Authorization": "Bearer {token}"}},
    }


def python_manifest(name: str) -> dict:
    return {
        "manifest_version": 1, "type": name, "name": name.replace("_", " ").title(), "group": "other",
        "description": f"{name} through its driver (scaffolded: edit me).", "icon": "icon.svg",
        "entrypoint": f"{name}:{_class_name(name)}",
        "credentials": {
            "type": "object", "required": ["host", "port"],
            "properties": {
                "host": {"type": "string", "title": "Host", "format": "hostname", "default": "localhost",
                         "x-order": 1},
                "port": {"type": "integer", "title": "Port", "minimum": 1, "maximum": 65535, "default": 1234,
                         "x-order": 2},
                "password": {"type": "string", "title": "Password", "writeOnly": True, "x-order": 3},
            },
        },
    }


CODE = '''"""{name}: connhub's code for this type (scaffolded by `connhub new-type`)."""

from __future__ import annotations

from connhub.core.context import TestContext
from connhub.core.errors import AuthError, ConfigError
from connhub.core.integration import DriverIntegration, Values
from connhub.core.results import ProbeInfo


class {cls}(DriverIntegration):
    """Connect, authenticate, ask the server who it is. `config` comes with the manifest's defaults in."""

    #: Modules the test imports lazily (your driver), preloaded off the GUI thread.
    drivers: tuple[str, ...] = ()
    #: Your driver's exceptions ("module:Class") → what they mean; the rest is classified by the OS error.
    driver_errors = (("builtins:PermissionError", AuthError),)

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        raise ConfigError("{name}: the connection test is not implemented yet: write test_connection in "
                          "{name}/__init__.py")
'''

HTTP_TEST = '''"""{name}'s declared test against a local server answering its documented endpoint (scaffolded)."""

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from connhub.plugins.registry import Registry
from connhub.services.runner import run_test

FOLDER = Path(__file__).resolve().parent.parent


def test_the_declared_request_reaches_the_api_with_the_token():
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append((self.path, self.headers.get("Authorization")))
            body = json.dumps({{"id": 1}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        entry = Registry.from_folders([FOLDER]).get("{name}")
        assert entry.ok, entry.error
        url = f"http://127.0.0.1:{{server.server_address[1]}}"
        result = asyncio.run(run_test(entry, {{"base_url": url}}, {{"token": "t0ken"}}, timeout=5))
    finally:
        server.shutdown()
    assert result.ok, result
    assert seen == [("/me", "Bearer t0ken")]
'''

PYTHON_TEST = '''"""{name}'s connection test (scaffolded): replace the first test once test_connection is written."""

import asyncio
import sys
from pathlib import Path

from connhub.plugins.registry import Registry
from connhub.services.runner import run_test

FOLDER = Path(__file__).resolve().parent.parent


def test_the_scaffold_says_the_test_is_not_written_yet(monkeypatch):
    monkeypatch.syspath_prepend(str(FOLDER.parent))
    sys.modules.pop("{name}", None)
    entry = Registry.from_folders([FOLDER]).get("{name}")
    assert entry.ok, entry.error
    result = asyncio.run(run_test(entry, {{}}, {{}}, timeout=5))
    assert not result.ok and result.error_class == "config"
    assert "not implemented yet" in result.message
'''


def free_type_name(name: str) -> str:
    """`name` when it can name a new type (an id no type has yet); else a UsageError (exit 2) saying why."""
    from connhub.core.manifest import TYPE_PATTERN
    from connhub.plugins.registry import Registry

    if not TYPE_PATTERN.fullmatch(name) or not name.isidentifier():
        raise UsageError(f"{safe(name)!r} is not a type name: lowercase letters, digits and '_', starting with a "
                         "letter, at most 40 characters")
    if name in Registry.discover():
        raise UsageError(f"type {name!r} exists already: choose another name")
    return name


def new_type(args) -> int:
    """Write the folder; refuse (UsageError, exit 2) a bad name or one that is taken."""
    name = free_type_name(args.name)
    folder = Path(args.dir) / name
    if folder.exists():
        raise UsageError(f"{safe(str(folder))} exists already: choose another --dir or name")
    (folder / "tests").mkdir(parents=True)
    manifest = http_manifest(name) if args.http else python_manifest(name)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (folder / "icon.svg").write_text(ICON.format(name=name), encoding="utf-8")
    if args.python:
        (folder / "__init__.py").write_text(CODE.format(name=name, cls=_class_name(name)), encoding="utf-8")
    test = (HTTP_TEST if args.http else PYTHON_TEST).format(name=name)
    (folder / "tests" / f"test_{name}.py").write_text(test, encoding="utf-8")
    print(f"created {safe(str(folder))}/ (manifest.json, icon.svg{', __init__.py' if args.python else ''}, "
          f"tests/test_{name}.py); next: docs/ADDING_A_TYPE.md")
    return EXIT_OK


# --- `connhub new-plugin NAME [--dir DIR]`: a plugin project, ready to `pip install` (docs/PLUGINS.md) ----------

PLUGIN_PYPROJECT = '''[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A connhub plugin: the {title} type (scaffolded by `connhub new-plugin`)."
requires-python = ">=3.11"
dependencies = ["connhub"]

[project.entry-points."connhub.integrations"]
{name} = "{package}"

[tool.setuptools]
packages = ["{package}"]

[tool.setuptools.package-data]
{package} = ["manifest.json", "icon.svg"]

[tool.pytest.ini_options]
testpaths = ["tests"]
'''

PLUGIN_CODE = '''"""{title}: a connhub plugin type (scaffolded by `connhub new-plugin`; docs/PLUGINS.md is the contract)."""

from __future__ import annotations

from connhub.core.context import TestContext
from connhub.core.errors import AuthError, ConfigError
from connhub.core.integration import DriverIntegration, Values
from connhub.core.results import ProbeInfo


class {cls}(DriverIntegration):
    """Connect, authenticate, ask the server who it is. The lifecycle hooks below are all optional."""

    drivers: tuple[str, ...] = ()
    driver_errors = (("builtins:PermissionError", AuthError),)

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        raise ConfigError("{name}: the connection test is not implemented yet: write test_connection in "
                          "{package}/__init__.py")

    async def setup(self, ctx):
        """Once, when the type is first used in a process: open handles, register listeners."""
        self.log = ctx.log

    async def teardown(self):
        """When connhub quits."""

    async def on_instance_saved(self, instance, change):
        """After a connection of this type is saved ("created" or "updated"); the save is already committed."""
        self.log.info("%s was %s", instance.name, change)

    async def on_instance_deleted(self, instance):
        """After one is deleted: undo what on_instance_saved set up elsewhere (a webhook, a token)."""
        self.log.info("%s was deleted", instance.name)

    async def on_test_finished(self, instance, result):
        """After each recorded connection test."""
'''

PLUGIN_CONFTEST = '''pytest_plugins = ["connhub.testing"]  # the connhub_plugin fixture
'''

PLUGIN_TEST = '''"""{title}, tested with connhub's helpers (connhub.testing): loaded in isolation, a real Hub, the canary check."""

import asyncio
import logging

import pytest

from connhub.services.runner import run_test
from connhub.testing import canary_leaks, secret_service_problem


def test_the_plugin_loads_and_keeps_the_contract(connhub_plugin):
    entry = connhub_plugin.registry.get("{name}")
    assert entry.ok, entry.error
    assert entry.manifest.action_problems == {{}}
    assert [p.status for p in connhub_plugin.registry.plugins()] == ["ok"]


def test_the_scaffold_says_the_test_is_not_written_yet(connhub_plugin):
    entry = connhub_plugin.registry.get("{name}")
    result = asyncio.run(run_test(entry, {{}}, {{}}, timeout=5))
    assert not result.ok and result.error_class == "config"
    assert "not implemented yet" in result.message


def test_the_hooks_run_after_a_save_and_a_delete(connhub_plugin, caplog):
    hub = connhub_plugin.hub
    with caplog.at_level(logging.INFO, logger="connhub.plugins.{name}"):
        record = hub.instances.create("{name}", "first", {{"host": "localhost", "port": 1234}})
        hub.instances.delete(record.id)
        hub.plugin_hooks.wait(10)
    said = [r.getMessage() for r in caplog.records if r.name == "connhub.plugins.{name}"]
    assert said == ["first was created", "first was deleted"]
    assert hub.plugin_hooks.failure(record.id) is None


def test_the_password_reaches_the_keyring_only(connhub_plugin):
    if problem := secret_service_problem():
        pytest.skip(problem)
    hub, canary = connhub_plugin.hub, "canary-7d41c9e2"
    record = hub.instances.create("{name}", "secret", {{"host": "localhost", "port": 1234, "password": canary}})
    hub.plugin_hooks.wait(10)
    try:
        assert hub.secrets.read(record, ["password"]) == {{"password": canary}}
        assert canary_leaks(canary, connhub_plugin.data_dir) == []
    finally:
        hub.instances.delete(record.id)
'''

PLUGIN_README = '''# {dist}

A connhub plugin adding the {title} type (scaffolded by `connhub new-plugin {name}`).

```
pip install -e .          # connhub finds it through its `connhub.integrations` entry point
connhub plugins           # listed, with its status
pytest                    # its tests, with connhub.testing
```

Edit `{package}/manifest.json` (the form, actions) and `{package}/__init__.py` (the test, the hooks);
connhub's docs/PLUGINS.md is the contract.
'''


def new_plugin(args) -> int:
    """Write the project folder; refuse (UsageError, exit 2) a bad name, one a type has, an existing folder."""
    from connhub.core.plugin import PLUGIN_API

    name = free_type_name(args.name)
    dist, package = f"connhub-{name.replace('_', '-')}", f"connhub_{name}"
    project = Path(args.dir) / dist
    if project.exists():
        raise UsageError(f"{safe(str(project))} exists already: choose another --dir or name")
    values = {"name": name, "dist": dist, "package": package, "cls": _class_name(name),
              "title": name.replace("_", " ").title()}
    manifest = {"api_version": PLUGIN_API, **python_manifest(name), "entrypoint": f"{package}:{_class_name(name)}"}
    (project / package).mkdir(parents=True)
    (project / "tests").mkdir()
    files = {"pyproject.toml": PLUGIN_PYPROJECT, "README.md": PLUGIN_README, f"{package}/__init__.py": PLUGIN_CODE,
             "tests/conftest.py": PLUGIN_CONFTEST, f"tests/test_{name}.py": PLUGIN_TEST}
    for path, template in files.items():
        (project / path).write_text(template.format(**values), encoding="utf-8")
    (project / package / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (project / package / "icon.svg").write_text(ICON.format(name=name), encoding="utf-8")
    print(f"created {safe(str(project))}/ ({package}/manifest.json, icon.svg, __init__.py; tests/); next: "
          f"cd {safe(str(project))} && pip install -e . && pytest (docs/PLUGINS.md)")
    return EXIT_OK
