"""NATS's actions against the machine's server, with real subscribers and responders started in the test."""

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
    run_saved,
    saved_hub,
)
from tests.integrations.nats.conftest import HOST
from tests.support.services import free_port, require_service

LOCAL = {"host": HOST, "port": 4222}


@pytest.fixture
def server():
    require_service("NATS", HOST, 4222)


def subject() -> str:
    return f"connhub.act.{uuid.uuid4().hex[:8]}"


async def never_answer(msg) -> None:
    """A responder that takes requests and never replies."""


async def listener():
    import nats

    return await nats.connect(f"nats://{HOST}:4222")


def test_a_published_message_reaches_a_subscriber(registry, server, fake):
    topic, text = subject(), fake.sentence() + " ✓"

    async def main():
        nc = await listener()
        try:
            sub = await nc.subscribe(topic)
            await nc.flush()
            done = await act_async(registry, "nats", "publish", {"subject": topic, "payload": text,
                                                                 "headers": {"X-Trace": "t-1"}}, LOCAL)
            message = await sub.next_msg(timeout=5)
            return done, message
        finally:
            await nc.close()

    done, message = asyncio.run(main())
    assert assert_ok(done) == {"subject": topic, "bytes": len(text.encode())}
    assert message.data.decode() == text and message.headers == {"X-Trace": "t-1"}


def test_a_request_gets_the_responders_reply(registry, server):
    topic = subject()

    async def main():
        nc = await listener()
        try:
            async def answer(msg):
                await msg.respond(b"echo: " + msg.data)

            await nc.subscribe(topic, cb=answer)
            await nc.flush()
            return await act_async(registry, "nats", "request", {"subject": topic, "payload": "ping"}, LOCAL)
        finally:
            await nc.close()

    got = assert_ok(asyncio.run(main()))
    assert got["reply"] == "echo: ping" and got["encoding"] == "utf-8"


def test_a_request_nobody_answers_is_not_found_and_a_silent_responder_times_out(registry, server):
    assert_failed(act(registry, "nats", "request", {"subject": subject()}, LOCAL), "not_found")
    topic = subject()

    async def main():
        nc = await listener()
        try:
            await nc.subscribe(topic, cb=never_answer)
            await nc.flush()
            start = asyncio.get_running_loop().time()
            done = await act_async(registry, "nats", "request", {"subject": topic, "timeout": 0.5}, LOCAL)
            return done, asyncio.get_running_loop().time() - start
        finally:
            await nc.close()

    done, took = asyncio.run(main())
    assert_failed(done, "timeout")
    assert "0.5 s" in done.message and took < 2


def test_bad_params_are_per_field_and_nothing_is_sent(registry, server):
    topic = subject()

    async def main():
        nc = await listener()
        try:
            sub = await nc.subscribe(topic)
            await nc.flush()
            with pytest.raises(InvalidParams) as caught:
                await act_async(registry, "nats", "publish", {"subject": "has space", "headers": {"a": 1}}, LOCAL)
            with pytest.raises(InvalidParams):
                await act_async(registry, "nats", "request", {"subject": topic, "timeout": 0}, LOCAL)
            with pytest.raises(asyncio.TimeoutError):
                await sub.next_msg(timeout=0.3)
            return caught.value.errors
        finally:
            await nc.close()

    assert set(asyncio.run(main())) == {"subject", "headers"}


def test_a_closed_port_is_refused_and_a_wrong_token_is_auth(registry, token_server, fake):
    done, took = act_timed(registry, "nats", "publish", {"subject": "a"}, {**LOCAL, "port": free_port()}, timeout=2)
    assert_failed(done, "refused")
    assert took < 2
    config = {"host": token_server.host, "port": token_server.port, "auth.method": "password"}
    wrong = fake.password(length=16)
    assert_failed(act(registry, "nats", "publish", {"subject": "a"}, config, {"auth.password": wrong}), "auth", wrong)
    assert_ok(act(registry, "nats", "publish", {"subject": "a"}, config, {"auth.password": token_server.secret}))


def test_a_cancel_lands_at_once(registry, server):
    """A request to a responder that never answers, cancelled while it waits."""
    topic = subject()

    async def main():
        nc = await listener()
        try:
            await nc.subscribe(topic, cb=never_answer)
            await nc.flush()
            entry = registry.get("nats")
            from connhub.core.actions import check_params
            from connhub.services.actions import execute

            action = entry.manifest.action("request")
            task = asyncio.ensure_future(execute(entry, action, check_params(action, {"subject": topic,
                                                                                      "timeout": 20}), LOCAL, {}, 30))
            await asyncio.sleep(0.3)
            assert not task.done()
            start = asyncio.get_running_loop().time()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return asyncio.get_running_loop().time() - start
        finally:
            await nc.close()

    assert asyncio.run(main()) < 0.2


def test_a_saved_instance_runs_through_the_hub_and_is_logged(registry, server, tmp_path, memory_keyring):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("nats", "local nats", {**LOCAL, "auth.method": "none"})
        sent = run_saved(hub, record, "publish", {"subject": subject(), "payload": "x"})
        asked = run_saved(hub, record, "request", {"subject": subject()})
        assert sent.ok and sent.result["bytes"] == 1
        assert not asked.ok and asked.error_class == "not_found"
        assert [(r.action, r.ok) for r in hub.actions.history(record.id)] == [("request", False), ("publish", True)]
