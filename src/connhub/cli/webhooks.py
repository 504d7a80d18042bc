"""`connhub webhooks listen|log|replay|trigger`: a local receiver that checks signatures, its inbox, replays,
and signed test events (services/webhooks.py)."""

from __future__ import annotations

import json
import sys
from typing import Any

from connhub.cli.common import EXIT_FAILED, EXIT_OK, UsageError, safe


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("webhooks", help="receive, inspect, replay and send signed webhook deliveries")
    verbs = p.add_subparsers(dest="webhooks_command", metavar="COMMAND", required=True)
    listen = verbs.add_parser("listen", help="receive deliveries for an instance (Ctrl+C stops)")
    listen.add_argument("name", metavar="INSTANCE")
    listen.add_argument("--port", type=int, default=8787, help="default 8787; 0 picks a free one")
    listen.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (this machine only)")
    listen.add_argument("--allow-remote", action="store_true", help="listen on a host other machines reach")
    listen.add_argument("--json", action="store_true", help="one JSON object per delivery")
    show = verbs.add_parser("log", help="the inbox of an instance, newest first")
    show.add_argument("name", metavar="INSTANCE")
    show.add_argument("--event")
    show.add_argument("--verdict")
    show.add_argument("--limit", type=int, default=50)
    show.add_argument("--json", action="store_true")
    replay = verbs.add_parser("replay", help="check a stored delivery again, or send it to a URL")
    replay.add_argument("delivery", type=int, metavar="DELIVERY_ID")
    replay.add_argument("--to", metavar="URL", help="POST the stored body there, signed afresh")
    replay.add_argument("--json", action="store_true")
    trigger = verbs.add_parser("trigger", help="send a signed test event made from the event's schema")
    trigger.add_argument("type")
    trigger.add_argument("event")
    trigger.add_argument("--to", required=True, metavar="URL")
    trigger.add_argument("--secret-stdin", action="store_true", help="the signing secret on standard input")
    trigger.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                         help="override a field of the payload (VALUE read as JSON when it parses)")
    trigger.add_argument("--json", action="store_true")


def cmd_webhooks(hub, args) -> int:
    return {"listen": _listen, "log": _log, "replay": _replay, "trigger": _trigger}[args.webhooks_command](hub, args)


def _record_of(hub, name: str):
    from connhub.services.webhooks import NoWebhooks

    record = hub.instances.find(name)
    try:
        hub.webhooks.scheme(record.type)
    except NoWebhooks as exc:
        raise UsageError(f"{exc}; types that do: " + ", ".join(
            e.type for e in hub.registry.entries() if e.ok and e.manifest.webhooks)) from None
    return record


def _listen(hub, args) -> int:
    import asyncio

    record = _record_of(hub, args.name)
    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be from 0 to 65535")

    tasks: set = set()

    def shown(_record, delivery) -> None:
        if delivery.verdict == "accepted":  # workflows declaring `on: {instance, event}` run on it
            task = asyncio.get_running_loop().create_task(_start_workflows(hub, record, delivery, args.json))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if args.json:
            print(json.dumps(_delivery_dict(delivery)), flush=True)
        else:
            print(f"{delivery.received_at:%H:%M:%S}  {delivery.status}  {safe(delivery.verdict):<15} "
                  f"{safe(delivery.event or '-')}  #{delivery.id}  {safe(delivery.reason)}", flush=True)

    async def serve() -> None:
        try:
            receiver = await hub.webhooks.listen([record], args.host, args.port, args.allow_remote, shown)
        except PermissionError as exc:
            raise UsageError(str(exc)) from None
        if not (await hub.webhooks.signing_secret(record)):
            print(f"connhub: warning: {safe(record.name)} has no signing secret: every delivery will be refused "
                  "as unsigned (set webhook_secret)", file=sys.stderr)
        print(f"Listening for {safe(record.name)} at {receiver.url(record.name)} (Ctrl+C stops)", file=sys.stderr,
              flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await receiver.close()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"connhub: cannot listen on {safe(args.host)}:{args.port}: {safe(exc.strerror or exc)}",
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


async def _start_workflows(hub, record, delivery, as_json: bool) -> None:
    from connhub.core.webhooks import parse_json

    try:
        runs = await hub.workflows.on_event(record.name, delivery.event, parse_json(delivery.body))
    except Exception as exc:  # noqa: BLE001 - a failing workflow must not stop the receiver
        print(f"connhub: a workflow for #{delivery.id} could not run: {safe(exc)}", file=sys.stderr, flush=True)
        return
    for run in runs:
        if as_json:
            print(json.dumps({"workflow": run.workflow_name, "run": run.id, "status": run.status,
                              "delivery": delivery.id}), flush=True)
        else:
            print(f"          workflow {safe(run.workflow_name)}: {safe(run.status)} (run {run.id})", flush=True)


def _log(hub, args) -> int:
    record = _record_of(hub, args.name)
    deliveries = hub.webhooks.log(record.id, max(1, min(args.limit, 1000)), args.event, args.verdict)
    if args.json:
        print(json.dumps([_delivery_dict(d) for d in deliveries], indent=2))
        return EXIT_OK
    if not deliveries:
        print(f"No deliveries for {safe(record.name)} yet: `connhub webhooks listen {safe(record.name)}`")
    for d in deliveries:
        print(f"#{d.id:<5} {d.received_at.astimezone():%Y-%m-%d %H:%M:%S}  {d.status}  {safe(d.verdict):<15} "
              f"{safe(d.event or '-'):<24} {d.body_size} B  {safe(d.reason)}")
        for error in d.errors[:5]:
            print(f"        {safe(error)}")
    return EXIT_OK


def _replay(hub, args) -> int:
    import asyncio

    delivery = hub.webhooks.get(args.delivery)
    record = next((r for r in hub.instances.list() if delivery and r.id == delivery.instance_id), None)
    if delivery is None or record is None:
        raise UsageError(f"no delivery #{args.delivery} in this workspace's inbox")
    if args.to:
        secret = asyncio.run(hub.webhooks.signing_secret(record))
        status = asyncio.run(hub.webhooks.resend(delivery, args.to, secret, record.type))
        print(json.dumps({"sent_to": args.to, "status": status}) if args.json
              else f"Sent #{delivery.id} to {safe(args.to)}: {status}")
        return EXIT_OK if 200 <= status < 300 else EXIT_FAILED
    problems = hub.webhooks.revalidate(record, delivery)
    if args.json:
        print(json.dumps({"delivery": delivery.id, "valid": not problems, "errors": problems}))
    else:
        print(f"#{delivery.id} ({safe(delivery.event or '-')}): " + ("valid against the event schema" if not problems
                                                                     else f"{len(problems)} problem(s)"))
        for problem in problems:
            print(f"  {safe(problem)}")
    return EXIT_FAILED if problems else EXIT_OK


def _trigger(hub, args) -> int:
    import asyncio

    import httpx

    from connhub.services.events import UnknownEvent
    from connhub.services.webhooks import NoWebhooks

    overrides = {}
    for item in args.sets:
        path, sep, raw = item.partition("=")
        if not sep or not path:
            raise UsageError(f"--set takes PATH=VALUE, got {safe(item)!r}")
        try:
            overrides[path] = json.loads(raw)
        except ValueError:
            overrides[path] = raw
    secret = sys.stdin.readline().rstrip("\r\n") if args.secret_stdin else ""
    try:
        status, payload = asyncio.run(hub.webhooks.trigger(args.type, args.event, args.to, secret, overrides))
    except NoWebhooks as exc:
        raise UsageError(str(exc)) from None
    except UnknownEvent as exc:
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    except httpx.HTTPError as exc:
        print(f"connhub: could not send to {safe(args.to)}: {safe(type(exc).__name__)}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print(json.dumps({"status": status, "payload": payload}))
    else:
        print(f"Sent {safe(args.type)} {safe(args.event)} to {safe(args.to)}: {status}"
              + ("" if secret else " (unsigned: no --secret-stdin)"))
    return EXIT_OK if 200 <= status < 300 else EXIT_FAILED


def _delivery_dict(d) -> dict[str, Any]:
    return {"id": d.id, "received_at": d.received_at.isoformat(), "event": d.event, "verdict": d.verdict,
            "status": d.status, "reason": d.reason, "errors": d.errors, "delivery_id": d.delivery_id,
            "headers": d.headers, "body_size": d.body_size}
