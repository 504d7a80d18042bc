"""The versioned contract (docs/PLUGINS.md): api_version checked, clashes refused naming both plugins, a broken
manifest disabling only its plugin — all from real installs — and the document kept true to the code."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import connhub
from connhub.core.plugin import CHANGES, HOOK_TIMEOUT, HOOKS, PLUGIN_API, PluginContext, api_problem
from connhub.plugins.registry import Registry

DOC = Path(__file__).resolve().parents[2] / "docs" / "PLUGINS.md"
FUTURE = ("incompatible: connhub-future-plugin is built for connhub plugin API 2.0, this connhub provides 1.0: "
          "upgrade connhub, or install a version of connhub-future-plugin built for API 1.x")


def test_api_versions_name_both_and_what_to_upgrade():
    assert connhub.plugin_api == PLUGIN_API == "1.0"
    assert api_problem(None, "p") is None and api_problem("1.0", "p") is None
    assert api_problem("0.9", "p") == ("p is built for connhub plugin API 0.9, this connhub provides 1.0: "
                                       "upgrade p to a version built for API 1.x")
    assert api_problem("1.7", "p") == "p needs connhub plugin API 1.7, this connhub provides 1.0: upgrade connhub"
    assert api_problem("v2", "p") == "api_version 'v2' must look like '1.0' (major.minor)"
    assert api_problem(2, "p") == "api_version 2 must look like '1.0' (major.minor)"


def test_hostile_plugins_disable_only_themselves(on_path, hostile_site):
    on_path(hostile_site)
    registry = Registry.discover()
    plugins = {p.name: p for p in registry.plugins()}
    assert registry.get("future_api").error == FUTURE  # its manifest is not even validated (unknown keys)
    assert plugins["connhub-future-plugin"].status == FUTURE and plugins["connhub-future-plugin"].version == "5.0.0"

    # One kvstore wins (whichever was found first); the other is refused, naming both plugins.
    owner = registry.get("kvstore").source
    other = ({"plugin connhub-plugin-example", "plugin connhub-clash-plugin"} - {owner}).pop()
    refused = registry.get(f"kvstore ({other})")
    assert refused.error == (f"type 'kvstore' is already provided by {owner}, so {other} cannot add it: give this "
                             "plugin's type another name")

    postgres = registry.get("postgres")
    assert postgres.action_source("query") == "built-in"
    assert postgres.action_source("vacuum_all") == "plugin connhub-clash-plugin"  # its own name: added
    size_owner = postgres.action_source("database_size")
    size_other = ({"plugin connhub-plugin-example", "plugin connhub-clash-plugin"} - {size_owner}).pop()
    problems = " | ".join(p for info in plugins.values() for p in info.problems)
    assert ("action 'query' of postgres is already provided by built-in, so plugin connhub-clash-plugin cannot "
            "add it: rename the action") in problems
    assert (f"action 'database_size' of postgres is already provided by {size_owner}, so {size_other} cannot "
            "add it: rename the action") in problems
    assert ("badjson: manifest.json is not valid JSON (line 2, column 1): Expecting property name enclosed in "
            "double quotes") in problems
    assert plugins["connhub-clash-plugin"].status.startswith("failed: ")
    assert "vacuum_all" in [a.name for a in postgres.manifest.actions]
    assert registry.get("postgres").ok and registry.get("http").ok
    assert not {m for m in sys.modules if m.startswith(("connhub_clash", "connhub_future", "connhub_badjson"))}


def test_connhub_plugins_shows_each_status(cli, on_path, hostile_site, tmp_path):
    on_path(hostile_site)
    code, out, err = cli(tmp_path / "data", "plugins", "--json")
    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["connhub-future-plugin"]["status"] == FUTURE
    assert rows["connhub-clash-plugin"]["status"].startswith("failed: ")
    code, out, _ = cli(tmp_path / "data", "plugins")
    assert f"connhub-future-plugin 5.0.0  {FUTURE}" in out
    assert "  also: " in out  # the clash plugin's further problems, each on its line


def test_an_extension_of_a_type_that_is_not_there_says_so(tmp_path):
    folder = tmp_path / "ext"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({
        "manifest_version": 1, "api_version": "1.0", "extends": "nosuchtype",
        "actions": [{"name": "x", "title": "X", "description": "X.", "effect": "read", "result": {}}]}))
    registry = Registry.from_folders([folder])
    assert registry.contributions[0].error == "extends type 'nosuchtype', which is not installed"


# --- docs/PLUGINS.md is the contract: what it says is what the code does -------------------------------------


def test_the_document_states_the_api_version_the_hooks_and_the_timeout_the_code_has():
    text = DOC.read_text(encoding="utf-8")
    assert re.search(r"^Plugin API version: \*\*(\d+\.\d+)\*\*", text, re.M)[1] == PLUGIN_API
    documented = re.findall(r"^\| `(\w+)\((.*?)\)` \|", text, re.M)
    assert [name for name, _ in documented] == list(HOOKS)
    assert dict(documented)["setup"] == "ctx" and dict(documented)["on_instance_saved"] == "instance, change"
    assert re.search(r"timeout of (\d+) s", text)[1] == f"{HOOK_TIMEOUT:g}"
    assert all(f"`{c}`" in text for c in CHANGES)
    assert all(f"`ctx.{f}`" in text for f in PluginContext.__dataclass_fields__)
