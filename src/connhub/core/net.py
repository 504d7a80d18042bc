"""Network steps every integration shares: resolving the host, timing a driver's handshake, classifying the
OS error a driver wrapped, and building a client TLS context. Standard library only, so any integration can
use them without importing another integration's driver."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import math
import os
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime

from connhub.core.context import TestContext
from connhub.core.errors import (
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    DnsError,
    ErrorClass,
    RefusedError,
    TlsError,
    UnknownError,
    classify,
)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def resolve_host(host: str, port: int | None, ctx: TestContext) -> None:
    """The resolve stage: a DNS failure is reported as such before a driver wraps it in something vaguer."""
    with ctx.stage("resolve"):
        await _resolve(host, port, ctx)


async def resolve_hosts(hosts: list[tuple[str, int]], ctx: TestContext) -> list[tuple[str, int]]:
    """One resolve stage for a list of hosts tried in order (libpq's host1,host2): those that resolve, in
    order; the first host's failure when none does (libpq too skips a name it cannot resolve)."""
    with ctx.stage("resolve"):
        kept, first_error = [], None
        for host, port in hosts:
            try:
                await _resolve(host, port, ctx)
                kept.append((host, port))
            except DnsError as exc:
                first_error = first_error or exc
        if not kept:
            raise DnsError(f"{first_error} (nor any of the other {len(hosts) - 1} hosts)")
        return kept


async def _resolve(host: str, port: int | None, ctx: TestContext) -> None:
    if _is_ip(host):  # nothing to resolve; getaddrinfo would still cost a trip to the executor thread
        return
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(ctx.remaining()):
            await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DnsError(f"Cannot resolve {host}: {exc.strerror or exc}") from None
    except TimeoutError:
        raise ConnectTimeout(f"Resolving {host} took longer than {ctx.timeout:g} s") from None


async def socket_present(folder: str, name: str, ctx: TestContext) -> None:
    """The resolve stage of a Unix-socket connection: the socket file must be there (libpq's own hint when
    it is not: is the server running locally?)."""
    with ctx.stage("resolve"):
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            what = "folder" if not os.path.isdir(folder) else "socket"
            raise RefusedError(f"No {what} {path if what == 'socket' else folder}: is the server running "
                               "locally and accepting connections on that socket?")


#: Where a failure inside a one-call driver handshake really happened.
_STAGE_OF = {ErrorClass.TLS: "tls", ErrorClass.AUTH: "auth", ErrorClass.PERMISSION: "auth",
             ErrorClass.NOT_FOUND: "auth"}


@contextmanager
def handshake(ctx: TestContext, map_error: Callable[[Exception], ConnectionTestError]) -> Iterator[None]:
    """Time one driver call that connects, negotiates TLS and authenticates as the `connect` stage.

    Drivers do all three in one call, so they cannot be timed apart; a failure is classified at once and the
    stage is renamed after the step that failed (tls, auth), so `failed_stage` points at the right place.
    """
    try:
        with ctx.stage("connect"):
            yield
    except Exception as exc:
        error = map_error(exc)
        if ctx.stages and not ctx.stages[-1].ok:
            ctx.stages[-1].name = _STAGE_OF.get(error.error_class, ctx.stages[-1].name)
        if error is exc:
            raise
        raise error from exc


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it was raised from or during (drivers wrap the OS error)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify_os_chain(exc: BaseException, timeout: float) -> ConnectionTestError | None:
    """Classify by the first OS-level cause in a wrapped exception: DNS, refused, TLS or timeout."""
    for cause in exception_chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return TlsError(f"Certificate not trusted: {cause.verify_message or cause.reason}")
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return TlsError(str(getattr(cause, "reason", None) or cause))
        if isinstance(cause, TimeoutError):
            return ConnectTimeout(f"No answer within {timeout:g} s")
        if isinstance(cause, OSError):
            mapped = classify(cause)
            if mapped.error_class is not ErrorClass.UNKNOWN:
                return mapped
    return None


def classify_http_transport(exc: BaseException, timeout: float, peer: str = "server") -> ConnectionTestError | None:
    """An httpx timeout or transport failure (DNS, refused, TLS, not HTTP), for every type that speaks HTTP
    (the declarative runner, S3); None when `exc` is neither. httpx is imported only if it was already."""
    import sys

    httpx = sys.modules.get("httpx")
    if httpx is None:
        return None
    if isinstance(exc, httpx.TimeoutException):
        return ConnectTimeout(f"No answer within {timeout:g} s")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConfigError(f"Not a usable URL: {exc}")
    if isinstance(exc, httpx.TransportError):
        mapped = classify_os_chain(exc, timeout)
        if mapped is not None:
            return mapped
        if isinstance(exc, httpx.RemoteProtocolError):
            return UnknownError(f"The {peer} did not answer in HTTP: {exc}")
        if isinstance(exc, httpx.ConnectError):
            return RefusedError(str(exc) or "Cannot connect")
    return None


def tls_context(ca_file: str | None, *, verify: bool = True, check_hostname: bool = True) -> ssl.SSLContext:
    """A client TLS context; a CA file that cannot be read is a settings problem, not a TLS one.

    Loading the CA store costs 100-150 ms and runs on the event loop (the GUI's), so a context is made once
    per (CA file as it is on disk, options) and shared: contexts are meant to serve many connections."""
    stamp = None
    if verify and ca_file:
        try:
            info = os.stat(ca_file)
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError:
            stamp = None  # not there (yet): not cached, and the error below says so
    if verify and ca_file and stamp is None:
        return _new_tls_context(ca_file, verify, check_hostname)
    return _cached_tls_context(ca_file or None, stamp, verify, check_hostname)


@functools.lru_cache(maxsize=32)
def _cached_tls_context(ca_file: str | None, _stamp: tuple[int, int] | None, verify: bool,
                        check_hostname: bool) -> ssl.SSLContext:
    return _new_tls_context(ca_file, verify, check_hostname)


def _new_tls_context(ca_file: str | None, verify: bool, check_hostname: bool) -> ssl.SSLContext:
    if not verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        context = ssl.create_default_context(cafile=ca_file or None)
    except FileNotFoundError:
        raise ConfigError(f"CA certificate file not found: {ca_file}") from None
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"Cannot read the CA certificate file {ca_file}: {exc}") from None
    context.check_hostname = check_hostname
    return context


def retry_after(headers: Mapping[str, str], reset_header: str | None = None) -> float | None:
    """Seconds to wait: Retry-After in either of its forms (delta-seconds or an HTTP date), else the quota's
    reset time (Unix epoch seconds) from `reset_header`."""
    value = headers.get("retry-after", "").strip()
    if not value:
        reset = headers.get(reset_header, "").strip() if reset_header else ""
        if reset.isdigit():
            return float(max(0, math.ceil(int(reset) - time.time())))  # whole seconds: "wait 42 s"
        return None
    if value.isdigit():
        return float(value)
    try:
        from datetime import datetime, timezone

        return float(max(0, math.ceil((parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())))
    except (TypeError, ValueError):
        return None
