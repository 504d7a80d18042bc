"""Canary secrets for every built-in type and every secret field, planted through the instance dialog (typed
into the generated form) and the command line, then tested against servers that answer by echoing what they
were sent: the secrets must be in the keyring and nowhere else — not in the database (-wal, -shm), connhub.log,
test results, exports (plain and encrypted), CLI output (text and --json), window titles or the status bar.

It extends tests/test_canary.py (a few types through the Hub and the CLI) and reuses its helpers.
"""

from __future__ import annotations

import json
import uuid
from base64 import b64encode
from contextlib import ExitStack
from pathlib import Path

import pytest
from faker import Faker

from connhub.services import transfer
from connhub.services.types import instance_specs
from connhub.storage.vault import KeyringVault
from tests.support.servers import http_server
from tests.support.services import free_port
from tests.support.type_cases import S, builtin_types, canary_cases, registry
from tests.test_canary import app_log, data_files, leaks, run_cli

REGISTRY = registry()

#: (type, values, secret field) — one case per secret field of every built-in type, derived from its manifest
#: (tests/support/type_cases.py). "{echo}" is a local HTTP server that answers 401 with everything it was sent;
#: "{closed}" a port nobody listens on; S stands for the canary.
CASES = canary_cases()


def test_every_builtin_type_and_secret_field_is_covered():
    """Every secret field of every built-in type has a case (the derivation must not skip one). OAuth tokens are
    not typed but made by a sign-in: tests/services/test_oauth.py plants and searches those."""
    wanted = {(e.type, s.key) for e in REGISTRY.entries() if e.manifest is not None and e.type != "sqlite"
              for s in _all(instance_specs(e)) if s.secret and s.show_if != {"auth_method": "oauth2"}}
    assert {(t, f) for t, _, f in CASES} == wanted
    assert sorted({e.type for e in REGISTRY.entries()}) == builtin_types()  # sqlite included: no secret field


def _all(specs):
    from connhub.core.fields import all_specs

    return all_specs(specs)


def canaries(fake: Faker, n: int) -> list[str]:
    """Unique secrets: mostly faker passwords with special characters (URL-quoting and JSON escaping change
    them), one plain base64-able token, one with a space and a quote."""
    made = [fake.password(length=28, special_chars=True) + "%+/" for _ in range(n - 2)]
    made += [b64encode(uuid.uuid4().bytes).decode().rstrip("="), f'canary "{fake.word()}" {uuid.uuid4().hex}']
    return made


def echo(request):
    """Answer 401 with every header, the path, the query and the body it received: a hostile server whose
    answer, if connhub quoted it, would carry the secret into a message."""
    sent = {"path": request.path, "query": request.query, "headers": dict(request.headers.items()),
            "body": request.body.decode("latin-1")}
    return 401, {"Server": f"echo {request.headers.get('Authorization', '')}",
                 "WWW-Authenticate": f"Basic realm=\"{request.headers.get('Authorization', '')}\""}, sent


def fill(case_values: dict, secret: str, urls: dict) -> dict:
    """The case's values with the canary and the servers' addresses put in."""
    values = {}
    for key, value in case_values.items():
        if value == "{closed}":
            value = urls["closed"]
        elif isinstance(value, str):
            value = value.replace(S, secret).format(**urls) if S not in value else value.replace(S, secret)
        values[key] = value
    return values


@pytest.fixture
def planted(tmp_path):
    """Servers and files the cases point at."""
    key = tmp_path / "id_canary"
    key.write_text("not a real key\n")
    with ExitStack() as stack:
        server = stack.enter_context(http_server(echo))
        yield {"echo": server.url.rstrip("/"), "closed": free_port(), "key": str(key)}, server


def test_canaries_typed_into_the_dialog_stay_in_the_keyring(qtbot, qloop, make_window, planted, tmp_path,
                                                            secret_service_keyring, faker):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from connhub.gui.editor.instance_dialog import InstanceDialog
    from tests.gui.helpers import settle

    urls, server = planted
    secrets = canaries(faker, len(CASES))
    data_dir = tmp_path / "data"
    texts: dict[str, str] = {}
    window = make_window(data_dir=data_dir, backend=secret_service_keyring)
    hub = window.hub
    ids: list[tuple[str, str]] = []
    try:
        with app_log(data_dir):
            for n, ((type_name, case_values, field), secret) in enumerate(zip(CASES, secrets, strict=True)):
                values = fill(case_values, secret, urls)
                task = qloop.create_task(window.create_flow(type_name))
                qtbot.waitUntil(lambda: isinstance(window.active_dialog, InstanceDialog)
                                and window.active_dialog.isVisible())
                dialog = window.active_dialog
                qtbot.keyClicks(dialog.name_edit, f"{type_name} {n}")
                dialog.form.set_values({k: v for k, v in values.items() if k != field})
                editor = dialog.form.field_widget(field)
                editor.setFocus()
                qtbot.keyClicks(editor, values[field])  # typed, as a person would
                assert dialog.form.values()[field] == values[field], (type_name, field)

                dialog.start_test()  # on the unsaved values: the server echoes them back
                qtbot.waitUntil(lambda: dialog._test_task is None or dialog._test_task.done(), timeout=20_000)
                result = dialog._test_task.result() if dialog._test_task else None
                assert result is not None and not result.ok, (type_name, field, result)
                texts[f"dialog {n} panel"] = " ".join(w.text() for w in dialog.test_panel.findChildren(
                    type(dialog.name_error)))
                texts[f"dialog {n} result"] = json.dumps(result.to_dict())
                texts[f"dialog {n} titles"] = " ".join(w.windowTitle() for w in QApplication.topLevelWidgets())

                qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)

                def question(name):
                    import shiboken6
                    from PySide6.QtWidgets import QMessageBox

                    if not shiboken6.isValid(dialog):
                        return None
                    return next((b for b in dialog.findChildren(QMessageBox, name) if b.isVisible()), None)

                # Cases of one type share an address (the echo server): the look-alike warning is an output too,
                # and so is the "Save anyway?" of a failed test, which quotes the server.
                for name in ("duplicateWarning", "failedTestWarning"):
                    qtbot.waitUntil(lambda: task.done() or question(name) is not None
                                    or question("failedTestWarning") is not None, timeout=10_000)
                    if (box := question(name)) is not None:
                        texts[f"dialog {n} {name}"] = box.text()
                        next(b for b in box.buttons() if b.text() == "Save anyway").click()
                qtbot.waitUntil(task.done, timeout=10_000)
                saved = task.result()
                assert saved is not None, (type_name, field, dialog.name_error.text())
                ids.append((saved.id, field, values[field]))
                texts[f"status {n}"] = window.statusBar().currentMessage()
                retest = qloop.create_task(window.test(saved))
                qtbot.waitUntil(retest.done, timeout=20_000)
                assert not retest.result().ok
                texts[f"retest {n}"] = json.dumps(retest.result().to_dict())
                texts[f"detail {n}"] = " ".join(w.text() for w in window.detail.findChildren(type(dialog.name_error)))
            settle(qtbot, qloop)
            # the HTTP cases reached the echo server, twice each (all but one: 9 of today's 10)
            assert len(server.requests) >= 2 * (sum("{echo}" in str(v) for _, vs, _ in CASES for v in vs.values()) - 1)

            records = hub.instances.list()
            texts["export plain"] = hub.transfer.export_plain(records)
            texts["export bundle"] = hub.transfer.export_bundle(records, "correct horse battery staple")
            texts["titles"] = " ".join(w.windowTitle() for w in QApplication.topLevelWidgets())
            texts["status bar"] = window.statusBar().currentMessage() + window.keyring_label.text()
            texts["records"] = repr(records) + repr([hub.prober.history(r.id) for r in records])
        texts.update({f"cli {k}": v for k, v in cli_outputs(data_dir, [r.name for r in records]).items()})
        files = data_files(data_dir)
        assert "connhub.db-wal" in files or "connhub.db" in files
        assert leaks(secrets, {**texts, **files}) == []
        # …and they are where they belong.
        for instance_id, field, typed in ids:
            assert secret_service_keyring.get_password("connhub", f"{instance_id}:{field}") == typed
        assert "********" in texts["cli show"]
    finally:
        vault = KeyringVault(backend=secret_service_keyring)
        for instance_id, field, _ in ids:
            vault.delete(instance_id, [field, "secret_access_key"])


def cli_outputs(data_dir: Path, names: list[str]) -> dict[str, str]:
    """stdout + stderr of the read-and-test commands, text and --json, on the dialog's database."""
    from concurrent.futures import ThreadPoolExecutor

    commands = {"list": ["list"], "list json": ["list", "--json"], "show": ["show", names[0]],
                "show json": ["show", names[1], "--json"], "test json": ["test", "--all", "--json", "--timeout", "5"],
                "test": ["test", *names[:4], "--timeout", "5"]}
    with ThreadPoolExecutor(3) as pool:
        done = dict(zip(commands, pool.map(lambda args: run_cli(data_dir, *args), commands.values()), strict=True))
    assert done["test json"].returncode == 1 and len(done["test json"].stdout.splitlines()) == len(names)
    assert all(not json.loads(line)["ok"] for line in done["test json"].stdout.splitlines())
    return {k: d.stdout + d.stderr for k, d in done.items()}


def test_export_without_secrets_holds_placeholders_and_the_bundle_no_plaintext(tmp_path, memory_keyring, faker):
    from connhub.core.fields import defaults
    from connhub.services.hub import Hub

    hub = Hub(data_dir=tmp_path / "data", registry=REGISTRY, vault=KeyringVault(backend=memory_keyring))
    secrets = canaries(faker, len(CASES))
    urls = {"echo": "http://127.0.0.1:9", "closed": 9, "key": str(tmp_path / "k")}
    try:
        for n, ((type_name, case_values, _), secret) in enumerate(zip(CASES, secrets, strict=True)):
            base = defaults(instance_specs(REGISTRY.get(type_name)))
            hub.instances.create(type_name, f"{type_name} {n}", {**base, **fill(case_values, secret, urls)})
        plain = hub.transfer.export_plain(hub.instances.list())
        bundle = hub.transfer.export_bundle(hub.instances.list(), "correct horse battery staple")
        assert leaks(secrets, {"plain": plain, "bundle": bundle}) == []
        # The bundle does hold them (encrypted): opened with the passphrase, every canary is back.
        opened = transfer.read_import(bundle, "correct horse battery staple")
        dumped = json.dumps(opened)
        assert all(json.dumps(secret)[1:-1] in dumped for secret in secrets)
    finally:
        hub.close()


