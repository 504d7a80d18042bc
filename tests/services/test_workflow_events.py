"""Events start workflows (issues 18 and 19): a workflow declaring `on: {instance, event}` runs when that
instance's receiver accepts that event, and reads the payload as `${event.<path>}` — here a real signed GitHub
push sets a key in the real Redis; a forged one starts nothing."""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import httpx
import pytest
import redis

from connhub.core.webhooks import Scheme, sign
from connhub.core.workflow import WorkflowError, parse_text
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.support.services import require_service

SECRET = "Canary-wf-whsec-" + secrets.token_hex(4)


@pytest.fixture
def hub(tmp_path, memory_keyring):
    hub = Hub(data_dir=tmp_path / "data", registry=Registry.discover(plugins=False),
              vault=KeyringVault(backend=memory_keyring))
    yield hub
    hub.close()


def test_an_accepted_push_runs_the_workflow_with_its_payload(hub):
    require_service("Redis", "127.0.0.1", 6379)
    key = f"connhub:pushed:{secrets.token_hex(4)}"
    gh = hub.instances.create("github", "gh", {"base_url": "https://api.github.com", "token": "ghp_" + "q" * 20,
                                               "webhook_secret": SECRET})
    hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379})
    hub.workflows.save(f"""
name: on-push
on: {{instance: gh, event: push}}
steps:
  - id: mark
    instance: cache
    action: set
    params: {{key: "{key}", value: "${{event.ref}}"}}
""")
    started = []

    async def go():
        receiver = await hub.webhooks.listen(
            [gh], on_delivery=lambda record, delivery: started.append(asyncio.get_running_loop().create_task(
                hub.workflows.on_event(record.name, delivery.event, json.loads(delivery.body) if delivery.body
                                       else None))) if delivery.verdict == "accepted" else None)
        try:
            body = json.dumps(hub.webhooks.sample("github", "push", {"ref": "refs/heads/release-7"})).encode()
            async with httpx.AsyncClient() as client:
                good = await client.post(receiver.url("gh"), content=body,
                                         headers=sign(Scheme("github"), SECRET, body, time.time(), "push", "p1"))
                forged = await client.post(receiver.url("gh"), content=body,
                                           headers=sign(Scheme("github"), "wrong", body, time.time(), "push", "p2"))
            return good.status_code, forged.status_code, [run for task in started for run in await task]
        finally:
            await receiver.close()

    good, forged, runs = asyncio.run(go())
    assert (good, forged) == (200, 401)
    assert [(r.workflow_name, r.status, r.trigger) for r in runs] == [("on-push", "ok", "webhook")]
    client = redis.Redis(host="127.0.0.1", port=6379)
    try:
        assert client.get(key) == b"refs/heads/release-7"
    finally:
        client.delete(key)
        client.close()


def test_event_references_need_an_on_and_on_needs_both_fields(hub):
    hub.instances.create("redis", "cache", {"host": "127.0.0.1", "port": 6379})
    without_on = parse_text("name: x\nsteps:\n  - {id: a, instance: cache, action: get, params: {key: '${event.ref}'}}\n")
    assert "declares none" in hub.workflows.validate(without_on)["steps[0].params.key"]
    with pytest.raises(WorkflowError) as caught:
        parse_text("name: x\non: {instance: cache}\nsteps:\n  - {id: a, instance: cache, action: get, params: {key: k}}\n")
    assert "on" in caught.value.errors
    missing = parse_text("name: x\non: {instance: nope, event: push}\n"
                         "steps:\n  - {id: a, instance: cache, action: get, params: {key: k}}\n")
    assert hub.workflows.validate(missing) == {"on.instance": "there is no saved instance named 'nope'"}
