"""Workspaces, "ask every time" secrets, duplicate detection, rename, tags and environments in the Hub."""

from __future__ import annotations

import asyncio

import pytest

from connhub.core.records import InvalidValues, SecretsNeeded
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.repository import NameTaken
from connhub.storage.vault import KeyringVault
from tests.support.servers import throwaway_redis
from tests.support.services import free_port, require_binary


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture
def hub(tmp_path, registry, memory_keyring):
    hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=memory_keyring, timeout=5))
    yield hub
    hub.close()



# --- workspaces -----------------------------------------------------------------------------------------

def test_workspaces_hold_their_own_instances_and_names_are_unique_per_workspace(hub):
    hub.instances.create("redis", "cache", {"host": "a.example", "port": 6379})
    assert hub.instances.add_workspace("  Client  X ") == "Client X"
    hub.instances.use_workspace("Client X")
    assert hub.instances.list() == []  # a new workspace starts empty
    hub.instances.create("redis", "cache", {"host": "b.example", "port": 6379})  # the same name is free here
    with pytest.raises(NameTaken):
        hub.instances.create("redis", "cache", {"host": "c.example", "port": 6379})
    assert [r.config["host"] for r in hub.instances.list()] == ["b.example"]
    hub.instances.use_workspace("default")
    assert [r.config["host"] for r in hub.instances.list()] == ["a.example"]
    assert hub.instances.workspaces() == ["Client X", "default"]


def test_an_empty_workspace_is_kept_and_duplicates_are_refused(hub, tmp_path, registry, memory_keyring):
    hub.instances.add_workspace("staging team")
    with pytest.raises(InvalidValues) as refused:
        hub.instances.add_workspace("STAGING TEAM")
    assert "already exists" in refused.value.errors["workspace"]
    with pytest.raises(InvalidValues):
        hub.instances.add_workspace("   ")
    again = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=memory_keyring))
    try:
        assert "staging team" in again.instances.workspaces()  # survives a restart though it holds nothing
    finally:
        again.close()


# --- rename, tags, environment ------------------------------------------------------------------------

def test_rename_touches_no_secret_and_refuses_a_taken_name(hub, memory_keyring):
    first = hub.instances.create("redis", "one", {"host": "h", "port": 6379, "password": "pw-1"})
    hub.instances.create("redis", "two", {"host": "h2", "port": 6379})
    before = dict(memory_keyring.entries)
    assert hub.instances.rename(first.id, "  primary   cache ").name == "primary cache"
    assert hub.instances.find("primary cache").id == first.id
    with pytest.raises(NameTaken):
        hub.instances.rename(first.id, "two")
    assert dict(memory_keyring.entries) == before


def test_tags_are_tidied_and_environments_checked(hub):
    record = hub.instances.create("redis", "c", {"host": "h", "port": 6379}, tags=[" eu ", "EU", "", "billing"],
                        environment="prod")
    assert (record.tags, record.environment) == (["eu", "billing"], "prod")
    updated = hub.instances.update(record.id, {"host": "h", "port": 6379}, tags=["x"], environment="")
    assert (updated.tags, updated.environment) == (["x"], None)
    with pytest.raises(InvalidValues) as refused:
        hub.instances.create("redis", "d", {"host": "h", "port": 6379}, environment="production")
    assert "dev, staging, prod" in refused.value.errors["environment"]


# --- duplicate detection --------------------------------------------------------------------------------

def test_similar_finds_the_same_address_and_user_of_the_same_type(hub):
    pg = hub.instances.create("postgres", "orders", {"host": "db.example", "port": 5432, "database": "orders",
                                           "user": "app", "password": "x"})
    same = {"host": "DB.example", "port": 5432, "database": "orders", "user": "app", "password": "other"}
    assert [r.id for r in hub.instances.similar("postgres", same)] == [pg.id]
    assert hub.instances.similar("postgres", same, except_id=pg.id) == []  # editing the instance itself
    assert hub.instances.similar("postgres", {**same, "user": "admin"}) == []
    assert hub.instances.similar("mysql", {"host": "db.example", "port": 5432, "database": "orders", "user": "app"}) == []
    hub.instances.add_workspace("other")
    hub.instances.use_workspace("other")
    assert hub.instances.similar("postgres", same) == []  # only this workspace counts


# --- "ask every time" ---------------------------------------------------------------------------------

def test_a_session_instance_keeps_its_secret_in_memory_only(hub, memory_keyring, tmp_path):
    record = hub.instances.create("redis", "ask", {"host": "h", "port": 6379, "password": "canary-Session-pw"},
                         secret_mode="session")
    assert record.secret_fields == ["password"] and record.secret_mode == "session"
    assert memory_keyring.entries == {}  # not in the keyring
    assert b"canary-Session-pw" not in (tmp_path / "data" / "connhub.db").read_bytes()
    assert hub.secrets.needed(hub.instances.find("ask")) == []  # given at creation: known for this session
    assert hub.secrets.known(hub.instances.find("ask")) == {"password": "canary-Session-pw"}


def test_a_new_session_asks_again_and_the_test_says_so(hub, tmp_path, registry, memory_keyring):
    hub.instances.create("redis", "ask", {"host": "127.0.0.1", "port": free_port(), "password": "pw"},
               secret_mode="session")
    later = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=memory_keyring))
    try:
        record = later.instances.find("ask")
        assert later.secrets.needed(record) == ["password"]
        result = asyncio.run(later.prober.test_instance(record, timeout=2))
        assert not result.ok and result.error_class == "config" and "every time" in result.message
        later.secrets.remember(record.id, {"password": "pw"})
        assert later.secrets.needed(record) == []
        result = asyncio.run(later.prober.test_instance(record, timeout=2))
        assert result.error_class == "refused"  # now it really tries the (closed) port
        with pytest.raises(SecretsNeeded):
            later.secrets.read(record, ["nope"])
    finally:
        later.close()


def test_switching_modes_moves_secrets_between_keyring_and_memory(hub, memory_keyring):
    require_binary("redis-server", "redis-server")
    with throwaway_redis(free_port(), "--requirepass", "move-me-pw") as server:
        values = {"host": server.host, "port": server.port}
        record = hub.instances.create("redis", "c", {**values, "password": "move-me-pw"})
        assert "move-me-pw" in memory_keyring.entries.values()

        hub.instances.update(record.id, dict(values), secret_mode="session")  # password left blank: carried over
        assert memory_keyring.entries == {}
        assert asyncio.run(hub.prober.test_instance(hub.instances.find("c"), timeout=3)).ok

        back = hub.instances.update(record.id, dict(values), secret_mode="keyring")
        assert back.secret_fields == ["password"] and "move-me-pw" in memory_keyring.entries.values()
        assert asyncio.run(hub.prober.test_instance(hub.instances.find("c"), timeout=3)).ok


def test_duplicate_and_delete_of_a_session_instance(hub, memory_keyring):
    record = hub.instances.create("redis", "ask", {"host": "h", "port": 6379, "password": "pw"}, secret_mode="session")
    copy = hub.instances.duplicate(record.id)
    assert copy.secret_mode == "session" and hub.secrets.known(copy) == {"password": "pw"}
    hub.instances.delete(record.id)
    assert hub.secrets.needed(copy) == [] and memory_keyring.entries == {}
