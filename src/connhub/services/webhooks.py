"""Webhooks: a local receiver that checks each provider's signature before reading the body, keeps every delivery
in the inbox with its verdict, replays them, and sends signed test events.

The receiver is a small HTTP/1.1 server on asyncio's streams, bounded everywhere a sender could make it wait or
grow: the request line and headers (16 KiB), a Content-Length required and capped (1 MiB by default; more is
answered 413 before a byte of the body is read), a deadline for the whole request (10 s), one request per
connection. It binds to 127.0.0.1 unless told otherwise (a tunnel such as ngrok or smee forwards to it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from connhub.core.records import Delivery, InstanceRecord
from connhub.core.webhooks import (
    STATUS,
    Scheme,
    Verdict,
    body_facts,
    mask_headers,
    parse_json,
    sign,
    slack_challenge,
    verify,
)

if TYPE_CHECKING:
    from connhub.services.credentials import Credentials
    from connhub.services.types import Types
    from connhub.storage.inbox import Inbox

log = logging.getLogger("connhub.webhooks")

MAX_BODY = 1 << 20
MAX_HEAD = 16 * 1024
REQUEST_DEADLINE_S = 10.0
KEEP_PER_INSTANCE = 1000
LOOPBACK = ("127.0.0.1", "::1", "localhost")
_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict", 411: "Length Required",
            413: "Payload Too Large", 431: "Request Header Fields Too Large"}


class NoWebhooks(ValueError):
    """The type declares no signed webhooks (its manifest has no `webhooks` block)."""


@dataclass
class Receiver:
    """A running receiver: where it listens and how to stop it."""

    host: str
    port: int
    server: asyncio.AbstractServer
    paths: dict[str, str] = field(default_factory=dict)  # path → instance name

    def url(self, name: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path_of(name)}"

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


def path_of(name: str) -> str:
    from urllib.parse import quote

    return "/hooks/" + quote(name, safe="")


class Webhooks:
    def __init__(self, types: Types, credentials: Credentials, inbox: Inbox,
                 clock: Callable[[], float] = time.time):
        self._types = types
        self._credentials = credentials
        self._inbox = inbox
        self._clock = clock
        self._seen: dict[str, set[str]] = {}  # instance id → delivery ids taken by this process

    # --- what a type signs ---------------------------------------------------------------------------

    def scheme(self, type_name: str) -> Scheme:
        spec = self._types.usable(type_name).manifest.webhooks
        if spec is None:
            raise NoWebhooks(f"{type_name} declares no signed webhooks")
        return Scheme(spec.scheme, header=spec.header or "", algorithm=spec.algorithm, prefix=spec.prefix,
                      encoding=spec.encoding, event_header=spec.event_header or "", id_header=spec.id_header or "")

    async def signing_secret(self, record: InstanceRecord) -> str:
        """The instance's signing secret, resolved as a test resolves its secrets (keyring, ask-every-time)."""
        spec = self._types.usable(record.type).manifest.webhooks
        _config, secrets = await self._credentials.for_instance(record)
        return str(secrets.get(spec.secret_field) or "") if spec else ""

    # --- receiving -----------------------------------------------------------------------------------

    def receive(self, record: InstanceRecord, secret: str, headers: dict[str, str], body: bytes,
                declared_size: int | None = None) -> tuple[Delivery, bytes, str]:
        """Judge one delivery, keep it in the inbox; (the delivery, the answer's body, its content type)."""
        scheme = self.scheme(record.type)
        lowered = {k.lower(): v for k, v in headers.items()}
        now = self._clock()
        delivery = Delivery(record.id, datetime.fromtimestamp(now, UTC), None, Verdict.ACCEPTED.value, 200,
                            headers=mask_headers(headers, scheme), body_size=len(body))
        answer, kind = b"", "application/json"
        if declared_size is not None and declared_size > MAX_BODY:
            delivery.verdict, delivery.body_size = Verdict.TOO_LARGE.value, declared_size
            delivery.reason = f"the body ({declared_size} bytes) is over the {MAX_BODY} byte cap"
        else:
            delivery.body = body
            check = verify(scheme, secret, lowered, body, now)
            payload = parse_json(body) if check.verdict is None else None
            event, body_id = body_facts(scheme, payload)
            delivery.event = check.event or event
            delivery.delivery_id = check.delivery_id or body_id
            if check.verdict is not None:
                delivery.verdict, delivery.reason = check.verdict.value, check.reason
            elif scheme.name == "slack" and (challenge := slack_challenge(payload)) is not None:
                delivery.event, answer, kind = "url_verification", challenge.encode(), "text/plain"
            elif delivery.delivery_id and self._replayed(record.id, delivery.delivery_id):
                delivery.verdict = Verdict.REPLAYED.value
                delivery.reason = f"delivery {delivery.delivery_id} was taken before"
            else:
                self._judge_payload(record, delivery, payload)
        delivery.status = STATUS[Verdict(delivery.verdict)]
        if delivery.verdict in (Verdict.ACCEPTED.value, Verdict.UNKNOWN_EVENT.value) and delivery.delivery_id:
            self._seen.setdefault(record.id, set()).add(delivery.delivery_id)
        self._inbox.add(delivery, keep=KEEP_PER_INSTANCE)
        log.info("webhook for instance %s: %s %s (%s)", record.id, delivery.event or "-", delivery.verdict,
                 delivery.status)
        if not answer:
            answer = json.dumps({"verdict": delivery.verdict, "delivery": delivery.id}).encode()
        return delivery, answer, kind

    def _replayed(self, instance_id: str, delivery_id: str) -> bool:
        if instance_id not in self._seen:  # first delivery outside a receiver: what the inbox already took
            self._seen[instance_id] = self._inbox.taken_ids(instance_id, KEEP_PER_INSTANCE)
        return delivery_id in self._seen[instance_id]

    def _judge_payload(self, record: InstanceRecord, delivery: Delivery, payload: Any) -> None:
        from connhub.services.events import validate_payload

        entry = self._types.usable(record.type)
        declared = {e.type for e in entry.manifest.events}
        if not declared:
            return  # a type that declares no event schemas takes any payload as it is
        if delivery.event not in declared:
            delivery.verdict = Verdict.UNKNOWN_EVENT.value
            delivery.reason = (f"event {delivery.event!r} is not one {record.type} declares" if delivery.event
                               else "the delivery names no event type")
            return
        if payload is None:
            delivery.verdict, delivery.reason = Verdict.INVALID_PAYLOAD.value, "the body is not JSON"
            return
        errors = validate_payload(entry, delivery.event, payload)
        if errors:
            delivery.verdict = Verdict.INVALID_PAYLOAD.value
            delivery.errors = [str(e) for e in errors[:50]]
            delivery.reason = f"{len(errors)} problem{'s' if len(errors) != 1 else ''} against the event schema"

    async def listen(self, records: list[InstanceRecord], host: str = "127.0.0.1", port: int = 0,
                     allow_remote: bool = False,
                     on_delivery: Callable[[InstanceRecord, Delivery], None] | None = None) -> Receiver:
        """Serve `POST /hooks/<name>` for each instance until closed. A host other than loopback needs
        `allow_remote` (anyone who can reach it can then send deliveries, checked by signature only)."""
        if host not in LOOPBACK and not allow_remote:
            raise PermissionError(f"listening on {host} lets other machines reach the receiver: pass allow_remote "
                                  "(--allow-remote) to mean it, or keep 127.0.0.1 and forward through a tunnel")
        if host not in LOOPBACK:
            log.warning("webhook receiver listening on %s, reachable from other machines", host)
        secrets = {r.id: await self.signing_secret(r) for r in records}
        loop = asyncio.get_running_loop()
        for r in records:  # the ids taken before, also by an earlier receiver: a replay after a restart is refused
            self._seen[r.id] = await loop.run_in_executor(None, self._inbox.taken_ids, r.id, KEEP_PER_INSTANCE)
        by_path = {path_of(r.name): r for r in records}

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await asyncio.wait_for(self._serve(reader, writer, by_path, secrets, on_delivery),
                                       REQUEST_DEADLINE_S)
            except TimeoutError:
                await _answer(writer, 408, b'{"error": "request took too long"}')
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, host, port, limit=MAX_HEAD)
        bound = server.sockets[0].getsockname()
        return Receiver(host, bound[1], server, {p: r.name for p, r in by_path.items()})

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     by_path: dict[str, InstanceRecord], secrets: dict[str, str],
                     on_delivery: Callable[[InstanceRecord, Delivery], None] | None) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            await _answer(writer, 431, b'{"error": "request head over 16 KiB"}')
            return
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            await _answer(writer, 400, b'{"error": "not an HTTP request"}')
            return
        method, target = parts[0], parts[1]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
        record = by_path.get(unquote(target.split("?", 1)[0]).replace("%2F", "/")) \
            or by_path.get(target.split("?", 1)[0])
        if record is None:
            await _answer(writer, 404, b'{"error": "no receiver at this path"}')
            return
        if method != "POST":
            await _answer(writer, 405, b'{"error": "send deliveries with POST"}')
            return
        lowered = {k.lower(): v for k, v in headers.items()}
        length_text = lowered.get("content-length", "")
        if not length_text.isdigit():
            await _answer(writer, 411, b'{"error": "Content-Length is required"}')
            return
        length = int(length_text)
        loop = asyncio.get_running_loop()
        if length > MAX_BODY:
            delivery, answer, kind = await loop.run_in_executor(
                None, lambda: self.receive(record, secrets[record.id], headers, b"", declared_size=length))
        else:
            body = await reader.readexactly(length)
            delivery, answer, kind = await loop.run_in_executor(
                None, lambda: self.receive(record, secrets[record.id], headers, body))
        await _answer(writer, delivery.status, answer, kind)
        if on_delivery is not None:
            on_delivery(record, delivery)

    # --- the inbox -----------------------------------------------------------------------------------

    def log(self, instance_id: str, limit: int = 50, event: str | None = None,
            verdict: str | None = None) -> list[Delivery]:
        return self._inbox.list(instance_id, limit, event, verdict)

    def get(self, delivery_id: int) -> Delivery | None:
        return self._inbox.get(delivery_id)

    def revalidate(self, record: InstanceRecord, delivery: Delivery) -> list[str]:
        """The stored payload checked again against today's event schema (its signature was checked when it
        arrived): the problems, [] when it passes."""
        entry = self._types.usable(record.type)
        if delivery.event not in {e.type for e in entry.manifest.events}:
            return [f"event {delivery.event!r} is not one {record.type} declares"]
        payload = parse_json(delivery.body)
        if payload is None:
            return ["the stored body is not JSON"]
        from connhub.services.events import validate_payload

        return [str(e) for e in validate_payload(entry, delivery.event, payload)]

    async def resend(self, delivery: Delivery, url: str, secret: str | None = None,
                     type_name: str | None = None) -> int:
        """POST a stored delivery's body to `url`, re-signed now with `secret` when given (a stored signature
        is masked, and would be stale). Returns the answer's status."""
        import httpx

        headers = {"Content-Type": delivery.headers.get("Content-Type") or "application/json"}
        if secret and type_name:
            headers.update(sign(self.scheme(type_name), secret, delivery.body, self._clock(), delivery.event,
                                _fresh_id()))
        async with httpx.AsyncClient(timeout=10.0, trust_env=False, follow_redirects=False) as client:
            response = await client.post(url, content=delivery.body, headers=headers)
        return response.status_code

    # --- test events ---------------------------------------------------------------------------------

    def sample(self, type_name: str, event: str, overrides: dict[str, Any] | None = None) -> Any:
        """A payload for `event` made from its schema (valid against it), with `overrides` set by dotted path."""
        from connhub.core.webhooks import generate, set_path
        from connhub.services.events import event_schema

        entry = self._types.usable(type_name)
        payload = generate(event_schema(entry, event))
        for path, value in (overrides or {}).items():
            set_path(payload, path, value)
        return payload

    async def trigger(self, type_name: str, event: str, url: str, secret: str,
                      overrides: dict[str, Any] | None = None) -> tuple[int, Any]:
        """Send a signed test event as the provider would: (the answer's status, the payload sent)."""
        import httpx

        scheme = self.scheme(type_name)  # a type that signs nothing is said first
        payload = self.sample(type_name, event, overrides)
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "connhub-webhooks"}
        headers.update(sign(scheme, secret, body, self._clock(), event, _fresh_id()))
        async with httpx.AsyncClient(timeout=10.0, trust_env=False, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
        return response.status_code, payload


async def _answer(writer: asyncio.StreamWriter, status: int, body: bytes, kind: str = "application/json") -> None:
    head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    writer.write(head + body)
    try:
        await writer.drain()
    except ConnectionError:
        pass


def _fresh_id() -> str:
    return "connhub-" + "".join(random.choices(string.ascii_lowercase + string.digits, k=16))
