"""Keeping the database and the keyring in agreement, across crashes and concurrent processes.

An instance lives in two stores that share no transaction: its row in the database and one keyring item per
secret field. A process killed between the two writes must leave a state that the next start can repair, so
every operation follows one order:

- **secret first, row second** (create, edit, duplicate): a crash in between leaves at worst a keyring item
  that no row claims, never a row whose secret is missing;
- **row first, secret second** (delete, and a secret field that an edit drops): again, a crash leaves at
  worst an unclaimed item;
- and, before touching the keyring, the operation notes in the database (the *journal*, settings rows
  `keyring-journal:<id>`) which items it may leave behind. It settles its own note when done.

`reconcile()` (at GUI start-up, off the GUI thread, and by the CLI's instance commands) settles the notes of
operations that died: it deletes the noted items no row claims. It reads the journal, not a keyring listing,
because (1) a keyring item carries no trace of which database wrote it — two data directories (work and
personal, `--data-dir`) share one keyring, and a listing-based clean-up from one would delete the other's
secrets — and (2) it costs one indexed query and no keyring call when nothing crashed, so start-up pays
nothing. A note of a live process (a CLI create running while the window starts) is left alone.

Where the keyring can list its items (the Secret Service, searched by attribute: one call), reconcile also
finds rows whose secret the keyring has lost (deleted by hand, a keyring reset) and marks them: the field is
no longer claimed, so the edit form asks for it again, and the status says why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from connhub.core.records import InstanceNotFound, VaultError

if TYPE_CHECKING:
    from connhub.services.secrets import Vault
    from connhub.storage.repository import InstanceStore

log = logging.getLogger("connhub")

#: A note older than this is settled even if its writer's pid seems alive (pid reuse, another machine
#: sharing a PostgreSQL catalog whose processes we cannot see).
STALE_AFTER_S = 600.0


@dataclass
class ReconcileReport:
    #: Operations of dead processes that were settled (instance ids).
    settled: list[str] = field(default_factory=list)
    #: Keyring user names removed because no row claims them (names only, never values).
    removed: list[str] = field(default_factory=list)
    #: {instance name: [fields]} whose secret the keyring no longer has; they are now marked.
    missing: dict[str, list[str]] = field(default_factory=dict)
    #: Why a part was skipped (keyring unusable, or it cannot list its items), for the log.
    skipped: list[str] = field(default_factory=list)
    #: The keyring refused while checking (locked, not answering): the message to show the user.
    keyring_problem: str | None = None

    def user_message(self) -> str | None:
        if not self.missing:
            return None
        names = ", ".join(f"{name} ({', '.join(keys)})" for name, keys in sorted(self.missing.items()))
        return f"The keyring no longer has the saved secrets of: {names}. Edit each connection to enter them again."


def note(store: InstanceStore, owner: str, keys: Iterable[str]) -> None:
    """Journal: this process is about to write or remove these keyring items of `owner` (an instance id, or
    `app:<type>` for a type's app-level secrets)."""
    keys = sorted(set(keys))
    if keys:
        store.journal_put(owner, {"fields": keys, "pid": os.getpid(), "host": socket.gethostname(),
                                  "at": time.time()})


def claimed(store: InstanceStore, owner: str, mode: str = "keyring") -> set[str]:
    """The items a row claims now in the vault of `mode`: an instance's secret fields when its secrets live
    there (none for "ask every time", none in the keyring for a shared one), or the app-level secrets a type's
    settings say are saved."""
    if owner.startswith("app:"):
        return set(store.app_settings(owner.removeprefix("app:")).secret_fields)
    try:
        row = store.get(owner)
    except InstanceNotFound:
        return set()
    return set(row.secret_fields) if row.secret_mode == mode else set()


def settle(store: InstanceStore, vault: Vault, owner: str, keys: Iterable[str] | None = None) -> list[str]:
    """Delete the noted keyring items that the owner's row does not claim (all of them if the row is gone),
    then drop the note. Returns the user names removed. A keyring error leaves the note for a later run."""
    keys = set(keys if keys is not None else store.journal().get(owner, {}).get("fields", []))
    removed = vault.delete(owner, sorted(keys - claimed(store, owner, getattr(vault, "mode", "keyring"))))
    store.journal_clear(owner)
    return [f"{owner}:{key}" for key in removed]


def settle_quietly(store: InstanceStore, vault: Vault, owner: str, keys: Iterable[str]) -> None:
    """settle() after an operation, for its own note: a failure is logged and left to reconcile()."""
    try:
        settle(store, vault, owner, keys)
    except VaultError as exc:
        log.warning("keyring clean-up of %s left for the next start: %s", owner, exc)
    except Exception as exc:  # noqa: BLE001 - never mask the operation's own outcome
        log.warning("keyring clean-up of %s left for the next start (%s)", owner, type(exc).__name__)


def reconcile(store: InstanceStore, vault: Vault, check_missing: bool = True) -> ReconcileReport:
    """Settle the journal notes of dead processes; then, if `check_missing` and the keyring can list its
    items, mark rows whose secrets the keyring lost. Never raises for a keyring problem: it reports it."""
    report = ReconcileReport()
    journal = store.journal()
    dead = {iid: entry for iid, entry in journal.items() if not _writer_alive(entry)}
    if dead:
        status = vault.status()
        if not status.usable:
            report.skipped.append(f"unsettled keyring clean-up kept for later: {status.problem}")
        else:
            for instance_id, entry in dead.items():
                try:
                    report.removed += settle(store, vault, instance_id, entry.get("fields", []))
                    report.settled.append(instance_id)
                except VaultError as exc:
                    report.skipped.append(f"clean-up of {instance_id} kept for later: {exc}")
                    report.keyring_problem = str(exc)
                    break  # the keyring is not answering: do not wait out its timeout once per note
    if check_missing:
        _mark_missing(store, vault, report, busy=set(journal) - set(dead))
    for line in report.skipped:
        log.info("reconcile: %s", line)
    if report.settled or report.missing:
        log.warning("reconcile: settled %d interrupted operation(s), removed %d keyring item(s), %d instance(s) "
                    "missing secrets", len(report.settled), len(report.removed), len(report.missing))
    return report


def _mark_missing(store: InstanceStore, vault: Vault, report: ReconcileReport, busy: set[str]) -> None:
    # The rows are read *before* the keyring is listed: a row only exists once its secrets were written
    # (secret first), so an item missing from the later listing is truly gone, or deleted with its row since.
    records = [r for r in store.list() if r.secret_fields and r.secret_mode == "keyring" and r.id not in busy]
    if not records:
        return
    try:
        listed = vault.list_users()
    except VaultError as exc:
        report.skipped.append(f"secrets not checked: {exc}")
        report.keyring_problem = str(exc)
        return
    if listed is None:
        report.skipped.append("secrets not checked: this keyring cannot list its items")
        return
    for record in records:
        lost = {key for key in record.secret_fields if f"{record.id}:{key}" not in listed}
        if not lost:
            continue
        message = (f"The keyring no longer has the saved {', '.join(sorted(lost))}: edit the connection to enter "
                   "it again.")
        with contextlib.suppress(InstanceNotFound):
            if store.drop_secret_fields(record.id, lost, message) is not None:
                report.missing[record.name] = sorted(lost)


def _writer_alive(entry: dict) -> bool:
    """Is the process that wrote this note still running (so its operation may still finish)?"""
    if time.time() - float(entry.get("at", 0)) > STALE_AFTER_S:
        return False
    if entry.get("host") != socket.gethostname():
        return True  # another machine's process: only age tells
    from connhub.core.processes import pid_alive

    return pid_alive(int(entry.get("pid", 0)))
