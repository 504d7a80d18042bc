"""`connhub test`: test saved instances, several at once (the Settings' concurrency); exit 1 if any fails."""

from __future__ import annotations

import json

from connhub.cli.common import EXIT_FAILED, EXIT_OK, UsageError, safe, timeout_option


def add_parsers(sub) -> None:
    p = sub.add_parser("test", help="test saved instances (exit 1 if any fails)")
    p.add_argument("names", nargs="*")
    p.add_argument("--all", action="store_true")
    p.add_argument("--json", action="store_true", help="one JSON object per instance, one per line")
    p.add_argument("--timeout", type=float, help="seconds per test (default: the saved setting, 10)")


def cmd_test(hub, args) -> int:
    if args.all == bool(args.names):
        raise UsageError("name the instances to test, or pass --all (not both)")
    timeout = timeout_option(args.timeout)
    records = hub.instances.list() if args.all else [hub.instances.find(name) for name in args.names]
    import asyncio

    results = asyncio.run(_test_all(hub, records, timeout, hub.settings.concurrency))
    for record, result in zip(records, results, strict=True):
        if args.json:
            print(json.dumps({
                "name": record.name, "type": record.type, "ok": result.ok,
                "error_class": result.error_class.value if result.error_class else None,
                "message": result.message, "hint": result.hint or None, "latency_ms": result.latency_ms,
                "server_version": result.server_version, "failed_stage": result.failed_stage,
                "stages": [vars(s) for s in result.stages]}))
        elif result.ok:
            print(f"ok    {safe(record.name):<24} {result.latency_ms:>8.1f} ms  {safe(result.server_version or '')}")
        else:
            print(f"FAIL  {safe(record.name):<24} [{result.error_class}] {safe(result.message)}\n"
                  f"      hint: {safe(result.hint)}")
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


async def _test_all(hub, records, timeout: float | None, concurrency: int = 8):
    import asyncio

    gate = asyncio.Semaphore(concurrency)

    async def one(record):
        async with gate:
            return await hub.prober.test_instance(record, timeout=timeout)

    return await asyncio.gather(*(one(r) for r in records))
