"""The Hub: the use cases the GUI and the CLI share, on a real SQLite file and a keyring backend."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from connhub.core.records import InvalidValues, TypeDisabled
from connhub.plugins.registry import Registry, UnknownType
from connhub.services.hub import Hub
from connhub.storage.repository import InstanceNotFound, NameTaken
from connhub.storage.vault import KeyringVault, VaultError
from tests.support.keyrings import FullAfterKeyring, LockedKeyring
from tests.support.services import free_port, require_binary, require_service

BEARER = {"base_url": "https://api.example.com/v1", "auth.method": "bearer", "auth.token": "tok-123456"}


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture
def make_hub(tmp_path, registry):
    hubs = []

    def make(backend, timeout: float = 5.0) -> Hub:
        hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=backend, timeout=timeout))
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()


@pytest.fixture
def hub(make_hub, memory_keyring) -> Hub:
    return make_hub(memory_keyring)


def entry(keyring, instance_id: str, field: str) -> str | None:
    return keyring.get_password("connhub", f"{instance_id}:{field}")


def raw_rows(hub: Hub) -> list[dict]:
    """The instances table as it is on disk, read without SQLAlchemy."""
    with sqlite3.connect(hub.data_dir / "connhub.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = [dict(r) for r in conn.execute("SELECT * FROM instances ORDER BY name")]
    for row in rows:
        row["config"], row["secret_fields"] = json.loads(row["config"]), json.loads(row["secret_fields"])
    return rows


# --- create ------------------------------------------------------------------------------------------------

def test_create_puts_secrets_in_the_keyring_and_the_rest_in_the_database(hub, memory_keyring):
    record = hub.instances.create("http", "api", dict(BEARER), tags=["team"], environment="prod")

    [row] = raw_rows(hub)
    assert row["id"] == record.id and row["name"] == "api" and row["type"] == "http"
    assert row["config"] == {"base_url": "https://api.example.com/v1", "auth.method": "bearer"}
    assert row["secret_fields"] == ["auth.token"]
    assert "tok-123456" not in json.dumps(row)
    assert entry(memory_keyring, record.id, "auth.token") == "tok-123456"
    assert hub.secrets.known(hub.instances.find("api")) == {"auth.token": "tok-123456"}
    assert (record.tags, record.environment, record.summary) == (["team"], "prod", "https://api.example.com/v1")


def test_create_drops_fields_that_are_not_shown(hub, memory_keyring):
    """A token typed before switching the form to Basic auth is neither saved nor kept in the keyring."""
    record = hub.instances.create("http", "api", {"base_url": "https://api.example.com", "auth.method": "basic",
                                        "auth.username": "bob", "auth.password": "pw-1", "auth.token": "stale"})
    assert record.config == {"base_url": "https://api.example.com", "auth.method": "basic", "auth.username": "bob"}
    assert record.secret_fields == ["auth.password"]
    assert entry(memory_keyring, record.id, "auth.token") is None


def test_invalid_values_are_refused_field_by_field(make_hub):
    hub = make_hub(LockedKeyring())  # any keyring call would raise VaultError: validation comes first
    with pytest.raises(InvalidValues) as caught:
        hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 70000, "password": "pw"})
    assert caught.value.errors == {"port": "Must be at most 65535"}
    assert str(caught.value) == "port: Must be at most 65535"
    with pytest.raises(InvalidValues) as caught:
        hub.instances.create("http", "api", {"auth.method": "bearer"})
    assert caught.value.errors == {"base_url": "Required", "auth.token": "Required"}
    with pytest.raises(InvalidValues) as caught:
        hub.instances.create("postgres", "db", {"host": "http://db", "port": 5432, "database": "x", "user": "u"})
    assert caught.value.errors == {"host": "Enter a host name, an IP address, or the path of a local Unix socket (starting with /)"}
    with pytest.raises(InvalidValues) as caught:
        hub.instances.create("redis", "   ", {"host": "h", "port": 1})
    assert caught.value.errors == {"name": "Give the instance a name"}
    with pytest.raises(UnknownType, match="connhub types"):
        hub.instances.create("nosuchtype", "x", {})
    assert hub.instances.list() == []


def test_names_are_unique_and_tidied(hub, memory_keyring):
    first = hub.instances.create("redis", "  my   cache ", {"host": "127.0.0.1", "port": 6379})
    assert first.name == "my cache"
    with pytest.raises(NameTaken) as caught:
        hub.instances.create("redis", "my cache", {"host": "127.0.0.1", "port": 6379, "password": "pw"})
    assert "'my cache' already exists" in str(caught.value) and "choose another name" in str(caught.value)
    assert [r.id for r in hub.instances.list()] == [first.id]
    other = hub.instances.create("redis", "other", {"host": "127.0.0.1", "port": 6379})
    with pytest.raises(NameTaken):
        hub.instances.update(other.id, {"host": "127.0.0.1", "port": 6379}, name="my cache")
    assert hub.instances.find("other").id == other.id


def test_create_with_a_refusing_keyring_writes_no_row(make_hub):
    from keyring.backends import fail

    for backend in (LockedKeyring(), fail.Keyring()):
        hub = make_hub(backend)
        with pytest.raises(VaultError):
            hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379, "password": "pw"})
        assert hub.instances.list() == []
    # An instance without secrets needs no keyring at all.
    saved = make_hub(fail.Keyring()).instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379})
    assert saved.secret_fields == []
    assert [r["name"] for r in raw_rows(make_hub(fail.Keyring()))] == ["cache"]


def test_a_keyring_failing_half_way_leaves_no_orphan_secret(tmp_path):
    folder = tmp_path / "two_secrets"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({
        "manifest_version": 1, "type": "two_secrets", "name": "Two secrets", "group": "other", "icon": "icon.svg",
        "entrypoint": "tests.core.runner_integrations:OkIntegration",
        "credentials": {"type": "object", "properties": {
            "first": {"type": "string", "writeOnly": True}, "second": {"type": "string", "writeOnly": True}}},
    }))
    (folder / "icon.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>')
    keyring = FullAfterKeyring(room=1)
    hub = Hub(data_dir=tmp_path / "data", registry=Registry.from_folders([folder]),
              vault=KeyringVault(backend=keyring))
    try:
        with pytest.raises(VaultError):
            hub.instances.create("two_secrets", "two", {"first": "saved-before-the-failure", "second": "refused"})
        assert hub.instances.list() == []
        assert [call[0] for call in keyring.calls].count("set") == 2  # one stored, one refused …
        assert keyring.secrets_of() == {}  # … and the stored one was taken back
    finally:
        hub.close()


def test_a_disabled_type_is_refused_with_its_fix_it_message(tmp_path, memory_keyring):
    folder = tmp_path / "half_done"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"manifest_version": 1, "type": "half_done", "name": "Half",
                                                      "group": "nowhere", "icon": "icon.svg"}))
    hub = Hub(data_dir=tmp_path / "data", registry=Registry.from_folders([folder]),
              vault=KeyringVault(backend=memory_keyring))
    try:
        with pytest.raises(TypeDisabled, match="type 'half_done' is disabled: .*group 'nowhere' is unknown"):
            hub.instances.create("half_done", "x", {})
        assert hub.instances.list() == []
    finally:
        hub.close()


# --- update -----------------------------------------------------------------------------------------------

def test_update_keeps_a_secret_left_out_and_replaces_a_given_one(hub, memory_keyring):
    record = hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379, "password": "old-pw"})

    kept = hub.instances.update(record.id, {"host": "10.0.0.2", "port": 6380})  # the edit form left the password blank
    assert kept.config == {"host": "10.0.0.2", "port": 6380}
    assert kept.secret_fields == ["password"]
    assert entry(memory_keyring, record.id, "password") == "old-pw"
    assert kept.summary == "redis://10.0.0.2:6380/0"

    kept = hub.instances.update(record.id, {"host": "10.0.0.2", "port": 6380, "password": ""})  # empty also keeps it
    assert entry(memory_keyring, record.id, "password") == "old-pw"

    replaced = hub.instances.update(record.id, {"host": "10.0.0.2", "port": 6380, "password": "new-pw"}, name="cache 2",
                          tags=["a"], environment="staging")
    assert entry(memory_keyring, record.id, "password") == "new-pw"
    assert (replaced.name, replaced.tags, replaced.environment) == ("cache 2", ["a"], "staging")
    assert hub.instances.find("cache 2").secret_fields == ["password"]


def test_update_removes_the_secret_of_a_field_that_is_no_longer_shown(hub, memory_keyring):
    record = hub.instances.create("http", "api", dict(BEARER))
    assert entry(memory_keyring, record.id, "auth.token") == "tok-123456"

    updated = hub.instances.update(record.id, {"base_url": BEARER["base_url"], "auth.method": "basic",
                                     "auth.username": "bob", "auth.password": "pw-basic"})

    assert updated.secret_fields == ["auth.password"]
    assert entry(memory_keyring, record.id, "auth.token") is None
    assert entry(memory_keyring, record.id, "auth.password") == "pw-basic"
    [row] = raw_rows(hub)
    assert row["config"] == {"base_url": BEARER["base_url"], "auth.method": "basic", "auth.username": "bob"}
    assert row["secret_fields"] == ["auth.password"]


def test_update_validates_with_saved_secrets_counting_as_present(hub):
    record = hub.instances.create("http", "api", dict(BEARER))
    hub.instances.update(record.id, {"base_url": "https://api2.example.com", "auth.method": "bearer"})  # token kept
    with pytest.raises(InvalidValues) as caught:
        hub.instances.update(record.id, {"base_url": "ftp://x", "auth.method": "bearer"})
    assert caught.value.errors == {"base_url": "Enter a full URL starting with http:// or https://"}
    assert hub.instances.find("api").config["base_url"] == "https://api2.example.com"
    with pytest.raises(InstanceNotFound):
        hub.instances.update("no-such-id", {})


# --- duplicate --------------------------------------------------------------------------------------------

def test_duplicate_copies_secrets_under_the_new_id(hub, memory_keyring):
    source = hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379, "password": "pw-1"}, tags=["t"])
    first = hub.instances.duplicate(source.id)
    second = hub.instances.duplicate(source.id)

    assert (first.name, second.name) == ("cache (copy)", "cache (copy 2)")
    assert len({source.id, first.id, second.id}) == 3
    for copy in (first, second):
        assert entry(memory_keyring, copy.id, "password") == "pw-1"
        got = hub.instances.find(copy.name)
        assert (got.config, got.secret_fields, got.tags) == (source.config, ["password"], ["t"])
    # The copies own their entries: deleting the source leaves them working.
    hub.instances.delete(source.id)
    assert hub.secrets.known(hub.instances.find("cache (copy)")) == {"password": "pw-1"}
    named = hub.instances.duplicate(first.id, name="elsewhere")
    assert named.name == "elsewhere"
    with pytest.raises(NameTaken):
        hub.instances.duplicate(first.id, name="elsewhere")
    assert sorted(r.name for r in hub.instances.list()) == ["cache (copy 2)", "cache (copy)", "elsewhere"]


# --- delete -----------------------------------------------------------------------------------------------

def test_delete_removes_the_row_and_the_keyring_entries(hub, memory_keyring):
    record = hub.instances.create("http", "api", {"base_url": "https://x.example", "auth.method": "basic",
                                        "auth.username": "u", "auth.password": "pw"})
    keep = hub.instances.create("redis", "keep", {"host": "127.0.0.1", "port": 6379, "password": "keep-pw"})
    hub.instances.delete(record.id)
    assert [r["name"] for r in raw_rows(hub)] == ["keep"]
    assert entry(memory_keyring, record.id, "auth.password") is None
    assert entry(memory_keyring, keep.id, "password") == "keep-pw"
    with pytest.raises(InstanceNotFound):
        hub.instances.delete(record.id)


def test_delete_keeps_the_instance_when_the_keyring_refuses(make_hub, memory_keyring):
    hub = make_hub(memory_keyring)
    record = hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379, "password": "pw"})

    locked = make_hub(LockedKeyring())
    with pytest.raises(VaultError, match="locked"):
        locked.instances.delete(record.id)

    assert hub.instances.find("cache").id == record.id  # nothing lost: unlock and delete again
    assert entry(memory_keyring, record.id, "password") == "pw"
    hub.instances.delete(record.id)
    assert hub.instances.list() == []


# --- tests and history -------------------------------------------------------------------------------------

def test_test_instance_records_history(hub):
    require_service("redis", "127.0.0.1", 6379)
    closed = free_port()
    record = hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": closed})

    result = asyncio.run(hub.prober.test_instance(hub.instances.find("cache"), timeout=3))
    assert not result.ok and result.error_class == "refused"
    failing = hub.instances.find("cache")
    assert (failing.status, failing.error_count, failing.last_error_class) == ("failing", 1, "refused")
    assert failing.last_test_at is not None

    hub.instances.update(record.id, {"host": "127.0.0.1", "port": 6379})
    result = asyncio.run(hub.prober.test_instance(hub.instances.find("cache"), timeout=3))
    assert result.ok, result.message
    ok = hub.instances.find("cache")
    assert (ok.status, ok.error_count, ok.last_error_class) == ("ok", 0, None)
    assert ok.last_server_version and ok.last_server_version.startswith(("Redis", "Valkey", "KeyDB"))

    history = hub.prober.history(record.id)
    assert [(run.ok, run.error_class) for run in history] == [(True, None), (False, "refused")]
    assert history[0].started_at >= history[1].started_at
    assert hub.prober.history(record.id, limit=1)[0].ok


def test_saved_secrets_are_used_by_tests_and_kept_by_edits(hub, tmp_path):
    """A requirepass Redis: the saved password authenticates, before and after an edit that left it blank."""
    from tests.support.servers import throwaway_redis

    require_binary("redis-server", "redis-server")
    with throwaway_redis(free_port(), "--requirepass", "s3cret-pw") as server:
        values = {"host": server.host, "port": server.port}
        record = hub.instances.create("redis", "locked cache", {**values, "password": "s3cret-pw"})
        assert asyncio.run(hub.prober.test_instance(hub.instances.find(record.id), timeout=3)).ok

        hub.instances.update(record.id, dict(values))  # password left blank in the edit form
        assert asyncio.run(hub.prober.test_instance(hub.instances.find(record.id), timeout=3)).ok

        # Testing unsaved form values: a blank secret comes from the saved instance, a typed one wins.
        assert asyncio.run(hub.prober.test_values("redis", dict(values), timeout=3, saved_from=hub.instances.find(record.id))).ok
        wrong = asyncio.run(hub.prober.test_values("redis", {**values, "password": "wrong-pw"}, timeout=3,
                                            saved_from=hub.instances.find(record.id)))
        assert not wrong.ok and wrong.error_class == "auth"
        assert "wrong-pw" not in wrong.message


def test_a_locked_keyring_fails_the_test_with_a_clear_message(make_hub, memory_keyring):
    record = make_hub(memory_keyring).instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379,
                                                                "password": "pw"})
    locked = make_hub(LockedKeyring())
    result = asyncio.run(locked.prober.test_instance(locked.instances.find("cache"), timeout=2))
    assert not result.ok and result.error_class == "config" and result.failed_stage == "secrets"
    assert "locked" in result.message
    assert locked.instances.find(record.id).status == "failing"


# --- settings and summaries -------------------------------------------------------------------------------

def test_default_timeout_round_trip_and_bounds(hub, make_hub, memory_keyring):
    assert hub.settings.default_timeout == 10.0
    hub.settings.set_default_timeout(5)
    assert hub.settings.default_timeout == 5.0
    assert make_hub(memory_keyring).settings.default_timeout == 5.0  # persisted
    for good in (0.1, 600):
        hub.settings.set_default_timeout(good)
        assert hub.settings.default_timeout == good
    for bad in (0, 0.05, -1, 601, float("nan")):
        with pytest.raises(ValueError, match="between 0.1 and 600 seconds"):
            hub.settings.set_default_timeout(bad)
    assert hub.settings.default_timeout == 600


def test_summaries_never_carry_secrets(hub):
    api = hub.instances.create("http", "api", {"base_url": "https://bob:url-pw@api.example.com/v1/?key=q-secret#frag",
                                     "auth.method": "basic", "auth.username": "bob",
                                     "auth.password": "basic-pw"})
    db = hub.instances.create("postgres", "db", {"host": "127.0.0.1", "port": 5432, "database": "app", "user": "bob",
                                       "password": "pg-pw"})
    cache = hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379, "password": "redis-pw"})
    assert api.summary == "https://api.example.com/v1"
    assert db.summary == "postgres://bob@127.0.0.1:5432/app"
    assert cache.summary == "redis://127.0.0.1:6379/0"
    for record in hub.instances.list():
        for secret in ("url-pw", "q-secret", "basic-pw", "pg-pw", "redis-pw"):
            assert secret not in record.summary


# --- the real Secret Service ---------------------------------------------------------------------------

def test_create_and_delete_with_the_real_secret_service(make_hub, secret_service_keyring):
    hub = make_hub(secret_service_keyring)
    record = hub.instances.create("postgres", "db", {"host": "127.0.0.1", "port": 5432, "database": "postgres",
                                           "user": "postgres", "password": "real-pw"})
    try:
        assert entry(secret_service_keyring, record.id, "password") == "real-pw"
        copy = hub.instances.duplicate(record.id)
        assert entry(secret_service_keyring, copy.id, "password") == "real-pw"
        hub.instances.delete(copy.id)
        assert entry(secret_service_keyring, copy.id, "password") is None
    finally:
        hub.instances.delete(record.id)
    assert entry(secret_service_keyring, record.id, "password") is None
    assert hub.instances.list() == []


def test_a_field_shown_by_a_default_choice_is_kept_when_the_choice_is_left_out(hub):
    """GitHub's token shows when auth_method is "token", its default: values that leave auth_method out keep
    the token (it was silently dropped, and the first run said the token was empty)."""
    record = hub.instances.create("github", "gh", {"base_url": "https://api.github.com", "token": "ghp_x" * 4})
    assert record.secret_fields == ["token"]
    with pytest.raises(InvalidValues) as caught:
        hub.instances.create("github", "gh2", {"base_url": "https://api.github.com"})
    assert caught.value.errors == {"token": "Required"}
