"""The catalog's plain records and the errors about them: what every layer above core speaks.

No SQLAlchemy, keyring or Qt here: the window's first paint reads these records without them, and the GUI
catches these errors without importing storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

DEFAULT_WORKSPACE = "default"


def _new_id() -> str:
    import uuid  # only when an instance is made, not to read the list (uuid also loads platform)

    return str(uuid.uuid4())


@dataclass
class InstanceRecord:
    name: str
    type: str
    config: dict[str, Any] = field(default_factory=dict)
    secret_fields: list[str] = field(default_factory=list)
    workspace: str = DEFAULT_WORKSPACE
    summary: str = ""
    tags: list[str] = field(default_factory=list)
    environment: str | None = None
    #: [{"type", "description", "schema"}] of the type when last saved; None if saved before connhub kept them.
    events: list[dict[str, str]] | None = None
    id: str = field(default_factory=lambda: _new_id())
    status: str = "untested"
    last_test_at: datetime | None = None
    last_latency_ms: float | None = None
    last_error_class: str | None = None
    last_message: str | None = None
    last_server_version: str | None = None
    error_count: int = 0
    monitor_enabled: bool = False
    monitor_interval_min: int = 15
    monitor_next_run_at: datetime | None = None
    secret_mode: str = "keyring"
    needs_reauth: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0  # the row version: one more on every edit (optimistic concurrency)


@dataclass
class AppSettings:
    """The app-level (`cfg:`) settings of one type: non-secret values, and which secret fields the keyring
    holds (their values are never here)."""

    type: str
    values: dict[str, Any] = field(default_factory=dict)
    secret_fields: list[str] = field(default_factory=list)


@dataclass
class TestRun:
    __test__ = False

    started_at: datetime
    ok: bool
    error_class: str | None
    latency_ms: float | None
    server_version: str | None
    message: str


@dataclass
class ActionRun:
    """One run of an action, as the execution log keeps it: params with secrets masked, a capped preview of the
    result, never the whole of it. `result` is the full value for whoever ran it, and is never stored."""

    instance_id: str
    action: str
    params: dict[str, Any]
    started_at: datetime
    duration_ms: float
    ok: bool
    error_class: str | None = None
    message: str = ""
    result_size: int = 0
    preview: str = ""
    truncated: bool = False
    trigger: str = "manual"
    id: int | None = None
    result: Any = field(default=None, repr=False, compare=False)


@dataclass
class Delivery:
    """One webhook delivery as the inbox keeps it: the verdict and status it was answered with, its headers
    with the signature and auth headers masked, the body up to the receiver's cap."""

    instance_id: str
    received_at: datetime
    event: str | None
    verdict: str
    status: int
    reason: str = ""
    errors: list[str] = field(default_factory=list)
    delivery_id: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    body_size: int = 0
    id: int | None = None


#: Where an instance's secrets live: the user's keyring, this session's memory ("ask every time") — both of the
#: *personal* scope, each member their own — or, *shared* scope, the team's OpenBao (storage/openbao.py).
SECRET_MODES = ("keyring", "session", "shared")
ENVIRONMENTS = ("dev", "staging", "prod")


class InvalidValues(ValueError):
    """Values that do not satisfy the rules: {field: message}, each shown beside its field."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{key}: {message}" for key, message in sorted(errors.items())))


class NameTaken(ValueError):
    def __init__(self, name: str, workspace: str):
        super().__init__(f"An instance named {name!r} already exists in workspace {workspace!r}: choose another "
                         "name")


class InstanceNotFound(LookupError):
    def __init__(self, ref: str):
        super().__init__(f"No instance named {ref!r} (see `connhub list`)")


class EditConflict(RuntimeError):
    """The instance changed (another window, another process) since the editor read it. `current` is how it
    is now, so the user can look, and save again to replace it knowingly."""

    def __init__(self, current: InstanceRecord):
        self.current = current
        super().__init__(f"{current.name!r} was changed elsewhere (another window or a connhub command) after you "
                         "opened it")


class SecretsNeeded(LookupError):
    """An "ask every time" instance whose secrets were not given in this session yet."""

    def __init__(self, record: InstanceRecord, message: str | None = None):
        self.record = record
        super().__init__(message or f"{record.name!r} asks for its secrets every time: enter them to test it this "
                         "session")


class TypeDisabled(ValueError):
    """The type's manifest or code is broken: it can be listed, not used, until the fix-it message is followed."""

    def __init__(self, entry: Any):
        self.entry = entry
        super().__init__(f"type {entry.type!r} is disabled: {entry.error}")


class UnknownAction(LookupError):
    """No such action on this type; `known` lists the ones it has."""

    def __init__(self, type_name: str, name: str, known: list[str], problem: str | None = None):
        self.type_name, self.name, self.known, self.problem = type_name, name, known, problem
        if problem:
            text = f"action {name!r} of {type_name} is off: {problem}"
        else:
            text = f"{type_name} has no action {name!r}; " + (
                f"its actions are: {', '.join(known)}" if known else "it has no actions")
        super().__init__(text)

    def __str__(self) -> str:
        return self.args[0]


class CatalogUnavailable(Exception):
    """The catalog's database server does not answer (a team catalog's PostgreSQL gone): nothing was written;
    the same call works again once it is back."""


class VaultError(Exception):
    """Secrets cannot be stored or read; the message says what to do. Nothing was written in plaintext."""


@dataclass(frozen=True)
class VaultStatus:
    usable: bool
    backend: str  # the class path, e.g. keyring.backends.SecretService.Keyring
    problem: str | None = None

    @property
    def title(self) -> str:
        """The backend as a person knows it ("Secret Service (GNOME Keyring, KWallet…)"); the class path is
        for tooltips and bug reports."""
        for prefix, title in KEYRING_TITLES:
            if self.backend.startswith(prefix):
                return title
        module, _, cls = self.backend.rpartition(".")
        return module.rsplit(".", 1)[-1] if cls == "Keyring" and module else cls or self.backend


#: Known keyring backends by class-path prefix, most specific first.
KEYRING_TITLES = (
    ("keyring.backends.SecretService.", "Secret Service (GNOME Keyring, KWallet…)"),
    ("keyring.backends.libsecret.", "Secret Service via libsecret"),
    ("keyring.backends.kwallet.", "KDE Wallet"),
    ("keyring.backends.macOS.", "macOS Keychain"),
    ("keyring.backends.Windows.", "Windows Credential Manager"),
    ("keyring.backends.chainer.", "Several keyrings, in priority order"),
    ("keyring.backends.fail.", "No keyring found"),
    ("keyring.backends.null.", "Null keyring (keeps nothing)"),
    ("keyrings.alt.", "Plaintext file (refused)"),
)


class InstanceReader(Protocol):
    """Reads a workspace's instances, sorted by name: the SQLAlchemy `InstanceStore` and the first paint's
    sqlite3 `QuickReader` (storage/quick.py) both do."""

    def list(self, workspace: str) -> list[InstanceRecord]: ...
