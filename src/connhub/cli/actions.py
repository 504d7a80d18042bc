"""`connhub actions`, `connhub run` and `connhub runs`: what a saved connection can do, from a terminal or CI.

Exit codes: 0 the action ran and succeeded, 1 it ran and failed, 2 bad params or an unknown instance or action
(with the list of known ones). Everything a server said is escaped before it reaches the terminal.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from connhub.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError

MAX_PARAMS_FILE = 4 << 20
EFFECT_MARKS = {"read": "read", "write": "WRITE", "destructive": "DESTRUCTIVE"}


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("actions", help="list the actions of a type or a saved instance, with their params")
    p.add_argument("target", metavar="TYPE_OR_INSTANCE")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("run", help="run an action on a saved instance (exit 1 if it fails, 2 for bad params)")
    p.add_argument("name", metavar="INSTANCE")
    p.add_argument("action", metavar="ACTION")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a parameter; VALUE is read as JSON when it parses as JSON of the param's type")
    p.add_argument("--params-file", metavar="FILE", help="the params as a JSON object, from FILE or - (stdin)")
    p.add_argument("--json", action="store_true", help='print {"ok", "result", "duration_ms", "error"}')
    p.add_argument("--timeout", type=float, help="seconds the action may take (default: Settings, 30)")
    p.add_argument("--yes", action="store_true", help="run a destructive action without asking")

    p = sub.add_parser("runs", help="the execution log of an instance, newest first")
    p.add_argument("name", metavar="INSTANCE")
    p.add_argument("--action", help="only this action's runs")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")


def _safe(text: Any) -> str:
    from connhub.core.text import terminal_safe

    return terminal_safe(text)


def _dumps(value: Any, **options: Any) -> str:
    """JSON for a terminal: non-ASCII escaped, so no control or bidi character of a server's answer is raw."""
    return json.dumps(value, ensure_ascii=True, default=str, **options)


def _entry_of(hub, target: str):
    """A type by name, else a saved instance's type."""
    from connhub.core.records import InstanceNotFound

    if target in hub.registry:
        return hub.types.usable(target), None
    try:
        record = hub.instances.find(target)
    except InstanceNotFound:
        raise InstanceNotFound(target) from None
    return hub.types.usable(record.type), record


def _param_rows(action) -> list[dict[str, Any]]:
    from connhub.core.fields import all_specs

    return [{"key": s.key, "title": s.title, "kind": s.kind.value, "required": s.required,
             "default": s.default, "secret": s.secret, "description": s.description or ""}
            for s in all_specs(action.param_specs)]


def cmd_actions(hub, args) -> int:
    entry, _record = _entry_of(hub, args.target)
    actions = hub.actions.of_type(entry.type)
    problems = hub.actions.problems(entry.type)
    if args.json:
        print(_dumps({"type": entry.type, "actions": [
            {"name": a.name, "title": a.title, "description": a.description, "effect": a.effect,
             "params": _param_rows(a), "result": a.result, "source": entry.action_source(a.name)}
            for a in actions],
            "off": problems}, indent=2))
        return EXIT_OK
    if not actions and not problems:
        print(f"{entry.name} has no actions yet.")
    for action in actions:
        source = f"  (from {_safe(entry.action_source(action.name))})" if action.name in entry.contributions else ""
        print(f"{action.name:<18} {EFFECT_MARKS[action.effect]:<11} {_safe(action.title)}{source}")
        for row in _param_rows(action):
            need = "required" if row["required"] else f"default {row['default']!r}" if row["default"] is not None \
                else "optional"
            print(f"    --param {row['key']}=…  {row['kind']}, {need}{', secret' if row['secret'] else ''}")
    for name, problem in sorted(problems.items()):
        print(f"{_safe(name):<18} OFF         {_safe(problem)}")
    return EXIT_OK


def _read_params_file(path: str) -> dict[str, Any]:
    from connhub.core.reading import DocumentError, read_document

    try:
        data = read_document(sys.stdin.buffer if path == "-" else path, max_bytes=MAX_PARAMS_FILE,
                             name="standard input" if path == "-" else path)
    except DocumentError as exc:
        raise UsageError(f"--params-file: {exc}") from None
    except OSError as exc:
        raise UsageError(f"--params-file: cannot read {path}: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise UsageError("--params-file must hold one JSON object of params")
    return data


def _params(action, args) -> dict[str, Any]:
    from connhub.core.actions import InvalidParams, parse_param_text

    params = _read_params_file(args.params_file) if args.params_file else {}
    for item in args.param:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param takes KEY=VALUE, not {_safe(item)!r}")
        try:
            params[key] = parse_param_text(action, key, text)
        except InvalidParams as exc:
            raise _bad_params(exc) from None
    return params


def _bad_params(exc) -> Exception:
    from connhub.core.records import InvalidValues

    return InvalidValues({f"param {key}": message for key, message in exc.errors.items()})


def _confirm_destructive(record, action, args) -> bool:
    """A destructive action: --yes, or the instance's name typed on a terminal. Never silently."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print(f"connhub: {action.name} is destructive: pass --yes to run it without a terminal",
              file=sys.stderr)
        return False
    print(f"{action.title} on {_safe(record.name)} cannot be undone. Type the instance's name to run it: ",
          end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip() == record.name


def cmd_run(hub, args) -> int:
    from connhub.core.actions import InvalidParams
    from connhub.core.context import TimeoutOutOfRange, check_timeout

    record = hub.instances.find(args.name)
    action = hub.actions.spec(record.type, args.action)
    params = _params(action, args)
    timeout = None
    if args.timeout is not None:
        try:
            timeout = check_timeout(args.timeout)
        except TimeoutOutOfRange as exc:
            raise UsageError(str(exc)) from None
    if action.effect == "destructive" and not _confirm_destructive(record, action, args):
        return EXIT_USAGE
    if needed := hub.secrets.needed(record):
        _ask_secrets(hub, record, needed)
    try:
        import asyncio

        run = asyncio.run(hub.actions.run(record, action.name, params, timeout=timeout, trigger="cli"))
    except InvalidParams as exc:
        raise _bad_params(exc) from None
    if args.json:
        print(_dumps({"ok": run.ok, "result": run.result if run.ok else None, "duration_ms": run.duration_ms,
                      "error": None if run.ok else {"class": run.error_class, "message": run.message},
                      "run_id": run.id}, indent=2))
    elif run.ok:
        print_result(run.result)
    else:
        print(f"connhub: {action.name} failed ({run.error_class}): {_safe(run.message)}", file=sys.stderr)
    return EXIT_OK if run.ok else EXIT_FAILED


def _ask_secrets(hub, record, keys: list[str]) -> None:
    """An "ask every time" instance on a terminal: its secrets, hidden, for this run only."""
    import getpass


    if not sys.stdin.isatty():
        raise UsageError(f"{_safe(record.name)} asks for its secrets every time: run it on a terminal")
    hub.secrets.remember(record.id, {key: getpass.getpass(f"{key} for {_safe(record.name)}: ") for key in keys})


def print_result(result: Any) -> None:
    """Rows as a table, anything else as indented JSON."""
    if isinstance(result, dict) and isinstance(result.get("columns"), list) and isinstance(result.get("rows"), list):
        print_table(result["columns"], result["rows"])
        note = f"{result.get('row_count', len(result['rows']))} row(s)"
        if result.get("truncated"):
            note += f", cut at {len(result['rows'])}"
        print(note)
        return
    print(_dumps(result, indent=2))


def print_table(columns: list[Any], rows: list[Any], width: int = 40) -> None:
    def cell(value: Any) -> str:
        text = _safe(value if isinstance(value, str) else _dumps(value))
        return text if len(text) <= width else text[:width - 1] + "…"

    header = [cell(c) for c in columns]
    body = [[cell(v) for v in (row if isinstance(row, list) else [row.get(c) for c in columns])] for row in rows]
    sizes = [max([len(h), *(len(r[i]) for r in body if i < len(r))]) for i, h in enumerate(header)]
    print("  ".join(h.ljust(s) for h, s in zip(header, sizes)))
    print("  ".join("-" * s for s in sizes))
    for row in body:
        print("  ".join(v.ljust(s) for v, s in zip(row, sizes)))


def cmd_runs(hub, args) -> int:
    record = hub.instances.find(args.name)
    runs = hub.actions.history(record.id, max(1, min(args.limit, 10_000)), args.action)
    if args.json:
        print(_dumps([{"id": r.id, "action": r.action, "params": r.params, "started_at": r.started_at.isoformat(),
                       "duration_ms": r.duration_ms, "ok": r.ok, "error_class": r.error_class,
                       "message": r.message, "result_size": r.result_size, "truncated": r.truncated,
                       "trigger": r.trigger, "preview": r.preview} for r in runs], indent=2))
        return EXIT_OK
    if not runs:
        print(f"No action has run on {_safe(record.name)} yet.")
    for r in runs:
        outcome = "ok" if r.ok else f"failed ({r.error_class})"
        print(f"{r.id:>6}  {r.started_at:%Y-%m-%d %H:%M:%S}  {r.action:<16} {outcome:<18} {r.duration_ms:>8.1f} ms"
              f"  {_safe(r.message)[:80]}")
    return EXIT_OK
