"""The example plugin tested with connhub's own helpers (connhub.testing): loaded in isolation, a real Hub."""

import json

import pytest

from connhub.testing import canary_leaks, secret_service_problem


def test_the_plugin_adds_its_type_and_its_postgres_action(connhub_plugin):
    kvstore = connhub_plugin.registry.get("kvstore")
    assert kvstore.ok, kvstore.error
    postgres = connhub_plugin.registry.get("postgres")
    assert postgres.action_source("database_size") == "plugin connhub-plugin-example"


def test_saving_and_deleting_keep_the_note_in_the_folder(connhub_plugin, tmp_path):
    hub, folder = connhub_plugin.hub, tmp_path / "store"
    folder.mkdir()
    record = hub.instances.create("kvstore", "notes", {"folder": str(folder)})
    hub.plugin_hooks.wait(10)
    assert json.loads((folder / "connhub-instance.json").read_text())["id"] == record.id
    hub.instances.delete(record.id)
    hub.plugin_hooks.wait(10)
    assert not (folder / "connhub-instance.json").exists()


def test_the_token_reaches_the_keyring_only(connhub_plugin, tmp_path):
    if problem := secret_service_problem():
        pytest.skip(problem)
    hub, folder = connhub_plugin.hub, tmp_path / "store"
    folder.mkdir()
    canary = "kv-canary-3f9c1d"
    record = hub.instances.create("kvstore", "secret", {"folder": str(folder), "token": canary})
    hub.plugin_hooks.wait(10)
    assert hub.secrets.read(record, ["token"]) == {"token": canary}
    assert canary_leaks(canary, connhub_plugin.data_dir, (folder / "connhub-instance.json").read_text()) == []
    hub.instances.delete(record.id)
