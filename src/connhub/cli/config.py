"""`connhub settings` (the app's own) and `connhub config` (a type's app-level `cfg:` settings, shared by all
its instances; a secret one goes to the keyring and is shown as the mask)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from connhub.cli.common import EXIT_OK, MASK, UsageError, parse_value, safe, timeout_option


def add_parsers(sub) -> None:
    p = sub.add_parser("settings", help="show or change settings")
    p.add_argument("--timeout", type=float, help="default test timeout in seconds")
    p.add_argument("--concurrency", type=int, help="how many tests `test --all` and the window's Test all run at "
                   "once (1-64, default 8)")
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


def cmd_settings(hub, args) -> int:
    if args.timeout is not None:
        try:
            hub.settings.set_default_timeout(timeout_option(args.timeout))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.concurrency is not None:
        try:
            hub.settings.set_concurrency(args.concurrency)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    data = {"default_timeout": hub.settings.default_timeout, "concurrency": hub.settings.concurrency, "data_dir": str(hub.data_dir),
            "keyring": hub.vault.status().backend}
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        for key, value in data.items():
            print(f"{key:<16} {safe(value)}")
    return EXIT_OK


def cmd_config(hub, args) -> int:
    from connhub.core.fields import all_specs
    from connhub.services.types import app_specs

    changing = bool(args.sets or args.secret_stdin or args.secret_env or args.unset)
    if args.type is None:
        if changing:
            raise UsageError("name the type whose settings to change: connhub config TYPE --set cfg:FIELD=VALUE")
        saved = hub.app_config.all()
        shown = [_app_config_dict(e, saved.get(e.type)) for e in hub.app_config.types()]
        if args.json:
            print(json.dumps(shown, indent=2))
        elif not shown:
            print("No type has app-level settings.")
        for data in [] if args.json else shown:
            _print_app_config(data)
        return EXIT_OK
    entry = hub.types.usable(args.type)
    specs = {}
    for spec in all_specs(app_specs(entry)):
        specs[spec.discriminator or spec.key] = spec
    if not specs:
        having = ", ".join(e.type for e in hub.app_config.types()) or "none"
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
        values[name] = raw if raw == "" or name == spec.discriminator else parse_value(spec, raw)
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
        saved = hub.app_config.save(args.type, values, unset)
        if not args.json:
            print(f"Saved the app-level settings of {safe(entry.name)}.")
    else:
        saved = hub.app_config.get(args.type)
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
    from connhub.services.types import app_specs

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
    print(f"{safe(data['name'])} ({safe(data['type'])})")
    width = max((len(safe(k)) for k in data["settings"]), default=0)
    for key, item in data["settings"].items():
        if item["set"]:
            shown = item["value"] if isinstance(item["value"], str) else json.dumps(item["value"])
        elif item["default"] is not None:
            shown = f"{json.dumps(item['default'])} (default)"
        else:
            shown = "(not set)"
        print(f"  {safe(key):<{width}}  {safe(shown)}")
