"""Fixtures for the integration types' real-server tests: the registry, a runner, throwaway TLS files."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from faker import Faker

from connhub.core.results import TestResult
from connhub.plugins.registry import Registry
from connhub.services.runner import run_test
from tests.support.servers import blackhole_server, make_tls_files
from tests.support.services import missing


@pytest.fixture(scope="session")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture(scope="session")
def fake() -> Faker:
    return Faker()


@pytest.fixture
def run(registry):
    """run("redis", config, secrets, timeout=…) → TestResult, through services.testing.run_test."""

    def run_(type_name: str | object, config: dict, secrets: dict | None = None, timeout: float = 5.0) -> TestResult:
        entry = registry.get(type_name) if isinstance(type_name, str) else type_name
        return asyncio.run(run_test(entry, config, secrets or {}, timeout=timeout))

    return run_


@pytest.fixture
def run_timed(registry):
    """Like `run`, but also returns how long the test's await took (seconds)."""

    def run_(type_name: str, config: dict, secrets: dict | None = None, timeout: float = 1.0):
        async def main():
            start = time.monotonic()
            result = await run_test(registry.get(type_name), config, secrets or {}, timeout=timeout)
            return result, time.monotonic() - start

        return asyncio.run(main())

    return run_


@pytest.fixture(scope="session")
def tls_files():
    try:
        import cryptography  # noqa: F401
    except ImportError:
        missing("the cryptography package (it makes the throwaway certificates) is not installed")
    directory = Path(tempfile.mkdtemp(prefix="connhub-tls-"))
    yield make_tls_files(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def blackhole():
    with blackhole_server() as address:
        yield address
