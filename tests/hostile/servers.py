"""Hostile TCP servers for hang tests: one that never speaks, one that drips bytes, one whose TLS handshake
crawls. Each runs in threads and is torn down (every socket closed) when its `with` block ends."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

#: One byte every DRIP_INTERVAL seconds: each byte resets a driver's per-read idle timer, so only a
#: whole-test deadline can stop it.
DRIP_INTERVAL = 0.2
FILLER = b"x"


@contextmanager
def hostile_server(mode: str, *, prefix: bytes = b"", tls: ssl.SSLContext | None = None,
                   before_tls: Callable[[socket.socket], None] | None = None,
                   interval: float = DRIP_INTERVAL) -> Iterator[tuple[str, int]]:
    """Listen on 127.0.0.1:<free port> and serve every connection in `mode`:

    - "silent": accept, read whatever comes, never answer;
    - "drip": send `prefix` then FILLER forever, one byte per `interval`;
    - "slow-tls": run `before_tls(sock)` (a protocol's plain-text preamble), read the ClientHello, then
      send the real server handshake one byte per `interval` (a TLS server on a very slow link).
    """
    assert mode in ("silent", "drip", "slow-tls")
    stop = threading.Event()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    clients: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def drip(sock: socket.socket, data: bytes) -> None:
        for i in range(len(data)):
            if stop.wait(interval):
                return
            sock.sendall(data[i:i + 1])

    def serve(sock: socket.socket) -> None:
        sock.settimeout(0.05)
        try:
            if mode == "silent":
                while not stop.is_set():
                    with suppress(TimeoutError):
                        if not sock.recv(4096):
                            return
            elif mode == "drip":
                drip(sock, prefix)
                while not stop.is_set():
                    drip(sock, FILLER)
            else:
                if before_tls:
                    sock.settimeout(5)
                    before_tls(sock)
                    sock.settimeout(0.05)
                incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
                server = tls.wrap_bio(incoming, outgoing, server_side=True)
                while not stop.is_set():
                    with suppress(TimeoutError):
                        data = sock.recv(65536)
                        if not data:
                            return
                        incoming.write(data)
                    with suppress(ssl.SSLWantReadError):
                        server.do_handshake()
                    pending = outgoing.read()
                    if pending:
                        drip(sock, pending)
        except (OSError, ssl.SSLError):
            return  # the client gave up: that is the point

    def accept_loop() -> None:
        while not stop.is_set():
            try:
                sock, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            clients.append(sock)
            thread = threading.Thread(target=serve, args=(sock,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield "127.0.0.1", listener.getsockname()[1]
    finally:
        stop.set()
        acceptor.join(timeout=2)
        for thread in threads:
            thread.join(timeout=2)
        for sock in clients:
            sock.close()
        listener.close()
