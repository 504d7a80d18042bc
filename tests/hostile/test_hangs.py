"""Hangs: servers that accept TCP and never answer, drip one byte per 200 ms forever, or crawl through a TLS
handshake. Every type's test must end with a classified `timeout` (naming the stage) within its timeout
+ 10 % (issue 6), whatever the driver's own per-read timers think."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from connhub.core.errors import ErrorClass
from connhub.plugins.registry import Registry
from connhub.services.runner import run_test
from tests.hostile.servers import hostile_server
from tests.support.servers import make_tls_files

TIMEOUT = 1.5
BOUND = TIMEOUT * 1.1
FINGERPRINT = "SHA256:" + "A" * 43


def config_for(type_name: str, host: str, port: int, tls: bool = False) -> tuple[dict, dict]:
    """(config, secrets) that point `type_name` at host:port, over TLS when asked."""
    return {
        "postgres": ({"host": host, "port": port, "database": "test", "user": "postgres",
                      "sslmode": "require" if tls else "disable"}, {"password": "pw-hang-1"}),
        "mysql": ({"host": host, "port": port, "user": "root", "ssl_mode": "DISABLED"}, {"password": "pw-hang-2"}),
        "redis": ({"host": host, "port": port, "tls": tls}, {}),
        "http": ({"base_url": f"{'https' if tls else 'http'}://{host}:{port}"}, {}),
        "smtp": ({"host": host, "port": port, "security": "tls" if tls else "starttls"}, {}),
        "ssh": ({"host": host, "port": port, "user": "alice", "auth.method": "password",
                 "host_key_policy": "fingerprint", "host_key_fingerprint": FINGERPRINT},
                {"auth.password": "pw-hang-3"}),
        "mqtt": ({"host": host, "port": port, "tls": tls}, {}),
        "nats": ({"host": host, "port": port, "tls": tls}, {}),
        "rabbitmq": ({"host": host, "port": port, "user": "guest", "tls": tls}, {"password": "guest"}),
    }[type_name]


#: What a dripper sends before its endless filler: a valid start of each protocol's first server message,
#: so the driver keeps waiting for "the rest" instead of failing on a malformed first byte.
DRIP_PREFIX = {
    "postgres": b"R\x00\x0f\xff\xff",  # an authentication request of ~1 MB
    "mysql": b"\xff\xff\x00\x00",  # a 64 KiB greeting packet
    "redis": b"+",  # a simple string that never ends
    "http": b"HTTP/1.1 200 OK\r\nX-Drip: ",
    "smtp": b"220-",
    "ssh": b"SSH-2.0-",
    "mqtt": b"\x20\xff\xff\xff\x7f",  # a CONNACK of 256 MiB
    "nats": b"INFO {",
    "rabbitmq": b"\x01\x00\x00\x00\x0f\xff\xff",  # a method frame of ~1 MB
}
TYPES = list(DRIP_PREFIX)


def _postgres_ssl_request(sock: socket.socket) -> None:
    sock.recv(8)  # SSLRequest
    sock.sendall(b"S")


def _nats_info(sock: socket.socket) -> None:
    sock.sendall(b'INFO {"server_id":"hang","version":"2.10.0","proto":1,"host":"127.0.0.1","port":4222,'
                 b'"max_payload":1048576,"tls_required":true}\r\n')


#: Types whose TLS the slow handshake can stand in for, with the plain-text preamble before TLS starts.
#: (mysql negotiates TLS inside its own greeting; ssh has no TLS.)
SLOW_TLS = {"postgres": _postgres_ssl_request, "redis": None, "http": None, "smtp": None, "mqtt": None,
            "nats": _nats_info, "rabbitmq": None}


@pytest.fixture(scope="module")
def registry() -> Registry:
    registry = Registry.discover(plugins=False)
    for name in TYPES:  # import each driver now, as the GUI does off its thread: run side by side, nine
        registry.get(name).integration().preload()  # cold imports would block the shared loop for ~2 s
    return registry


@pytest.fixture(scope="module")
def tls_server_context(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls")).server_context()


def run_all(registry: Registry, cases: dict[str, tuple[dict, dict]]) -> dict[str, tuple]:
    """Run every type's test at once on one loop (they only wait on sockets): {type: (result, seconds)}.

    Side by side is both faster and stricter: a driver that blocks the loop delays everyone and shows."""

    async def one(type_name: str, config: dict, secrets: dict):
        start = time.perf_counter()
        result = await run_test(registry.get(type_name), config, secrets, timeout=TIMEOUT)
        return result, time.perf_counter() - start

    async def main():
        outcomes = await asyncio.gather(*(one(name, *case) for name, case in cases.items()))
        return dict(zip(cases, outcomes))

    return asyncio.run(main())


def assert_all_timed_out_on_time(outcomes: dict[str, tuple], stages: tuple[str, ...] | None = None) -> None:
    problems = []
    for type_name, (result, elapsed) in outcomes.items():
        if result.error_class != ErrorClass.TIMEOUT:
            problems.append(f"{type_name}: {result.error_class} {result.message!r}")
        elif not result.failed_stage or (stages and result.failed_stage not in stages):
            problems.append(f"{type_name}: failed stage {result.failed_stage!r} ({result.stages})")
        elif not (result.hint.strip() and result.message.strip()):
            problems.append(f"{type_name}: no hint or message")
        if elapsed > BOUND:
            problems.append(f"{type_name}: took {elapsed:.3f} s for a {TIMEOUT} s timeout")
    assert not problems, problems


@contextmanager
def servers(mode: str, names: list[str], **options_for) -> Iterator[dict[str, tuple[str, int]]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(hostile_server(mode, **{k: v[name] for k, v in options_for.items()}))
               for name in names}


@pytest.fixture
def no_stray_threads():
    """Drivers that work in threads (paho's network loop) must not leave one behind per hung test."""
    before = {t.ident for t in threading.enumerate()}
    yield
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        stray = [t.name for t in threading.enumerate() if t.ident not in before]
        if not stray:
            return
        time.sleep(0.05)
    pytest.fail(f"threads left behind: {stray}")


def test_silent_server(registry, no_stray_threads):
    with servers("silent", TYPES) as addresses:
        outcomes = run_all(registry, {name: config_for(name, *addresses[name]) for name in TYPES})
    assert_all_timed_out_on_time(outcomes)
    # TCP was accepted: the stage that hung is named, not "connect" (a driver's connect call also greets)
    assert [name for name, (result, _) in outcomes.items() if result.failed_stage == "connect"] == []
    assert all("accepted the connection" in result.message for result, _ in outcomes.values()
               if result.failed_stage == "handshake")


def test_byte_dripper(registry, no_stray_threads):
    with servers("drip", TYPES, prefix=DRIP_PREFIX) as addresses:
        outcomes = run_all(registry, {name: config_for(name, *addresses[name]) for name in TYPES})
    assert_all_timed_out_on_time(outcomes)


def test_slow_tls_handshake(registry, tls_server_context, no_stray_threads):
    names = list(SLOW_TLS)
    with servers("slow-tls", names, tls={n: tls_server_context for n in names}, before_tls=SLOW_TLS) as addresses:
        outcomes = run_all(registry, {name: config_for(name, *addresses[name], tls=True) for name in names})
    assert_all_timed_out_on_time(outcomes, stages=("connect", "tls", "handshake"))
