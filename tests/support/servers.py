"""Small local servers for tests: a TCP black hole, a threaded HTTP(S) server, throwaway TLS files.

`http_server(handler)` is the base for SaaS API fakes: the handler gets a `Request` and returns
`(status, headers, body)`; every request is recorded for assertions (e.g. that a key never reached a host).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@contextmanager
def blackhole_server(host: str = "127.0.0.1") -> Iterator[tuple[str, int]]:
    """A socket that completes TCP handshakes (the kernel's backlog does) and never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
        sock.listen(64)
        yield host, sock.getsockname()[1]
    finally:
        sock.close()


def wait_for_port(host: str, port: int, timeout: float = 10.0, alive: Callable[[], bool] = lambda: True) -> bool:
    """Poll until something accepts TCP on host:port; False on timeout or when `alive()` turns false."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


# --- HTTP ------------------------------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: Message  # case-insensitive: request.headers["authorization"]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


#: (status, headers, body); a dict or list body is sent as JSON.
Reply = tuple[int, dict[str, str], bytes | str | dict | list | None]
Handler = Callable[[Request], Reply]


@dataclass
class LocalHttpServer:
    url: str  # "http://127.0.0.1:PORT" (https with TLS), no trailing slash
    host: str
    port: int
    requests: list[Request] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)  # exceptions raised by the handler


@contextmanager
def http_server(handler: Handler, tls: ssl.SSLContext | None = None,
                host: str = "127.0.0.1") -> Iterator[LocalHttpServer]:
    """A ThreadingHTTPServer on a free port, in a thread, calling `handler` for every request.

    A handler exception becomes a 500 answer and is kept in `.errors` (assert it is empty if it matters).
    """
    state: LocalHttpServer

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, parts.path, parse_qs(parts.query), self.headers,
                              self.rfile.read(length) if length else b"")
            state.requests.append(request)
            try:
                status, headers, body = handler(request)
            except Exception as exc:  # report it, answer 500
                state.errors.append(exc)
                status, headers, body = 500, {}, f"handler error: {type(exc).__name__}"
            if isinstance(body, dict | list):
                headers = {"Content-Type": "application/json", **headers}
                body = json.dumps(body)
            data = body.encode() if isinstance(body, str) else (body or b"")
            headers = dict(headers)
            server = next((headers.pop(k) for k in list(headers) if k.lower() == "server"), "connhub-test")
            self.send_response_only(status)
            self.send_header("Server", server)  # the handler's own, if it gave one
            self.send_header("Date", self.date_time_string())
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    class _Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request, client_address) -> None:
            """A client hanging up mid-request (a cancelled test, a TLS handshake refused by design) is
            expected here; anything else is still printed."""
            if not isinstance(sys.exc_info()[1], ConnectionError | ssl.SSLError):
                super().handle_error(request, client_address)

    server = _Server((host, 0), _Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]
    state = LocalHttpServer(f"{'https' if tls else 'http'}://{host}:{port}", host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --- TLS -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TlsFiles:
    ca: Path  # PEM of the throwaway CA (give it to the client as ca_file)
    cert: Path  # server certificate for localhost / 127.0.0.1 / ::1, signed by the CA
    key: Path  # its private key (mode 0600)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls_files(directory: Path) -> TlsFiles:
    """A throwaway CA and a server certificate it signed, valid for localhost, 127.0.0.1 and ::1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    valid = dict(not_valid_before=now - datetime.timedelta(hours=1), not_valid_after=now + datetime.timedelta(days=2))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "connhub test CA")])
    ca_cert = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"])
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"])
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))

    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.touch(mode=0o600)
    files.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return files


# --- throwaway database servers ------------------------------------------------------------------------

@dataclass
class ThrowawayServer:
    host: str
    port: int
    directory: Path
    password: str | None = None


def postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin with initdb, or the directory of initdb on PATH."""
    import glob
    import shutil

    candidates = sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin") if Path(p, "initdb").exists()),
                        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1]
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@contextmanager
def throwaway_postgres(bin_dir: Path, port: int, password: str, tls: TlsFiles | None = None,
                       timeout: float = 30.0) -> Iterator[ThrowawayServer]:
    """A private PostgreSQL cluster on 127.0.0.1:port with scram-sha-256 auth (superuser `postgres`).

    initdb refuses to run as root, so as root the cluster belongs to the `postgres` account (runuser).
    With `tls`, the server also accepts TLS with that certificate. Stopped and deleted on exit.
    """
    import os
    import pwd
    import shutil
    import subprocess
    import tempfile

    as_root = os.geteuid() == 0
    owner = pwd.getpwnam("postgres") if as_root else None
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    directory = Path(tempfile.mkdtemp(prefix="connhub-pg-"))
    data = directory / "data"

    def own(path: Path) -> None:
        if owner:
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def call(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            log = (directory / "log").read_text(errors="replace")[-2000:] if (directory / "log").exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()}\n{log}")

    try:
        own(directory)
        pwfile = directory / "pw"
        pwfile.write_text(password)
        own(pwfile)
        call(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=scram-sha-256",
             f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        options = [f"-p {port}", f"-k {directory}", "-c listen_addresses=127.0.0.1", "-c fsync=off"]
        if tls is not None:
            for name, source in (("server.crt", tls.cert), ("server.key", tls.key)):
                shutil.copyfile(source, directory / name)
                (directory / name).chmod(0o600)
                own(directory / name)
            options += ["-c ssl=on", f"-c ssl_cert_file={directory / 'server.crt'}",
                        f"-c ssl_key_file={directory / 'server.key'}"]
        call(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(directory / "log"), "-w", "-t", str(int(timeout)),
             "-o", " ".join(options), "start")
        try:
            yield ThrowawayServer("127.0.0.1", port, directory, password)
        finally:
            subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=timeout)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def throwaway_redis(port: int, *args: str, tls: TlsFiles | None = None,
                    timeout: float = 10.0) -> Iterator[ThrowawayServer]:
    """A private redis-server on 127.0.0.1:port with no persistence; extra `args` are config options
    (`"--requirepass", "pw"`). With `tls`, `port` is a TLS port (and there is no plain one)."""
    import shutil
    import subprocess
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="connhub-redis-"))
    listen = ["--port", str(port)]
    if tls is not None:
        listen = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(tls.cert),
                  "--tls-key-file", str(tls.key), "--tls-ca-cert-file", str(tls.ca), "--tls-auth-clients", "no"]
    command = [shutil.which("redis-server") or "redis-server", *listen, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", str(directory), "--logfile", str(directory / "log"), *args]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not wait_for_port("127.0.0.1", port, timeout, alive=lambda: process.poll() is None):
            log = (directory / "log").read_text(errors="replace")[-2000:] if (directory / "log").exists() else ""
            raise RuntimeError(f"redis-server did not start on port {port}: {log}")
        yield ThrowawayServer("127.0.0.1", port, directory)
    finally:
        process.kill()
        process.wait(timeout=timeout)
        if process.stderr:
            process.stderr.close()
        shutil.rmtree(directory, ignore_errors=True)
