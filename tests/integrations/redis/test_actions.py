"""Redis's actions against the machine's server and the throwaway one with passwords and ACL users."""

from __future__ import annotations

import base64
import uuid

import pytest

from connhub.core.actions import InvalidParams
from tests.integrations.actions_support import (
    act,
    act_timed,
    assert_failed,
    assert_ok,
    cancel_action,
    run_saved,
    saved_hub,
)
from tests.integrations.redis.test_redis import secured  # noqa: F401 - the password/ACL server fixture
from tests.support.services import free_port, require_service

LOCAL = {"host": "127.0.0.1", "port": 6379}


@pytest.fixture
def raw():
    """A plain redis-py client on the local server, to see what the actions did; the test's keys removed after."""
    require_service("Redis", "127.0.0.1", 6379)
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    prefix = f"connhub-act:{uuid.uuid4().hex[:8]}:"
    client.prefix = prefix
    yield client
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()


def test_a_value_set_comes_back_and_expires(registry, raw, fake):
    key, value = raw.prefix + "greeting", fake.sentence() + " ✓"
    stored = assert_ok(act(registry, "redis", "set", {"key": key, "value": value, "ttl_seconds": 100}, LOCAL))
    assert stored == {"key": key, "stored": True, "ttl_seconds": 100}
    assert raw.get(key) == value.encode() and 90 < raw.ttl(key) <= 100
    got = assert_ok(act(registry, "redis", "get", {"key": key}, LOCAL))
    assert got == {"key": key, "exists": True, "value": value, "encoding": "utf-8"}
    assert assert_ok(act(registry, "redis", "get", {"key": raw.prefix + "none"}, LOCAL))["exists"] is False


def test_binary_values_travel_as_base64(registry, raw):
    key, data = raw.prefix + "bin", bytes(range(250, 256)) + b"\x00"
    assert_ok(act(registry, "redis", "set", {"key": key, "value": base64.b64encode(data).decode(),
                                             "encoding": "base64"}, LOCAL))
    assert raw.get(key) == data
    got = assert_ok(act(registry, "redis", "get", {"key": key}, LOCAL))
    assert got["encoding"] == "base64" and base64.b64decode(got["value"]) == data
    assert_failed(act(registry, "redis", "set", {"key": key, "value": "not base64!", "encoding": "base64"}, LOCAL),
                  "config")


def test_keys_scans_with_a_cap_and_delete_removes_them(registry, raw):
    names = [f"{raw.prefix}k{n:02}" for n in range(30)]
    for name in names:
        raw.set(name, "x")
    capped = assert_ok(act(registry, "redis", "keys", {"pattern": raw.prefix + "*", "limit": 10}, LOCAL))
    assert capped["count"] == 10 and capped["truncated"] and set(capped["keys"]) <= set(names)
    whole = assert_ok(act(registry, "redis", "keys", {"pattern": raw.prefix + "*"}, LOCAL))
    assert whole == {"keys": names, "count": 30, "truncated": False}
    gone = assert_ok(act(registry, "redis", "delete", {"keys": names[:5] + [raw.prefix + "never"]}, LOCAL))
    assert gone == {"deleted": 5}
    assert raw.exists(*names[:5]) == 0 and raw.exists(*names[5:]) == 25


def test_get_on_a_list_is_a_worded_config_error(registry, raw):
    raw.rpush(raw.prefix + "list", "a")
    done = act(registry, "redis", "get", {"key": raw.prefix + "list"}, LOCAL)
    assert_failed(done, "config")
    assert "WRONGTYPE" in done.message


def test_bad_params_are_per_field_and_nothing_is_sent(registry, raw):
    with pytest.raises(InvalidParams) as caught:
        act(registry, "redis", "set", {"key": raw.prefix + "x", "ttl_seconds": 0, "encoding": "hex"}, LOCAL)
    assert set(caught.value.errors) == {"value", "ttl_seconds", "encoding"}
    with pytest.raises(InvalidParams) as caught:
        act(registry, "redis", "delete", {"keys": []}, LOCAL)
    assert set(caught.value.errors) == {"keys"}
    assert raw.exists(raw.prefix + "x") == 0


def test_a_closed_port_is_refused_within_the_timeout(registry):
    done, took = act_timed(registry, "redis", "get", {"key": "k"}, {**LOCAL, "port": free_port()}, timeout=2)
    assert_failed(done, "refused")
    assert took < 2


def test_wrong_password_is_auth_and_a_missing_permission_is_permission(registry, secured, fake):  # noqa: F811
    config = {"host": secured.host, "port": secured.port}
    wrong = fake.password(length=16)
    assert_failed(act(registry, "redis", "get", {"key": "k"}, config, {"password": wrong}), "auth", wrong)
    alice = {**config, "username": "alice"}
    assert_ok(act(registry, "redis", "set", {"key": "shared", "value": "v1"}, alice, {"password": secured.users.alice}))
    carol = {**config, "username": "carol"}
    got = assert_ok(act(registry, "redis", "get", {"key": "shared"}, carol, {"password": secured.users.carol}))
    assert got["value"] == "v1"
    refused = act(registry, "redis", "set", {"key": "shared", "value": "v2"}, carol, {"password": secured.users.carol})
    assert_failed(refused, "permission", secured.users.carol)


def test_a_silent_server_times_out_and_a_cancel_lands_at_once(registry, blackhole):
    config = {"host": blackhole[0], "port": blackhole[1]}
    done, took = act_timed(registry, "redis", "get", {"key": "k"}, config, timeout=0.5)
    assert_failed(done, "timeout")
    assert took < 2
    assert cancel_action(registry, "redis", "get", {"key": "k"}, config, after=0.3) < 0.1


def test_a_saved_instance_runs_through_the_hub_and_is_logged(registry, tmp_path, memory_keyring, raw):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("redis", "cache", dict(LOCAL))
        wrote = run_saved(hub, record, "set", {"key": raw.prefix + "hub", "value": "from the hub"})
        read = run_saved(hub, record, "get", {"key": raw.prefix + "hub"})
        assert wrote.ok and read.ok and read.result["value"] == "from the hub"
        assert raw.get(raw.prefix + "hub") == b"from the hub"
        assert [(r.action, r.ok) for r in hub.actions.history(record.id)] == [("get", True), ("set", True)]
