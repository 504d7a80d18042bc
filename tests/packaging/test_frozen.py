"""The packaged (PyInstaller) app has no entry-point metadata: connhub.frozen picks the keyring explicitly
and `connhub types` says that third-party plugins are not loaded. `sys.frozen` is faked here; the real
bundle is exercised by packaging/smoke-test."""

from __future__ import annotations

import argparse
import sys

import keyring.core
import pytest
from keyring.backends import fail, null

from connhub import frozen
from connhub.cli import types as cli_types
from connhub.services.hub import Hub
from connhub.storage.vault import NO_KEYRING, KeyringVault
from tests.support.keyrings import MemoryKeyring


@pytest.fixture
def frozen_app(monkeypatch, tmp_path):
    """As inside the bundle: sys.frozen set, no PYTHON_KEYRING_BACKEND, an empty config dir (no keyringrc.cfg)."""
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # keyring's own choice: not made yet
    return monkeypatch


def write_keyringrc(tmp_path, backend: str) -> None:
    path = tmp_path / "config" / "python_keyring" / "keyringrc.cfg"
    path.parent.mkdir(parents=True)
    path.write_text(f"[backend]\ndefault-keyring = {backend}\n")


def test_not_frozen_leaves_the_choice_to_keyring(monkeypatch):
    monkeypatch.delattr(sys, "frozen", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    assert frozen.is_frozen() is False
    assert frozen.keyring_backend() is None


def test_frozen_names_the_platforms_keyring(frozen_app):
    chosen = MemoryKeyring()
    asked = []
    frozen_app.setattr(keyring.core, "load_keyring", lambda name: asked.append(name) or chosen)
    assert frozen.keyring_backend() is chosen
    assert asked == [frozen.PLATFORM_BACKENDS[sys.platform]]
    assert frozen.PLATFORM_BACKENDS["linux"] == "keyring.backends.SecretService.Keyring"


def test_the_vault_uses_the_frozen_choice(frozen_app):
    chosen = MemoryKeyring()
    frozen_app.setattr(keyring.core, "load_keyring", lambda name: chosen)
    vault = KeyringVault()
    assert vault.backend is chosen
    vault.store("id-1", {"password": "s3cret"})
    assert chosen.secrets_of() == {"id-1:password": "s3cret"}


def test_a_keyring_that_is_not_viable_falls_back_to_keyring_and_is_refused(frozen_app):
    def not_viable(name):
        raise RuntimeError("The Secret Service daemon is neither running nor activatable through D-Bus")

    frozen_app.setattr(keyring.core, "load_keyring", not_viable)
    frozen_app.setattr(keyring, "get_keyring", lambda: fail.Keyring())  # what a frozen keyring finds alone
    assert frozen.keyring_backend() is None
    status = KeyringVault().status()
    assert (status.usable, status.problem) == (False, NO_KEYRING)


def test_python_keyring_backend_still_wins(frozen_app):
    frozen_app.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    frozen_app.setattr(keyring.core, "load_keyring", lambda name: pytest.fail("must not pick one itself"))
    assert frozen.keyring_backend() is None


def test_keyringrc_is_honoured_and_insecure_choices_are_still_refused(frozen_app, tmp_path):
    write_keyringrc(tmp_path, "keyring.backends.null.Keyring")
    backend = frozen.keyring_backend()
    assert isinstance(backend, null.Keyring)
    status = KeyringVault().status()
    assert not status.usable and "discards secrets" in status.problem


def test_a_plaintext_backend_from_keyringrc_is_refused(frozen_app, tmp_path):
    write_keyringrc(tmp_path, "tests.support.keyrings.PlaintextLikeKeyring")
    vault = KeyringVault()
    assert not vault.status().usable
    assert "refuses" in vault.status().problem


def test_the_real_secret_service_is_picked_when_frozen(frozen_app, secret_service_keyring):
    from keyring.backends import SecretService

    assert isinstance(frozen.keyring_backend(), SecretService.Keyring)
    assert KeyringVault().status().usable


def types(as_json: bool = False) -> int:
    """`connhub types` on a Hub of the test's data dir (cmd_types directly: no log handler is installed)."""
    return cli_types.cmd_types(Hub(), argparse.Namespace(json=as_json))


def test_types_says_plugins_are_unsupported_when_frozen(frozen_app, capsys):
    assert types() == 0
    out, err = capsys.readouterr()
    assert "third-party types" in err and "pip" in err
    assert "redis" in out and "third-party" not in out  # the list itself is unchanged


def test_types_says_nothing_of_the_kind_from_a_pip_install(monkeypatch, capsys):
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert types(as_json=True) == 0
    assert "third-party" not in capsys.readouterr().err
