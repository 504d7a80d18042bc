"""The Actions service on a synthetic coded type: what every action of every type gets from the one runner.

Params are checked before anything is sent; a hang ends classified at the timeout; a cancel lands at once and
logs nothing; the result is checked against its schema and scrubbed of secrets; the execution log keeps
masked params and a capped preview, pruned to the retention setting, and opens newest first.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from connhub.core.actions import InvalidParams
from connhub.core.errors import AuthError
from connhub.core.integration import Integration
from connhub.core.records import UnknownAction
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.services.synthetic import make_acme


class Busy(Integration):
    """Coded actions that do what a real driver may: answer, hang, refuse, echo what they were given."""

    calls: list[tuple[str, dict[str, Any]]] = []

    async def test_connection(self, config, secrets, ctx):
        raise NotImplementedError

    async def echo(self, params, config, secrets, ctx):
        type(self).calls.append(("echo", dict(params)))
        ctx.progress("echoing")
        ctx.log.info("echo for %s with token %s", config.get("host"), secrets.get("token"))
        return {"said": params["text"], "times": params["times"], "token_seen": bool(secrets.get("token"))}

    async def hang(self, params, config, secrets, ctx):
        type(self).calls.append(("hang", dict(params)))
        await asyncio.sleep(3600)

    async def refuse(self, params, config, secrets, ctx):
        raise AuthError(f"the server refused token {secrets.get('token')}")

    async def leak(self, params, config, secrets, ctx):
        return {"said": f"the token is {secrets['token']}", "times": 1, "token_seen": True}

    async def wrong_shape(self, params, config, secrets, ctx):
        return {"said": 42}

    async def big(self, params, config, secrets, ctx):
        return {"said": "x" * 200_000, "times": 1, "token_seen": False}


RESULT = {"type": "object", "required": ["said"], "properties": {
    "said": {"type": "string"}, "times": {"type": "integer"}, "token_seen": {"type": "boolean"}}}
PARAMS = {"type": "object", "required": ["text"], "properties": {
    "text": {"type": "string", "title": "Text", "minLength": 1},
    "times": {"type": "integer", "title": "Times", "minimum": 1, "maximum": 5, "default": 1},
    "password": {"type": "string", "title": "Password", "writeOnly": True}}}


def _action(name: str, effect: str = "read", **extra: Any) -> dict[str, Any]:
    return {"name": name, "title": name.replace("_", " ").title(), "description": f"The {name} action.",
            "effect": effect, "params": PARAMS, "result": RESULT, **extra}


@pytest.fixture
def hub(tmp_path, memory_keyring):
    folder = make_acme(tmp_path / "types", "busy", {
        "entrypoint": "tests.services.test_actions:Busy",
        "actions": [_action("echo"), _action("hang"), _action("refuse"), _action("leak"), _action("wrong_shape"),
                    _action("big"), _action("wipe", "destructive", method="echo"),
                    {"name": "Broken-Name", "title": "x", "description": "x", "effect": "read", "result": {}}]})
    hub = Hub(data_dir=tmp_path / "data", registry=Registry.from_folders([folder]),
              vault=KeyringVault(backend=memory_keyring))
    Busy.calls.clear()
    yield hub
    hub.close()


@pytest.fixture
def record(hub):
    return hub.instances.create("busy", "shop", {"host": "api.busy.test", "token": "tok-CANARY-7f3a"})


def run(hub, record, name, params, **options):
    return asyncio.run(hub.actions.run(record, name, params, **options))


def test_a_type_lists_its_working_actions_and_says_why_a_broken_one_is_off(hub):
    assert [a.name for a in hub.actions.of_type("busy")] == ["echo", "hang", "refuse", "leak", "wrong_shape",
                                                             "big", "wipe"]
    problems = hub.actions.problems("busy")
    assert list(problems) == ["Broken-Name"] and "lowercase" in problems["Broken-Name"]
    assert hub.registry.get("busy").ok  # a broken action keeps the type's connection features


def test_an_ok_run_returns_its_result_and_is_logged(hub, record):
    done = run(hub, record, "echo", {"text": "hello", "times": 2}, trigger="cli")
    assert done.ok and done.result == {"said": "hello", "times": 2, "token_seen": True}
    assert done.id is not None and done.duration_ms >= 0
    [logged] = hub.actions.history(record.id)
    assert (logged.action, logged.ok, logged.trigger, logged.id) == ("echo", True, "cli", done.id)
    assert json.loads(logged.preview) == done.result and logged.result_size == len(logged.preview.encode())
    assert logged.result is None  # the log keeps the preview, never the value itself


def test_bad_params_are_per_field_errors_and_nothing_is_sent_or_logged(hub, record):
    with pytest.raises(InvalidParams) as caught:
        run(hub, record, "echo", {"text": "", "times": 9, "nope": 1})
    assert set(caught.value.errors) == {"text", "times", "nope"}
    assert "5" in caught.value.errors["times"]
    assert Busy.calls == [] and hub.actions.history(record.id) == []


def test_an_unknown_or_broken_action_names_the_known_ones(hub, record):
    with pytest.raises(UnknownAction) as caught:
        run(hub, record, "nope", {})
    assert "echo, hang" in str(caught.value)
    with pytest.raises(UnknownAction, match="is off"):
        run(hub, record, "Broken-Name", {})


def test_a_hang_ends_classified_at_the_timeout(hub, record):
    start = time.monotonic()
    done = run(hub, record, "hang", {"text": "x"}, timeout=0.5)
    assert time.monotonic() - start < 5
    assert not done.ok and done.error_class == "timeout" and "0.5 s" in done.message
    assert hub.actions.history(record.id)[0].error_class == "timeout"


def test_a_cancel_lands_at_once_and_logs_nothing(hub, record):
    async def cancel_soon():
        task = asyncio.ensure_future(hub.actions.run(record, "hang", {"text": "x"}, timeout=60))
        while not Busy.calls:
            await asyncio.sleep(0.01)
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    assert asyncio.run(cancel_soon()) < 0.1
    assert hub.actions.history(record.id) == []


def test_a_failure_is_classified_and_scrubbed_of_secrets(hub, record, caplog):
    done = run(hub, record, "refuse", {"text": "x"})
    assert not done.ok and done.error_class == "auth"
    assert "tok-CANARY-7f3a" not in done.message and "********" in done.message


def test_secrets_never_reach_the_result_the_log_or_the_params_log(hub, record, caplog):
    with caplog.at_level("INFO"):
        leaked = run(hub, record, "leak", {"text": "x", "password": "param-CANARY-91"})
        echoed = run(hub, record, "echo", {"text": "x"})
    assert leaked.ok and "tok-CANARY-7f3a" not in json.dumps(leaked.result)
    assert echoed.ok
    for logged in hub.actions.history(record.id):
        text = json.dumps([logged.params, logged.preview, logged.message])
        assert "tok-CANARY-7f3a" not in text and "param-CANARY-91" not in text
    assert hub.actions.history(record.id, action="leak")[0].params["password"] == "********"
    assert "tok-CANARY-7f3a" not in caplog.text and "api.busy.test" in caplog.text  # the action's own log line


def test_a_result_that_breaks_its_schema_is_a_failed_run(hub, record):
    done = run(hub, record, "wrong_shape", {"text": "x"})
    assert not done.ok and done.error_class == "unknown" and "said" in done.message


def test_the_preview_is_capped_and_says_so(hub, record):
    hub.settings.set_action_log(preview_bytes=4096)
    done = run(hub, record, "big", {"text": "x"})
    assert done.ok and len(done.result["said"]) == 200_000  # whoever ran it gets all of it
    logged = hub.actions.history(record.id)[0]
    assert logged.truncated and len(logged.preview.encode()) <= 4096 and logged.result_size > 200_000


def test_retention_keeps_the_newest_runs_per_instance(hub, record):
    other = hub.instances.create("busy", "other", {"host": "api.busy.test", "token": "t"})
    hub.settings.set_action_log(runs_kept=3)
    for n in range(5):
        run(hub, record, "echo", {"text": f"run {n}"})
    run(hub, other, "echo", {"text": "elsewhere"})
    assert [json.loads(r.preview)["said"] for r in hub.actions.history(record.id)] == ["run 4", "run 3", "run 2"]
    assert len(hub.actions.history(other.id)) == 1


def test_an_ask_every_time_instance_without_its_secret_fails_as_config(hub):
    record = hub.instances.create("busy", "asked", {"host": "api.busy.test", "token": "t"}, secret_mode="session")
    fresh = Hub(data_dir=hub.data_dir, registry=hub.registry, vault=hub.vault)  # a new session knows nothing
    try:
        done = asyncio.run(fresh.actions.run(fresh.instances.find("asked"), "echo", {"text": "x"}))
        assert not done.ok and done.error_class == "config" and "asks for its secrets" in done.message
        assert Busy.calls == []
    finally:
        fresh.close()
    assert record.secret_mode == "session"
