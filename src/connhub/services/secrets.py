"""The one place that writes secrets, and the one that reads them.

An instance's secrets live in the vault (the keyring), or — "ask every time" — in this session's memory only,
or — shared scope, in a team catalog — in the team's OpenBao (`shared`, storage/openbao.py), chosen by the
instance's `secret_mode`, never a fallback from one to another.
Every write to the vault follows one order (services/reconcile.py says why): note in the journal what a crash
could strand, write the vault, commit the row, then settle (remove the noted items no row claims). Creating,
editing, duplicating, deleting, a refreshed OAuth token, an import and a type's app-level secrets all come
through `_write`; the session mode is honoured for every one of them, so a refreshed token of an "ask every
time" instance stays in memory and the keyring never sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeVar

from connhub.core.records import InstanceRecord, SecretsNeeded, VaultError, VaultStatus
from connhub.services import reconcile

if TYPE_CHECKING:
    from connhub.storage.repository import InstanceStore

T = TypeVar("T")
log = logging.getLogger("connhub")
KEYRING, SESSION, SHARED = "keyring", "session", "shared"


class Vault(Protocol):
    """Where secrets are kept: one item per (owner, field). The keyring implements it (storage/vault.py)."""

    def status(self) -> VaultStatus: ...
    def ensure_usable(self) -> None: ...
    def ping(self) -> None: ...
    def store(self, owner: str, secrets: Mapping[str, str]) -> None: ...
    def fetch(self, owner: str, keys: Iterable[str]) -> dict[str, str]: ...
    def delete(self, owner: str, keys: Iterable[str]) -> list[str]: ...
    def list_users(self) -> set[str] | None: ...


def app_owner(type_name: str) -> str:
    """Stands in for an instance id for a type's app-level secrets: vault item `app:<type>:<field>`, which no
    instance UUID can collide with."""
    return f"app:{type_name}"


class Secrets:
    def __init__(self, vault: Vault, store: InstanceStore, shared: Callable[[], Vault] | None = None):
        self.vault = vault
        self._store = store
        self._shared = shared
        #: Secrets of "ask every time" instances, given in this session: in memory only, gone at exit.
        self._session: dict[str, dict[str, str]] = {}

    def vault_for(self, mode: str) -> Vault:
        """The keyring for personal secrets, the team's OpenBao for shared ones (VaultError when there is none)."""
        if mode != SHARED:
            return self.vault
        if self._shared is None:
            raise VaultError("This instance's secrets are shared with a team, and this catalog has no shared "
                             "secret store: join the team with `connhub team join … --openbao-addr URL`.")
        return self._shared()

    # --- reading --------------------------------------------------------------------------------------

    def read(self, record: InstanceRecord, keys: Iterable[str] | None = None) -> dict[str, str]:
        """The instance's secrets for a test or an action; raises SecretsNeeded for an "ask every time" one
        whose secrets were not given this session, VaultError when the keyring cannot answer."""
        keys = list(record.secret_fields if keys is None else keys)
        if record.secret_mode == SESSION:
            known = self._session.get(record.id, {})
            if any(k not in known for k in keys):
                raise SecretsNeeded(record)
            return {k: known[k] for k in keys}
        found = self.vault_for(record.secret_mode).fetch(record.id, keys)
        lacking = sorted(k for k in keys if k not in found and k in record.secret_fields)
        if lacking and record.secret_mode == SHARED:
            raise VaultError(f"The team's OpenBao holds no {', '.join(lacking)} for {record.name!r}: enter it again "
                             "(Edit, or `connhub secret rotate`).")
        if lacking:  # a personal secret of a shared catalog's instance: each member enters their own
            raise SecretsNeeded(record, f"{record.name!r} keeps its secrets in each user's own keyring, and yours has "
                                f"no {', '.join(lacking)} for it: enter your own (Edit, or `connhub secret rotate "
                                "NAME`).")
        return found

    def known(self, record: InstanceRecord) -> dict[str, str]:
        """What is saved (or, for "ask every time", what this session knows): for export and duplicate."""
        if record.secret_mode == SESSION:
            return dict(self._session.get(record.id, {}))
        return self.vault_for(record.secret_mode).fetch(record.id, record.secret_fields)

    def needed(self, record: InstanceRecord) -> list[str]:
        """The secret fields to ask for before this instance can be used ([] when none)."""
        if record.secret_mode != SESSION:
            return []
        return [k for k in record.secret_fields if k not in self._session.get(record.id, {})]

    def remember(self, instance_id: str, secrets: Mapping[str, str]) -> None:
        """Keep an "ask every time" instance's secrets in memory until the app exits (never on disk)."""
        self._session.setdefault(instance_id, {}).update({k: str(v) for k, v in secrets.items()})

    def read_app(self, type_name: str, keys: Iterable[str]) -> dict[str, str]:
        keys = list(keys)
        return self.vault.fetch(app_owner(type_name), keys) if keys else {}

    # --- writing --------------------------------------------------------------------------------------

    def create(self, record: InstanceRecord, secrets: Mapping[str, str], add_row: Callable[[], T]) -> T:
        """A new instance: its secrets first, then its row (`add_row`)."""
        if record.secret_mode == SESSION:
            result = add_row()
            self._session[record.id] = dict(secrets)
            return result
        return self._write(record.id, secrets, (), add_row, self.vault_for(record.secret_mode))

    def change(self, record: InstanceRecord, new_mode: str, typed: Mapping[str, str], kept: set[str],
               write_row: Callable[[set[str]], T]) -> T:
        """An edit: `typed` secrets are new values, `kept` the saved fields that stay (still shown, not retyped).
        Switching to "session" carries the secrets into memory and off the keyring; switching back saves what
        this session knows (a field it does not know is dropped). `write_row(secret_fields)` writes the row."""
        old_mode = record.secret_mode
        remembered = self._session.get(record.id, {})
        carried: dict[str, str] = {}
        if new_mode != old_mode:  # the kept secrets move from the old place to the new one
            carried = {**(self.vault_for(old_mode).fetch(record.id, kept) if old_mode != SESSION else {}),
                       **remembered}
            if new_mode != SESSION:  # what the old place does not know is not kept
                kept = {k for k in kept if k in carried}
        fields = kept | set(typed)
        put = {} if new_mode == SESSION else {**{k: carried[k] for k in kept if k in carried}, **typed}
        held = set(record.secret_fields) if old_mode != SESSION else set()
        if new_mode == SESSION:  # into memory: the old vault's items go once the row says so
            vault = self.vault_for(old_mode) if held else self.vault
            result = self._write(record.id, {}, held, lambda: write_row(fields), vault)
        elif old_mode in (SESSION, new_mode):
            result = self._write(record.id, put, held - fields, lambda: write_row(fields), self.vault_for(new_mode))
        else:  # keyring <-> shared: written to the new vault, then removed from the old one
            result = self._write(record.id, put, (), lambda: write_row(fields), self.vault_for(new_mode))
            self._write(record.id, {}, held, lambda: None, self.vault_for(old_mode))
        if new_mode == SESSION:
            self._session[record.id] = {k: v for k, v in {**remembered, **carried, **typed}.items() if k in fields}
        else:
            self._session.pop(record.id, None)
        return result

    def replace(self, record: InstanceRecord, put: Mapping[str, str], drop: Iterable[str],
                write_row: Callable[[], T]) -> T:
        """New values for some secrets and the removal of others (a refreshed OAuth sign-in), where the instance
        keeps its secrets: the vault, or this session's memory."""
        drop = set(drop) - set(put)
        if record.secret_mode == SESSION:
            result = write_row()
            known = self._session.setdefault(record.id, {})
            known.update(put)
            for key in drop:
                known.pop(key, None)
            return result
        return self._write(record.id, put, drop, write_row, self.vault_for(record.secret_mode))

    def delete(self, record: InstanceRecord, delete_row: Callable[[], T]) -> T:
        """The row first, its secrets second. The keyring is asked first, so a locked or missing one refuses
        before anything changes and the instance stays."""
        keys = record.secret_fields if record.secret_mode != SESSION else []
        vault = self.vault_for(record.secret_mode) if keys else self.vault
        if keys:
            vault.ping()
        self._session.pop(record.id, None)
        return self._write(record.id, {}, keys, delete_row, vault)

    def save_app(self, type_name: str, put: Mapping[str, str], drop: Iterable[str], write_row: Callable[[], T]) -> T:
        """A type's app-level (`cfg:`) secrets, journalled like an instance's."""
        return self._write(app_owner(type_name), put, drop, write_row)

    def rotate(self, record: InstanceRecord, put: Mapping[str, str], write_row: Callable[[], T]) -> int | None:
        """New values for secrets: a shared secret gets a new OpenBao version that every member reads from their
        next test (returned); a personal one is set in this user's own keyring."""
        if record.secret_mode == SESSION:
            self.remember(record.id, put)
            write_row()
            return None
        vault = self.vault_for(record.secret_mode)
        self._write(record.id, put, (), write_row, vault)
        return vault.version(record.id) if hasattr(vault, "version") else None

    def _write(self, owner: str, put: Mapping[str, str], drop: Iterable[str], commit: Callable[[], T],
               vault: Vault | None = None) -> T:
        """Journal, vault, row, settle: a crash anywhere leaves at worst an item no row claims, which the
        journal lets the next start remove; never a row whose secret is missing."""
        noted = set(put) | set(drop)
        if not noted:
            return commit()
        vault = vault or self.vault  # the keyring, unless the instance's secrets are shared (vault_for)
        if put:
            vault.ensure_usable()  # refuse an insecure keyring (or a missing token) before anything is written
        reconcile.note(self._store, owner, noted)
        try:
            vault.store(owner, dict(put))
            return commit()
        finally:
            # Done: the dropped items go. Failed (a keyring that gave up half-way, a row that could not be
            # written): the new items no row claims go, so no orphan is left.
            reconcile.settle_quietly(self._store, vault, owner, noted)

    def reconcile(self, check_missing: bool = True) -> reconcile.ReconcileReport:
        """Repair what a crashed or killed process left between the database and the vault."""
        return reconcile.reconcile(self._store, self.vault, check_missing)
