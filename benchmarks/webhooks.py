"""The webhook receiver on loopback: sustained accepted deliveries per second, p99 latency, event-loop stall.

Three servers answer the same signed GitHub `push` deliveries (the fixture of tests/integrations/saas), one at a
time, in this process's event loop:

- bare: `asyncio.start_server` reading the request and answering 200 — the floor of any asyncio receiver;
- hmac: the same plus only the signature check (`core.webhooks.verify`), the baseline the issue names;
- connhub: `services/webhooks.py`'s receiver (bounded reader, verify, replay set, schema validation, the inbox
  row on SQLite, the answer).

The load comes from a separate process (so the client does not share the servers' core): `--concurrency`
workers, one connection per delivery (what GitHub, Slack and Stripe do), each delivery with its own
`X-GitHub-Delivery` so the replay set accepts every one. Figures: deliveries/s over `--seconds`, p99 latency
seen by the client, ratios against both baselines (goal ≥ 0.5× of hmac). A last run sends 200 deliveries/s to
the connhub receiver while a 5 ms ticker in the same loop records its worst lateness: what a window sharing the
loop (qasync) would feel (goal < 50 ms).

Usage: python benchmarks/webhooks.py [--seconds 5] [--concurrency 32] [--no-header]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from table import header, ms, row  # noqa: E402

SECRET = "bench-secret-" + "x" * 20
PAYLOAD = ROOT / "tests" / "integrations" / "saas" / "events" / "github" / "push.json"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
UNAUTHORIZED = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


# --- the two baselines -------------------------------------------------------------------------------------

async def _read_request(reader: asyncio.StreamReader) -> tuple[dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return headers, body


async def start_bare(verify_hmac: bool) -> tuple[asyncio.AbstractServer, str]:
    from connhub.core.webhooks import Scheme, verify

    async def handle(reader, writer):
        try:
            headers, body = await _read_request(reader)
            answer = OK
            if verify_hmac and verify(Scheme("github"), SECRET, headers, body, time.time()).verdict is not None:
                answer = UNAUTHORIZED
            writer.write(answer)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/hooks/bench"


# --- the load, in its own process --------------------------------------------------------------------------

def _load(url: str, body: bytes, signature: str, seconds: float, concurrency: int, rate: float | None,
          out) -> None:
    """Post signed deliveries to `url` for `seconds`; put (count, latencies, failures) on `out`."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")

    async def main():
        latencies: list[float] = []
        failures = 0
        deadline = time.perf_counter() + seconds
        interval = concurrency / rate if rate else 0.0

        async def worker():
            nonlocal failures
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                request = (f"POST /{path} HTTP/1.1\r\nHost: {host_port}\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(body)}\r\nX-GitHub-Event: push\r\n"
                           f"X-GitHub-Delivery: {uuid.uuid4()}\r\nX-Hub-Signature-256: {signature}\r\n"
                           "Connection: close\r\n\r\n").encode() + body
                try:
                    reader, writer = await asyncio.open_connection(host, int(port))
                    writer.write(request)
                    await writer.drain()
                    status = await reader.readline()
                    await reader.read()
                    writer.close()
                    if b" 20" not in status:
                        failures += 1
                    else:
                        latencies.append(time.perf_counter() - start)
                except OSError:
                    failures += 1
                if interval:
                    await asyncio.sleep(max(0.0, interval - (time.perf_counter() - start)))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, failures

    latencies, failures = asyncio.run(main())
    out.put((latencies, failures))


async def drive(url: str, body: bytes, seconds: float, concurrency: int, rate: float | None = None):
    """(deliveries/s, p99 s, failures) from a load process against `url`, this loop serving meanwhile."""
    from connhub.core.webhooks import Scheme, sign

    signature = sign(Scheme("github"), SECRET, body, time.time())["X-Hub-Signature-256"]
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_load, args=(url, body, signature, seconds, concurrency, rate, out))
    proc.start()
    while out.empty():
        await asyncio.sleep(0.05)
    latencies, failures = out.get()
    await asyncio.get_running_loop().run_in_executor(None, proc.join)
    if not latencies:
        return 0.0, float("nan"), failures
    p99 = statistics.quantiles(latencies, n=100)[98] if len(latencies) >= 100 else max(latencies)
    return len(latencies) / seconds, p99, failures


async def stall_while(coro) -> tuple[object, float]:
    """Run `coro`; meanwhile a 5 ms ticker in the same loop records its worst lateness."""
    worst = 0.0
    done = asyncio.Event()

    async def ticker():
        nonlocal worst
        while not done.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - start - 0.005)

    tick = asyncio.create_task(ticker())
    try:
        result = await coro
    finally:
        done.set()
        await tick
    return result, worst


# --- connhub's receiver ------------------------------------------------------------------------------------

async def start_ours(folder: Path):
    """A Hub on a fresh SQLite file, a github instance with the signing secret, its receiver on 127.0.0.1:0.

    Returns (stop coroutine function, url)."""
    import keyring.backend

    from connhub.plugins.registry import Registry
    from connhub.services.hub import Hub
    from connhub.storage.vault import KeyringVault

    class Memory(keyring.backend.KeyringBackend):
        priority = 1

        def __init__(self):
            super().__init__()
            self.store: dict = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    hub = Hub(data_dir=folder, registry=Registry.discover(plugins=False), vault=KeyringVault(backend=Memory()))
    record = hub.instances.create("github", "bench", {"base_url": "https://api.github.com", "auth_method": "token",
                                                      "token": "ghp_bench", "webhook_secret": SECRET})
    receiver = await hub.webhooks.listen([record], host="127.0.0.1", port=0)

    async def stop():
        await receiver.close()
        hub.close()

    return stop, receiver.url(record.name)


async def main(seconds: float, concurrency: int, show_header: bool = True) -> None:
    body = json.dumps(json.loads(PAYLOAD.read_text())).encode()
    if show_header:
        header()
    figures = {}
    for name, verify_hmac in (("bare", False), ("hmac", True)):
        server, url = await start_bare(verify_hmac)
        figures[name] = await drive(url, body, seconds, concurrency)
        server.close()
        await server.wait_closed()
    with tempfile.TemporaryDirectory() as folder:
        try:
            stop, url = await start_ours(Path(folder))
        except (AttributeError, ImportError, TypeError) as exc:
            print(f"\nconnhub's receiver is not there to measure ({type(exc).__name__}: {exc})", flush=True)
            for name in ("bare", "hmac"):
                rate, p99, failed = figures[name]
                row(f"{name} asyncio server: deliveries/s, c={concurrency}", f"{rate:,.0f}/s", "—", None, "—", None)
            return
        try:
            figures["ours"] = await drive(url, body, seconds, concurrency)
            (_, _, failed_200), stall = await stall_while(drive(url, body, seconds, 8, rate=200))
        finally:
            await stop()
    ours, bare, plain = figures["ours"], figures["bare"], figures["hmac"]
    row(f"accepted deliveries/s vs a bare 200, c={concurrency}", f"{bare[0]:,.0f}/s", f"{ours[0]:,.0f}/s",
        ours[0] / bare[0], "—", None)
    row(f"accepted deliveries/s vs HMAC only, c={concurrency}", f"{plain[0]:,.0f}/s", f"{ours[0]:,.0f}/s",
        ours[0] / plain[0], "≥ 0.5×", ours[0] / plain[0] >= 0.5)
    row("p99 latency under that load", ms(plain[1]), ms(ours[1]), ours[1] / plain[1], "—", None)
    row("worst event-loop stall at 200 deliveries/s", "—", ms(stall), None, "< 50 ms", stall < 0.05)
    if ours[2] or failed_200:
        print(f"\n{ours[2] + failed_200} deliveries were not answered 2xx", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--no-header", action="store_true", help="rows only (make bench prints one table)")
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency, not args.no_header))
