"""`connhub plugins [--json]`, `plugins enable|disable NAME`, `plugins retry INSTANCE` and `new-plugin NAME`.

A plugin is an installed distribution with `connhub.integrations` entry points (docs/PLUGINS.md). Its status:
ok, disabled by user, incompatible (its api_version), or failed (why). Everything a plugin wrote (its names,
its errors) is escaped before it reaches the terminal.
"""

from __future__ import annotations

import json
import sys

from connhub.cli.common import EXIT_FAILED, EXIT_OK, UsageError, safe


def add_parsers(sub) -> None:
    p = sub.add_parser("plugins", help="list the installed plugins; enable, disable, retry a failed hook")
    p.add_argument("--json", action="store_true")
    verbs = p.add_subparsers(dest="plugins_command", metavar="{enable,disable,retry}")
    for verb, what in (("enable", "use an installed plugin again"), ("disable", "stop using a plugin without "
                       "uninstalling it (kept in the data folder's plugins.json)")):
        v = verbs.add_parser(verb, help=what)
        v.add_argument("plugin", metavar="NAME", help="the plugin's distribution name, as `connhub plugins` lists it")
    v = verbs.add_parser("retry", help="run an instance's failed plugin hook again")
    v.add_argument("instance", metavar="INSTANCE", help="a saved instance's name or id, or a deleted one's id")

    p = sub.add_parser("new-plugin", help="scaffold a plugin project (pyproject, manifest, icon, code, tests)")
    p.add_argument("name", help="its type's id: lowercase letters, digits and _, starting with a letter")
    p.add_argument("--dir", default=".", help="where to create the project folder (default: here)")


def cmd_plugins(hub, args) -> int:
    verb = getattr(args, "plugins_command", None)
    if verb in ("enable", "disable"):
        return _switch(hub, args.plugin, verb == "enable")
    if verb == "retry":
        return _retry(hub, args.instance)
    from connhub.services.plugin_hooks import hooks_text

    rows = hub.plugin_hooks.overview()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=True))
        return EXIT_OK
    if not rows:
        print("No plugins installed. A plugin is a Python distribution with `connhub.integrations` entry "
              "points: see docs/PLUGINS.md, or start one with `connhub new-plugin NAME`.")
    for row in rows:
        print(f"{safe(row['name'])} {safe(row['version'])}  {safe(row['status'])}")
        print(f"  types:   {', '.join(safe(t) for t in row['types']) or '-'}")
        print(f"  actions: {', '.join(safe(a) for a in row['actions']) or '-'}")
        print(f"  hooks:   {hooks_text(row['hooks'])}")
        for problem in row["problems"][1:]:
            print(f"  also: {safe(problem)}")
        for failed in row["failed_hooks"]:
            print(f"  failed hook: {safe(failed['hook'])} for {safe(failed['instance'])}: {safe(failed['error'])}; "
                  f"retry: connhub plugins retry {safe(failed['instance_id'])}")
    return EXIT_OK


def _switch(hub, name: str, enabled: bool) -> int:
    from connhub.plugins.catalog import disabled_plugins

    known = {p.name for p in hub.registry.plugins()}
    if name not in known and not (enabled and name in disabled_plugins(hub.data_dir)):
        raise UsageError(f"no installed plugin is named {safe(name)!r}; installed: "
                         f"{', '.join(safe(n) for n in sorted(known)) or 'none'}")
    hub.plugin_hooks.set_enabled(name, enabled)
    print(f"{'enabled' if enabled else 'disabled'} {safe(name)}: its types and actions are "
          f"{'back' if enabled else 'off'} for commands now, in the window from its next start")
    return EXIT_OK


def _retry(hub, ref: str) -> int:
    from connhub.core.records import InstanceNotFound

    try:
        record = hub.instances.find(ref)
    except InstanceNotFound:
        record = None  # a deleted instance's failed on_instance_deleted, by id
    instance_id, name = (record.id, record.name) if record else (ref, ref)
    failure = hub.plugin_hooks.failure(instance_id)
    if failure is None:
        if record is None:
            raise InstanceNotFound(ref)
        print(f"{safe(name)} has no failed plugin hook to retry")
        return EXIT_OK
    name = record.name if record else failure.instance.get("name") or ref
    error = hub.plugin_hooks.retry(instance_id)
    if error is not None:
        print(f"{safe(failure.hook)} of {safe(failure.plugin)} failed again: {safe(error)}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{safe(failure.hook)} of {safe(failure.plugin)} ran for {safe(name)}")
    return EXIT_OK


def failure_line(failure, name: str) -> str:
    """For `connhub show`: the instance's failed hook and how to retry it."""
    return f"{safe(failure.text)} (at {safe(failure.at)}); retry: connhub plugins retry {safe(name)}"


def cmd_new_plugin(hub, args) -> int:
    """Needs no Hub (main() passes None): see cli/scaffold.py."""
    from connhub.cli.common import EXIT_USAGE
    from connhub.cli.scaffold import new_plugin

    try:
        return new_plugin(args)
    except UsageError as exc:
        print(f"connhub: {safe(exc)}", file=sys.stderr)
        return EXIT_USAGE
