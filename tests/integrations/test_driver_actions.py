"""Every built-in type's actions, from the registry: a coded one's method exists and is async, every param has a
form label, and the type's test_actions.py runs each action against a real server."""

from __future__ import annotations

from pathlib import Path

import pytest

from connhub.core.actions import action_method_problem
from connhub.core.fields import all_specs
from connhub.plugins.registry import Registry

HERE = Path(__file__).parent


def coded_types() -> list[str]:
    registry = Registry.discover(plugins=False)
    return sorted(entry.type for entry in registry.entries()
                  if entry.ok and any(a.http is None for a in entry.manifest.actions))


@pytest.mark.parametrize("type_name", coded_types())
def test_each_coded_action_has_its_async_method_labels_and_a_test(registry, type_name):
    entry = registry.get(type_name)
    assert entry.manifest.action_problems == {}
    integration = entry.integration()
    tests = (HERE / type_name / "test_actions.py").read_text()
    for action in entry.manifest.actions:
        assert action_method_problem(action, integration) is None
        assert all(spec.title for spec in all_specs(action.param_specs)), action.name
        assert f'"{action.name}"' in tests, f"{type_name}/test_actions.py never runs {action.name}"


def _action_tests(type_name: str) -> Path:
    """Where a type's actions are exercised: its own test_actions.py, or the SaaS types' shared one."""
    own = HERE / type_name / "test_actions.py"
    return own if own.exists() else HERE / "saas" / "test_actions.py"


def every_action() -> list[tuple[str, str]]:
    registry = Registry.discover(plugins=False)
    return sorted((entry.type, action.name) for entry in registry.entries() if entry.ok
                  for action in entry.manifest.actions)


@pytest.mark.parametrize(("type_name", "action_name"), every_action())
def test_every_built_in_action_is_run_by_a_test_module(registry, type_name, action_name):
    """HTTP-declared actions included: each is named, with its type, in the module that runs it."""
    entry = registry.get(type_name)
    assert entry.manifest.action_problems == {}
    action = entry.manifest.action(action_name)
    assert all(spec.title for spec in all_specs(action.param_specs)), action_name
    module = _action_tests(type_name)
    tests = module.read_text()
    # The shared SaaS module names the type beside the action (`act(registry, "github", "list_repos", …)`).
    wanted = f'"{action_name}"' if module.parent.name == type_name else f'"{type_name}", "{action_name}"'
    assert wanted in tests, f"no test module runs {type_name} {action_name}"
