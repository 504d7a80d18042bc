"""`connhub`: the GUI by default, and sub-commands for scripts and CI over the same services.

Exit codes: 0 success, 1 a test failed (or an operation was refused), 2 a usage error.
Secrets are never taken from arguments: a hidden prompt, `--secret-stdin FIELD` or `--secret-env FIELD=VAR`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from connhub import __version__
from connhub.cli_oauth import add_parser as add_signin_parser
from connhub.cli_oauth import cmd_signin, pending_tokens

MASK = "********"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connhub", description="Manage and test connections to services.")
    parser.add_argument("--version", action="version", version=f"connhub {__version__}")
    parser.add_argument("--data-dir", type=Path, help="where connhub keeps its database (default: the "
                        "platform's user data dir; also CONNHUB_DATA_DIR)")
    parser.add_argument("-w", "--workspace", default=os.environ.get("CONNHUB_WORKSPACE") or "default",
                        help="the workspace to work in (default: 'default'; also CONNHUB_WORKSPACE)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("gui", help="open the window (the default)")

    p = sub.add_parser("types", help="list integration types")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("list", help="list saved instances")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("show", help="show one instance (secrets masked)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("add", help="save a new instance")
    p.add_argument("type")
    p.add_argument("name")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="FIELD=VALUE",
                   help="a non-secret field value (repeatable)")
    p.add_argument("--secret-stdin", action="append", default=[], metavar="FIELD",
                   help="read this secret field from standard input (one line)")
    p.add_argument("--secret-env", action="append", default=[], metavar="FIELD=VAR",
                   help="read this secret field from an environment variable")
    p.add_argument("--no-prompt", action="store_true", help="never prompt for secrets")
    p.add_argument("--tag", dest="tags", action="append", default=[])
    p.add_argument("--env", dest="environment", choices=("dev", "staging", "prod"),
                   help="the environment it belongs to (prod ones are marked and confirmed in the window)")
    url = p.add_mutually_exclusive_group()
    url.add_argument("--url", metavar="URL", help="fill the fields from a connection URL without a password, "
                     "e.g. postgres://user@host:5432/db (--set overrides its values)")
    url.add_argument("--url-stdin", action="store_true", help="read the connection URL from standard input "
                     "(the first line, before any --secret-stdin): for a URL that holds a password")
    url.add_argument("--url-env", metavar="VAR", help="read the connection URL from this environment variable: "
                     "for a URL that holds a password")

    p = sub.add_parser("remove", help="delete an instance and its keyring entries")
    p.add_argument("name")

    p = sub.add_parser("test", help="test saved instances (exit 1 if any fails)")
    p.add_argument("names", nargs="*")
    p.add_argument("--all", action="store_true")
    p.add_argument("--json", action="store_true", help="one JSON object per instance, one per line")
    p.add_argument("--timeout", type=float, help="seconds per test (default: the saved setting, 10)")

    p = sub.add_parser("settings", help="show or change settings")
    p.add_argument("--timeout", type=float, help="default test timeout in seconds")
    p.add_argument("--concurrency", type=int, help="how many tests `test --all` and the window's Test all run at "
                   "once (1-64, default 8)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("events", help="list the events a type can send")
    p.add_argument("type")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("validate-event", help="check an event payload against its schema (exit 1 if invalid)")
    p.add_argument("type")
    p.add_argument("event")
    p.add_argument("file", help="the payload: a JSON file, or - for standard input")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("config", help="show or change a type's app-level (cfg:) settings, shared by all its "
                       "instances")
    p.add_argument("type", nargs="?", help="the type (all types that have such settings when left out)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="cfg:FIELD=VALUE",
                   help="a non-secret setting (repeatable); an empty VALUE goes back to the default")
    p.add_argument("--secret-stdin", action="append", default=[], metavar="cfg:FIELD",
                   help="read this secret setting from standard input (one line)")
    p.add_argument("--secret-env", action="append", default=[], metavar="cfg:FIELD=VAR",
                   help="read this secret setting from an environment variable")
    p.add_argument("--unset", action="append", default=[], metavar="cfg:FIELD",
                   help="remove a setting (a secret also from the keyring)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("workspaces", help="list workspaces, or create one")
    p.add_argument("--create", metavar="NAME", help="create an empty workspace")
    p.add_argument("--json", action="store_true")

    sub.add_parser("manifest-schema", help="print the JSON Schema of manifest.json, for plugin authors")
    from connhub import cli_monitor

    cli_monitor.add_parsers(sub)
    from connhub.cli_transfer import add_parsers as add_transfer_parsers

    add_transfer_parsers(sub)  # export, import
    add_signin_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.data_dir:
        os.environ["CONNHUB_DATA_DIR"] = str(args.data_dir)
    if args.command in (None, "gui"):
        from connhub.gui.app import run_gui

        return run_gui()
    if args.command == "manifest-schema":
        from connhub.core.manifest import manifest_json_schema

        print(json.dumps(manifest_json_schema(), indent=2))
        return EXIT_OK

    from connhub.plugins.registry import UnknownType
    from connhub.services.hub import Hub, InvalidValues, TypeDisabled
    from connhub.services.logs import setup_logging
    from connhub.storage.repository import InstanceNotFound, NameTaken
    from connhub.storage.vault import VaultError

    hub = Hub(workspace=" ".join(args.workspace.split()) or "default")
    setup_logging(hub.data_dir)
    try:
        if args.command in RECONCILING:
            _reconcile(hub)
        return COMMANDS[args.command](hub, args)
    except UsageError as exc:
        print(f"connhub: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidValues as exc:
        for key, message in sorted(exc.errors.items()):
            print(f"connhub: {key}: {message}", file=sys.stderr)
        return EXIT_USAGE
    except (InstanceNotFound, NameTaken) as exc:
        print(f"connhub: {exc.args[0]}", file=sys.stderr)
        return EXIT_USAGE
    except (UnknownType, TypeDisabled) as exc:
        print(f"connhub: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except VaultError as exc:
        print(f"connhub: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        hub.close()


#: Commands that read or write instances settle first what a killed connhub left behind (services/reconcile.py).
RECONCILING = {"list", "show", "add", "remove", "test"}


def _reconcile(hub) -> None:
    """The journal part only: one query, no keyring call unless a process died mid-operation. The keyring
    listing (secrets lost outside connhub) is left to the window, which can show it."""
    try:
        hub.reconcile(check_missing=False)
    except Exception as exc:  # noqa: BLE001 - a repair that cannot run must not stop the command
        print(f"connhub: warning: could not check the keyring journal ({type(exc).__name__})", file=sys.stderr)


def cmd_types(hub, args) -> int:
    from connhub.frozen import PLUGINS_UNSUPPORTED, is_frozen

    entries = hub.registry.entries()
    if is_frozen():  # on stderr, so that the list (and --json) stays the same
        print(PLUGINS_UNSUPPORTED, file=sys.stderr)
    if args.json:
        print(json.dumps([{"type": e.type, "name": e.name, "group": e.manifest.group if e.manifest else None,
                           "source": e.source, "ok": e.ok, "error": e.error} for e in entries], indent=2))
        return EXIT_OK
    for e in entries:
        group = e.manifest.group if e.manifest else "-"
        state = "" if e.ok else f"  DISABLED: {e.error}"
        print(f"{e.type:<14} {e.name:<22} {group:<14}{state}")
    return EXIT_OK


def _record_dict(record, masked_secrets: bool = True) -> dict[str, Any]:
    data = {
        "id": record.id, "name": record.name, "type": record.type, "workspace": record.workspace,
        "summary": record.summary, "status": record.status, "tags": record.tags,
        "environment": record.environment,
        "last_test_at": record.last_test_at.isoformat() if record.last_test_at else None,
        "last_latency_ms": record.last_latency_ms, "last_error_class": record.last_error_class,
        "last_message": record.last_message, "error_count": record.error_count,
    }
    from connhub.cli_monitor import monitor_dict

    data.update(monitor_dict(record))
    if masked_secrets:
        data["config"] = {**record.config, **{k: MASK for k in record.secret_fields}}
    return data


def cmd_list(hub, args) -> int:
    records = hub.instances()
    if args.json:
        print(json.dumps([_record_dict(r, masked_secrets=False) for r in records], indent=2))
        return EXIT_OK
    if not records:
        print("No instances yet. Add one with `connhub add TYPE NAME` or in the window.")
    for r in records:
        print(f"{r.name:<24} {r.type:<10} {r.status:<9} {r.summary}")
    return EXIT_OK


def cmd_show(hub, args) -> int:
    record = hub.find(args.name)
    data = _record_dict(record)
    if args.json:
        print(json.dumps(data, indent=2))
        return EXIT_OK
    for key in ("name", "type", "summary", "status", "last_message"):
        if data[key]:
            print(f"{key:<13} {data[key]}")
    from connhub.cli_monitor import monitor_text

    print(f"{'monitoring':<13} {monitor_text(record)}")
    for key, value in sorted(data["config"].items()):
        print(f"  {key:<20} {value}")
    return EXIT_OK


def _parse_value(spec, raw: str) -> Any:
    from connhub.core.fields import FieldKind

    if spec.kind is FieldKind.BOOLEAN:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise UsageError(f"{spec.key} takes true or false, not {raw!r}")
    if spec.kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        try:
            return int(raw) if spec.kind is FieldKind.INTEGER else float(raw)
        except ValueError:
            return raw  # left for validation to word ("Enter a whole number"), or a ${env:…} reference
    return raw


def cmd_add(hub, args) -> int:
    from connhub.core.fields import active_keys, all_specs, defaults

    entry = hub.entry(args.type)
    if not entry.ok:
        raise UsageError(f"type {args.type!r} is disabled: {entry.error}")
    specs = {s.key: s for s in all_specs(entry.specs) if not s.app_level}
    values: dict[str, Any] = defaults(entry.specs)
    values.update(_values_from_url(hub, entry, args, specs))
    for item in args.sets:
        key, sep, raw = item.partition("=")
        if not sep:
            # The argument is not echoed: a mistyped `--set password:…` must not print the password.
            raise UsageError(f"--set takes FIELD=VALUE; argument {args.sets.index(item) + 1} of --set has no '='")
        spec = specs.get(key) or next((s for s in specs.values() if s.discriminator == key), None)
        if spec is None:
            raise UsageError(f"{args.type} has no field {key!r}; fields: {', '.join(sorted(specs))}")
        if spec.secret:
            raise UsageError(f"{key} is a secret: pass it with --secret-stdin {key} or --secret-env {key}=VAR, "
                             "or leave it out to be asked")
        values[key] = raw if spec.discriminator == key else _parse_value(spec, raw)
    for key in args.secret_stdin:
        _require_secret_field(specs, key)
        values[key] = sys.stdin.readline().rstrip("\r\n")
    for item in args.secret_env:
        key, sep, var = item.partition("=")
        _require_secret_field(specs, key)
        if not sep or var not in os.environ:
            raise UsageError(f"--secret-env {key}=VAR: environment variable {var or '?'!r} is not set")
        values[key] = os.environ[var]
    later = pending_tokens(entry, values)  # OAuth tokens come from `connhub signin NAME`
    if not args.no_prompt and sys.stdin.isatty():
        for key in sorted(active_keys(entry.specs, values) - later):
            spec = specs.get(key)
            if spec and spec.secret and key not in values:
                import getpass

                typed = getpass.getpass(f"{spec.title} ({key}, empty for none): ")
                if typed:
                    values[key] = typed
    record = hub.create(args.type, args.name, values, tags=args.tags, environment=args.environment,
                        pending_secrets=later)
    print(f"Saved {record.name} ({record.type}) {record.summary}")
    if later and not set(record.secret_fields) & later:
        print(f"Sign it in with: connhub signin {record.name!r}")
    return EXIT_OK


def _values_from_url(hub, entry, args, specs) -> dict[str, Any]:
    """Values from --url, --url-stdin or --url-env ({} without one). The URL is never printed: it may hold a
    password. A password (or token) in a plain --url argument is refused, as are parameters the type does not
    know (reported by name, never dropped)."""
    from connhub.core.urls import UrlError

    if args.url is not None:
        url, source = args.url, "--url"
    elif args.url_stdin:
        # From a terminal, the URL is typed hidden, like a password: it may hold one.
        import getpass

        line = getpass.getpass("Connection URL: ") if sys.stdin.isatty() else sys.stdin.readline()
        url, source = line.rstrip("\r\n"), "--url-stdin"
    elif args.url_env is not None:
        if args.url_env not in os.environ:
            raise UsageError(f"--url-env: environment variable {args.url_env!r} is not set")
        url, source = os.environ[args.url_env], "--url-env"
    else:
        return {}
    try:
        parsed = hub.values_from_url(entry.type, url)
    except UrlError as exc:
        raise UsageError(f"{source}: {exc}") from None
    carried = sorted(k for k, v in parsed.values.items() if k in specs and specs[k].secret and v not in (None, ""))
    if source == "--url" and carried:
        raise UsageError(f"--url: the URL holds a secret ({', '.join(carried)}) and secrets are never taken from "
                         "arguments (other users and your shell history can see them): pass the URL with "
                         "--url-stdin or --url-env VAR instead")
    if parsed.unknown_params:
        known = sorted(entry.manifest.url.query) if entry.manifest.url else []
        offer = f"; it knows {', '.join(known)}" if known else ""
        raise UsageError(f"{source}: the URL has parameters {entry.type} does not know: "
                         f"{', '.join(parsed.unknown_params)} (remove them{offer})")
    return parsed.values


def _require_secret_field(specs, key: str) -> None:
    if key not in specs or not specs[key].secret:
        secret = sorted(k for k, s in specs.items() if s.secret)
        raise UsageError(f"{key!r} is not a secret field of this type; secret fields: {', '.join(secret)}")


def cmd_remove(hub, args) -> int:
    record = hub.find(args.name)
    hub.delete(record.id)
    print(f"Removed {record.name}")
    return EXIT_OK


def cmd_test(hub, args) -> int:
    if args.all == bool(args.names):
        raise UsageError("name the instances to test, or pass --all (not both)")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    records = hub.instances() if args.all else [hub.find(name) for name in args.names]
    import asyncio

    results = asyncio.run(_test_all(hub, records, args.timeout, hub.concurrency))
    for record, result in zip(records, results, strict=True):
        if args.json:
            print(json.dumps({
                "name": record.name, "type": record.type, "ok": result.ok,
                "error_class": result.error_class.value if result.error_class else None,
                "message": result.message, "hint": result.hint or None, "latency_ms": result.latency_ms,
                "server_version": result.server_version, "failed_stage": result.failed_stage,
                "stages": [vars(s) for s in result.stages]}))
        elif result.ok:
            print(f"ok    {record.name:<24} {result.latency_ms:>8.1f} ms  {result.server_version or ''}")
        else:
            print(f"FAIL  {record.name:<24} [{result.error_class}] {result.message}\n      hint: {result.hint}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


async def _test_all(hub, records, timeout: float | None, concurrency: int = 8):
    import asyncio

    gate = asyncio.Semaphore(concurrency)

    async def one(record):
        async with gate:
            return await hub.test_instance(record, timeout=timeout)

    return await asyncio.gather(*(one(r) for r in records))


def cmd_settings(hub, args) -> int:
    if args.timeout is not None:
        try:
            hub.set_default_timeout(args.timeout)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.concurrency is not None:
        try:
            hub.set_concurrency(args.concurrency)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    data = {"default_timeout": hub.default_timeout, "concurrency": hub.concurrency, "data_dir": str(hub.data_dir),
            "keyring": hub.vault.status().backend}
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:<16} {value}")
    return EXIT_OK


# --- events ------------------------------------------------------------------------------------------------

def cmd_events(hub, args) -> int:
    events = hub.events(args.type)
    if args.json:
        print(json.dumps([{"type": e.type, "description": e.description, "schema": e.schema_path} for e in events],
                         indent=2))
        return EXIT_OK
    if not events:
        print(f"{args.type} declares no events.")
    width = max((len(e.type) for e in events), default=0)
    for e in events:
        print(f"{e.type:<{width}}  {e.description}")
    return EXIT_OK


def cmd_validate_event(hub, args) -> int:
    from connhub.services.events import EventSchemaError, PayloadSyntaxError, UnknownEvent, find_event, parse_payload

    try:
        find_event(hub.usable_entry(args.type), args.event)
    except UnknownEvent as exc:
        raise UsageError(str(exc)) from None
    name = "standard input" if args.file == "-" else args.file
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{name} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        payload = parse_payload(text)
    except PayloadSyntaxError as exc:
        raise UsageError(f"{name} is not valid JSON: line {exc.line}, column {exc.column}: {exc.message}") from None
    try:
        errors = hub.validate_event(args.type, args.event, payload)
    except EventSchemaError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps({"type": args.type, "event": args.event, "file": args.file, "valid": not errors,
                          "errors": [{"path": e.path, "message": e.message} for e in errors]}, indent=2))
    elif errors:
        print(f"invalid: {name} is not a valid {args.type} {args.event} payload "
              f"({len(errors)} error{'s' if len(errors) != 1 else ''})")
        for error in errors:
            print(f"  {error.path}: {error.message}")
    else:
        print(f"valid: {name} is a valid {args.type} {args.event} payload")
    return EXIT_FAILED if errors else EXIT_OK


# --- app-level settings ------------------------------------------------------------------------------------

def cmd_config(hub, args) -> int:
    from connhub.core.fields import all_specs
    from connhub.services.hub import app_specs

    changing = bool(args.sets or args.secret_stdin or args.secret_env or args.unset)
    if args.type is None:
        if changing:
            raise UsageError("name the type whose settings to change: connhub config TYPE --set cfg:FIELD=VALUE")
        saved = hub.all_app_settings()
        shown = [_app_config_dict(e, saved.get(e.type)) for e in hub.app_types()]
        if args.json:
            print(json.dumps(shown, indent=2))
        elif not shown:
            print("No type has app-level settings.")
        for data in [] if args.json else shown:
            _print_app_config(data)
        return EXIT_OK
    entry = hub.usable_entry(args.type)
    specs = {}
    for spec in all_specs(app_specs(entry)):
        specs[spec.discriminator or spec.key] = spec
    if not specs:
        having = ", ".join(e.type for e in hub.app_types()) or "none"
        raise UsageError(f"{args.type} has no app-level settings (no cfg: fields); types that have some: {having}")

    def field(key: str):
        spec = specs.get(key if key.startswith("cfg:") else f"cfg:{key}")
        if spec is None:
            raise UsageError(f"{args.type} has no app-level setting {key!r}; its settings: {', '.join(specs)}")
        return spec

    values: dict[str, Any] = {}
    for index, item in enumerate(args.sets, start=1):
        key, sep, raw = item.partition("=")
        if not sep:  # not echoed: a mistyped `--set cfg:secret:…` must not print the secret
            raise UsageError(f"--set takes cfg:FIELD=VALUE; argument {index} of --set has no '='")
        spec = field(key)
        if spec.secret:
            raise UsageError(f"{spec.key} is a secret: pass it with --secret-stdin {spec.key} or --secret-env "
                             f"{spec.key}=VAR")
        name = spec.discriminator or spec.key
        values[name] = raw if raw == "" or name == spec.discriminator else _parse_value(spec, raw)
    for key in args.secret_stdin:
        spec = _app_secret(field(key))
        values[spec.key] = sys.stdin.readline().rstrip("\r\n")
        if not values[spec.key]:
            raise UsageError(f"--secret-stdin {spec.key}: standard input gave an empty line (to remove the secret, "
                             f"use --unset {spec.key})")
    for item in args.secret_env:
        key, sep, var = item.partition("=")
        spec = _app_secret(field(key))
        if not sep or not os.environ.get(var):
            raise UsageError(f"--secret-env {spec.key}=VAR: environment variable {var or '?'!r} is not set or empty")
        values[spec.key] = os.environ[var]
    unset = [(field(key).discriminator or field(key).key) for key in args.unset]
    if changing:
        saved = hub.set_app_settings(args.type, values, unset)
        if not args.json:
            print(f"Saved the app-level settings of {entry.name}.")
    else:
        saved = hub.app_settings(args.type)
    data = _app_config_dict(entry, saved)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print_app_config(data)
    return EXIT_OK


def _app_secret(spec):
    if not spec.secret:
        raise UsageError(f"{spec.key} is not a secret: pass it with --set {spec.key}=VALUE")
    return spec


def _app_config_dict(entry, saved) -> dict[str, Any]:
    """A type's app-level settings for people and scripts; a saved secret shows as the mask, never its value."""
    from connhub.core.fields import FieldKind, all_specs
    from connhub.services.hub import app_specs

    values = saved.values if saved else {}
    secrets = set(saved.secret_fields) if saved else set()
    settings = {}
    for spec in all_specs(app_specs(entry)):
        key = spec.discriminator if spec.kind is FieldKind.CHOICE else spec.key
        is_set = key in secrets if spec.secret else key in values
        value = (MASK if is_set else None) if spec.secret else values.get(key)
        settings[key] = {"title": spec.title, "secret": spec.secret, "set": is_set, "value": value,
                         "default": None if spec.secret else spec.default}
    return {"type": entry.type, "name": entry.name, "settings": settings}


def _print_app_config(data: dict[str, Any]) -> None:
    print(f"{data['name']} ({data['type']})")
    width = max((len(k) for k in data["settings"]), default=0)
    for key, item in data["settings"].items():
        if item["set"]:
            shown = item["value"] if isinstance(item["value"], str) else json.dumps(item["value"])
        elif item["default"] is not None:
            shown = f"{json.dumps(item['default'])} (default)"
        else:
            shown = "(not set)"
        print(f"  {key:<{width}}  {shown}")


def cmd_workspaces(hub, args) -> int:
    if args.create:
        name = hub.add_workspace(args.create)
        print(f"Created workspace {name!r}: use it with `connhub -w {json.dumps(name)} …`")
        return EXIT_OK
    names = hub.workspaces()
    if args.json:
        print(json.dumps(names))
    else:
        for name in names:
            print(f"{'*' if name == hub.workspace else ' '} {name}")
    return EXIT_OK


def _lazy(module: str, name: str):
    """A command implemented in another module, imported only when it runs (start-up stays light)."""
    def run(hub, args) -> int:
        import importlib

        return getattr(importlib.import_module(f"connhub.{module}"), name)(hub, args)

    return run


COMMANDS = {"workspaces": cmd_workspaces, "types": cmd_types, "list": cmd_list, "show": cmd_show, "add": cmd_add,
            "remove": cmd_remove, "test": cmd_test, "settings": cmd_settings, "events": cmd_events,
            "validate-event": cmd_validate_event, "config": cmd_config,
            "monitor": _lazy("cli_monitor", "cmd_monitor"), "watch": _lazy("cli_monitor", "cmd_watch"),
            "export": _lazy("cli_transfer", "cmd_export"), "import": _lazy("cli_transfer", "cmd_import"),
            "signin": cmd_signin}
