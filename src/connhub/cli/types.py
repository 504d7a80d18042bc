"""`connhub types`, `events`, `validate-event` and `manifest-schema`: what the integration types are and send."""

from __future__ import annotations

import json
import sys

from connhub.cli.common import EXIT_FAILED, EXIT_OK, UsageError, read_json_input, safe

#: An event payload is a webhook body: GitHub caps theirs at 25 MB.
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024


def add_parsers(sub) -> None:
    p = sub.add_parser("types", help="list integration types")
    p.add_argument("--json", action="store_true")
    p.add_argument("--check", action="store_true", help="also say what is wrong with each disabled type or "
                   "action; exit 1 if anything is")

    p = sub.add_parser("new-type", help="scaffold a new integration type folder (manifest, icon, code, tests)")
    p.add_argument("name", help="the type's id: lowercase letters, digits and _, starting with a letter")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--http", action="store_true", help="an HTTP API declared by its manifest alone")
    kind.add_argument("--python", action="store_true", help="a type with code (a DriverIntegration subclass)")
    p.add_argument("--dir", default=".", help="where to create the NAME folder (default: here)")

    p = sub.add_parser("events", help="list the events a type can send")
    p.add_argument("type")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("validate-event", help="check an event payload against its schema (exit 1 if invalid)")
    p.add_argument("type")
    p.add_argument("event")
    p.add_argument("file", help="the payload: a JSON file, or - for standard input")
    p.add_argument("--json", action="store_true")

    sub.add_parser("manifest-schema", help="print the JSON Schema of manifest.json, for plugin authors")


def cmd_types(hub, args) -> int:
    from connhub.frozen import PLUGINS_UNSUPPORTED, is_frozen

    entries = hub.registry.entries()
    if is_frozen():  # on stderr, so that the list (and --json) stays the same
        print(PLUGINS_UNSUPPORTED, file=sys.stderr)
    if args.json:
        print(json.dumps([{"type": e.type, "name": e.name, "group": e.manifest.group if e.manifest else None,
                           "source": e.source, "ok": e.ok, "error": e.error} for e in entries], indent=2))
        return EXIT_OK
    broken = 0
    for e in entries:
        group = e.manifest.group if e.manifest else "-"
        state = "" if e.ok else f"  DISABLED: {safe(e.error)}"
        print(f"{safe(e.type):<14} {safe(e.name):<22} {safe(group):<14}{state}")
        problems = e.manifest.action_problems if e.manifest else {}
        broken += (not e.ok) + len(problems)
        if getattr(args, "check", False):
            for action, why in problems.items():
                print(f"  action {safe(action)} is off: {safe(why)}")
    if getattr(args, "check", False) and broken:
        print(f"{broken} problem{'s' if broken != 1 else ''}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_new_type(hub, args) -> int:
    """Needs no Hub (main() passes None): see cli/scaffold.py."""
    from connhub.cli.common import EXIT_USAGE
    from connhub.cli.scaffold import new_type

    try:
        return new_type(args)
    except UsageError as exc:  # commands without a Hub are not wrapped by main()
        print(f"connhub: {safe(exc)}", file=sys.stderr)
        return EXIT_USAGE


def cmd_events(hub, args) -> int:
    events = hub.types.events(args.type)
    if args.json:
        print(json.dumps([{"type": e.type, "description": e.description, "schema": e.schema_path} for e in events],
                         indent=2))
        return EXIT_OK
    if not events:
        print(f"{safe(args.type)} declares no events.")
    width = max((len(safe(e.type)) for e in events), default=0)
    for e in events:
        print(f"{safe(e.type):<{width}}  {safe(e.description)}")
    return EXIT_OK


def cmd_validate_event(hub, args) -> int:
    from connhub.core.reading import DocumentError
    from connhub.services.events import EventSchemaError, UnknownEvent, find_event

    try:
        find_event(hub.types.usable(args.type), args.event)
    except UnknownEvent as exc:
        raise UsageError(str(exc)) from None
    name = "standard input" if args.file == "-" else args.file
    try:
        payload = read_json_input(args.file, max_bytes=MAX_PAYLOAD_BYTES)
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    try:
        errors = hub.types.validate_event(args.type, args.event, payload)
    except EventSchemaError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps({"type": args.type, "event": args.event, "file": args.file, "valid": not errors,
                          "errors": [{"path": e.path, "message": e.message} for e in errors]}, indent=2))
    elif errors:
        print(f"invalid: {safe(name)} is not a valid {safe(args.type)} {safe(args.event)} payload "
              f"({len(errors)} error{'s' if len(errors) != 1 else ''})")
        for error in errors:
            print(f"  {safe(error.path)}: {safe(error.message)}")
    else:
        print(f"valid: {safe(name)} is a valid {safe(args.type)} {safe(args.event)} payload")
    return EXIT_FAILED if errors else EXIT_OK


def cmd_manifest_schema(hub, args) -> int:
    """Needs no Hub (main() passes None): the schema is the code's, not the data dir's."""
    from connhub.core.manifest import manifest_json_schema

    print(json.dumps(manifest_json_schema(), indent=2))
    return EXIT_OK
