"""Real-server tests of the built-in integration types; shared assertions live here."""

from __future__ import annotations

import asyncio
import json
import time
from xml.etree import ElementTree

import pytest

from connhub.core.errors import ErrorClass
from connhub.core.results import TestResult
from connhub.plugins.registry import Registry
from connhub.services.runner import run_test


def assert_failure(result: TestResult, error_class: str, secrets: dict | None = None,
                   stage: str | None = None) -> None:
    """A classified failure with a hint, optionally in `stage`, that leaks none of the secrets."""
    assert not result.ok, result
    assert result.error_class == ErrorClass(error_class), (result.error_class, result.message)
    assert result.hint.strip(), result
    assert result.message.strip(), result
    if stage is not None:
        assert result.failed_stage == stage, (result.failed_stage, result.stages)
    assert_no_secrets(result, secrets)


def assert_no_secrets(result: TestResult, secrets: dict | None) -> None:
    text = json.dumps(result.to_dict())
    for key, value in (secrets or {}).items():
        assert str(value) not in text, f"secret {key!r} leaked into the result"


def cancel_quickly(registry: Registry, type_name: str, config: dict, after: float = 0.2) -> float:
    """Start a test, cancel it after `after` s; return how long the cancellation itself took."""

    async def main():
        task = asyncio.create_task(run_test(registry.get(type_name), config, {}, timeout=10))
        await asyncio.sleep(after)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    return asyncio.run(main())


def assert_builtin_ok(registry: Registry, type_name: str) -> None:
    """The built-in type loads, its code imports, and its icon is a 24×24 SVG."""
    entry = registry.get(type_name)
    assert entry.ok, entry.error
    assert entry.icon_path is not None
    assert ElementTree.parse(entry.icon_path).getroot().get("viewBox") == "0 0 24 24"
    assert type(entry.integration()).__module__ == f"connhub.integrations.{type_name}"
