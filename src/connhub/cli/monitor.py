"""`connhub monitor` (per-instance settings) and `connhub watch` (the health monitor, headless).

`watch` prints status changes as they happen, one line each (or one JSON object each with --json), until
Ctrl+C or SIGTERM, which end it with exit code 0: it is meant for a terminal or a service manager.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from connhub.cli.common import EXIT_OK, UsageError, safe


def add_parsers(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="show or change an instance's health monitoring")
    p.add_argument("name")
    state = p.add_mutually_exclusive_group()
    state.add_argument("--on", dest="enabled", action="store_const", const=True, help="monitor it")
    state.add_argument("--off", dest="enabled", action="store_const", const=False, help="stop monitoring it")
    p.add_argument("--every", type=int, metavar="MIN", help="test it every MIN minutes (1..1440)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("watch", help="run the health monitor here and print status changes until Ctrl+C")
    p.add_argument("names", nargs="*", help="watch only these instances (default: those with monitoring on)")
    p.add_argument("--all", action="store_true", help="watch every instance, monitoring on or not")
    p.add_argument("--interval", type=float, metavar="S",
                   help="test every S seconds instead of each instance's own interval")
    p.add_argument("--json", action="store_true", help="one JSON object per status change, one per line")


def monitor_dict(record) -> dict[str, Any]:
    """The monitoring fields of an instance, for `show --json` / `list --json` and `monitor --json`."""
    at = record.monitor_next_run_at
    return {"monitor_enabled": record.monitor_enabled, "monitor_interval_min": record.monitor_interval_min,
            "monitor_next_run_at": at.isoformat() if at else None}


def monitor_text(record) -> str:
    if not record.monitor_enabled:
        return f"off (interval {record.monitor_interval_min} min when on)"
    at = record.monitor_next_run_at
    when = f"next run {at.astimezone():%Y-%m-%d %H:%M}" if at else "due now"
    return f"every {record.monitor_interval_min} min ({when})"


def cmd_monitor(hub, args) -> int:
    from connhub.core.records import InvalidValues

    record = hub.instances.find(args.name)
    if args.enabled is not None or args.every is not None:
        enabled = record.monitor_enabled if args.enabled is None else args.enabled
        try:
            record = hub.instances.set_monitoring(record.id, enabled, args.every)
        except InvalidValues as exc:
            raise UsageError(f"--every: {exc.errors['interval']}") from None
    if args.json:
        print(json.dumps({"name": record.name, "type": record.type, **monitor_dict(record)}))
    else:
        print(f"{safe(record.name)}: monitoring {monitor_text(record)}")
    return EXIT_OK


def cmd_watch(hub, args) -> int:
    if args.all and args.names:
        raise UsageError("name the instances to watch, or pass --all (not both)")
    if args.interval is not None and not 0 < args.interval <= 86400:
        raise UsageError("--interval must be a number of seconds above 0 and at most 86400")
    ids = {hub.instances.find(name).id for name in args.names}  # an unknown name is a usage error before anything runs
    try:
        import asyncio

        asyncio.run(_watch(hub, args, ids))
    except KeyboardInterrupt:  # Ctrl+C: the way to stop watching, not an error
        pass
    return EXIT_OK


async def _watch(hub, args, ids: set[str]) -> None:
    import asyncio
    import contextlib
    import signal
    from datetime import UTC

    from connhub.services.monitor import Monitor

    if args.all:
        watched = lambda record: True  # noqa: E731
    elif ids:
        watched = lambda record: record.id in ids  # noqa: E731
    else:
        watched = lambda record: record.monitor_enabled  # noqa: E731
    monitor = Monitor(hub.instances, hub.prober, interval=args.interval, select=watched)
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    with contextlib.suppress(NotImplementedError, RuntimeError):  # SIGTERM from a service manager: stop cleanly
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    records = [r for r in await loop.run_in_executor(None, hub.instances.list) if watched(r)]
    now = datetime.now(UTC)
    if not records:
        print("connhub: no instance has monitoring on: turn it on with `connhub monitor NAME --on`, or watch "
              "every instance with --all (waiting for one to be turned on…)", file=sys.stderr, flush=True)
    for record in records:
        _print(args.json, record.name, record.type, None, record.status, record.last_error_class,
               record.last_message, now)
    monitor.subscribe(lambda c: _print(args.json, c.instance.name, c.instance.type, c.old, c.new,
                                       c.result.error_class.value if c.result.error_class else None,
                                       c.result.message, c.at))
    schedules = asyncio.create_task(_run_schedules(hub, args.json))
    try:
        await monitor.run_forever()
    except asyncio.CancelledError:
        pass
    finally:
        schedules.cancel()


#: How often `watch` looks for scheduled workflows whose slot has come (a slot runs once, whatever the tick).
SCHEDULE_TICK_S = 2.0


async def _run_schedules(hub, as_json: bool) -> None:
    """Scheduled workflows run while `connhub watch` does (services/workflows.py `run_schedules`); a line each."""
    import asyncio

    while True:
        try:
            runs = await hub.workflows.run_schedules()
        except Exception as exc:  # noqa: BLE001 - a broken catalog must not stop the monitor
            print(f"connhub: scheduled workflows could not run: {safe(type(exc).__name__)}", file=sys.stderr)
            runs = []
        for run in runs:
            if as_json:
                print(json.dumps({"workflow": run.workflow_name, "run": run.id, "status": run.status,
                                  "trigger": run.trigger}), flush=True)
            else:
                print(f"{datetime.now().astimezone():%Y-%m-%d %H:%M:%S}  workflow {safe(run.workflow_name)}: "
                      f"{safe(run.status)} (run {run.id}, {safe(run.trigger)})", flush=True)
        await asyncio.sleep(SCHEDULE_TICK_S)


def _print(as_json: bool, name: str, type_name: str, old: str | None, new: str, error_class: str | None,
           message: str | None, at: datetime) -> None:
    """One line per status; `old` is None for the first line of each instance (its status when watch began).
    The message was scrubbed of secrets by the test runner; no config value is printed."""
    if as_json:
        print(json.dumps({"name": name, "type": type_name, "old": old, "new": new, "error_class": error_class,
                          "message": message, "at": at.isoformat()}), flush=True)
        return
    stamp = f"{at.astimezone():%Y-%m-%d %H:%M:%S}"
    change = new if old is None else f"{old} -> {new}"
    why = f" [{safe(error_class)}] {safe(message)}" if new == "failing" and error_class else ""
    print(f"{stamp}  {safe(name)} ({safe(type_name)}): {change}{why}", flush=True)
