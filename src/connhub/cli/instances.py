"""`connhub list`, `show`, `add` and `remove`: the saved instances of a workspace.

Secrets are never taken from arguments: a hidden prompt, `--secret-stdin FIELD` or `--secret-env FIELD=VAR`.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from connhub.cli.common import EXIT_OK, MASK, UsageError, parse_value, safe, secrets_from_args


def add_parsers(sub) -> None:
    p = sub.add_parser("list", help="list saved instances")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("show", help="show one instance (secrets masked)")
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.add_argument("--url", action="store_true", help="print the connection as a string to paste elsewhere, "
                   "without its secrets")
    p.add_argument("--format", default="url", choices=("url", "libpq", "jdbc", "sqlalchemy", "command"),
                   help="with --url: the type's own URL (default), libpq keywords, JDBC, SQLAlchemy, or the "
                        "service's own client's command line (psql, mysql, redis-cli; no password in it)")

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
    p.add_argument("--secret-scope", choices=("personal", "shared"), default="personal",
                   help="personal: each user's own keyring (default); shared: the team's OpenBao (team mode)")
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


def _record_dict(record, masked_secrets: bool = True) -> dict[str, Any]:
    data = {
        "id": record.id, "name": record.name, "type": record.type, "workspace": record.workspace,
        "summary": record.summary, "status": record.status, "tags": record.tags,
        "environment": record.environment,
        "last_test_at": record.last_test_at.isoformat() if record.last_test_at else None,
        "last_latency_ms": record.last_latency_ms, "last_error_class": record.last_error_class,
        "last_message": record.last_message, "error_count": record.error_count,
    }
    from connhub.cli.monitor import monitor_dict

    data.update(monitor_dict(record))
    if masked_secrets:
        data["config"] = {**record.config, **{k: MASK for k in record.secret_fields}}
    return data


def quick_list(args) -> int | None:
    """`connhub list` without the Hub: the default SQLite file at the newest schema with nothing to settle is
    read with the standard library's sqlite3 (storage/quick.py, as the window's first paint does), in a tenth
    of the time a Hub takes (SQLAlchemy, the registry). None: the full path applies (a database URL, no
    database yet, another schema, a journal note to settle)."""
    if os.environ.get("CONNHUB_DB_URL"):
        return None
    from connhub.services.first_paint import DB_NAME, default_data_dir
    from connhub.services.team import CONFIG_NAME
    from connhub.storage.private import tighten_data_dir
    from connhub.storage.quick import read_instances

    data_dir = default_data_dir()
    if not (data_dir / DB_NAME).is_file() or (data_dir / CONFIG_NAME).exists():  # in a team: its catalog
        return None
    if notice := tighten_data_dir(data_dir):  # as the full path does, before reading
        print(safe(notice), file=sys.stderr)
    records = read_instances(data_dir / DB_NAME, " ".join(args.workspace.split()) or "default", settled=True)
    return None if records is None else _print_list(records, args)


def cmd_list(hub, args) -> int:
    return _print_list(hub.instances.list(), args)


def _print_list(records, args) -> int:
    if args.json:
        print(json.dumps([_record_dict(r, masked_secrets=False) for r in records], indent=2))
        return EXIT_OK
    if not records:
        print("No instances yet. Add one with `connhub add TYPE NAME` or in the window.")
    for r in records:
        print(f"{safe(r.name):<24} {safe(r.type):<10} {r.status:<9} {safe(r.summary)}")
    return EXIT_OK


def cmd_show(hub, args) -> int:
    record = hub.instances.find(args.name)
    if args.url:
        from connhub.core.url_forms import format_connection
        from connhub.core.urls import UrlError

        entry = hub.types.entry(record.type)
        try:
            print(safe(format_connection(entry.manifest, entry.specs, record.config, args.format)))
        except UrlError as exc:
            raise UsageError(str(exc)) from None
        return EXIT_OK
    data = _record_dict(record)
    data["type_status"] = type_status(hub.registry, record.type)
    failure = hub.plugin_hooks.failure(record.id)
    data["plugin_hook_failure"] = None if failure is None else {
        "hook": failure.hook, "plugin": failure.plugin, "error": failure.error, "at": failure.at}
    data["secret_scope"] = "shared" if record.secret_mode == "shared" else "personal"
    if args.json:
        print(json.dumps(data, indent=2))
        return EXIT_OK
    for key in ("name", "type", "summary", "status", "secret_scope", "last_message"):
        if data[key]:
            print(f"{key:<13} {safe(data[key])}")
    if data["type_status"] != "ok":
        print(f"{'type status':<13} {safe(data['type_status'])}")
    from connhub.cli.monitor import monitor_text

    print(f"{'monitoring':<13} {monitor_text(record)}")
    from connhub.cli.plugins import failure_line

    if failure is not None:
        print(f"{'plugin hook':<13} {failure_line(failure, record.name)}")
    for key, value in sorted(data["config"].items()):
        print(f"  {safe(key):<20} {safe(value)}")
    return EXIT_OK


def type_status(registry, type_name: str) -> str:
    """ok, or why the instance's type cannot be used: its data is kept either way (docs/PLUGINS.md)."""
    if type_name not in registry:
        return "type missing: its plugin is not installed (the instance and its secrets are kept)"
    entry = registry.get(type_name)
    return "ok" if entry.ok else f"type disabled: {entry.error}"


def cmd_add(hub, args) -> int:
    from connhub.cli.oauth import pending_tokens
    from connhub.core.fields import active_keys, all_specs, defaults

    entry = hub.types.entry(args.type)
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
        values[key] = raw if spec.discriminator == key else parse_value(spec, raw)
    values.update(secrets_from_args(args, {k for k, s in specs.items() if s.secret}))
    later = pending_tokens(entry, values)  # OAuth tokens come from `connhub signin NAME`
    if not args.no_prompt and sys.stdin.isatty():
        for key in sorted(active_keys(entry.specs, values) - later):
            spec = specs.get(key)
            if spec and spec.secret and key not in values:
                import getpass

                typed = getpass.getpass(f"{spec.title} ({key}, empty for none): ")
                if typed:
                    values[key] = typed
    record = hub.instances.create(args.type, args.name, values, tags=_tags(args.tags),
                                  environment=args.environment, pending_secrets=later,
                                  secret_mode="shared" if args.secret_scope == "shared" else "keyring")
    print(f"Saved {safe(record.name)} ({safe(record.type)}) {safe(record.summary)}")
    if later and not set(record.secret_fields) & later:
        print(f"Sign it in with: connhub signin {safe(repr(record.name))}")
    return EXIT_OK


def _tags(given: list[str]) -> list[str]:
    """`--tag a,b --tag c` is three tags, each cleaned as the window cleans them (an ESC or a bidi override in
    one is refused by position, before anything is saved)."""
    from connhub.core.records import InvalidValues
    from connhub.core.text import TextError, clean_tags

    try:
        return clean_tags([tag for item in given for tag in item.split(",")])
    except TextError as exc:
        raise InvalidValues(exc.errors) from None


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
        parsed = hub.types.values_from_url(entry.type, url)
    except UrlError as exc:
        raise UsageError(f"{source}: {exc}") from None
    carried = sorted(k for k, v in parsed.values.items() if k in specs and specs[k].secret and v not in (None, ""))
    if source == "--url" and carried:
        raise UsageError(f"--url: the URL holds a secret ({', '.join(carried)}) and secrets are never taken from "
                         "arguments (other users and your shell history can see them): pass the URL with "
                         "--url-stdin or --url-env VAR instead")
    if parsed.kept_params:
        title = next((s.title for s in entry.specs if entry.manifest.url and s.key == entry.manifest.url.extra), "")
        print(safe(f"connhub: {source}: kept in {title or 'the driver options'} for the driver: "
                   f"{', '.join(parsed.kept_params)}"), file=sys.stderr)
    if parsed.unknown_params:
        known = sorted(entry.manifest.url.query) if entry.manifest.url else []
        offer = f"; it knows {', '.join(known)}" if known else ""
        raise UsageError(f"{source}: the URL has parameters {entry.type} does not know: "
                         f"{', '.join(parsed.unknown_params)} (remove them{offer})")
    return parsed.values


def cmd_remove(hub, args) -> int:
    record = hub.instances.find(args.name)
    hub.instances.delete(record.id)
    print(f"Removed {safe(record.name)}")
    return EXIT_OK
