"""`${env:NAME}` references: resolved only when a test runs; an unset variable is a config error naming it."""

from __future__ import annotations

import pytest

from connhub.core.errors import ConfigError, ErrorClass
from connhub.core.references import is_reference, resolve_references


@pytest.mark.parametrize(("value", "expected"), [
    ("${env:PGHOST}", True), ("${env:_X1}", True),
    ("${env:}", False), ("${env:1X}", False), ("prefix ${env:X}", False), ("${env:X} ", False),
    ("$PGHOST", False), (5432, False), (None, False)])
def test_is_reference(value, expected):
    assert is_reference(value) is expected


def test_set_variables_are_replaced_and_other_values_kept():
    values = {"host": "${env:DB_HOST}", "port": "${env:DB_PORT}", "user": "app", "tls": True, "db": None}
    resolved = resolve_references(values, {"DB_HOST": "db.internal", "DB_PORT": "6543"})
    assert resolved == {"host": "db.internal", "port": "6543", "user": "app", "tls": True, "db": None}
    assert values["host"] == "${env:DB_HOST}"  # the caller's values are left alone


def test_an_empty_variable_is_set():
    assert resolve_references({"user": "${env:EMPTY}"}, {"EMPTY": ""}) == {"user": ""}


def test_unset_variable_is_a_config_error_naming_it():
    with pytest.raises(ConfigError) as info:
        resolve_references({"host": "${env:DB_HOST}"}, {})
    assert info.value.error_class is ErrorClass.CONFIG
    assert info.value.detail == "Field 'host' refers to the environment variable DB_HOST, which is not set"


def test_the_process_environment_is_the_default(monkeypatch):
    monkeypatch.setenv("CONNHUB_TEST_REF", "from-env")
    monkeypatch.delenv("CONNHUB_TEST_UNSET", raising=False)
    assert resolve_references({"host": "${env:CONNHUB_TEST_REF}"}) == {"host": "from-env"}
    with pytest.raises(ConfigError, match="CONNHUB_TEST_UNSET"):
        resolve_references({"host": "${env:CONNHUB_TEST_UNSET}"})
