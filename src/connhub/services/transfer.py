"""Export and import of instances: plain JSON without secrets, or a passphrase-encrypted bundle with them.

A plain export marks each secret with a placeholder and never carries its value. A bundle is the same document
with the secrets, sealed with AES-256-GCM under a key derived from the passphrase by scrypt; the header (format,
KDF parameters, nonce) is authenticated too, so a wrong passphrase and a tampered file are both refused before
anything is written. Import is two steps: `plan_import` matches each incoming instance to an existing one by
name and type, the caller decides skip / overwrite / keep both, and `apply_import` writes only after every
incoming instance has been checked.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connhub.core.reading import DocumentError, DocumentTooDeep, parse_document
from connhub.core.records import InvalidValues

if TYPE_CHECKING:
    from connhub.core.records import InstanceRecord
    from connhub.services.instances import Instances
    from connhub.services.secrets import Secrets
    from connhub.services.types import Types

EXPORT_FORMAT = "connhub-export"
BUNDLE_FORMAT = "connhub-bundle"
VERSION = 1
#: Written in place of every secret of a plain export.
SECRET_PLACEHOLDER = "<secret not exported>"
#: scrypt cost: 2**15 × 8 × 1 uses 32 MiB — slow for guessing, quick for one import (DESIGN.md, Figures).
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
MAX_IMPORT_BYTES = 32 * 1024 * 1024


class TransferError(ValueError):
    """An import that cannot go ahead (wrong passphrase, tampered or malformed file); nothing was written."""


class Decision(StrEnum):
    SKIP = "skip"
    OVERWRITE = "overwrite"
    KEEP_BOTH = "keep_both"


@dataclass
class Incoming:
    """One instance of an import file, and the saved instance it would replace (same name and type)."""

    name: str
    type: str
    values: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    environment: str | None = None
    #: Secret fields the file names without a value (a plain export): the user fills them in later.
    missing_secrets: list[str] = field(default_factory=list)
    existing: InstanceRecord | None = None

    @property
    def default_decision(self) -> Decision:
        return Decision.SKIP if self.existing is not None else Decision.KEEP_BOTH


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    overwritten: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


# --- export ----------------------------------------------------------------------------------------------

def seal(plaintext: bytes, passphrase: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    header = {"format": BUNDLE_FORMAT, "version": VERSION, "cipher": "AES-256-GCM",
              "kdf": {"name": "scrypt", **SCRYPT, "salt": _b64(os.urandom(16))}, "nonce": _b64(os.urandom(12))}
    key = _derive(passphrase, header["kdf"])
    ciphertext = AESGCM(key).encrypt(base64.b64decode(header["nonce"]), plaintext, _aad(header))
    return json.dumps({**header, "ciphertext": _b64(ciphertext)}, indent=2) + "\n"


def unseal(bundle: dict[str, Any], passphrase: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        kdf, nonce, ciphertext = bundle["kdf"], base64.b64decode(bundle["nonce"]), base64.b64decode(bundle["ciphertext"])
        if bundle.get("cipher") != "AES-256-GCM" or kdf.get("name") != "scrypt":
            raise TransferError(f"unsupported bundle cipher {bundle.get('cipher')!r} / KDF {kdf.get('name')!r}")
        key = _derive(passphrase, kdf)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, TransferError):
            raise
        raise TransferError("the bundle's header is damaged: it cannot be decrypted") from None
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, _aad(bundle))
    except (InvalidTag, ValueError):
        raise TransferError("wrong passphrase, or the bundle was changed after it was exported: nothing was "
                            "imported") from None


#: The most a bundle's KDF may cost, checked before deriving: scrypt holds 128·n·r bytes and runs p passes over
#: them, so 256 MiB bounds the memory and (with the passes counted in) the time (DESIGN.md, Figures).
#: connhub's own bundles ask for 32 MiB × 1.
MAX_KDF_BYTES = 256 * 1024 * 1024


def _derive(passphrase: str, kdf: dict[str, Any]) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    if not (2**10 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise TransferError("the bundle asks for scrypt parameters outside the accepted range")
    memory, limit = 128 * n * r, MAX_KDF_BYTES // 2**20
    if memory > MAX_KDF_BYTES:
        raise TransferError(f"the bundle asks for {memory // 2**20} MiB of memory to derive its key (scrypt n={n}, "
                            f"r={r}); connhub allows at most {limit} MiB: it was not exported by connhub, or was "
                            "changed since; nothing was imported")
    if memory * p > MAX_KDF_BYTES:
        raise TransferError(f"the bundle asks for {p} passes over {memory // 2**20} MiB to derive its key (scrypt "
                            f"n={n}, r={r}, p={p}): {memory * p // 2**20} MiB of work, and connhub allows at most "
                            f"{limit} MiB: it was not exported by connhub, or was changed since; nothing was imported")
    return Scrypt(salt=base64.b64decode(kdf["salt"]), length=32, n=n, r=r, p=p).derive(passphrase.encode())


def _aad(header: dict[str, Any]) -> bytes:
    """Everything but the ciphertext, canonically: changing a KDF parameter is tampering too."""
    fields_ = {k: header[k] for k in ("format", "version", "cipher", "kdf", "nonce")}
    return json.dumps(fields_, sort_keys=True, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write_export(path: Path, text: str) -> None:
    """All or nothing (a temporary file renamed over the target), readable by its owner only: a half-written
    bundle would be refused on import, and even a plain export names hosts and users."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- import ----------------------------------------------------------------------------------------------

def is_bundle(text: str) -> bool:
    try:
        return json.loads(text).get("format") == BUNDLE_FORMAT
    except (ValueError, AttributeError):
        return False


_TOO_DEEP = "not a connhub export: it nests lists or objects too deeply"


def _parse(text: str) -> Any:
    """The one bounded reader (core/reading.py): depth counted before parsing, duplicate keys and NaN refused."""
    try:
        return parse_document(text, max_bytes=MAX_IMPORT_BYTES)
    except DocumentTooDeep:
        raise TransferError(_TOO_DEEP) from None
    except DocumentError as exc:
        if exc.reason == "there is nothing to read":
            raise TransferError("not a connhub export: invalid JSON (the file is empty)") from None
        if exc.reason.startswith("is not valid JSON") and exc.line is not None:
            raise TransferError(f"not a connhub export: invalid JSON at line {exc.line}, column {exc.column}") \
                from None
        raise TransferError(f"not a connhub export: the file {exc.reason}" if exc.reason.startswith("is ")
                            else f"not a connhub export: {exc.reason}") from None


def read_import(text: str | bytes, passphrase: str | None = None) -> dict[str, Any]:
    """The export document inside a file (its text, or its bytes as read): a plain export as is, a bundle
    decrypted with the passphrase."""
    if len(text) > MAX_IMPORT_BYTES:
        raise TransferError("the file is larger than 32 MB: not a connhub export")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TransferError(f"not a connhub export: the file is not UTF-8 text (byte {exc.start})") from None
    document = _parse(text)
    if not isinstance(document, dict) or document.get("format") not in (EXPORT_FORMAT, BUNDLE_FORMAT):
        raise TransferError("not a connhub export: the file has no \"format\": \"connhub-export\" or "
                            "\"connhub-bundle\"")
    if document.get("version") != VERSION:
        raise TransferError(f"this connhub reads export version {VERSION}, the file is version "
                            f"{document.get('version')!r}: update connhub")
    if document["format"] == BUNDLE_FORMAT:
        if not passphrase:
            raise TransferError("the file is an encrypted bundle: give its passphrase")
        try:
            document = parse_document(unseal(document, passphrase), max_bytes=MAX_IMPORT_BYTES)
        except DocumentError:
            raise TransferError("the bundle decrypted to something that is not an export") from None
    if not isinstance(document.get("instances"), list):
        raise TransferError("not a connhub export: \"instances\" must be a list")
    return document


def _incoming(item: Any) -> Incoming:
    if not isinstance(item, dict):
        raise TransferError("each instance must be an object")
    name, type_name = item.get("name"), item.get("type")
    if not isinstance(name, str) or not name.strip() or not isinstance(type_name, str):
        raise TransferError("each instance needs a \"name\" and a \"type\" (strings)")
    config, secrets = item.get("config", {}), item.get("secrets", {})
    tags, environment = item.get("tags", []), item.get("environment")
    if not isinstance(config, dict) or not isinstance(secrets, dict) or not isinstance(tags, list):
        raise TransferError("\"config\" and \"secrets\" must be objects, \"tags\" a list")
    if any(not isinstance(v, str) for v in secrets.values()):
        raise TransferError("secret values must be strings")
    missing = sorted(k for k, v in secrets.items() if v == SECRET_PLACEHOLDER)
    given = {k: v for k, v in secrets.items() if v != SECRET_PLACEHOLDER}
    return Incoming(name=name.strip(), type=type_name, values={**config, **given}, tags=[str(t) for t in tags],
                    environment=environment if isinstance(environment, str) else None, missing_secrets=missing)


def saved_names(plan: list[Incoming], decisions: dict[int, Decision] | None, taken: set[str]) -> dict[int, str | None]:
    """The name each incoming instance will be saved under (None: skipped; an overwrite keeps the existing
    name). The preview shows exactly what `apply_import` then writes: one computation for both. `taken` (the
    workspace's names, read once) spares a preview the database read on every change of a decision."""
    taken = set(taken)
    names: dict[int, str | None] = {}
    for index, incoming in enumerate(plan):
        decision = decision_for(plan, index, decisions)
        if decision is Decision.SKIP:
            names[index] = None
        elif decision is Decision.OVERWRITE:
            names[index] = incoming.existing.name
        else:
            name, n = incoming.name, 1
            while name in taken:  # by this or another type: "keep both" saves it under a free name
                name = f"{incoming.name} (imported)" if n == 1 else f"{incoming.name} (imported {n})"
                n += 1
            taken.add(name)
            names[index] = name
    return names


def decision_for(plan: list[Incoming], index: int, decisions: dict[int, Decision] | None) -> Decision:
    """The decision for one entry: the caller's, else the default (skip a match, create the rest). Overwrite
    without a match means create."""
    decision = (decisions or {}).get(index, plan[index].default_decision)
    if decision is Decision.OVERWRITE and plan[index].existing is None:
        return Decision.KEEP_BOTH
    return decision


def still_missing(plan: list[Incoming], index: int, decisions: dict[int, Decision] | None = None) -> list[str]:
    """Secret fields the saved instance will lack after the import (placeholders of a plain export). An
    overwrite keeps the secrets already saved, so only those the existing instance lacks count."""
    incoming = plan[index]
    decision = decision_for(plan, index, decisions)
    if decision is Decision.SKIP:
        return []
    if decision is Decision.OVERWRITE:
        return [k for k in incoming.missing_secrets if k not in incoming.existing.secret_fields]
    return list(incoming.missing_secrets)


# --- the use cases ---------------------------------------------------------------------------------------

class Transfer:
    """Export to a file and import from one: the use cases, over the instances, their types and secrets."""

    def __init__(self, instances: Instances, types: Types, secrets: Secrets):
        self._instances = instances
        self._types = types
        self._secrets = secrets

    def export_document(self, records: Iterable[InstanceRecord], *, with_secrets: bool) -> dict[str, Any]:
        """The export as a dict; secrets are read from the keyring only when they are to be included."""
        instances = []
        for record in records:
            secrets = self._secrets.known(record) if with_secrets else {}
            instances.append({
                "name": record.name, "type": record.type, "config": dict(record.config),
                "secrets": {key: secrets.get(key, SECRET_PLACEHOLDER) if with_secrets else SECRET_PLACEHOLDER
                            for key in record.secret_fields},
                "tags": list(record.tags), "environment": record.environment,
            })
        return {"format": EXPORT_FORMAT, "version": VERSION, "exported_at": datetime.now(UTC).isoformat(),
                "instances": instances}


    def export_plain(self, records: Iterable[InstanceRecord]) -> str:
        return json.dumps(self.export_document(records, with_secrets=False), indent=2, ensure_ascii=False) + "\n"


    def export_bundle(self, records: Iterable[InstanceRecord], passphrase: str) -> str:
        if len(passphrase) < 8:
            raise TransferError("the passphrase must have at least 8 characters")
        plaintext = json.dumps(self.export_document(records, with_secrets=True), ensure_ascii=False).encode()
        return seal(plaintext, passphrase)


    def plan_import(self, document: dict[str, Any]) -> list[Incoming]:
        """Every incoming instance checked (known type, valid values) and matched to an existing one by name and
        type. Raises TransferError naming each bad entry; nothing is written either way."""
        existing = {(r.name.casefold(), r.type): r for r in self._instances.list()}
        plan, problems = [], []
        for index, item in enumerate(document["instances"]):
            where = f"instance {index + 1}"
            try:
                incoming = _incoming(item)
                where = f"instance {index + 1} ({incoming.name[:80]!r})"
                entry = self._types.entry(incoming.type)
                if entry.manifest is None:
                    raise TransferError(f"type {incoming.type!r} is disabled here: {entry.error}")
                incoming.name, incoming.tags = self._instances.check(
                    incoming.type, incoming.name, incoming.values, tags=incoming.tags,
                    environment=incoming.environment, pending_secrets=incoming.missing_secrets)
            except (TransferError, InvalidValues) as exc:
                problems.append(f"{where}: {exc}")
                continue
            except LookupError:
                problems.append(f"{where}: unknown type {item.get('type')!r}")
                continue
            incoming.existing = existing.get((incoming.name.casefold(), incoming.type))
            plan.append(incoming)
        if problems:
            raise TransferError("nothing was imported:\n" + "\n".join(problems))
        return plan


    def saved_names(self, plan: list[Incoming], decisions: dict[int, Decision] | None = None) -> dict[int, str | None]:
        return saved_names(plan, decisions, {r.name for r in self._instances.list()})


    def missing_note(self, type_name: str, missing: list[str]) -> str | None:
        """ "needs a password before it can be tested": the secrets a plain export left out, by their titles."""
        if not missing:
            return None
        from connhub.core.fields import all_specs

        titles = {s.key: s.title for s in all_specs(self._types.entry(type_name).specs)}
        words = [titles.get(key, key).lower() for key in missing]
        if len(words) == 1:
            article = "an" if words[0][:1] in "aeiou" else "a"
            what = f"{article} {words[0]}"
        else:
            what = ", ".join(words[:-1]) + f" and {words[-1]}"
        return f"needs {what} before it can be tested"


    def apply_import(self, plan: list[Incoming], decisions: dict[int, Decision] | None = None) -> ImportReport:
        """Write the plan; `decisions` maps a plan index to skip / overwrite / keep both (default: skip a match,
        create the rest). "Keep both" saves the incoming one under a free name. All or nothing: every entry was
        checked by the plan, and if a write still fails half-way (the keyring refuses, say), the instances this
        import created are removed and the ones it overwrote are put back, secrets included, before the error is
        raised."""
        report = ImportReport()
        names = self.saved_names(plan, decisions)
        created_ids: list[str] = []
        overwritten: list[tuple[InstanceRecord, dict[str, str]]] = []
        try:
            for index, incoming in enumerate(plan):
                decision = decision_for(plan, index, decisions)
                if decision is Decision.SKIP:
                    report.skipped.append(incoming.name)
                elif decision is Decision.OVERWRITE:
                    before = self._instances.get(incoming.existing.id)
                    overwritten.append((before, self._secrets.known(before)))
                    self._instances.update(incoming.existing.id, incoming.values, tags=incoming.tags,
                                          environment=incoming.environment or "")
                    report.overwritten.append(incoming.name)
                else:
                    record = self._instances.create(incoming.type, names[index], incoming.values, tags=incoming.tags,
                                                   environment=incoming.environment, pending_secrets=incoming.missing_secrets)
                    created_ids.append(record.id)
                    report.created.append(record.name)
        except BaseException:
            for instance_id in reversed(created_ids):
                with contextlib.suppress(Exception):
                    self._instances.delete(instance_id)
            for before, secrets in reversed(overwritten):
                with contextlib.suppress(Exception):
                    self._instances.update(before.id, {**before.config, **secrets}, tags=before.tags,
                                           environment=before.environment or "", secret_mode=before.secret_mode)
            raise
        return report
