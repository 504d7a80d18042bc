"""Keyring backends for tests: an in-memory one, and faulty ones the secret vault must refuse or survive.

Every class is a real `keyring.backend.KeyringBackend` subclass, so the code under test sees the same
interface as in production. Each records the calls it received in `calls` ((method, service, username)),
so a test can assert that a refused backend was never even asked.

keyring registers every KeyringBackend subclass it sees for its own backend discovery; these set
`viable = False` so that defining them never changes which backend `keyring.get_keyring()` picks.
Install one with `keyring.set_keyring(...)` (the `memory_keyring` fixture does) or hand it to the vault.
"""

from __future__ import annotations

import threading

import keyring.backend
import keyring.backends.fail
import keyring.errors
from keyring.errors import KeyringLocked, PasswordDeleteError


class _Recording:
    """Mixin: remembers every call."""

    viable = False  # never picked by keyring's own discovery

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, str]] = []

    def _record(self, method: str, service: str, username: str) -> None:
        self.calls.append((method, service, username))


class MemoryKeyring(_Recording, keyring.backend.KeyringBackend):
    """Secrets in a dict {(service, username): password}; forgets them with the process."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        self._record("get", service, username)
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._record("set", service, username)
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._record("delete", service, username)
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"no password for {username!r} in {service!r}") from None

    def list_users(self, service: str) -> list[str]:
        """User names under `service`: lets connhub's vault list items, as it does on the Secret Service."""
        return [user for (svc, user) in self.entries if svc == service]

    def secrets_of(self, service: str = "connhub") -> dict[str, str]:
        """{username: password} stored under `service`."""
        return {user: password for (svc, user), password in self.entries.items() if svc == service}


class FailingKeyring(_Recording, keyring.backends.fail.Keyring):
    """What keyring falls back to when no backend is available: every call raises NoKeyringError."""

    def get_password(self, service: str, username: str):
        self._record("get", service, username)
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str):
        self._record("set", service, username)
        return super().set_password(service, username, password)

    def delete_password(self, service: str, username: str):
        self._record("delete", service, username)
        return super().delete_password(service, username)


class FullAfterKeyring(MemoryKeyring):
    """Stores `room` secrets, then refuses the next one (a keyring that fails half-way through a save)."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.room <= 0:
            self._record("set", service, username)
            raise keyring.errors.PasswordSetError("the keyring refused the item")
        self.room -= 1
        super().set_password(service, username, password)


class LockedKeyring(_Recording, keyring.backend.KeyringBackend):
    """A real keyring whose collection stays locked (the user dismissed the unlock prompt)."""

    priority = 1

    def _locked(self, method: str, service: str, username: str):
        self._record(method, service, username)
        raise KeyringLocked("Failed to unlock the keyring!")

    def get_password(self, service: str, username: str):
        self._locked("get", service, username)

    def set_password(self, service: str, username: str, password: str):
        self._locked("set", service, username)

    def delete_password(self, service: str, username: str):
        self._locked("delete", service, username)

    def list_users(self, service: str):
        self._locked("list", service, "")


class HangingKeyring(MemoryKeyring):
    """Every call blocks (an unlock prompt nobody answers) until `release()` or `hang_for` seconds pass,
    then behaves like MemoryKeyring. `entered` is set once a call has started blocking.

    Call `release()` when the test is done so no worker thread stays blocked.
    """

    def __init__(self, hang_for: float = 30.0) -> None:
        super().__init__()
        self.hang_for = hang_for
        self.entered = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def _hang(self) -> None:
        self.entered.set()
        self._released.wait(self.hang_for)

    def get_password(self, service: str, username: str):
        self._hang()
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str):
        self._hang()
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str):
        self._hang()
        super().delete_password(service, username)

    def list_users(self, service: str) -> list[str]:
        self._hang()
        return super().list_users(service)


class PlaintextLikeKeyring(MemoryKeyring):
    """Looks like keyrings.alt's PlaintextKeyring (module `keyrings.alt.file`, class `PlaintextKeyring`,
    priority 0.5) without writing anything to disk: the vault must refuse it by what it is."""

    __module__ = "keyrings.alt.file"
    __qualname__ = "PlaintextKeyring"
    priority = 0.5


PlaintextLikeKeyring.__name__ = "PlaintextKeyring"
