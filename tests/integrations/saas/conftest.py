"""Fake SaaS APIs and a tiny forwarding proxy for the declarative SaaS types.

`fake_api(check_auth, routes)` serves one API: every request must hit a known route *and* carry the right
credentials, otherwise it answers the API's documented failure (404 or 401 with the real error body). The
server keeps every request, so tests also assert what was sent (auth header, path, method).
"""

from __future__ import annotations

import base64
import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.servers import LocalHttpServer, Reply, Request, http_server
from tests.support.type_cases import manifest_only_types

#: The manifest-only SaaS types, from the registry (github, gitlab, jira, slack, stripe today).
SAAS_TYPES = tuple(manifest_only_types())


def bearer(request: Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None


def basic(request: Request) -> tuple[str, str] | None:
    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
    return user, password


@contextmanager
def fake_api(routes: dict[tuple[str, str], Callable[[Request], Reply]], authorized: Callable[[Request], bool],
             unauthorized: Reply, prefix: str = "") -> Iterator[LocalHttpServer]:
    """An API with `routes` {(method, path): handler}; a request without valid credentials gets `unauthorized`,
    one to an unknown route a 404 — so a test passes only if the runner sent the right path *and* auth."""

    def handle(request: Request) -> Reply:
        route = routes.get((request.method, request.path.removeprefix(prefix)))
        if route is None or not request.path.startswith(prefix):
            return 404, {}, {"message": "Not Found"}
        if not authorized(request):
            return unauthorized
        return route(request)

    with http_server(handle) as server:
        yield server


# --- a forwarding HTTP proxy -------------------------------------------------------------------------------

@dataclass
class LocalProxy:
    url: str
    seen: list[str] = field(default_factory=list)  # request lines, e.g. "GET http://127.0.0.1:1234/user"


@contextmanager
def forwarding_proxy() -> Iterator[LocalProxy]:
    """An HTTP proxy for http:// targets (absolute-form request lines, RFC 9112 §3.2.2): it forwards the request
    with its headers and body and relays the answer. CONNECT (HTTPS tunnels) is refused with 405."""
    state: LocalProxy

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            state.seen.append(f"{self.command} {self.path}")
            target = urlsplit(self.path)
            if target.scheme != "http" or not target.hostname:
                self._answer(400, b"absolute http:// URL expected")
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection")}
            upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=5)
            try:
                path = target.path + (f"?{target.query}" if target.query else "")
                upstream.request(self.command, path or "/", body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response_only(answer.status, answer.reason)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Via", "1.1 connhub-test-proxy")
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self._answer(502, b"upstream unreachable")
            finally:
                upstream.close()

        def _answer(self, status: int, data: bytes) -> None:
            self.send_response_only(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_CONNECT(self) -> None:  # noqa: N802 - http.server's naming
            state.seen.append(f"CONNECT {self.path}")
            self._answer(405, b"no tunnels here")

        do_GET = do_POST = do_HEAD = _forward

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = LocalProxy(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def proxy() -> Iterator[LocalProxy]:
    with forwarding_proxy() as running:
        yield running
