"""The contract every coded type shares: the manifest's defaults put in once (`Integration.with_defaults`, by the
runner, for the test and every action), and one classification path for driver exceptions
(`DriverIntegration.classify_driver_error`: a type's table, its timeouts, then the OS error underneath)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from connhub.core.context import TestContext
from connhub.core.errors import AuthError, ConfigError, ConnectTimeout, NotFound, RefusedError, UnknownError
from connhub.core.integration import DriverIntegration
from connhub.plugins.registry import Registry
from connhub.services.runner import run_test
from tests.support.services import free_port

REGISTRY = Registry.discover(plugins=False)


class LookupFailed(LookupError):
    pass


class Toy(DriverIntegration):
    driver_errors = (("tests.core.test_driver_integration:LookupFailed", NotFound),
                     ("builtins:LookupError", AuthError))  # first match wins: the subclass is listed first
    driver_timeouts = ("builtins:InterruptedError",)


def test_with_defaults_fills_what_is_left_out_or_empty_and_keeps_what_is_given():
    postgres = REGISTRY.get("postgres").integration()
    filled = postgres.with_defaults({"host": "db.example.com", "port": "", "database": None})
    assert filled["host"] == "db.example.com"
    assert filled["port"] == 5432 and filled["database"] == "postgres" and filled["user"] == "postgres"
    assert filled["sslmode"] == "prefer"
    assert postgres.with_defaults({"port": 6543})["port"] == 6543


def test_a_port_that_depends_on_tls_is_left_to_the_code():
    mqtt = REGISTRY.get("mqtt").integration()
    assert "port" not in mqtt.with_defaults({"tls": True}) and mqtt.with_defaults({})["host"] == "localhost"


def test_every_coded_builtin_type_is_a_driver_integration():
    coded = [e for e in REGISTRY.entries() if e.manifest.entrypoint and e.type != "http"]
    assert len(coded) >= 10
    assert all(isinstance(e.integration(), DriverIntegration) for e in coded), [e.type for e in coded]


def test_the_table_decides_in_order_and_keeps_the_message():
    assert type(Toy.classify_driver_error(LookupFailed("no such table"))) is NotFound
    error = Toy.classify_driver_error(KeyError("bad key"))
    assert type(error) is AuthError and "bad key" in error.detail
    assert type(Toy.classify_driver_error(InterruptedError())) is ConnectTimeout
    mine = ConfigError("already classified")
    assert Toy.classify_driver_error(mine) is mine


def test_what_the_table_does_not_name_is_read_from_the_os_error_underneath():
    port = free_port()
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError as exc:
        refused = exc
    try:
        raise RuntimeError("driver gave up") from refused
    except RuntimeError as wrapped:
        assert type(Toy.classify_driver_error(wrapped, TestContext(3))) is RefusedError
    assert type(Toy.classify_driver_error(ValueError("odd"))) is UnknownError


def test_errors_raises_the_classified_error_with_the_driver_exception_as_its_cause():
    toy = Toy(REGISTRY.get("postgres").manifest)
    with pytest.raises(NotFound) as caught, toy.errors(TestContext(3)):
        raise LookupFailed("gone")
    assert isinstance(caught.value.__cause__, LookupFailed)


def test_the_runner_puts_the_defaults_in_for_a_real_test():
    """Nothing but the database given: host, port and user come from the manifest alone (the MySQL code has no
    fallback of its own any more), against the local MariaDB (root, no password)."""
    result = asyncio.run(run_test(REGISTRY.get("mysql"), {"database": "test"}, {}, timeout=10))
    assert result.ok, result
    assert str(result.details.get("user", "")).startswith("root"), result.details
