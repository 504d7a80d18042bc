"""A plugin manifest's event schema path is confined to the plugin's folder, as its icon is: an absolute path,
a '..' or a link in events/ pointing elsewhere disables the type with a fix-it message, and no file outside the
folder is ever read (a canary in such a file never shows up in a message)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from connhub.core.manifest import EventSpec
from connhub.plugins.registry import Registry
from connhub.services.events import EventSchemaError, validate_payload
from tests.services.synthetic import MANIFEST, make_acme

CANARY = "CANARY-outside-the-plugin-4f1c"


@pytest.fixture
def outside(tmp_path):
    """A JSON Schema outside any plugin folder; validating against it would quote the canary."""
    path = tmp_path / "elsewhere" / "secret.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"const": CANARY}))
    return path


def _acme_with_schema(tmp_path, schema: str):
    events = [{"type": "ping", "description": "A ping.", "schema": schema}]
    return Registry.from_folders([make_acme(tmp_path / "plugins", manifest={"events": events})]).get("acme")


def _fix_it(schema: str) -> str:
    return (f"event schema {schema!r} must be a file inside the plugin's folder, named relative to manifest.json "
            "with '/' between folders and no '..' (e.g. 'events/push.json')")


@pytest.mark.parametrize("schema", ["/etc/passwd", "../../x.json", "events/../../x.json", "../secret.json",
                                    "events/..", "C:\\Windows\\win.ini", "events\\..\\..\\x.json", "",
                                    "events/ping.json\x00", "."])
def test_a_schema_path_leaving_the_folder_disables_the_type_with_a_fix_it_message(tmp_path, schema):
    entry = _acme_with_schema(tmp_path, schema)
    assert not entry.ok and entry.manifest is None
    assert entry.error == _fix_it(schema)


def test_an_absolute_path_to_a_real_schema_is_not_read(tmp_path, outside):
    entry = _acme_with_schema(tmp_path, str(outside))
    assert entry.error == _fix_it(str(outside))
    assert CANARY not in entry.error


def test_a_climbing_path_to_a_real_schema_is_not_read(tmp_path, outside):
    # plugins/acme/../../elsewhere/secret.json is the outside file
    entry = _acme_with_schema(tmp_path, "../../elsewhere/secret.json")
    assert entry.manifest is None and CANARY not in entry.error


def test_a_link_in_events_to_a_file_elsewhere_is_refused_and_never_read(tmp_path, outside):
    folder = make_acme(tmp_path / "plugins")
    link = folder / "events" / "ping.json"
    link.unlink()
    link.symlink_to(outside)
    entry = Registry.from_folders([folder]).get("acme")
    assert not entry.ok
    assert ("event 'ping' names schema 'events/ping.json', which leads outside the plugin's folder: put the schema "
            "file itself in the folder (e.g. in events/), not a link to a file elsewhere") in entry.error
    # The type still has its manifest (only the link is wrong): validating must refuse too, not read the file.
    assert entry.manifest is not None
    with pytest.raises(EventSchemaError) as caught:
        validate_payload(entry, "ping", {"zen": "x"})
    assert "leads outside the plugin's folder" in str(caught.value)
    assert CANARY not in str(caught.value)


def test_a_linked_events_folder_is_refused_too(tmp_path, outside):
    folder = make_acme(tmp_path / "plugins", manifest={"events": [
        {"type": "ping", "description": "A ping.", "schema": "events/secret.json"}]})
    for item in (folder / "events").iterdir():
        item.unlink()
    (folder / "events").rmdir()
    (folder / "events").symlink_to(outside.parent, target_is_directory=True)
    entry = Registry.from_folders([folder]).get("acme")
    assert "leads outside the plugin's folder" in entry.error
    with pytest.raises(EventSchemaError, match="leads outside the plugin's folder"):
        validate_payload(entry, "ping", {})


def test_a_spec_made_without_validation_is_still_confined_when_validating(tmp_path, outside):
    """services/events refuses on its own, whatever built the EventSpec."""
    entry = Registry.from_folders([make_acme(tmp_path / "plugins")]).get("acme")
    entry.manifest.events[1] = EventSpec.model_construct(type="ping", description="A ping.", schema_path=str(outside))
    with pytest.raises(EventSchemaError) as caught:
        validate_payload(entry, "ping", {})
    assert CANARY not in str(caught.value)


def test_paths_inside_the_folder_still_work(tmp_path):
    folder = make_acme(tmp_path / "plugins", manifest={"events": [
        {"type": "ping", "description": "A ping.", "schema": "./events/ping.json"},
        {"type": "deep", "description": "Nested.", "schema": "events/more/deep.json"},
        {"type": "dotted", "description": "Dots in a name.", "schema": "events/v1..2.json"}]})
    (folder / "events" / "more").mkdir()
    (folder / "events" / "more" / "deep.json").write_text('{"type": "object"}')
    (folder / "events" / "v1..2.json").write_text('{"type": "object"}')
    entry = Registry.from_folders([folder]).get("acme")
    assert entry.ok, entry.error
    assert validate_payload(entry, "deep", {}) == []
    assert validate_payload(entry, "dotted", {}) == []
    assert [e.path for e in validate_payload(entry, "ping", {})] == ["$.zen"]


def test_validate_event_on_the_command_line_refuses_and_leaks_nothing(tmp_path, outside):
    folder = make_acme(tmp_path / "plugins")
    link = folder / "events" / "ping.json"
    link.unlink()
    link.symlink_to(outside)
    payload = tmp_path / "payload.json"
    payload.write_text("{}")
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from tests.services.synthetic import cli_main; sys.exit(cli_main())",
         str(folder), "--", "validate-event", "acme", "ping", str(payload)],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode != 0
    assert "leads outside the plugin's folder" in done.stderr
    assert CANARY not in done.stdout + done.stderr


def test_the_builtin_manifests_keep_their_schemas_inside():
    registry = Registry.discover(plugins=False)
    assert all(entry.ok for entry in registry.entries() if entry.manifest and entry.manifest.events)
    assert MANIFEST["events"]  # the synthetic type above has events to confine
