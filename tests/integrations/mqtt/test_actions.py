"""MQTT's actions against the machine's Mosquitto, with real subscribers and publishers in the test."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from connhub.core.actions import InvalidParams
from tests.integrations.actions_support import (
    act,
    act_async,
    act_timed,
    assert_failed,
    assert_ok,
    cancel_action,
    run_saved,
    saved_hub,
)
from tests.integrations.mqtt.conftest import HOST
from tests.support.services import free_port, require_service

LOCAL = {"host": HOST, "port": 1883}


@pytest.fixture
def mosquitto():
    require_service("Mosquitto", HOST, 1883)


def topic() -> str:
    return f"connhub/act/{uuid.uuid4().hex[:8]}"


def client():
    import aiomqtt

    return aiomqtt.Client(HOST, 1883)


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_a_published_message_reaches_a_subscriber(registry, mosquitto, fake, qos):
    name, text = topic(), fake.sentence() + " ✓"

    async def main():
        async with client() as sub:
            await sub.subscribe(name, qos=2)
            done = await act_async(registry, "mqtt", "publish", {"topic": name, "payload": text, "qos": qos}, LOCAL)
            async with asyncio.timeout(5):
                async for message in sub.messages:
                    return done, message

    done, message = asyncio.run(main())
    assert assert_ok(done) == {"topic": name, "qos": qos, "retain": False, "bytes": len(text.encode())}
    assert message.payload.decode() == text and str(message.topic) == name and message.qos == qos


def test_subscribe_once_returns_what_arrives_and_stops_at_max_messages(registry, mosquitto):
    base = topic()

    async def main():
        task = asyncio.ensure_future(act_async(registry, "mqtt", "subscribe_once", {
            "topic": base + "/#", "max_messages": 2, "wait_seconds": 5}, LOCAL, timeout=8))
        await asyncio.sleep(0.5)  # subscribed by now
        async with client() as pub:
            for n in range(4):
                await pub.publish(f"{base}/s{n}", f"m{n}".encode(), qos=1)
        return await task

    got = assert_ok(asyncio.run(main()))
    assert got["count"] == 2 and not got["timed_out"]
    assert [(m["topic"], m["payload"]) for m in got["messages"]] == [(f"{base}/s0", "m0"), (f"{base}/s1", "m1")]


def test_a_retained_message_is_there_for_a_later_subscriber(registry, mosquitto):
    name = topic()
    assert_ok(act(registry, "mqtt", "publish", {"topic": name, "payload": "kept", "retain": True, "qos": 1}, LOCAL))
    try:
        got = assert_ok(act(registry, "mqtt", "subscribe_once", {"topic": name, "wait_seconds": 2}, LOCAL))
        assert got["messages"] == [{"topic": name, "payload": "kept", "encoding": "utf-8", "qos": 0, "retain": True}]
    finally:  # an empty retained message clears it
        act(registry, "mqtt", "publish", {"topic": name, "retain": True}, LOCAL)


def test_nothing_arriving_ends_at_the_wait_with_no_messages(registry, mosquitto):
    done, took = act_timed(registry, "mqtt", "subscribe_once", {"topic": topic(), "wait_seconds": 0.5}, LOCAL)
    assert assert_ok(done) == {"topic": done.result["topic"], "messages": [], "count": 0, "timed_out": True}
    assert 0.4 < took < 2


def test_bad_params_are_per_field_and_nothing_is_sent(registry, mosquitto):
    name = topic()

    async def main():
        async with client() as sub:
            await sub.subscribe(name + "/#")
            with pytest.raises(InvalidParams) as caught:
                await act_async(registry, "mqtt", "publish", {"topic": name + "/#", "qos": 3, "retain": "no"}, LOCAL)
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    async for _ in sub.messages:
                        break
            return caught.value.errors

    assert set(asyncio.run(main())) == {"topic", "qos", "retain"}


def test_a_closed_port_is_refused_and_a_wrong_password_is_auth(registry, broker, fake):
    done, took = act_timed(registry, "mqtt", "publish", {"topic": "a"}, {**LOCAL, "port": free_port()}, timeout=2)
    assert_failed(done, "refused")
    assert took < 2
    config = {"host": broker.host, "port": broker.port, "user": "alice"}
    wrong = fake.password(length=16)
    assert_failed(act(registry, "mqtt", "publish", {"topic": "a"}, config, {"password": wrong}), "auth", wrong)
    assert_ok(act(registry, "mqtt", "publish", {"topic": "a"}, config, {"password": broker.passwords["alice"]}))


def test_a_cancel_lands_at_once(registry, mosquitto):
    assert cancel_action(registry, "mqtt", "subscribe_once", {"topic": topic(), "wait_seconds": 20}, LOCAL) < 0.3


def test_a_saved_instance_runs_through_the_hub_and_is_logged(registry, mosquitto, tmp_path, memory_keyring):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("mqtt", "local broker", {**LOCAL, "protocol": "3.1.1"})
        sent = run_saved(hub, record, "publish", {"topic": topic(), "payload": "x", "qos": 1})
        read = run_saved(hub, record, "subscribe_once", {"topic": topic(), "wait_seconds": 0.2})
        assert sent.ok and sent.result["qos"] == 1 and read.ok and read.result["count"] == 0
        assert [(r.action, r.ok) for r in hub.actions.history(record.id)] == [("subscribe_once", True),
                                                                              ("publish", True)]
