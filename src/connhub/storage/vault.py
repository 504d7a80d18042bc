"""Secrets in the operating system's keyring, and nowhere else.

Every keyring call runs on a worker thread with a timeout (a Secret Service waiting on an unlock prompt
must not freeze the caller), and an insecure backend (none, null, a plaintext file) is refused rather than
silently used: there is no plaintext fallback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from connhub.core.records import VaultError, VaultStatus

SERVICE = "connhub"
DEFAULT_TIMEOUT = 5.0
T = TypeVar("T")

NO_KEYRING = ("No secure keyring is available. Install and start a Secret Service such as GNOME Keyring "
              "or KWallet (on Debian: apt install gnome-keyring), then try again.")
LOCKED = "The keyring is locked. Unlock it (log in to your desktop session or open your keyring) and retry."


def backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def insecurity(backend: Any) -> str | None:
    """Why this backend must not hold secrets, or None when it is a real keyring."""
    from keyring.backends import chainer, fail

    name = backend_name(backend)
    if isinstance(backend, chainer.ChainerBackend):
        if not backend.backends:
            return NO_KEYRING
        return next((p for p in map(insecurity, backend.backends) if p), None)
    if isinstance(backend, fail.Keyring):
        return NO_KEYRING
    if name.startswith("keyring.backends.null"):
        return f"The keyring backend {name} discards secrets. {NO_KEYRING}"
    if name.startswith("keyrings.alt") or "plaintext" in name.lower():
        return (f"The keyring backend {name} keeps secrets in a file on disk, which connhub refuses to use. "
                "Uninstall keyrings.alt or set PYTHON_KEYRING_BACKEND to a real keyring.")
    return None


class KeyringVault:
    """One keyring entry per secret field: service `connhub`, user name `<instance id>:<field>` (for a type's
    app-level secrets, `app:<type>:<field>`: see services.secrets.app_owner)."""

    mode = "keyring"  # the secret mode whose rows this vault's items belong to (services/reconcile.py)

    def __init__(self, backend: Any = None, timeout: float = DEFAULT_TIMEOUT):
        self._backend = backend
        self.timeout = timeout

    @property
    def backend(self) -> Any:
        if self._backend is None:
            self._backend = self._call(default_backend)
        return self._backend

    def status(self) -> VaultStatus:
        try:
            backend = self.backend
        except VaultError as exc:
            return VaultStatus(False, "unknown", str(exc))
        problem = insecurity(backend)
        return VaultStatus(problem is None, backend_name(backend), problem)

    def ensure_usable(self) -> None:
        problem = self.status().problem
        if problem:
            raise VaultError(problem)

    def store(self, instance_id: str, secrets: dict[str, str]) -> None:
        if not secrets:
            return
        self.ensure_usable()
        for key, value in secrets.items():
            self._call(self.backend.set_password, SERVICE, _user(instance_id, key), value)

    def fetch(self, instance_id: str, keys: Iterable[str]) -> dict[str, str]:
        keys = list(keys)
        if not keys:
            return {}
        self.ensure_usable()
        found = {}
        for key in keys:
            value = self._call(self.backend.get_password, SERVICE, _user(instance_id, key))
            if value is not None:
                found[key] = value
        return found

    def delete(self, instance_id: str, keys: Iterable[str]) -> list[str]:
        """Remove these items; returns the keys that were there (deleting is idempotent)."""
        from keyring.errors import PasswordDeleteError

        keys = list(keys)
        if not keys:
            return []
        self.ensure_usable()
        removed = []
        for key in keys:
            try:
                self._call(self.backend.delete_password, SERVICE, _user(instance_id, key))
                removed.append(key)
            except PasswordDeleteError:
                pass  # already gone
        return removed

    def ping(self) -> None:
        """Ask the keyring something harmless (a user name no item has): raises VaultError when it is absent,
        insecure, locked or hanging. Lets a delete refuse before it changes the database."""
        self.ensure_usable()
        self._call(self.backend.get_password, SERVICE, "connhub-ping")

    def list_users(self) -> set[str] | None:
        """Keyring user names of every connhub item (never their secrets), or None when this backend cannot
        list its items (keyring's API has no listing: only the Secret Service, searched by attribute, and
        backends that offer `list_users(service)` can)."""
        self.ensure_usable()
        backend = self.backend
        lister = getattr(backend, "list_users", None)
        if callable(lister):
            return set(self._call(lister, SERVICE))
        try:
            from keyring.backends import SecretService
        except ImportError:  # pragma: no cover - keyring always ships it
            return None
        if isinstance(backend, SecretService.Keyring):
            return set(self._call(_secret_service_users, backend))
        return None

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run one keyring call on a daemon thread; give up after `timeout` seconds."""
        from keyring.errors import KeyringLocked, NoKeyringError, PasswordDeleteError

        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as exc:  # handed back to the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=work, name="connhub-keyring", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise VaultError(f"The keyring did not answer within {self.timeout:g} s. It may be waiting for an "
                             "unlock prompt: unlock it and try again.")
        error = box.get("error")
        if error is None:
            return box.get("value")
        if isinstance(error, PasswordDeleteError):
            raise error
        if isinstance(error, KeyringLocked):
            raise VaultError(LOCKED) from None
        if isinstance(error, NoKeyringError):
            raise VaultError(NO_KEYRING) from None
        if isinstance(error, RuntimeError | OSError) or type(error).__module__.startswith(("keyring", "secretstorage", "jeepney")):
            # Secret Service errors carry D-Bus text, never the secret; keep the class name for support.
            raise VaultError(f"The keyring refused the request ({type(error).__name__}). Check that it is "
                             "running and unlocked.") from None
        raise error


def default_backend() -> Any:
    """keyring's choice, except in the packaged app, where keyring cannot discover its backends and
    connhub.frozen names the platform's keyring explicitly."""
    import keyring

    from connhub.frozen import keyring_backend

    chosen = keyring_backend()
    return chosen if chosen is not None else keyring.get_keyring()


def _secret_service_users(backend: Any) -> list[str]:
    """One search by attribute (service=connhub), then each item's attributes: no secret is read, and a locked
    collection is reported as locked instead of prompting to unlock it."""
    from contextlib import closing

    import secretstorage
    from keyring.errors import KeyringLocked

    scheme = backend.schemes[backend.scheme]
    bus = secretstorage.dbus_init()
    preferred = getattr(backend, "preferred_collection", None)
    collection = (secretstorage.Collection(bus, preferred) if preferred
                  else secretstorage.get_default_collection(bus))
    with closing(bus):
        if collection.is_locked():  # say so, rather than pop an unlock prompt at start-up
            raise KeyringLocked("the collection is locked")
        return [item.get_attributes().get(scheme["username"], "")
                for item in collection.search_items({scheme["service"]: SERVICE})]


def _user(instance_id: str, key: str) -> str:
    return f"{instance_id}:{key}"
