"""Shared steps of the driver types' action tests: run one action as `execute()` runs it (params checked, the
one runner, the result checked), cancel one mid-flight, and a Hub with saved instances for `Hub.actions.run`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from connhub.core.actions import check_params
from connhub.core.records import ActionRun
from connhub.plugins.registry import Registry
from connhub.services.actions import execute


def act(registry: Registry, type_name: str, name: str, params: dict, config: dict, secrets: dict | None = None,
        timeout: float = 5.0) -> ActionRun:
    """One unsaved run; raises InvalidParams before anything is sent, as `Hub.actions.run` does."""
    entry = registry.get(type_name)
    action = entry.manifest.action(name)
    assert action is not None, entry.manifest.action_problems
    checked = check_params(action, params)
    return asyncio.run(execute(entry, action, checked, config, secrets or {}, timeout))


async def act_async(registry: Registry, type_name: str, name: str, params: dict, config: dict,
                    secrets: dict | None = None, timeout: float = 5.0) -> ActionRun:
    """`act` inside a running loop, beside a subscriber the test started there."""
    entry = registry.get(type_name)
    action = entry.manifest.action(name)
    return await execute(entry, action, check_params(action, params), config, secrets or {}, timeout)


def act_timed(registry: Registry, *args: Any, **kwargs: Any) -> tuple[ActionRun, float]:
    start = time.monotonic()
    done = act(registry, *args, **kwargs)
    return done, time.monotonic() - start


def assert_ok(done: ActionRun) -> Any:
    assert done.ok, (done.error_class, done.message)
    return done.result


def assert_failed(done: ActionRun, error_class: str, *secrets: str) -> None:
    assert not done.ok, done.result
    assert done.error_class == error_class, (done.error_class, done.message)
    assert done.message.strip()
    for secret in secrets:
        assert secret not in done.message


def cancel_action(registry: Registry, type_name: str, name: str, params: dict, config: dict,
                  secrets: dict | None = None, after: float = 0.5) -> float:
    """Start a run, cancel it after `after` s (it must still be running); how long the cancel took to land."""
    entry = registry.get(type_name)
    action = entry.manifest.action(name)
    checked = check_params(action, params)

    async def main() -> float:
        task = asyncio.ensure_future(execute(entry, action, checked, config, secrets or {}, 30))
        await asyncio.sleep(after)
        assert not task.done(), task.result()
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    return asyncio.run(main())


@contextmanager
def saved_hub(tmp_path: Any, keyring_backend: Any) -> Iterator[Any]:
    """A Hub on a fresh data folder with the built-in types and the given (in-memory) keyring."""
    from connhub.services.hub import Hub
    from connhub.storage.vault import KeyringVault

    hub = Hub(data_dir=tmp_path / "data", registry=Registry.discover(plugins=False),
              vault=KeyringVault(backend=keyring_backend))
    try:
        yield hub
    finally:
        hub.close()


def run_saved(hub: Any, record: Any, name: str, params: dict, **options: Any) -> ActionRun:
    return asyncio.run(hub.actions.run(record, name, params, **options))
