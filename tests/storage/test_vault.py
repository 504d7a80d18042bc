"""The secret vault against a real Secret Service, and against every way a keyring can let us down."""

from __future__ import annotations

import time
import uuid

import pytest
from keyring.backends import fail, null

from connhub.storage.vault import LOCKED, NO_KEYRING, SERVICE, KeyringVault, VaultError
from tests.support.keyrings import (
    FailingKeyring,
    HangingKeyring,
    LockedKeyring,
    MemoryKeyring,
    PlaintextLikeKeyring,
)

# --- the real Secret Service -------------------------------------------------------------------------

@pytest.fixture
def real_vault(secret_service_keyring):
    vault = KeyringVault(backend=secret_service_keyring)
    ids: list[tuple[str, list[str]]] = []
    yield vault, ids
    for instance_id, keys in ids:  # never leave entries behind, even when a test fails
        vault.delete(instance_id, keys)


def test_round_trip_in_the_secret_service(real_vault, secret_service_keyring):
    vault, cleanup = real_vault
    instance_id = str(uuid.uuid4())
    cleanup.append((instance_id, ["password", "auth.token"]))
    secrets = {"password": "pä$$ wörd:with@odd/chars", "auth.token": "tok-" + uuid.uuid4().hex}

    vault.store(instance_id, secrets)

    assert vault.fetch(instance_id, ["password", "auth.token", "never-stored"]) == secrets
    # One entry per field: service "connhub", user "<instance id>:<field>".
    assert SERVICE == "connhub"
    assert secret_service_keyring.get_password("connhub", f"{instance_id}:password") == secrets["password"]
    assert secret_service_keyring.get_password("connhub", f"{instance_id}:auth.token") == secrets["auth.token"]
    assert secret_service_keyring.get_password("connhub", instance_id) is None

    vault.store(instance_id, {"password": "changed"})  # storing again replaces
    assert vault.fetch(instance_id, ["password"]) == {"password": "changed"}

    vault.delete(instance_id, ["password", "auth.token"])
    assert vault.fetch(instance_id, ["password", "auth.token"]) == {}
    assert secret_service_keyring.get_password("connhub", f"{instance_id}:password") is None
    vault.delete(instance_id, ["password", "auth.token"])  # deleting again is not an error


def test_entries_of_one_instance_leave_others_alone(real_vault):
    vault, cleanup = real_vault
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    cleanup += [(a, ["password"]), (b, ["password"])]
    vault.store(a, {"password": "for-a"})
    vault.store(b, {"password": "for-b"})
    vault.delete(a, ["password"])
    assert vault.fetch(b, ["password"]) == {"password": "for-b"}


def test_real_secret_service_status(secret_service_keyring):
    status = KeyringVault(backend=secret_service_keyring).status()
    assert status.usable and status.problem is None
    assert status.backend == "keyring.backends.SecretService.Keyring"


# --- in-memory keyring: the same contract, fast ----------------------------------------------------------

def test_empty_operations_never_touch_the_keyring():
    vault = KeyringVault(backend=LockedKeyring())  # any call would raise
    vault.store("id", {})
    assert vault.fetch("id", []) == {}
    vault.delete("id", [])


def test_memory_keyring_is_usable(memory_keyring):
    vault = KeyringVault(backend=memory_keyring)
    assert vault.status().usable
    vault.store("abc", {"password": "pw"})
    assert memory_keyring.get_password("connhub", "abc:password") == "pw"
    vault.delete("abc", ["password"])
    vault.delete("abc", ["password"])
    assert memory_keyring.get_password("connhub", "abc:password") is None


# --- keyrings that must not be used -------------------------------------------------------------------

@pytest.mark.parametrize("make, says", [
    (FailingKeyring, "apt install gnome-keyring"),
    (fail.Keyring, "apt install gnome-keyring"),
    (null.Keyring, "discards secrets"),
    (PlaintextLikeKeyring, "Uninstall keyrings.alt or set PYTHON_KEYRING_BACKEND"),
], ids=["failing", "fail", "null", "plaintext"])
def test_insecure_backends_are_refused_before_anything_is_written(make, says):
    backend = make()
    vault = KeyringVault(backend=backend)
    status = vault.status()
    assert not status.usable
    assert says in status.problem
    assert status.backend == f"{type(backend).__module__}.{type(backend).__qualname__}"

    with pytest.raises(VaultError) as caught:
        vault.store("abc", {"password": "hunter2-secret"})
    assert says in str(caught.value)
    assert "hunter2-secret" not in str(caught.value)
    with pytest.raises(VaultError):
        vault.fetch("abc", ["password"])
    if hasattr(backend, "calls"):
        assert backend.calls == [], "a refused backend was asked to handle a secret"
    if isinstance(backend, PlaintextLikeKeyring):
        assert backend.entries == {}
        assert "keyrings.alt.file.PlaintextKeyring" in str(caught.value)


def test_no_keyring_message_says_what_to_install():
    with pytest.raises(VaultError) as caught:
        KeyringVault(backend=FailingKeyring()).store("abc", {"password": "x"})
    assert str(caught.value) == NO_KEYRING
    assert "Secret Service" in NO_KEYRING and "try again" in NO_KEYRING


def test_a_keyring_that_errors_becomes_a_vault_error_without_the_secret():
    class BrokenBus(MemoryKeyring):
        def set_password(self, service, username, password):
            raise RuntimeError(f"org.freedesktop.DBus.Error.NoReply while storing {password}")

    with pytest.raises(VaultError) as caught:
        KeyringVault(backend=BrokenBus()).store("abc", {"password": "hunter2-secret"})
    assert "hunter2-secret" not in str(caught.value)
    assert "running and unlocked" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_locked_keyring_says_it_is_locked():
    backend = LockedKeyring()
    vault = KeyringVault(backend=backend)
    assert vault.status().usable  # locked is not insecure: unlocking fixes it
    for call in (lambda: vault.store("abc", {"password": "x"}), lambda: vault.fetch("abc", ["password"]),
                 lambda: vault.delete("abc", ["password"])):
        with pytest.raises(VaultError) as caught:
            call()
        assert str(caught.value) == LOCKED
        assert "locked" in str(caught.value) and "Unlock it" in str(caught.value)
    assert [method for method, _, _ in backend.calls] == ["set", "get", "delete"]


def test_a_hanging_keyring_times_out():
    backend = HangingKeyring()
    vault = KeyringVault(backend=backend, timeout=0.3)
    try:
        start = time.monotonic()
        with pytest.raises(VaultError) as caught:
            vault.store("abc", {"password": "x"})
        assert time.monotonic() - start < 1.0
        assert backend.entered.is_set()
        assert "0.3 s" in str(caught.value) and "unlock" in str(caught.value)
        start = time.monotonic()
        with pytest.raises(VaultError):
            vault.fetch("abc", ["password"])
        assert time.monotonic() - start < 1.0
    finally:
        backend.release()
