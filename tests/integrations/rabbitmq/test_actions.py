"""RabbitMQ's actions against the machine's broker (guest/guest on '/'), with a real consumer in the test."""

from __future__ import annotations

import asyncio
import json
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
from tests.integrations.rabbitmq.conftest import HOST, PORT
from tests.support.services import free_port, require_service

LOCAL = {"host": HOST, "port": PORT, "user": "guest"}
GUEST = {"password": "guest"}


@pytest.fixture
def broker():
    require_service("RabbitMQ", HOST, PORT)


async def consumer(routing_key: str, exclusive: bool = True):
    """A connection with a queue bound to amq.topic for `routing_key`; returns (conn, channel, queue)."""
    import aiormq

    conn = await aiormq.connect(f"amqp://guest:guest@{HOST}:{PORT}/")
    channel = await conn.channel()
    declared = await channel.queue_declare(f"connhub-act-{uuid.uuid4().hex[:8]}", exclusive=exclusive,
                                           auto_delete=True, arguments={"x-expires": 60_000})
    await channel.queue_bind(declared.queue, "amq.topic", routing_key=routing_key)
    return conn, channel, declared.queue


def test_a_published_message_reaches_a_bound_consumer(registry, broker, fake):
    key, body = f"connhub.act.{uuid.uuid4().hex[:8]}", json.dumps({"order": fake.uuid4(), "note": "é✓"})

    async def main():
        conn, channel, queue = await consumer(key)
        try:
            done = await act_async(registry, "rabbitmq", "publish", {
                "exchange": "amq.topic", "routing_key": key, "body": body, "headers": {"x-trace": "t-1", "n": 3},
                "content_type": "application/json"}, LOCAL, GUEST)
            got = await asyncio.wait_for(channel.basic_get(queue, no_ack=True), 5)
            return done, got
        finally:
            await conn.close()

    done, got = asyncio.run(main())
    assert assert_ok(done) == {"confirmed": True, "routed": True, "exchange": "amq.topic", "routing_key": key}
    assert got.body.decode() == body
    assert got.header.properties.headers == {"x-trace": "t-1", "n": 3}
    assert got.header.properties.content_type == "application/json"


def test_an_unroutable_message_says_so(registry, broker):
    done = act(registry, "rabbitmq", "publish", {"exchange": "amq.topic", "routing_key": f"nobody.{uuid.uuid4().hex}",
                                                 "body": "x"}, LOCAL, GUEST)
    assert assert_ok(done)["routed"] is False


def test_queue_info_counts_messages_and_consumers_and_never_creates_a_queue(registry, broker):
    key = f"connhub.info.{uuid.uuid4().hex[:8]}"

    async def main():
        conn, channel, queue = await consumer(key, exclusive=False)
        try:
            for n in range(3):
                assert_ok(await act_async(registry, "rabbitmq", "publish",
                                          {"exchange": "amq.topic", "routing_key": key, "body": f"m{n}"}, LOCAL, GUEST))
            await asyncio.sleep(0.1)
            counted = await act_async(registry, "rabbitmq", "queue_info", {"queue": queue}, LOCAL, GUEST)
            await channel.basic_consume(queue, lambda message: None)
            with_consumer = await act_async(registry, "rabbitmq", "queue_info", {"queue": queue}, LOCAL, GUEST)
            other, _, exclusive = await consumer(key + ".x")
            locked = await act_async(registry, "rabbitmq", "queue_info", {"queue": exclusive}, LOCAL, GUEST)
            await other.close()
            assert_failed(locked, "permission")
            return queue, counted, with_consumer
        finally:
            await conn.close()

    queue, counted, with_consumer = asyncio.run(main())
    assert assert_ok(counted) == {"queue": queue, "messages": 3, "consumers": 0}
    assert assert_ok(with_consumer)["consumers"] == 1
    name = f"connhub-missing-{uuid.uuid4().hex[:8]}"
    assert_failed(act(registry, "rabbitmq", "queue_info", {"queue": name}, LOCAL, GUEST), "not_found")
    assert_failed(act(registry, "rabbitmq", "queue_info", {"queue": name}, LOCAL, GUEST), "not_found")  # still none


def test_publishing_to_a_missing_exchange_is_not_found(registry, broker):
    done = act(registry, "rabbitmq", "publish", {"exchange": f"nope-{uuid.uuid4().hex[:6]}", "body": "x"},
               LOCAL, GUEST)
    assert_failed(done, "not_found")
    assert "exchange" in done.message


def test_bad_params_are_per_field_and_nothing_is_sent(registry, broker):
    key = f"connhub.bad.{uuid.uuid4().hex[:8]}"

    async def main():
        conn, channel, queue = await consumer(key)
        try:
            with pytest.raises(InvalidParams) as caught:
                await act_async(registry, "rabbitmq", "publish", {"exchange": "amq.topic", "routing_key": key,
                                                                 "headers": {"a": [1]}, "persistent": "yes"},
                                LOCAL, GUEST)
            await asyncio.sleep(0.2)
            left = await channel.queue_declare(queue, passive=True)
            return caught.value.errors, left.message_count
        finally:
            await conn.close()

    errors, waiting = asyncio.run(main())
    assert set(errors) == {"body", "headers", "persistent"}
    assert waiting == 0


def test_a_closed_port_is_refused_and_a_wrong_password_is_auth(registry, broker, fake):
    done, took = act_timed(registry, "rabbitmq", "queue_info", {"queue": "q"}, {**LOCAL, "port": free_port()},
                           GUEST, timeout=2)
    assert_failed(done, "refused")
    assert took < 2
    wrong = fake.password(length=16)
    assert_failed(act(registry, "rabbitmq", "publish", {"body": "x"}, LOCAL, {"password": wrong}), "auth", wrong)


def test_a_silent_server_times_out_and_a_cancel_lands_at_once(registry, blackhole):
    config = {"host": blackhole[0], "port": blackhole[1], "user": "guest"}
    done, took = act_timed(registry, "rabbitmq", "publish", {"body": "x"}, config, GUEST, timeout=0.5)
    assert_failed(done, "timeout")
    assert took < 2
    assert cancel_action(registry, "rabbitmq", "publish", {"body": "x"}, config, GUEST, after=0.3) < 0.2


def test_a_saved_instance_runs_through_the_hub_and_is_logged(registry, broker, tmp_path, memory_keyring):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("rabbitmq", "local broker", {**LOCAL, **GUEST})
        sent = run_saved(hub, record, "publish", {"exchange": "amq.topic", "routing_key": "connhub.hub", "body": "x"})
        asked = run_saved(hub, record, "queue_info", {"queue": f"connhub-missing-{uuid.uuid4().hex[:8]}"})
        assert sent.ok and sent.result["confirmed"]
        assert not asked.ok and asked.error_class == "not_found"
        assert [(r.action, r.ok) for r in hub.actions.history(record.id)] == [("queue_info", False), ("publish", True)]
        assert "guest" not in json.dumps([r.params for r in hub.actions.history(record.id)])
