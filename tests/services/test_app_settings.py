"""The Hub's events on instance records, app-level (`cfg:`) settings and `${env:NAME}` references, on a real
SQLite file with an in-memory keyring (and the real Secret Service for the keyring user names), using the
synthetic `acme` type of tests/services/synthetic.py."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from connhub.core.records import InvalidValues
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import SERVICE, KeyringVault, VaultError
from tests.services.synthetic import VALID_ORDER, Recorder, make_acme
from tests.support.keyrings import LockedKeyring
from tests.support.services import free_port, require_service

ACME = {"host": "api.acme.test", "port": 8443, "token": "tok-instance"}


@pytest.fixture
def registry(tmp_path) -> Registry:
    types = tmp_path / "types"
    strict = {"credentials": {"type": "object", "required": ["host", "cfg:client_id"], "properties": {
        "host": {"type": "string"}, "cfg:client_id": {"type": "string", "title": "OAuth client ID"},
        "cfg:client_secret": {"type": "string", "writeOnly": True}}}, "events": []}
    real = Registry.discover(plugins=False)
    made = Registry.from_folders([make_acme(types), make_acme(types, "acme_strict", strict)])
    return Registry(made.entries() + [real.get("redis")])


@pytest.fixture
def make_hub(tmp_path, registry):
    hubs = []

    def make(backend) -> Hub:
        hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=backend))
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()


@pytest.fixture
def hub(make_hub, memory_keyring) -> Hub:
    return make_hub(memory_keyring)


@pytest.fixture(autouse=True)
def _fresh_recorder():
    Recorder.seen.clear()
    yield
    Recorder.seen.clear()


def db_rows(hub: Hub, sql: str) -> list[dict]:
    with sqlite3.connect(hub.data_dir / "connhub.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql)]


# --- events on the instance record ----------------------------------------------------------------------

def test_an_instance_keeps_its_types_events(hub):
    record = hub.instances.create("acme", "shop", dict(ACME))
    expected = [
        {"type": "order.created", "description": "An order was placed.", "schema": "events/order_created.json"},
        {"type": "ping", "description": "Sent once when a webhook is set up.", "schema": "events/ping.json"}]
    assert record.events == expected
    [row] = db_rows(hub, "SELECT events FROM instances")
    assert json.loads(row["events"]) == expected  # stored with the row, not looked up again
    assert hub.instances.find("shop").events == expected
    assert hub.instances.duplicate(record.id).events == expected
    assert hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379}).events == []


def test_a_save_takes_the_types_current_events_and_old_rows_fall_back_to_them(hub, registry):
    record = hub.instances.create("acme", "shop", dict(ACME))
    registry.get("acme").manifest.events.pop()  # the type now declares only order.created (this test's registry)
    assert [e["type"] for e in hub.instances.find("shop").events] == ["order.created", "ping"]  # as saved
    updated = hub.instances.update(record.id, {"host": "api2.acme.test", "port": 8443})
    assert [e["type"] for e in updated.events] == ["order.created"]
    # A row from before migration 0002 (events NULL) shows the type's events.
    hub.store.update(_with(updated, events=None))
    assert hub.instances.find("shop").events is None
    assert [e["type"] for e in hub.types.events_of(hub.instances.find("shop"))] == ["order.created"]


def _with(record, **changes):
    for key, value in changes.items():
        setattr(record, key, value)
    return record


def test_validate_event_through_the_hub(hub):
    assert [e.type for e in hub.types.events("acme")] == ["order.created", "ping"]
    assert hub.types.validate_event("acme", "order.created", VALID_ORDER) == []
    assert [str(e) for e in hub.types.validate_event("acme", "ping", {"zen": 1})] == ["$.zen: expected string, got integer"]


# --- app-level settings -----------------------------------------------------------------------------------

def test_app_settings_put_secrets_in_the_keyring_and_the_rest_in_the_database(hub, memory_keyring):
    assert [e.type for e in hub.app_config.types()] == ["acme", "acme_strict"]  # redis has no cfg: fields
    saved = hub.app_config.save("acme", {"cfg:client_id": "client-42", "cfg:client_secret": "app-s3cret",
                                          "cfg:proxy": "http://proxy.internal:3128", "cfg:retries": 4})
    assert saved.values == {"cfg:client_id": "client-42", "cfg:proxy": "http://proxy.internal:3128",
                            "cfg:retries": 4}
    assert saved.secret_fields == ["cfg:client_secret"]
    # Keyring: service connhub, user app:<type>:<field>.
    assert memory_keyring.secrets_of(SERVICE) == {"app:acme:cfg:client_secret": "app-s3cret"}
    rows = db_rows(hub, "SELECT type, field, value, secret FROM app_settings ORDER BY field")
    assert [(r["field"], None if r["value"] is None else json.loads(str(r["value"])), r["secret"]) for r in rows] == [
        ("cfg:client_id", "client-42", 0), ("cfg:client_secret", None, 1),
        ("cfg:proxy", "http://proxy.internal:3128", 0), ("cfg:retries", 4, 0)]
    assert b"app-s3cret" not in (hub.data_dir / "connhub.db").read_bytes()


def test_reading_app_settings_never_touches_the_keyring(hub, memory_keyring):
    hub.app_config.save("acme", {"cfg:client_secret": "app-s3cret"})
    memory_keyring.calls.clear()
    assert hub.app_config.get("acme").secret_fields == ["cfg:client_secret"]
    assert set(hub.app_config.all()) == {"acme"}
    assert memory_keyring.calls == []


def test_an_empty_secret_keeps_the_saved_one_and_unset_removes_it(hub, memory_keyring):
    hub.app_config.save("acme", {"cfg:client_secret": "first", "cfg:proxy": "http://p:1"})
    hub.app_config.save("acme", {"cfg:client_secret": "", "cfg:retries": 1})
    assert memory_keyring.secrets_of(SERVICE) == {"app:acme:cfg:client_secret": "first"}
    hub.app_config.save("acme", {"cfg:client_secret": "second"})
    assert memory_keyring.secrets_of(SERVICE) == {"app:acme:cfg:client_secret": "second"}

    saved = hub.app_config.save("acme", {"cfg:proxy": ""}, unset=["cfg:client_secret"])
    assert saved.values == {"cfg:retries": 1} and saved.secret_fields == []
    assert memory_keyring.secrets_of(SERVICE) == {}


def test_app_settings_are_validated_against_their_specs(hub):
    with pytest.raises(InvalidValues) as caught:
        hub.app_config.save("acme", {"cfg:retries": 9, "cfg:proxy": "ftp//nope"})
    assert caught.value.errors == {"cfg:retries": "Must be at most 5",
                                   "cfg:proxy": "Enter a full URL starting with http:// or https://"}
    with pytest.raises(InvalidValues) as caught:
        hub.app_config.save("acme", {"host": "x", "cfg:colour": "blue"})
    assert caught.value.errors["host"].startswith("not an app-level setting of acme; they are: cfg:client_id")
    with pytest.raises(InvalidValues, match="redis has no app-level settings"):
        hub.app_config.save("redis", {"cfg:proxy": "http://p"})
    # Required app-level fields may be saved one at a time; ${env:…} is checked when a test runs.
    hub.app_config.save("acme_strict", {"cfg:client_secret": "s"})
    assert hub.app_config.save("acme", {"cfg:retries": "${env:ACME_RETRIES}"}).values == {
        "cfg:retries": "${env:ACME_RETRIES}"}
    assert hub.app_config.get("acme").values == {"cfg:retries": "${env:ACME_RETRIES}"}


def test_a_refusing_keyring_saves_nothing(make_hub):
    hub = make_hub(LockedKeyring())
    with pytest.raises(VaultError, match="locked"):
        hub.app_config.save("acme", {"cfg:client_secret": "s", "cfg:client_id": "c"})
    assert hub.app_config.get("acme").values == {} and hub.app_config.get("acme").secret_fields == []


def test_instances_never_hold_app_level_fields(hub):
    record = hub.instances.create("acme", "shop", {**ACME, "cfg:client_id": "sneaked-in", "cfg:client_secret": "sneaked"})
    assert record.config == {"host": "api.acme.test", "port": 8443}
    assert record.secret_fields == ["token"]
    # A required app-level field does not block saving an instance: it is needed when a test runs.
    assert hub.instances.create("acme_strict", "strict", {"host": "h"}).config == {"host": "h"}


# --- tests get the app-level settings --------------------------------------------------------------------

def test_a_test_run_sees_the_app_level_settings_and_defaults(hub, memory_keyring):
    hub.app_config.save("acme", {"cfg:client_id": "client-42", "cfg:client_secret": "app-s3cret",
                                  "cfg:proxy": "http://proxy.internal:3128"})
    record = hub.instances.create("acme", "shop", dict(ACME))

    result = asyncio.run(hub.prober.test_instance(hub.instances.find("shop"), timeout=3))
    assert result.ok, result.message
    config, secrets = Recorder.seen[-1]
    assert config == {"host": "api.acme.test", "port": 8443, "cfg:client_id": "client-42",
                      "cfg:proxy": "http://proxy.internal:3128", "cfg:retries": 2}  # 2: the default
    assert secrets == {"token": "tok-instance", "cfg:client_secret": "app-s3cret"}

    # Unsaved form values get them too, and blank secrets still come from the saved instance.
    result = asyncio.run(hub.prober.test_values("acme", {"host": "other.acme.test", "port": 1}, timeout=3,
                                         saved_from=record))
    assert result.ok
    config, secrets = Recorder.seen[-1]
    assert config["cfg:proxy"] == "http://proxy.internal:3128" and config["host"] == "other.acme.test"
    assert secrets == {"token": "tok-instance", "cfg:client_secret": "app-s3cret"}


def test_a_type_without_app_settings_reads_no_app_keyring_entry(hub, memory_keyring):
    hub.instances.create("acme", "shop", {"host": "api.acme.test"})
    memory_keyring.calls.clear()
    assert asyncio.run(hub.prober.test_instance(hub.instances.find("shop"), timeout=3)).ok
    assert memory_keyring.calls == []  # nothing saved, nothing read (no instance secret either)


def test_a_missing_required_app_setting_fails_the_test_as_config(hub):
    hub.instances.create("acme_strict", "strict", {"host": "h"})
    result = asyncio.run(hub.prober.test_instance(hub.instances.find("strict"), timeout=3))
    assert not result.ok and result.error_class == "config" and result.failed_stage == "settings"
    assert result.message == ("Acme API needs the app-level setting OAuth client ID (cfg:client_id): set it in "
                              "Settings, or with `connhub config acme_strict --set cfg:client_id=VALUE`")
    assert Recorder.seen == []  # never started
    assert hub.instances.find("strict").status == "failing"  # and recorded like any failure
    hub.app_config.save("acme_strict", {"cfg:client_id": "cid"})
    assert asyncio.run(hub.prober.test_instance(hub.instances.find("strict"), timeout=3)).ok


def test_a_locked_keyring_fails_the_test_cleanly(make_hub, memory_keyring):
    make_hub(memory_keyring).app_config.save("acme", {"cfg:client_secret": "app-s3cret"})
    make_hub(memory_keyring).instances.create("acme", "shop", {"host": "api.acme.test"})
    locked = make_hub(LockedKeyring())
    result = asyncio.run(locked.prober.test_instance(locked.instances.find("shop"), timeout=3))
    assert not result.ok and result.error_class == "config" and result.failed_stage == "secrets"
    assert "locked" in result.message


def test_app_secrets_are_redacted_from_what_a_test_says(hub, tmp_path):
    hub.app_config.save("acme", {"cfg:client_secret": "app-s3cret-value"})
    hub.instances.create("acme", "shop", {"host": "api.acme.test"})
    original = Recorder.test_connection

    async def leaky(self, config, secrets, ctx):
        raise RuntimeError(f"proxy refused client secret {secrets['cfg:client_secret']}")

    Recorder.test_connection = leaky
    try:
        result = asyncio.run(hub.prober.test_instance(hub.instances.find("shop"), timeout=3))
    finally:
        Recorder.test_connection = original
    assert not result.ok and "app-s3cret-value" not in result.message and "********" in result.message


# --- ${env:NAME} references, end to end --------------------------------------------------------------------

def test_env_references_resolve_when_a_test_runs(hub, monkeypatch):
    monkeypatch.delenv("ACME_PORT", raising=False)
    monkeypatch.delenv("ACME_PROXY", raising=False)
    record = hub.instances.create("acme", "shop", {"host": "api.acme.test", "port": "${env:ACME_PORT}"})
    assert record.config == {"host": "api.acme.test", "port": "${env:ACME_PORT}"}  # kept as written
    hub.app_config.save("acme", {"cfg:proxy": "${env:ACME_PROXY}"})

    result = asyncio.run(hub.prober.test_instance(hub.instances.find("shop"), timeout=3))
    assert not result.ok and result.error_class == "config"
    assert "ACME_PORT" in result.message and "not set" in result.message

    monkeypatch.setenv("ACME_PORT", "9443")
    result = asyncio.run(hub.prober.test_instance(hub.instances.find("shop"), timeout=3))
    assert not result.ok and "ACME_PROXY" in result.message  # the app-level reference is resolved too

    monkeypatch.setenv("ACME_PROXY", "http://proxy.from.env:3128")
    assert asyncio.run(hub.prober.test_instance(hub.instances.find("shop"), timeout=3)).ok
    config, _ = Recorder.seen[-1]
    assert config["port"] == 9443 and config["cfg:proxy"] == "http://proxy.from.env:3128"  # an int, as the field

    monkeypatch.setenv("ACME_PORT", "not-a-port")
    result = asyncio.run(hub.prober.test_instance(hub.instances.find("shop"), timeout=3))
    assert result.error_class == "config" and "must be a number" in result.message


def test_an_env_reference_reaches_a_real_server(hub, monkeypatch):
    """The machine's Redis, its port given as ${env:…}: unset is a config error naming the variable, set
    it connects."""
    require_service("redis", "127.0.0.1", 6379)
    monkeypatch.delenv("CONNHUB_TEST_REDIS_PORT", raising=False)
    values = {"host": "127.0.0.1", "port": "${env:CONNHUB_TEST_REDIS_PORT}"}
    assert hub.types.validate("redis", values) == {}
    result = asyncio.run(hub.prober.test_values("redis", values, timeout=3))
    assert result.error_class == "config" and "CONNHUB_TEST_REDIS_PORT" in result.message
    monkeypatch.setenv("CONNHUB_TEST_REDIS_PORT", "6379")
    result = asyncio.run(hub.prober.test_values("redis", values, timeout=3))
    assert result.ok and result.server_version
    monkeypatch.setenv("CONNHUB_TEST_REDIS_PORT", str(free_port()))
    assert asyncio.run(hub.prober.test_values("redis", values, timeout=3)).error_class == "refused"


def test_app_secrets_in_the_real_secret_service(make_hub, secret_service_keyring):
    hub = make_hub(secret_service_keyring)
    try:
        hub.app_config.save("acme", {"cfg:client_secret": "real-app-secret"})
        assert secret_service_keyring.get_password(SERVICE, "app:acme:cfg:client_secret") == "real-app-secret"
        assert hub.app_config.for_test("acme")[1] == {"cfg:client_secret": "real-app-secret"}
    finally:
        hub.app_config.save("acme", {}, unset=["cfg:client_secret"])
    assert secret_service_keyring.get_password(SERVICE, "app:acme:cfg:client_secret") is None
