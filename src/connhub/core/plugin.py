"""The plugin contract (docs/PLUGINS.md): its version, the hooks a type's code may define, what they are given.

Pure Python. The API's version is `connhub.plugin_api` (a minor bump only adds; a major one may break
plugins): the registry checks a manifest's `api_version` with `api_problem`,
services/plugin_hooks.py calls the hooks, and docs/PLUGINS.md is compared with these names by a test.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from connhub import plugin_api as PLUGIN_API  # noqa: E402, N812 - one constant: connhub.plugin_api

#: The lifecycle hooks, all optional `async` methods of the type's Integration class.
HOOKS = ("setup", "teardown", "on_instance_saved", "on_instance_deleted", "on_test_finished")

#: Seconds one hook call may take before it is cut (and recorded as failed).
HOOK_TIMEOUT = 10.0

#: The `change` handed to `on_instance_saved`.
CHANGES = ("created", "updated")

_VERSION = re.compile(r"^(\d{1,4})\.(\d{1,4})$")


@dataclass(frozen=True)
class PluginContext:
    """What `setup(ctx)` gets: the type it serves, a folder of its own for files, a logger in connhub's log."""

    type: str
    plugin: str
    data_dir: Path
    log: logging.Logger


def api_problem(declared: object, plugin: str) -> str | None:
    """Why a plugin built for API `declared` cannot load here (both versions named, and what to upgrade), or
    None. A manifest without `api_version` is taken as written for 1.0, the API before it was versioned."""
    if declared is None:
        return None
    match = _VERSION.fullmatch(declared) if isinstance(declared, str) else None
    if match is None:
        return f"api_version {declared!r} must look like '{PLUGIN_API}' (major.minor)"
    wanted, ours = int(match[1]), int(PLUGIN_API.split(".")[0])
    if wanted == ours:
        minor = int(match[2])
        if minor > int(PLUGIN_API.split(".")[1]):
            return (f"{plugin} needs connhub plugin API {declared}, this connhub provides {PLUGIN_API}: "
                    f"upgrade connhub")
        return None
    if wanted > ours:
        return (f"{plugin} is built for connhub plugin API {declared}, this connhub provides {PLUGIN_API}: "
                f"upgrade connhub, or install a version of {plugin} built for API {ours}.x")
    return (f"{plugin} is built for connhub plugin API {declared}, this connhub provides {PLUGIN_API}: "
            f"upgrade {plugin} to a version built for API {ours}.x")
