"""`connhub workflow …`: saved sequences of actions, from a terminal or CI.

  list | show NAME | validate FILE | import FILE | export NAME [-o FILE] | remove NAME
  run NAME [--input k=v ...] [--json] | runs NAME [--json] | log RUN_ID [--json]

Exit codes: 0 all went well (every step of a run ok or skipped), 1 a step failed, 2 an invalid, broken or
unknown workflow (each problem printed at its path, `steps[1].params.value: …`). Everything a user, a file or
a server wrote is escaped before it reaches the terminal.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from connhub.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, safe


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("workflow", help="saved workflows: list, show, validate, import, export, run, their runs")
    wsub = p.add_subparsers(dest="workflow_command", metavar="SUBCOMMAND")
    w = wsub.add_parser("list", help="the saved workflows, with their last run")
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("show", help="a workflow's definition and its problems, if any")
    w.add_argument("name", metavar="NAME")
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("validate", help="check a workflow file against the saved instances (exit 2 if invalid)")
    w.add_argument("file", metavar="FILE")
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("import", help="save the workflow a YAML or JSON file defines (replacing one of its name)")
    w.add_argument("file", metavar="FILE", help="the file, or - for standard input")
    w = wsub.add_parser("export", help="a saved workflow's definition, to standard output or a file")
    w.add_argument("name", metavar="NAME")
    w.add_argument("-o", "--output", metavar="FILE")
    w.add_argument("--format", choices=("yaml", "json"), help="the spelling (default: as it was saved)")
    w = wsub.add_parser("remove", help="delete a saved workflow and its runs")
    w.add_argument("name", metavar="NAME")
    w = wsub.add_parser("run", help="run a workflow (exit 1 if a step fails, 2 if it is invalid)")
    w.add_argument("name", metavar="NAME")
    w.add_argument("--input", action="append", default=[], metavar="KEY=VALUE",
                   help="a run input; VALUE is read as JSON when the input is not text")
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("runs", help="a workflow's runs, newest first")
    w.add_argument("name", metavar="NAME")
    w.add_argument("--limit", type=int, default=20)
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("log", help="one run, step by step: params (masked), outcome, error, result preview")
    w.add_argument("run_id", metavar="RUN_ID", type=int)
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("tick", help="run the scheduled workflows that are due now, once (for a system cron)")
    w.add_argument("--json", action="store_true")
    w = wsub.add_parser("watch", help="run scheduled workflows as they come due, until Ctrl+C")
    w.add_argument("--every", type=float, default=15.0, metavar="SECONDS", help="how often to look (default 15)")
    w.add_argument("--json", action="store_true")


def _dumps(value: Any, **options: Any) -> str:
    return json.dumps(value, ensure_ascii=True, default=str, **options)


def _problems(errors: dict[str, str]) -> int:
    for path, message in errors.items():
        print(f"connhub: {safe(path)}: {safe(message)}", file=sys.stderr)
    return EXIT_USAGE


def cmd_workflow(hub, args) -> int:
    from connhub.core.workflow import WorkflowError
    from connhub.services.workflows import WorkflowNotFound

    command = getattr(args, "workflow_command", None)
    if command is None:
        raise UsageError("workflow takes a subcommand: list, show, validate, import, export, remove, run, runs, log")
    try:
        return _COMMANDS[command](hub, args)
    except WorkflowNotFound as exc:
        print(f"connhub: {safe(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except WorkflowError as exc:
        if getattr(args, "json", False):
            print(_dumps({"ok": False, "errors": exc.errors}, indent=2))
        return _problems(exc.errors)


def _list(hub, args) -> int:
    infos = hub.workflows.list()
    rows = []
    for info in infos:
        last = hub.workflows.last_run(info.name)
        rows.append({"name": info.name, "description": info.workflow.description if info.workflow else "",
                     "steps": len(info.workflow.steps) if info.workflow else 0, "version": info.record.version,
                     "broken": info.broken, "problems": info.problems,
                     "last_run": None if last is None else {"id": last.id, "status": last.status,
                                                            "started_at": last.started_at.isoformat()}})
    if args.json:
        print(_dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print("No workflows (add one with `connhub workflow import FILE`).")
    for row in rows:
        last = row["last_run"]
        state = "BROKEN" if row["broken"] else (last["status"] if last else "never run")
        print(f"{safe(row['name'])}  {row['steps']} steps  {safe(state)}"
              + (f"  (run {last['id']}, {last['started_at'][:19]})" if last else ""))
        for path, message in row["problems"].items():
            print(f"    {safe(path)}: {safe(message)}")
    return EXIT_OK


def _show(hub, args) -> int:
    info = hub.workflows.get(args.name)
    if args.json:
        print(_dumps({"name": info.name, "version": info.record.version, "broken": info.broken,
                      "problems": info.problems, "definition": info.workflow.to_dict() if info.workflow else None,
                      "text": info.record.definition}, indent=2))
        return EXIT_USAGE if info.broken else EXIT_OK
    for line in info.record.definition.rstrip("\n").splitlines():
        print(safe(line))
    if info.broken:
        print(f"\n{safe(info.name)} is broken:", file=sys.stderr)
        return _problems(info.problems)
    return EXIT_OK


def _validate(hub, args) -> int:
    from connhub.core.workflow import read_workflow

    workflow = read_workflow(sys.stdin.buffer if args.file == "-" else args.file)
    problems = hub.workflows.validate(workflow)
    if args.json:
        print(_dumps({"ok": not problems, "name": workflow.name, "errors": problems}, indent=2))
    if problems:
        return _problems(problems)
    if not args.json:
        print(f"{safe(workflow.name)}: valid ({len(workflow.steps)} steps)")
    return EXIT_OK


def _import(hub, args) -> int:
    info = hub.workflows.import_file(sys.stdin.buffer if args.file == "-" else args.file)
    print(f"Saved workflow {safe(info.name)} (version {safe(info.record.version)})")
    return EXIT_OK


def _export(hub, args) -> int:
    text = hub.workflows.export(args.name, args.format)
    if args.output:
        from pathlib import Path

        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Wrote {safe(args.name)} to {safe(args.output)}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return EXIT_OK


def _remove(hub, args) -> int:
    hub.workflows.remove(args.name)
    print(f"Removed workflow {safe(args.name)}")
    return EXIT_OK


def _inputs(hub, args) -> dict[str, Any]:
    from connhub.core.workflow import parse_input

    info = hub.workflows.get(args.name)
    values: dict[str, Any] = {}
    for item in args.input:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--input takes KEY=VALUE, not {item!r}")
        values[key] = parse_input(info.workflow, key, raw) if info.workflow else raw
    return values


def _run(hub, args) -> int:
    import asyncio

    inputs = _inputs(hub, args)

    def progress(run, step) -> None:
        if not args.json and step.outcome != "running":
            print(_step_line(step), flush=True)

    run = asyncio.run(hub.workflows.run(args.name, inputs, trigger="cli", on_step=progress))
    if args.json:
        print(_dumps(_run_dict(run), indent=2))
    else:
        print(f"{safe(run.workflow_name)}: {run.status} in {run.duration_ms or 0:.0f} ms (run {run.id})")
    return EXIT_OK if run.status == "ok" else EXIT_FAILED


def _step_line(step) -> str:
    line = f"  {step.outcome:<9} {safe(step.id)}  {safe(step.instance)}.{safe(step.action)}"
    if step.outcome in ("ok", "failed"):
        line += f"  {step.duration_ms:.0f} ms"
        if step.attempts > 1:
            line += f", {step.attempts} attempts"
    if step.error_class:
        line += f"  [{safe(step.error_class)}]"
    if step.message:
        line += f"  {safe(step.message)}"
    return line


def _run_dict(run) -> dict[str, Any]:
    return {"id": run.id, "workflow": run.workflow_name, "status": run.status, "ok": run.ok,
            "version": run.version, "trigger": run.trigger, "inputs": run.inputs,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "duration_ms": run.duration_ms, "message": run.message,
            "steps": [s.to_dict() for s in run.steps]}


def _runs(hub, args) -> int:
    runs = hub.workflows.runs(args.name, max(1, min(args.limit, 10_000)))
    if args.json:
        print(_dumps([{k: v for k, v in _run_dict(r).items() if k != "steps"} for r in runs], indent=2))
        return EXIT_OK
    if not runs:
        print(f"{safe(args.name)} has not run yet.")
    for run in runs:
        steps = ", ".join(f"{s.id}:{s.outcome}" for s in run.steps)
        print(f"{run.id}  {run.started_at.isoformat()[:19]}  {run.status:<11} {run.trigger:<8} "
              f"{run.duration_ms or 0:.0f} ms  {safe(steps)}")
    return EXIT_OK


def _log(hub, args) -> int:
    run = hub.workflows.get_run(args.run_id)
    if run is None:
        print(f"connhub: no workflow run {args.run_id}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(_dumps(_run_dict(run), indent=2))
        return EXIT_OK
    print(f"Run {run.id} of {safe(run.workflow_name)} (version {safe(run.version)}): {run.status}, "
          f"{run.trigger}, started {run.started_at.isoformat()[:19]}")
    if run.inputs:
        print(f"  inputs: {safe(_dumps(run.inputs))}")
    for step in run.steps:
        print(_step_line(step))
        if step.params:
            print(f"      params: {safe(_dumps(step.params))}")
        if step.preview:
            print(f"      result: {safe(step.preview[:500])}" + (" …" if step.truncated or len(step.preview) > 500
                                                                  else ""))
    return EXIT_OK


def _print_scheduled(runs, as_json: bool) -> int:
    failed = False
    for run in runs:
        failed = failed or run.status == "failed"
        if as_json:
            print(_dumps({k: v for k, v in _run_dict(run).items() if k != "steps"}
                         | {"scheduled_for": run.scheduled_for}), flush=True)
        else:
            print(f"{safe(run.workflow_name)}: {run.status} (slot {run.scheduled_for.isoformat()[:19]}, run {run.id})"
                  + (f"  {safe(run.message)}" if run.message else ""), flush=True)
    return EXIT_FAILED if failed else EXIT_OK


def _tick(hub, args) -> int:
    import asyncio

    return _print_scheduled(asyncio.run(hub.workflows.run_schedules()), args.json)


def _watch(hub, args) -> int:
    import asyncio

    if not 1 <= args.every <= 3600:
        raise UsageError("--every takes 1 to 3600 seconds")

    async def loop() -> None:
        while True:
            _print_scheduled(await hub.workflows.run_schedules(), args.json)
            await asyncio.sleep(args.every)

    try:
        asyncio.run(loop())
    except KeyboardInterrupt:
        pass
    return EXIT_OK


_COMMANDS = {"tick": _tick, "watch": _watch, "list": _list, "show": _show, "validate": _validate, "import": _import, "export": _export,
             "remove": _remove, "run": _run, "runs": _runs, "log": _log}
