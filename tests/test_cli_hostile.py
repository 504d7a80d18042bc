"""The command line against hostile input (issue 23): text that would drive the terminal, timeouts that never
end, a data folder others can read, files too large to read, a symbolic link where an export goes, tags.

In process through the `cli` fixture (tests/conftest.py); each test fails without the defence it names.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from connhub.core.records import InstanceRecord
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.support.services import free_port
from tests.test_cli import acme, with_types  # noqa: F401 - fixtures

ESC_NAME = "evil\x1b]0;pwned\x07\x1b[2J"
RAW = ("\x1b", "\x07", "\u202e", "\x9b")


@pytest.fixture
def cli(cli, memory_keyring):
    return cli


@pytest.fixture
def data(tmp_path) -> Path:
    return tmp_path / "data"


def plant(data_dir: Path, memory_keyring, **fields) -> InstanceRecord:
    """A record written straight to the store, as an older connhub (or another program) could have left it:
    nothing of today's name and tag rules applied."""
    hub = Hub(data_dir=data_dir, registry=Registry.discover(plugins=False), vault=KeyringVault(memory_keyring))
    try:
        return hub.store.add(InstanceRecord(**fields))
    finally:
        hub.close()


def assert_escaped(*outputs: str) -> None:
    for text in outputs:
        assert not any(ch in text for ch in RAW), repr(text)


# --- terminal_safe -----------------------------------------------------------------------------------------

def test_hostile_text_from_the_database_is_escaped_everywhere_it_is_printed(cli, data, memory_keyring, tmp_path):
    plant(data, memory_keyring, name=ESC_NAME, type="redis", workspace="default",
          config={"host": "h\x1b[31mred", "port": free_port()}, summary="redis://\x1b[8mhidden",
          tags=["t\x1b[1m"], status="failing", last_error_class="refused",
          last_message="\u202edrowssap\x1b[H the server said \x9b2J")
    plant(data, memory_keyring, name="other", type="redis", workspace="ws\x1b[2J", config={"host": "h", "port": 1})
    runs = {
        "list": cli(data, "list"),
        "show": cli(data, "show", ESC_NAME),
        "monitor": cli(data, "monitor", ESC_NAME),
        "workspaces": cli(data, "workspaces"),
        "test": cli(data, "test", ESC_NAME, "--timeout", "2"),
        "not found": cli(data, "show", ESC_NAME + "x"),
        "export": cli(data, "export", "--all"),
    }
    for what, done in runs.items():
        assert_escaped(done.stdout, done.stderr)
        assert done.returncode in (0, 1, 2), what
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J" in runs["list"].stdout
    assert "redis://\\x1b[8mhidden" in runs["list"].stdout
    assert "\\u202edrowssap\\x1b[H the server said \\x9b2J" in runs["show"].stdout
    assert "h\\x1b[31mred" in runs["show"].stdout
    assert "ws\\x1b[2J" in runs["workspaces"].stdout
    assert runs["test"].returncode == 1 and "FAIL  evil\\x1b]0;pwned" in runs["test"].stdout
    assert runs["not found"].returncode == 2
    # The export is JSON (its own escapes); importing it shows the name the import refuses, escaped.
    export = tmp_path / "export.json"
    export.write_text(runs["export"].stdout)
    refused = cli(tmp_path / "target", "import", str(export))
    assert refused.returncode == 1 and "nothing was imported" in refused.stderr
    assert_escaped(refused.stdout, refused.stderr)


def test_hostile_text_in_a_payload_and_a_type_is_escaped(with_types, data, acme, tmp_path):  # noqa: F811
    from tests.services.synthetic import VALID_ORDER

    manifest = acme / "manifest.json"
    spec = json.loads(manifest.read_text())
    spec["events"][0]["description"] = "An order\x1b[2J was \u202eplaced"
    manifest.write_text(json.dumps(spec))
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({**VALID_ORDER, "\x1b]0;title\x07": 1}))
    events = with_types(data, [acme], "events", "acme")
    invalid = with_types(data, [acme], "validate-event", "acme", "order.created", str(payload))
    for done in (events, invalid):
        assert_escaped(done.stdout, done.stderr)
    assert events.returncode == 0 and "An order\\x1b[2J was \\u202eplaced" in events.stdout
    assert invalid.returncode == 1 and "\\x1b]0;title\\x07" in invalid.stdout


# --- timeouts --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "1e9", "601"])
def test_a_timeout_out_of_range_is_a_usage_error_that_says_the_range(cli, data, value):
    tested = cli(data, "test", "--all", "--timeout", value)
    signin = cli(data, "signin", "nobody", "--timeout", value)
    setting = cli(data, "settings", "--timeout", value)
    for done in (tested, signin, setting):
        assert done.returncode == 2, done
        assert "The timeout must be between 0.1 and 600 seconds" in done.stderr
    assert tested.stderr.startswith("connhub: --timeout: ") and signin.stderr.startswith("connhub: --timeout: ")
    assert json.loads(cli(data, "settings", "--json").stdout)["default_timeout"] == 10.0


# --- the data folder ------------------------------------------------------------------------------------------

def test_a_data_folder_an_older_connhub_left_readable_is_made_private_once(cli, data):
    assert cli(data, "add", "redis", "cache", "--set", "host=h", "--no-prompt").returncode == 0
    os.chmod(data, 0o755)
    os.chmod(data / "connhub.db", 0o644)
    os.chmod(data / "connhub.log", 0o644)
    first = cli(data, "list")
    assert first.returncode == 0 and "cache" in first.stdout
    assert "could be read by other users (mode 0755): it is now 0700" in first.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("connhub.db", "connhub.log"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    again = cli(data, "list")
    assert again.returncode == 0 and again.stderr == ""


# --- bounded reading ------------------------------------------------------------------------------------------

def test_a_huge_import_or_payload_is_refused_before_it_is_read(cli, with_types, data, acme, tmp_path):  # noqa: F811
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as out:  # 1 GB that takes no disk (sparse): reading it would take the memory
        out.truncate(1 << 30)
    start = time.monotonic()
    imported = cli(data, "import", str(huge))
    validated = with_types(data, [acme], "validate-event", "acme", "ping", str(huge))
    assert time.monotonic() - start < 5
    assert imported.returncode == 1
    assert imported.stderr == (f"connhub: nothing was imported: {huge}: is 1 GB, larger than the 32 MB connhub "
                               "reads here\n")
    assert validated.returncode == 2 and "is 1 GB, larger than the 25 MB connhub reads here" in validated.stderr
    piped = with_types(data, [acme], "validate-event", "acme", "ping", "-", stdin=b"[" + b" " * (26 << 20))
    assert piped.returncode == 2
    assert piped.stderr == "connhub: standard input: is larger than the 25 MB connhub reads here\n"
    assert cli(data, "list", "--json").stdout.strip() == "[]"


def test_an_import_with_a_key_twice_is_refused_not_guessed(cli, data, tmp_path):
    twice = tmp_path / "twice.json"
    twice.write_text('{"format": "connhub-export", "version": 1, "instances": [], "instances": '
                     '[{"name": "sneaky", "type": "redis", "config": {"host": "h", "port": 6379}}]}')
    done = cli(data, "import", str(twice))
    assert done.returncode == 1 and "the key \"instances\" appears twice" in done.stderr
    assert cli(data, "list", "--json").stdout.strip() == "[]"


# --- export -o ---------------------------------------------------------------------------------------------------

def test_export_refuses_a_symbolic_link_at_its_path_and_replaces_a_file_whole(cli, data, tmp_path):
    assert cli(data, "add", "redis", "cache", "--set", "host=h", "--no-prompt").returncode == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link, dangling = tmp_path / "export.json", tmp_path / "dangling.json"
    link.symlink_to(victim)
    dangling.symlink_to(tmp_path / "nowhere")
    for target, extra in ((link, ()), (dangling, ()), (link, ("--encrypt", "--passphrase-env", "NOT_SET"))):
        done = cli(data, "export", "--all", *extra, "-o", str(target))
        assert done.returncode == 2 and "is a symbolic link" in done.stderr, done
        assert target.is_symlink() and victim.read_text() == "precious"
    assert not (tmp_path / "nowhere").exists()
    old = tmp_path / "old.json"
    old.write_text("an older export")
    os.chmod(old, 0o644)
    assert cli(data, "export", "--all", "-o", str(old)).returncode == 0
    assert json.loads(old.read_text())["instances"][0]["name"] == "cache"
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


# --- tags ----------------------------------------------------------------------------------------------------------

def test_tags_split_on_commas_and_each_is_cleaned(cli, data):
    added = cli(data, "add", "redis", "cache", "--set", "host=h", "--no-prompt", "--tag", "a, b", "--tag", "c,,",
                "--tag", "  B  ")
    assert added.returncode == 0, added.stderr
    assert json.loads(cli(data, "list", "--json").stdout)[0]["tags"] == ["a", "b", "c"]
    refused = cli(data, "add", "redis", "other", "--set", "host=h", "--no-prompt", "--tag", "ok,bad\x1b[2J")
    assert refused.returncode == 2
    assert refused.stderr.startswith("connhub: tags: Tag 2 contains an escape character")
    assert_escaped(refused.stderr)
    assert [i["name"] for i in json.loads(cli(data, "list", "--json").stdout)] == ["cache"]
