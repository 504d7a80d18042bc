"""The webhook receiver (issue 19) on a real socket: signed posts through httpx, each verdict with the status
the providers expect, the inbox (SQLite and PostgreSQL), replays, Slack's handshake, test events, and the
signing secret in no row, log record or answer."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time

import httpx
import pytest

from connhub.core.webhooks import Scheme, sign
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.support.services import require_service

SECRET = "Canary-whsec-" + secrets.token_hex(6)
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=3"


@pytest.fixture
def hub(tmp_path, memory_keyring):
    hub = Hub(data_dir=tmp_path / "data", registry=Registry.discover(plugins=False),
              vault=KeyringVault(backend=memory_keyring))
    yield hub
    hub.close()


def github(hub):
    return hub.instances.create("github", "gh", {"base_url": "https://api.github.com", "token": "ghp_" + "x" * 20,
                                                 "webhook_secret": SECRET})


async def post(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5.0) as client:
        return await client.post(url, content=body, headers=headers)


def run(coro):
    return asyncio.run(coro)


def deliver(hub, record, deliveries):
    """Start a receiver, send each (body, headers), stop: the answers."""
    async def go():
        receiver = await hub.webhooks.listen([record])
        try:
            return [await post(receiver.url(record.name), body, headers) for body, headers in deliveries]
        finally:
            await receiver.close()
    return run(go())


def signed_push(hub, delivery_id="d-1", secret=SECRET, body=None):
    payload = hub.webhooks.sample("github", "push") if body is None else body
    raw = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    headers = {"Content-Type": "application/json",
               **sign(Scheme("github"), secret, raw, time.time(), "push", delivery_id)}
    return raw, headers


def test_each_verdict_is_answered_and_kept(hub):
    record = github(hub)
    good = signed_push(hub, "d-1")
    replay = signed_push(hub, "d-1")
    forged = signed_push(hub, "d-2", secret="not-the-secret")
    unsigned = (good[0], {"Content-Type": "application/json", "X-GitHub-Event": "push"})
    invalid = signed_push(hub, "d-3", body={"ref": 42})
    unknown = (good[0], {**signed_push(hub, "d-4")[1], "X-GitHub-Event": "star"})
    answers = deliver(hub, record, [good, replay, forged, unsigned, invalid, unknown])
    assert [a.status_code for a in answers] == [200, 409, 401, 401, 400, 202]
    kept = hub.webhooks.log(record.id)
    assert [d.verdict for d in reversed(kept)] == ["accepted", "replayed", "bad_signature", "unsigned",
                                                   "invalid_payload", "unknown_event"]
    invalid_row = next(d for d in kept if d.verdict == "invalid_payload")
    assert any(e.startswith("$") for e in invalid_row.errors), invalid_row.errors  # each error at its path
    assert [d.verdict for d in hub.webhooks.log(record.id, verdict="accepted")] == ["accepted"]
    accepted = hub.webhooks.get(kept[-1].id)
    assert accepted.body == good[0] and accepted.event == "push"
    assert accepted.headers["X-Hub-Signature-256"] == "********"


def test_a_body_over_the_cap_is_refused_before_it_is_read(hub, monkeypatch):
    import connhub.services.webhooks as service

    monkeypatch.setattr(service, "MAX_BODY", 1000)
    record = github(hub)
    answers = deliver(hub, record, [signed_push(hub, body=b"x" * 5000)])
    assert answers[0].status_code == 413
    kept = hub.webhooks.log(record.id)[0]
    assert (kept.verdict, kept.body, kept.body_size) == ("too_large", b"", 5000)


def test_wrong_paths_methods_and_lengths(hub):
    record = github(hub)

    async def go():
        receiver = await hub.webhooks.listen([record])
        base = f"http://127.0.0.1:{receiver.port}"
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                missing = await client.post(base + "/hooks/other", content=b"{}")
                wrong = await client.get(receiver.url(record.name))
            reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
            writer.write(b"POST /hooks/gh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            await writer.drain()
            chunked = await reader.read(200)
            writer.close()
            return missing.status_code, wrong.status_code, chunked
        finally:
            await receiver.close()

    missing, wrong, chunked = run(go())
    assert (missing, wrong) == (404, 405)
    assert chunked.startswith(b"HTTP/1.1 411")
    assert hub.webhooks.log(record.id) == []  # nothing that is not a delivery is kept


def test_a_silent_sender_is_cut_at_the_deadline(hub, monkeypatch):
    import connhub.services.webhooks as service

    monkeypatch.setattr(service, "REQUEST_DEADLINE_S", 0.3)
    record = github(hub)

    async def go():
        receiver = await hub.webhooks.listen([record])
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", receiver.port)
            writer.write(b"POST /hooks/gh HTTP/1.1\r\nContent-Length: 10\r\n\r\n12")
            await writer.drain()
            started = time.monotonic()
            answer = await asyncio.wait_for(reader.read(200), 5)
            return answer, time.monotonic() - started
        finally:
            await receiver.close()

    answer, _waited = run(go())
    assert answer.startswith(b"HTTP/1.1 408")


def test_slack_handshake_and_a_signed_event(hub):
    record = hub.instances.create("slack", "team", {"base_url": "https://slack.com/api", "bot_token": "xoxb-" + "1" * 20, "webhook_secret": SECRET})
    challenge = json.dumps({"type": "url_verification", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}).encode()
    event = json.dumps(hub.webhooks.sample("slack", "message")).encode()
    scheme = Scheme("slack")
    answers = deliver(hub, record, [(challenge, sign(scheme, SECRET, challenge, time.time())),
                                    (event, sign(scheme, SECRET, event, time.time())),
                                    (event, sign(scheme, SECRET, event, time.time() - 3600))])
    assert answers[0].status_code == 200 and answers[0].text.startswith("3eZbrw1aBm2r")
    assert [a.status_code for a in answers[1:]] == [200, 401]
    assert [d.verdict for d in hub.webhooks.log(record.id)] == ["stale", "accepted", "accepted"]


def test_stripe_event_ids_are_not_taken_twice_even_after_a_restart(hub):
    record = hub.instances.create("stripe", "pay", {"base_url": "https://api.stripe.com", "secret_key": "sk_test_" + "a" * 24, "webhook_secret": SECRET})
    body = json.dumps(hub.webhooks.sample("stripe", "charge.succeeded", {"id": "evt_123"})).encode()
    first = deliver(hub, record, [(body, sign(Scheme("stripe"), SECRET, body, time.time()))])
    again = deliver(hub, record, [(body, sign(Scheme("stripe"), SECRET, body, time.time()))])  # a new receiver
    assert (first[0].status_code, again[0].status_code) == (200, 409)


def test_the_sample_payload_of_every_declared_event_is_valid(hub):
    """`webhooks trigger` sends what the schema accepts, for every event of every type that signs webhooks."""
    from connhub.services.events import validate_payload

    for entry in hub.registry.entries():
        if not (entry.ok and entry.manifest.webhooks):
            continue
        for event in entry.manifest.events:
            payload = hub.webhooks.sample(entry.type, event.type)
            assert validate_payload(entry, event.type, payload) == [], (entry.type, event.type)


def test_trigger_sends_what_the_receiver_accepts_and_replay_resends_it(hub):
    record = github(hub)

    async def go():
        receiver = await hub.webhooks.listen([record])
        try:
            status, payload = await hub.webhooks.trigger("github", "push", receiver.url(record.name), SECRET,
                                                         {"ref": "refs/heads/release"})
            stored = hub.webhooks.log(record.id)[0]
            again = await hub.webhooks.resend(stored, receiver.url(record.name), SECRET, "github")
            return status, payload, again
        finally:
            await receiver.close()

    status, payload, again = run(go())
    assert status == 200 and payload["ref"] == "refs/heads/release"
    assert again == 200  # re-signed with a new delivery id: not a replay
    kept = hub.webhooks.log(record.id)
    assert [d.verdict for d in kept] == ["accepted", "accepted"]
    assert hub.webhooks.revalidate(record, kept[0]) == []


def test_a_remote_host_needs_to_be_asked_for(hub):
    record = github(hub)
    with pytest.raises(PermissionError, match="allow_remote"):
        run(hub.webhooks.listen([record], host="0.0.0.0"))


def test_the_signing_secret_is_in_no_row_log_or_answer(hub, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    record = github(hub)
    answers = deliver(hub, record, [signed_push(hub, "a"), signed_push(hub, "b", secret="wrong")])
    texts = [a.text for a in answers] + [r.getMessage() for r in caplog.records]
    rows = [json.dumps(d.headers) + d.reason + json.dumps(d.errors) for d in hub.webhooks.log(record.id)]
    assert not any(SECRET in t for t in texts + rows)
    database = (tmp_path / "data" / "connhub.db").read_bytes()
    wal = tmp_path / "data" / "connhub.db-wal"
    assert SECRET.encode() not in database + (wal.read_bytes() if wal.exists() else b"")


@pytest.fixture
def pg_hub(memory_keyring, tmp_path):
    require_service("postgresql", "127.0.0.1", 5432)
    import psycopg

    name = f"connhub_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    hub = Hub(data_dir=tmp_path / "data", db_url=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
              registry=Registry.discover(plugins=False), vault=KeyringVault(backend=memory_keyring))
    try:
        yield hub
    finally:
        hub.close()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_inbox_on_postgresql(pg_hub):
    record = github(pg_hub)
    answers = deliver(pg_hub, record, [signed_push(pg_hub, "p-1"), signed_push(pg_hub, "p-1")])
    assert [a.status_code for a in answers] == [200, 409]
    kept = pg_hub.webhooks.log(record.id)
    assert [d.verdict for d in kept] == ["replayed", "accepted"]
    assert kept[1].body == signed_push(pg_hub, "p-1")[0] and kept[1].received_at.tzinfo is not None


def test_hmac_for_a_code_free_type(hub):
    record = hub.instances.create("http", "api", {"base_url": "https://api.example.com", "auth.method": "none",
                                                  "webhook_secret": SECRET})
    body = b'{"order": 7}'
    digest = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    answers = deliver(hub, record, [(body, {"X-Signature": digest, "X-Event-Type": "order.paid",
                                            "X-Delivery-Id": "o-7"}),
                                    (body, {"X-Signature": "sha256=" + "0" * 64})])
    assert [a.status_code for a in answers] == [200, 401]
    assert hub.webhooks.log(record.id)[1].event == "order.paid"
