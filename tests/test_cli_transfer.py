"""`connhub export` and `connhub import`: round trips, refusals that write nothing, conflict decisions.

Most tests call the CLI's `main()` in this process (the `cli` fixture) with an in-memory keyring, so that "nothing was written"
can be checked exactly (rows and keyring items) and each command costs milliseconds, not a second of start-up.
One test runs the real `connhub` in subprocesses against the throwaway Secret Service, as a script would.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import pytest

from connhub.cli import main
from connhub.plugins.registry import Registry
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.test_cli import run_cli

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture
def fake():
    from faker import Faker

    return Faker()


@pytest.fixture
def cli(cli, memory_keyring):
    """The suite's in-process `cli` (tests/conftest.py), with an in-memory keyring."""
    return cli


@pytest.fixture
def hub_at(registry, memory_keyring):
    hubs = []

    def make(data_dir: Path) -> Hub:
        hub = Hub(data_dir=data_dir, registry=registry, vault=KeyringVault(backend=memory_keyring))
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()


@pytest.fixture
def source(tmp_path, hub_at, fake):
    """A catalog of three: a PostgreSQL with a password, an HTTP API with a token, a Redis without secrets."""
    data = tmp_path / "source"
    hub = hub_at(data)
    secrets = {"pg": fake.password(length=20), "token": fake.sha256()}
    hub.instances.create("postgres", "Orders", {"host": "db.local", "port": 5432, "database": "orders", "user": "app",
                                      "password": secrets["pg"]}, tags=["team-a"], environment="prod")
    hub.instances.create("http", "Billing API", {"base_url": "https://billing.example/v1", "auth.method": "bearer",
                                       "auth.token": secrets["token"]})
    hub.instances.create("redis", "Cache", {"host": "cache.local", "port": 6379})
    return data, secrets


def keyring_items(memory_keyring, hub: Hub) -> dict[str, str]:
    ids = {r.id for r in hub.instances.list()}
    return {user: pw for user, pw in memory_keyring.secrets_of().items() if user.split(":")[0] in ids}


def flip_a_ciphertext_byte(bundle: str) -> str:
    document = json.loads(bundle)
    ciphertext = bytearray(base64.b64decode(document["ciphertext"]))
    ciphertext[len(ciphertext) // 2] ^= 0x01
    document["ciphertext"] = base64.b64encode(bytes(ciphertext)).decode()
    return json.dumps(document, indent=2)


# --- plain export -----------------------------------------------------------------------------------------

def test_a_plain_round_trip_leaves_secrets_to_fill_in_and_says_so(cli, source, tmp_path, hub_at, memory_keyring):
    data, secrets = source
    out_file = tmp_path / "export.json"
    code, out, err = cli(data, "export", "--all", "-o", str(out_file))
    assert code == 0, err
    assert out.strip() == f"Exported 3 instances to {out_file} (plain JSON, no secrets)."
    text = out_file.read_text()
    assert all(secret not in text for secret in secrets.values())
    assert out_file.stat().st_mode & 0o077 == 0  # readable by its owner only

    target = tmp_path / "target"
    code, out, err = cli(target, "import", str(out_file))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{out_file}: 3 instances"
    by_name = {line.split()[0]: line for line in lines[1:4]}
    assert "new" in by_name["Orders"] and "create" in by_name["Orders"]
    assert by_name["Orders"].endswith("(needs a password before it can be tested)")
    assert by_name["Billing"].endswith("(needs a token before it can be tested)")
    assert "needs" not in by_name["Cache"]
    assert lines[-1] == "Imported: 3 created, 0 overwritten, 0 skipped."

    hub = hub_at(target)
    orders = hub.instances.find("Orders")
    assert (orders.config["host"], orders.tags, orders.environment) == ("db.local", ["team-a"], "prod")
    assert orders.secret_fields == [] and keyring_items(memory_keyring, hub) == {}
    assert all(secret not in out + err for secret in secrets.values())


def test_export_of_named_instances_goes_to_standard_output(cli, source):
    data, secrets = source
    code, out, err = cli(data, "export", "Orders", "Cache")
    assert code == 0, err
    document = json.loads(out)
    assert [i["name"] for i in document["instances"]] == ["Orders", "Cache"]
    assert document["instances"][0]["secrets"] == {"password": "<secret not exported>"}
    assert err.strip() == "Exported 2 instances (plain JSON, no secrets)."
    code, out, err = cli(data, "export", "Nope")
    assert (code, out) == (2, "") and "No instance named 'Nope'" in err


# --- encrypted bundles ----------------------------------------------------------------------------------------

def test_an_encrypted_round_trip_restores_the_secrets(cli, source, tmp_path, hub_at, memory_keyring):
    data, secrets = source
    bundle = tmp_path / "bundle.json"
    code, out, err = cli(data, "export", "--all", "--encrypt", "--passphrase-env", "EXPORT_PASS", "-o", str(bundle),
                         env={"EXPORT_PASS": PASSPHRASE})
    assert code == 0, err
    assert "encrypted bundle, secrets included" in out
    text = bundle.read_text()
    assert json.loads(text)["format"] == "connhub-bundle"
    assert all(secret not in text and base64.b64encode(secret.encode()).decode() not in text
               for secret in secrets.values())

    target = tmp_path / "target"
    code, out, err = cli(target, "import", str(bundle), "--passphrase-stdin", "--json", stdin=PASSPHRASE + "\n")
    assert code == 0, err
    result = json.loads(out)
    assert result["encrypted"] is True and sorted(result["created"]) == ["Billing API", "Cache", "Orders"]
    assert all(row["missing_secrets"] == [] and row["note"] is None for row in result["instances"])
    hub = hub_at(target)
    assert hub.secrets.known(hub.instances.find("Orders")) == {"password": secrets["pg"]}
    assert hub.secrets.known(hub.instances.find("Billing API")) == {"auth.token": secrets["token"]}
    assert all(secret not in out + err for secret in secrets.values())


def test_wrong_passphrase_tampered_or_malformed_files_are_refused_and_nothing_written(
        cli, source, tmp_path, hub_at, memory_keyring):
    data, _ = source
    bundle = tmp_path / "bundle.json"
    assert cli(data, "export", "--all", "--encrypt", "--passphrase-stdin", "-o", str(bundle),
               stdin=PASSPHRASE + "\n")[0] == 0
    target = tmp_path / "target"
    hub = hub_at(target)
    hub.instances.create("redis", "Existing", {"host": "h", "port": 6379, "password": "kept-secret"})
    items_before = keyring_items(memory_keyring, hub)
    tampered = tmp_path / "tampered.json"
    tampered.write_text(flip_a_ciphertext_byte(bundle.read_text()))
    truncated = tmp_path / "truncated.json"
    truncated.write_text(bundle.read_text()[:-40])
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    bad_entry = tmp_path / "bad-entry.json"
    bad_entry.write_text(json.dumps({"format": "connhub-export", "version": 1, "instances": [
        {"name": "fine", "type": "redis", "config": {"host": "h", "port": 6379}},
        {"name": "broken", "type": "redis", "config": {"host": "h", "port": 70000}}]}))

    cases = [
        ((str(bundle), "--passphrase-stdin"), "wrong horse battery\n",
         "connhub: wrong passphrase, or the bundle was changed after it was exported: nothing was imported"),
        ((str(tampered), "--passphrase-stdin"), PASSPHRASE + "\n",
         "connhub: wrong passphrase, or the bundle was changed after it was exported: nothing was imported"),
        ((str(truncated), "--passphrase-stdin"), PASSPHRASE + "\n", f"connhub: nothing was imported: {truncated}: is not valid JSON"),
        ((str(binary),), "", f"connhub: nothing was imported: {binary}: is not UTF-8 text"),
        ((str(bad_entry),), "", "connhub: nothing was imported:"),
    ]
    for args, stdin, message in cases:
        code, out, err = cli(target, "import", *args, stdin=stdin)
        assert code == 1, (args, err)
        assert out == "" and err.startswith(message), (args, err)
        assert [r.name for r in hub.instances.list()] == ["Existing"]
        assert keyring_items(memory_keyring, hub) == items_before
    assert "instance 2 ('broken'): port: Must be at most 65535" in err


def test_passphrase_usage_errors(cli, source, tmp_path, monkeypatch):
    data, _ = source
    bundle = tmp_path / "bundle.json"
    assert cli(data, "export", "--all", "--encrypt", "--passphrase-stdin", "-o", str(bundle),
               stdin=PASSPHRASE + "\n")[0] == 0
    no_passphrase = cli(data, "export", "--all", "--encrypt", "-o", str(tmp_path / "x.json"))
    assert no_passphrase[0] == 2 and "--passphrase-env VAR or --passphrase-stdin" in no_passphrase[2]
    empty = cli(data, "export", "--all", "--encrypt", "--passphrase-stdin", "-o", str(tmp_path / "x.json"),
                stdin="\n")
    assert empty[0] == 2 and "the passphrase is empty" in empty[2]
    short = cli(data, "export", "--all", "--encrypt", "--passphrase-stdin", "-o", str(tmp_path / "x.json"),
                stdin="short\n")
    assert short[0] == 2 and "at least 8 characters" in short[2]
    unset = cli(data, "export", "--all", "--encrypt", "--passphrase-env", "CONNHUB_TEST_UNSET", "-o", "x.json")
    assert unset[0] == 2 and "'CONNHUB_TEST_UNSET' is not set" in unset[2]
    neither = cli(data, "export")
    assert neither[0] == 2 and "or pass --all" in neither[2]
    assert not (tmp_path / "x.json").exists()
    no_bundle_passphrase = cli(tmp_path / "target", "import", str(bundle))
    assert no_bundle_passphrase[0] == 2 and "is an encrypted bundle: give the passphrase" in no_bundle_passphrase[2]
    missing = cli(tmp_path / "target", "import", str(tmp_path / "nope.json"))
    assert missing[0] == 2 and "cannot read" in missing[2] and "No such file" in missing[2]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    code = main(["--data-dir", str(data), "export", "--all", "--encrypt", "--passphrase-env", "HOME"])
    assert code == 2 and sys.stdout.getvalue() == ""  # no bundle written to a terminal


# --- conflicts and --dry-run ---------------------------------------------------------------------------------

@pytest.fixture
def clashing(cli, source, tmp_path, hub_at):
    """An export of the source, and a target that already has an `Orders` PostgreSQL (same name and type, its
    own password) and a `Billing API` that is a Redis (same name, another type)."""
    data, secrets = source
    export = tmp_path / "export.json"
    assert cli(data, "export", "--all", "-o", str(export))[0] == 0
    hub = hub_at(tmp_path / "target")
    hub.instances.create("postgres", "Orders", {"host": "old.local", "port": 5432, "database": "orders", "user": "app",
                                      "password": "old-password"})
    hub.instances.create("redis", "Billing API", {"host": "h", "port": 6379})
    return export, hub


def names_and_hosts(hub: Hub) -> list[tuple[str, str]]:
    return [(r.name, r.config.get("host") or r.config.get("base_url")) for r in hub.instances.list()]


def test_dry_run_previews_and_writes_nothing(cli, clashing, memory_keyring):
    export, hub = clashing
    before, items = names_and_hosts(hub), keyring_items(memory_keyring, hub)
    code, out, err = cli(hub.data_dir, "import", str(export), "--on-conflict", "overwrite", "--dry-run")
    assert code == 0, err
    rows = {line.split()[0]: line for line in out.splitlines()[1:4]}
    assert "same name+type exists" in rows["Orders"] and "overwrite" in rows["Orders"]
    assert "needs" not in rows["Orders"]  # the saved password stays
    assert "new" in rows["Billing"] and "create → Billing API (imported)" in rows["Billing"]
    assert out.splitlines()[-1] == "Dry run: nothing was written."
    assert names_and_hosts(hub) == before and keyring_items(memory_keyring, hub) == items
    code, out, err = cli(hub.data_dir, "import", "-", "--dry-run", "--json", stdin=export.read_text())
    assert code == 0, err
    result = json.loads(out)
    assert result["dry_run"] is True and result["created"] == result["skipped"] == []
    assert {r["name"]: r["decision"] for r in result["instances"]} == {
        "Orders": "skip", "Billing API": "create", "Cache": "create"}
    assert names_and_hosts(hub) == before and keyring_items(memory_keyring, hub) == items


@pytest.mark.parametrize(("choice", "orders", "created"), [
    ("skip", [("Orders", "old.local")], ["Billing API (imported)", "Cache"]),
    ("overwrite", [("Orders", "db.local")], ["Billing API (imported)", "Cache"]),
    ("keep-both", [("Orders", "old.local"), ("Orders (imported)", "db.local")],
     ["Billing API (imported)", "Cache", "Orders (imported)"]),
])
def test_on_conflict_decides_what_happens_to_a_match(cli, clashing, memory_keyring, choice, orders, created):
    export, hub = clashing
    code, out, err = cli(hub.data_dir, "import", str(export), "--on-conflict", choice, "--json")
    assert code == 0, err
    result = json.loads(out)
    rows = {row["name"]: row for row in result["instances"]}
    assert rows["Orders"]["match"] == "exists" and rows["Billing API"]["match"] == "new"
    assert rows["Orders"]["decision"] == {"keep-both": "keep_both"}.get(choice, choice)
    assert sorted(result["created"]) == created
    assert [n for n in names_and_hosts(hub) if n[0].startswith("Orders")] == orders
    old = hub.instances.find("Orders")
    assert hub.secrets.known(old) == {"password": "old-password"}  # an overwrite without secrets keeps the saved one
    if choice == "keep-both":
        copy = hub.instances.find("Orders (imported)")
        assert copy.secret_fields == [] and rows["Orders"]["note"] == "needs a password before it can be tested"
    assert "old-password" not in out + err


# --- the real command, the real Secret Service ---------------------------------------------------------------

def test_the_installed_command_round_trips_a_bundle_through_the_secret_service(tmp_path, registry,
                                                                               secret_service_keyring, fake):
    """Exported from one data dir and imported into another by `python -m connhub`, secrets in the real keyring."""
    token = fake.sha256()
    vault = KeyringVault(backend=secret_service_keyring)
    source = Hub(data_dir=tmp_path / "source", registry=registry, vault=vault)
    target = Hub(data_dir=tmp_path / "target", registry=registry, vault=vault)
    bundle = tmp_path / "bundle.json"
    ids = [source.instances.create("http", "api", {"base_url": "https://api.example.com", "auth.method": "bearer",
                                         "auth.token": token}).id]
    try:
        exported = run_cli(source.data_dir, "export", "api", "--encrypt", "--passphrase-env", "PASS",
                           "-o", str(bundle), env={"PASS": PASSPHRASE})
        assert exported.returncode == 0, exported.stderr
        wrong = run_cli(target.data_dir, "import", str(bundle), "--passphrase-stdin", stdin="not the passphrase\n")
        assert wrong.returncode == 1 and "wrong passphrase" in wrong.stderr
        assert target.instances.list() == []
        imported = run_cli(target.data_dir, "import", str(bundle), "--passphrase-stdin", stdin=PASSPHRASE + "\n")
        assert imported.returncode == 0, imported.stderr
        [item] = target.instances.list()
        ids.append(item.id)
        assert item.id != ids[0] and item.secret_fields == ["auth.token"]
        assert secret_service_keyring.get_password("connhub", f"{item.id}:auth.token") == token
        for done in (exported, wrong, imported):
            assert token not in done.stdout + done.stderr
    finally:
        for instance_id in ids:
            vault.delete(instance_id, ["auth.token"])
        source.close()
        target.close()


def test_on_a_terminal_the_passphrase_is_asked_twice_hidden(tmp_path, registry, memory_keyring):
    """A bundle exported from a terminal: two hidden prompts; a mismatch writes nothing."""
    pty = pytest.importorskip("pty")
    import fcntl
    import os
    import select
    import subprocess
    import termios
    import time

    from tests.test_cli import _env

    data = tmp_path / "data"
    hub = Hub(data_dir=data, registry=registry, vault=KeyringVault(backend=memory_keyring))
    hub.instances.create("redis", "Cache", {"host": "cache.local", "port": 6379})  # no secret: the keyring is not needed
    hub.close()

    def export(answers: list[str], out: Path) -> tuple[int, str]:
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "connhub", "export", "--all", "--encrypt", "-o", str(out)],
            stdin=slave, stdout=slave, stderr=slave, env=_env(data), start_new_session=True, close_fds=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        output = b""
        deadline = time.monotonic() + 30
        try:
            for prompt, answer in zip((b"Passphrase: ", b"Passphrase again: "), answers, strict=False):
                while prompt not in output and time.monotonic() < deadline:
                    if select.select([master], [], [], 0.2)[0]:
                        try:
                            output += os.read(master, 4096)
                        except OSError:
                            break
                os.write(master, answer.encode() + b"\n")
            while proc.poll() is None and time.monotonic() < deadline:
                if select.select([master], [], [], 0.2)[0]:
                    try:
                        output += os.read(master, 4096)
                    except OSError:
                        break
            return proc.wait(timeout=10), output.decode(errors="replace")
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(master)

    mismatch = tmp_path / "mismatch.json"
    code, text = export([PASSPHRASE, PASSPHRASE + "x"], mismatch)
    assert code == 2 and "the two passphrases differ: nothing was written" in text, text
    assert not mismatch.exists() and PASSPHRASE not in text
    bundle = tmp_path / "bundle.json"
    code, text = export([PASSPHRASE, PASSPHRASE], bundle)
    assert code == 0 and "Passphrase again: " in text and "encrypted bundle" in text, text
    assert PASSPHRASE not in text
    assert json.loads(bundle.read_text())["format"] == "connhub-bundle"
