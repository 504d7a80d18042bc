"""The error taxonomy every integration raises into, and the one place that words it for people.

Integration code never writes UI text: it raises one of the classes below (or lets a library exception
through, which `classify` maps). `HINTS` and `TITLES` are the only messages a user sees for a class.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import ssl
from enum import StrEnum


class ErrorClass(StrEnum):
    DNS = "dns"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    TLS = "tls"
    AUTH = "auth"
    PERMISSION = "permission"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    CONFIG = "config"
    UNKNOWN = "unknown"


TITLES: dict[ErrorClass, str] = {
    ErrorClass.DNS: "Host name not found",
    ErrorClass.REFUSED: "Connection refused",
    ErrorClass.TIMEOUT: "Timed out",
    ErrorClass.TLS: "TLS handshake failed",
    ErrorClass.AUTH: "Authentication failed",
    ErrorClass.PERMISSION: "Permission denied",
    ErrorClass.RATE_LIMITED: "Rate limited",
    ErrorClass.NOT_FOUND: "Not found",
    ErrorClass.CONFIG: "Invalid settings",
    ErrorClass.UNKNOWN: "Unexpected error",
}

HINTS: dict[ErrorClass, str] = {
    ErrorClass.DNS: "Check the host name for typos, and that this machine's DNS or VPN can resolve it.",
    ErrorClass.REFUSED: "Check the port, and that the server is running and listening on that address.",
    ErrorClass.TIMEOUT: "Check firewalls and VPNs between you and the server, or raise the timeout.",
    ErrorClass.TLS: "Check the TLS mode and the server's certificate (or provide the CA that signed it).",
    ErrorClass.AUTH: "Check the user name and the password, token or key.",
    ErrorClass.PERMISSION: "The credentials work, but lack a permission: check the role or token scopes.",
    ErrorClass.RATE_LIMITED: "The server asks you to slow down: wait a little, then test again.",
    ErrorClass.NOT_FOUND: "Check the database, path, base URL or resource name.",
    ErrorClass.CONFIG: "Fix the highlighted settings and test again.",
    ErrorClass.UNKNOWN: "See the message for details; report it if it looks like a connhub bug.",
}


class ConnectionTestError(Exception):
    """A classified failure of a connection test. `detail` is shown to the user, after redaction."""

    error_class: ErrorClass = ErrorClass.UNKNOWN

    def __init__(self, detail: str = "", *, retry_after: float | None = None):
        super().__init__(detail)
        self.detail = detail or TITLES[self.error_class]
        self.retry_after = retry_after


class DnsError(ConnectionTestError):
    error_class = ErrorClass.DNS


class RefusedError(ConnectionTestError):
    error_class = ErrorClass.REFUSED


class ConnectTimeout(ConnectionTestError):
    error_class = ErrorClass.TIMEOUT


class TlsError(ConnectionTestError):
    error_class = ErrorClass.TLS


class AuthError(ConnectionTestError):
    error_class = ErrorClass.AUTH


class PermissionDenied(ConnectionTestError):
    error_class = ErrorClass.PERMISSION


class RateLimited(ConnectionTestError):
    error_class = ErrorClass.RATE_LIMITED


class NotFound(ConnectionTestError):
    error_class = ErrorClass.NOT_FOUND


class ConfigError(ConnectionTestError):
    error_class = ErrorClass.CONFIG


class UnknownError(ConnectionTestError):
    error_class = ErrorClass.UNKNOWN


_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EADDRNOTAVAIL}


def classify(exc: BaseException) -> ConnectionTestError:
    """Map a library or OS exception to the taxonomy; integrations call this for what they don't catch."""
    if isinstance(exc, ConnectionTestError):
        return exc
    text = str(exc) or type(exc).__name__
    if isinstance(exc, socket.gaierror):
        return DnsError(f"Cannot resolve host: {exc.strerror or text}")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return TlsError(text)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return ConnectTimeout("No answer within the timeout")
    if isinstance(exc, ConnectionRefusedError):
        return RefusedError(_refused_text(text))
    if isinstance(exc, PermissionError):
        return PermissionDenied(text)
    if isinstance(exc, FileNotFoundError):
        return NotFound(text)
    if isinstance(exc, OSError):
        if exc.errno == errno.ECONNREFUSED:
            return RefusedError(_refused_text(text))
        if exc.errno in _UNREACHABLE:
            return RefusedError(f"Host unreachable: {text}")
        if exc.errno == errno.ETIMEDOUT:
            return ConnectTimeout(text)
        # asyncio wraps several connect attempts into one OSError("Multiple exceptions: ...").
        if "Connect call failed" in text or "Connection refused" in text:
            return RefusedError(_refused_text(text))
    return UnknownError(f"{type(exc).__name__}: {text}")


_CONNECT_CALL = re.compile(r"Connect call failed \('([^']+)', (\d+)")


def _refused_text(text: str) -> str:
    """asyncio's "[Errno 111] Connect call failed ('::1', 5432, 0, 0)" in words a user reads at a glance."""
    addresses = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in _CONNECT_CALL.findall(text)]
    if not addresses:
        return text
    return f"Nothing accepts connections on {' or '.join(dict.fromkeys(addresses))}"
