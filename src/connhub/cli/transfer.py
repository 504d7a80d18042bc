"""`connhub export` and `connhub import`: the CLI side of services/transfer.py.

Passphrases follow the secrets rule of the CLI: never from arguments; from an environment variable, one line of
standard input, or a hidden prompt on a terminal. A refused import (wrong passphrase, tampered or malformed file,
a bad entry) exits 1 with the reason and writes nothing.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from connhub.cli.common import EXIT_FAILED, EXIT_OK, UsageError, read_json_input, safe

CONFLICT_CHOICES = {"skip": "skip", "overwrite": "overwrite", "keep-both": "keep_both"}


def add_parsers(sub) -> None:
    p = sub.add_parser("export", help="export instances as JSON (no secrets) or an encrypted bundle (with them)",
                       description="Export instances. A plain export marks every secret with a placeholder; "
                       "--encrypt seals the secrets too, with a passphrase (scrypt + AES-256-GCM).")
    p.add_argument("names", nargs="*", metavar="NAME")
    p.add_argument("--all", action="store_true", help="export every instance")
    p.add_argument("--encrypt", action="store_true", help="an encrypted bundle, secrets included")
    _passphrase_options(p)
    p.add_argument("-o", "--output", default="-", metavar="FILE",
                   help="where to write it (default: - for standard output; a bundle is not written to a terminal)")

    p = sub.add_parser("import", help="import an export or a bundle, with a preview of what it does",
                       description="Import instances. Each incoming instance is matched to a saved one by name "
                       "and type; --on-conflict decides what happens to a match (new ones are created).")
    p.add_argument("file", help="the export or bundle; - for standard input")
    _passphrase_options(p)
    p.add_argument("--on-conflict", choices=sorted(CONFLICT_CHOICES), default="skip",
                   help="what to do with an instance of the same name and type (default: skip)")
    p.add_argument("--dry-run", action="store_true", help="show the preview, write nothing")
    p.add_argument("--json", action="store_true", help="the preview and the outcome as one JSON object")


def _passphrase_options(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--passphrase-env", metavar="VAR", help="read the passphrase from this environment variable")
    group.add_argument("--passphrase-stdin", action="store_true",
                       help="read the passphrase from standard input (one line)")


def _passphrase(args, *, confirm: bool, why: str) -> str:
    """From --passphrase-env, --passphrase-stdin or (on a terminal) a hidden prompt; never empty."""
    if args.passphrase_env is not None:
        if args.passphrase_env not in os.environ:
            raise UsageError(f"--passphrase-env: environment variable {args.passphrase_env!r} is not set")
        passphrase = os.environ[args.passphrase_env]
    elif args.passphrase_stdin:
        passphrase = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        passphrase = getpass.getpass("Passphrase: ")
        if confirm and passphrase and getpass.getpass("Passphrase again: ") != passphrase:
            raise UsageError("the two passphrases differ: nothing was written")
    else:
        raise UsageError(f"{why}: give the passphrase with --passphrase-env VAR or --passphrase-stdin")
    if not passphrase:
        raise UsageError("the passphrase is empty")
    return passphrase


# --- export --------------------------------------------------------------------------------------------

def cmd_export(hub, args) -> int:

    if args.all == bool(args.names):
        raise UsageError("name the instances to export, or pass --all (not both)")
    if not args.encrypt and (args.passphrase_env is not None or args.passphrase_stdin):
        raise UsageError("a passphrase is only used with --encrypt")
    to_stdout = args.output == "-"
    if args.encrypt and to_stdout and sys.stdout.isatty():
        raise UsageError("an encrypted bundle is not written to a terminal: pass -o FILE (or redirect the output)")
    if not to_stdout:
        _check_target(Path(args.output))  # before a passphrase is asked for
    records = hub.instances.list() if args.all else [hub.instances.find(name) for name in args.names]
    if args.encrypt:
        passphrase = _passphrase(args, confirm=True, why="--encrypt needs a passphrase")
        if len(passphrase) < 8:
            raise UsageError("the passphrase must have at least 8 characters")
        text = hub.transfer.export_bundle(records, passphrase)
    else:
        text = hub.transfer.export_plain(records)
    kind = "encrypted bundle, secrets included" if args.encrypt else "plain JSON, no secrets"
    if to_stdout:
        sys.stdout.write(text)
        sys.stdout.flush()
        print(f"Exported {_count(len(records))} ({kind}).", file=sys.stderr)
    else:
        _write_file(Path(args.output), text)
        print(f"Exported {_count(len(records))} to {safe(args.output)} ({kind}).")
    return EXIT_OK


def _count(n: int) -> str:
    return f"{n} instance{'s' if n != 1 else ''}"


def _check_target(path: Path) -> None:
    if path.is_symlink():
        raise UsageError(f"{path} is a symbolic link: connhub does not write an export through one (remove it, "
                         "or choose another path); nothing was written")


def _write_file(path: Path, text: str) -> None:
    """All or nothing, 0600 (services/transfer.py's write_export: a temporary file renamed over the target);
    never through a symbolic link planted at the path, which could point at a file of the user's."""
    from connhub.services.transfer import write_export

    _check_target(path)
    try:
        write_export(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


# --- import --------------------------------------------------------------------------------------------

def cmd_import(hub, args) -> int:
    from connhub.core.reading import DocumentError
    from connhub.services.transfer import MAX_IMPORT_BYTES, Decision, TransferError, is_bundle, read_import

    if args.file == "-" and args.passphrase_stdin:
        raise UsageError("--passphrase-stdin cannot be used when the file comes from standard input")
    name = "standard input" if args.file == "-" else args.file
    try:
        text = json.dumps(read_json_input(args.file, max_bytes=MAX_IMPORT_BYTES))
    except DocumentError as exc:  # too large (told before it is read whole), not UTF-8, not JSON, too deep
        return _refused(f"nothing was imported: {exc}")
    passphrase = None
    if is_bundle(text):
        passphrase = _passphrase(args, confirm=False, why=f"{name} is an encrypted bundle")
    try:
        document = read_import(text, passphrase)
        plan = hub.transfer.plan_import(document)
    except TransferError as exc:
        return _refused(str(exc))
    wanted = Decision(CONFLICT_CHOICES[args.on_conflict])
    decisions = {i: wanted for i, item in enumerate(plan) if item.existing is not None}
    rows = _preview(hub, plan, decisions)
    report = None
    if not args.dry_run:
        report = hub.transfer.apply_import(plan, decisions)
    if args.json:
        print(json.dumps({"file": args.file, "encrypted": passphrase is not None, "dry_run": args.dry_run,
                          "instances": rows,
                          "created": report.created if report else [],
                          "overwritten": report.overwritten if report else [],
                          "skipped": report.skipped if report else []}, indent=2))
        return EXIT_OK
    _print_preview(name, rows)
    if report is None:
        print("Dry run: nothing was written.")
    else:
        print(f"Imported: {len(report.created)} created, {len(report.overwritten)} overwritten, "
              f"{len(report.skipped)} skipped.")
    return EXIT_OK


def _refused(message: str) -> int:
    print(f"connhub: {safe(message)}", file=sys.stderr)
    return EXIT_FAILED


def _preview(hub, plan, decisions) -> list[dict[str, Any]]:
    """One row per incoming instance: what it matches and what the import does with it. No values at all."""
    from connhub.services.transfer import Decision, decision_for, still_missing

    names = hub.transfer.saved_names(plan, decisions)
    rows = []
    for index, item in enumerate(plan):
        decision = decision_for(plan, index, decisions)
        missing = still_missing(plan, index, decisions)
        rows.append({
            "name": item.name, "type": item.type, "match": "exists" if item.existing is not None else "new",
            "decision": "create" if decision is Decision.KEEP_BOTH and item.existing is None else decision.value,
            "saved_as": names[index], "missing_secrets": missing,
            "note": hub.transfer.missing_note(item.type, missing),
        })
    return rows


def _print_preview(name: str, rows: list[dict[str, Any]]) -> None:
    print(f"{safe(name)}: {_count(len(rows))}")
    if not rows:
        return
    width = max(len(safe(r["name"])) for r in rows)
    type_width = max(len(safe(r["type"])) for r in rows)
    for r in rows:
        match = "same name+type exists" if r["match"] == "exists" else "new"
        decision = r["decision"].replace("_", " ")
        if r["saved_as"] and r["saved_as"] != r["name"]:
            decision += f" → {safe(r['saved_as'])}"
        line = f"  {safe(r['name']):<{width}}  {safe(r['type']):<{type_width}}  {match:<21}  {decision}"
        print(line + (f"  ({safe(r['note'])})" if r["note"] else ""))
