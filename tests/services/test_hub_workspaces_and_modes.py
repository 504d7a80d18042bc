"""Workspaces, "ask every time" secrets, duplicate detection, rename, tags and environments in the Hub."""

from __future__ import annotations

import asyncio

import pytest

from connhub.plugins.registry import Registry
from connhub.services.hub import Hub, InvalidValues, SecretsNeeded
from connhub.storage.repository import NameTaken
from connhub.storage.vault import SecretVault
from tests.support.servers import throwaway_redis
from tests.support.services import free_port, require_binary


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture
def hub(tmp_path, registry, memory_keyring):
    hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=SecretVault(backend=memory_keyring, timeout=5))
    yield hub
    hub.close()



# --- workspaces -----------------------------------------------------------------------------------------

def test_workspaces_hold_their_own_instances_and_names_are_unique_per_workspace(hub):
    hub.create("redis", "cache", {"host": "a.example", "port": 6379})
    assert hub.add_workspace("  Client  X ") == "Client X"
    hub.use_workspace("Client X")
    assert hub.instances() == []  # a new workspace starts empty
    hub.create("redis", "cache", {"host": "b.example", "port": 6379})  # the same name is free here
    with pytest.raises(NameTaken):
        hub.create("redis", "cache", {"host": "c.example", "port": 6379})
    assert [r.config["host"] for r in hub.instances()] == ["b.example"]
    hub.use_workspace("default")
    assert [r.config["host"] for r in hub.instances()] == ["a.example"]
    assert hub.workspaces() == ["Client X", "default"]


def test_an_empty_workspace_is_kept_and_duplicates_are_refused(hub, tmp_path, registry, memory_keyring):
    hub.add_workspace("staging team")
    with pytest.raises(InvalidValues) as refused:
        hub.add_workspace("STAGING TEAM")
    assert "already exists" in refused.value.errors["workspace"]
    with pytest.raises(InvalidValues):
        hub.add_workspace("   ")
    again = Hub(data_dir=tmp_path / "data", registry=registry, vault=SecretVault(backend=memory_keyring))
    try:
        assert "staging team" in again.workspaces()  # survives a restart though it holds nothing
    finally:
        again.close()


# --- rename, tags, environment ------------------------------------------------------------------------

def test_rename_touches_no_secret_and_refuses_a_taken_name(hub, memory_keyring):
    first = hub.create("redis", "one", {"host": "h", "port": 6379, "password": "pw-1"})
    hub.create("redis", "two", {"host": "h2", "port": 6379})
    before = dict(memory_keyring.entries)
    assert hub.rename(first.id, "  primary   cache ").name == "primary cache"
    assert hub.find("primary cache").id == first.id
    with pytest.raises(NameTaken):
        hub.rename(first.id, "two")
    assert dict(memory_keyring.entries) == before


def test_tags_are_tidied_and_environments_checked(hub):
    record = hub.create("redis", "c", {"host": "h", "port": 6379}, tags=[" eu ", "EU", "", "billing"],
                        environment="prod")
    assert (record.tags, record.environment) == (["eu", "billing"], "prod")
    updated = hub.update(record.id, {"host": "h", "port": 6379}, tags=["x"], environment="")
    assert (updated.tags, updated.environment) == (["x"], None)
    with pytest.raises(InvalidValues) as refused:
        hub.create("redis", "d", {"host": "h", "port": 6379}, environment="production")
    assert "dev, staging, prod" in refused.value.errors["environment"]


# --- duplicate detection --------------------------------------------------------------------------------

def test_similar_finds_the_same_address_and_user_of_the_same_type(hub):
    pg = hub.create("postgres", "orders", {"host": "db.example", "port": 5432, "database": "orders",
                                           "user": "app", "password": "x"})
    same = {"host": "DB.example", "port": 5432, "database": "orders", "user": "app", "password": "other"}
    assert [r.id for r in hub.similar("postgres", same)] == [pg.id]
    assert hub.similar("postgres", same, except_id=pg.id) == []  # editing the instance itself
    assert hub.similar("postgres", {**same, "user": "admin"}) == []
    assert hub.similar("mysql", {"host": "db.example", "port": 5432, "database": "orders", "user": "app"}) == []
    hub.add_workspace("other")
    hub.use_workspace("other")
    assert hub.similar("postgres", same) == []  # only this workspace counts


# --- "ask every time" ---------------------------------------------------------------------------------

def test_a_session_instance_keeps_its_secret_in_memory_only(hub, memory_keyring, tmp_path):
    record = hub.create("redis", "ask", {"host": "h", "port": 6379, "password": "canary-Session-pw"},
                         secret_mode="session")
    assert record.secret_fields == ["password"] and record.secret_mode == "session"
    assert memory_keyring.entries == {}  # not in the keyring
    assert b"canary-Session-pw" not in (tmp_path / "data" / "connhub.db").read_bytes()
    assert hub.needs_secrets(hub.find("ask")) == []  # given at creation: known for this session
    assert hub.secrets_of(hub.find("ask")) == {"password": "canary-Session-pw"}


def test_a_new_session_asks_again_and_the_test_says_so(hub, tmp_path, registry, memory_keyring):
    hub.create("redis", "ask", {"host": "127.0.0.1", "port": free_port(), "password": "pw"},
               secret_mode="session")
    later = Hub(data_dir=tmp_path / "data", registry=registry, vault=SecretVault(backend=memory_keyring))
    try:
        record = later.find("ask")
        assert later.needs_secrets(record) == ["password"]
        result = asyncio.run(later.test_instance(record, timeout=2))
        assert not result.ok and result.error_class == "config" and "every time" in result.message
        later.remember_secrets(record.id, {"password": "pw"})
        assert later.needs_secrets(record) == []
        result = asyncio.run(later.test_instance(record, timeout=2))
        assert result.error_class == "refused"  # now it really tries the (closed) port
        with pytest.raises(SecretsNeeded):
            later._instance_secrets(record, ["nope"])
    finally:
        later.close()


def test_switching_modes_moves_secrets_between_keyring_and_memory(hub, memory_keyring):
    require_binary("redis-server", "redis-server")
    with throwaway_redis(free_port(), "--requirepass", "move-me-pw") as server:
        values = {"host": server.host, "port": server.port}
        record = hub.create("redis", "c", {**values, "password": "move-me-pw"})
        assert "move-me-pw" in memory_keyring.entries.values()

        hub.update(record.id, dict(values), secret_mode="session")  # password left blank: carried over
        assert memory_keyring.entries == {}
        assert asyncio.run(hub.test_instance(hub.find("c"), timeout=3)).ok

        back = hub.update(record.id, dict(values), secret_mode="keyring")
        assert back.secret_fields == ["password"] and "move-me-pw" in memory_keyring.entries.values()
        assert asyncio.run(hub.test_instance(hub.find("c"), timeout=3)).ok


def test_duplicate_and_delete_of_a_session_instance(hub, memory_keyring):
    record = hub.create("redis", "ask", {"host": "h", "port": 6379, "password": "pw"}, secret_mode="session")
    copy = hub.duplicate(record.id)
    assert copy.secret_mode == "session" and hub.secrets_of(copy) == {"password": "pw"}
    hub.delete(record.id)
    assert hub.needs_secrets(copy) == [] and memory_keyring.entries == {}
