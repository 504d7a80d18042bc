"""Webhook signatures as each provider documents them: verify a delivery (before its body is parsed) and sign
one (for test events). Pure: no I/O, the clock is passed in.

- GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`
  (docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).
- GitLab: `X-Gitlab-Token` is the secret itself, compared in constant time
  (docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook).
- Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256(secret, "v0:{X-Slack-Request-Timestamp}:{body}")>`, the
  timestamp within 5 minutes (api.slack.com/authentication/verifying-requests-from-slack).
- Stripe: `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>[,v1=…]`, any v1 may match
  (several during a secret's rotation), the timestamp within 300 s (docs.stripe.com/webhooks#verify-manually).
- hmac: the generic scheme for a type that declares it (`webhooks` in its manifest): the header, the hash,
  a prefix and hex or base64 — so a code-free type can verify its own webhooks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

SCHEMES = ("github", "gitlab", "slack", "stripe", "hmac")
ALGORITHMS = ("sha1", "sha256", "sha512")
TOLERANCE_S = 300  # Slack and Stripe: a delivery older (or newer) than five minutes is refused as stale


class Verdict(str, Enum):
    ACCEPTED = "accepted"
    BAD_SIGNATURE = "bad_signature"
    UNSIGNED = "unsigned"
    STALE = "stale"
    REPLAYED = "replayed"
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_EVENT = "unknown_event"
    TOO_LARGE = "too_large"


#: The HTTP status each verdict is answered with: 2xx quickly for what was taken (an event type the type does
#: not declare is kept, not validated), 401 for anything about the signature, 400 for a payload that misses
#: its schema, 409 for a delivery seen before, 413 for a body over the cap.
STATUS = {Verdict.ACCEPTED: 200, Verdict.UNKNOWN_EVENT: 202, Verdict.BAD_SIGNATURE: 401, Verdict.UNSIGNED: 401,
          Verdict.STALE: 401, Verdict.REPLAYED: 409, Verdict.INVALID_PAYLOAD: 400, Verdict.TOO_LARGE: 413}

#: Headers never stored as received: they carry the signature or the secret itself.
SECRET_HEADERS = frozenset({"x-hub-signature", "x-hub-signature-256", "x-gitlab-token", "x-slack-signature",
                            "stripe-signature", "authorization", "cookie", "proxy-authorization"})


@dataclass(frozen=True)
class Scheme:
    """How one type's deliveries are signed (a manifest's `webhooks` block)."""

    name: str
    header: str = ""  # hmac: the signature header
    algorithm: str = "sha256"
    prefix: str = ""
    encoding: str = "hex"
    event_header: str = ""  # hmac: where the event type is, if anywhere
    id_header: str = ""  # hmac: a delivery id, for replay protection

    def secret_headers(self) -> frozenset[str]:
        return SECRET_HEADERS | ({self.header.lower()} if self.header else frozenset())


@dataclass
class Check:
    """What verifying a delivery found: the verdict of the signature step (None: it passed), and what the
    headers and body say about the delivery (its id for replay protection, its event type, its time)."""

    verdict: Verdict | None
    reason: str = ""
    delivery_id: str | None = None
    event: str | None = None
    timestamp: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def verify(scheme: Scheme, secret: str, headers: dict[str, str], body: bytes, now: float) -> Check:
    """Check a delivery's signature. `headers` with lower-case names. Never raises on any input."""
    if not secret:
        return Check(Verdict.UNSIGNED, "no signing secret is saved for this connection")
    key = secret.encode()
    name = scheme.name
    if name == "github":
        given = headers.get("x-hub-signature-256")
        check = _one(given, "sha256=" + _hex(key, body, "sha256"), "X-Hub-Signature-256")
        check.delivery_id, check.event = headers.get("x-github-delivery"), headers.get("x-github-event")
        return check
    if name == "gitlab":
        given = headers.get("x-gitlab-token")
        check = _one(given, secret, "X-Gitlab-Token")
        check.delivery_id = headers.get("x-gitlab-event-uuid")
        check.event = _gitlab_event(headers.get("x-gitlab-event"))
        return check
    if name == "slack":
        given, stamp = headers.get("x-slack-signature"), _int(headers.get("x-slack-request-timestamp"))
        if given is None:
            return Check(Verdict.UNSIGNED, "no X-Slack-Signature header")
        if stamp is None:
            return Check(Verdict.BAD_SIGNATURE, "X-Slack-Request-Timestamp is missing or not a number")
        if abs(now - stamp) > TOLERANCE_S:
            return Check(Verdict.STALE, f"signed {int(now - stamp)} s from now: more than {TOLERANCE_S} s away",
                         timestamp=stamp)
        check = _one(given, "v0=" + _hex(key, b"v0:%d:" % stamp + body, "sha256"), "X-Slack-Signature")
        check.timestamp = stamp
        return check
    if name == "stripe":
        return _stripe(key, headers.get("stripe-signature"), body, now)
    if name == "hmac":
        if scheme.algorithm not in ALGORITHMS:
            return Check(Verdict.BAD_SIGNATURE, f"unknown algorithm {scheme.algorithm!r}")
        digest = hmac.new(key, body, scheme.algorithm).digest()
        text = digest.hex() if scheme.encoding == "hex" else base64.b64encode(digest).decode()
        check = _one(headers.get(scheme.header.lower()), scheme.prefix + text, scheme.header)
        check.event = headers.get(scheme.event_header.lower()) if scheme.event_header else None
        check.delivery_id = headers.get(scheme.id_header.lower()) if scheme.id_header else None
        return check
    return Check(Verdict.BAD_SIGNATURE, f"unknown signing scheme {name!r}")


def sign(scheme: Scheme, secret: str, body: bytes, now: float, event: str | None = None,
         delivery_id: str | None = None) -> dict[str, str]:
    """The headers the provider would send with this body (for `connhub webhooks trigger`)."""
    key, name, stamp = secret.encode(), scheme.name, int(now)
    if name == "github":
        return _labelled({"X-Hub-Signature-256": "sha256=" + _hex(key, body, "sha256")},
                         ("X-GitHub-Event", event), ("X-GitHub-Delivery", delivery_id))
    if name == "gitlab":
        return _labelled({"X-Gitlab-Token": secret}, ("X-Gitlab-Event", event),
                         ("X-Gitlab-Event-UUID", delivery_id))
    if name == "slack":
        return {"X-Slack-Request-Timestamp": str(stamp),
                "X-Slack-Signature": "v0=" + _hex(key, b"v0:%d:" % stamp + body, "sha256")}
    if name == "stripe":
        return {"Stripe-Signature": f"t={stamp},v1=" + _hex(key, b"%d." % stamp + body, "sha256")}
    if name == "hmac":
        digest = hmac.new(key, body, scheme.algorithm).digest()
        text = digest.hex() if scheme.encoding == "hex" else base64.b64encode(digest).decode()
        return _labelled({scheme.header: scheme.prefix + text}, (scheme.event_header, event),
                         (scheme.id_header, delivery_id))
    raise ValueError(f"unknown signing scheme {name!r}")


def body_facts(scheme: Scheme, body: Any) -> tuple[str | None, str | None]:
    """(event type, delivery id) that a parsed body carries: Slack's envelope and Stripe's Event say both."""
    if not isinstance(body, dict):
        return None, None
    if scheme.name == "slack":
        inner = body.get("event")
        kind = inner.get("type") if body.get("type") == "event_callback" and isinstance(inner, dict) else None
        return _text(kind), _text(body.get("event_id"))
    if scheme.name == "stripe":
        return _text(body.get("type")), _text(body.get("id"))
    return None, None


def slack_challenge(body: Any) -> str | None:
    """The `challenge` of Slack's url_verification handshake (answered with it, after the signature check)."""
    if isinstance(body, dict) and body.get("type") == "url_verification" and isinstance(body.get("challenge"), str):
        return body["challenge"][:200]
    return None


def mask_headers(headers: dict[str, str], scheme: Scheme) -> dict[str, str]:
    secret = scheme.secret_headers()
    return {k: ("********" if k.lower() in secret else v) for k, v in headers.items()}


def parse_json(body: bytes) -> Any:
    """The body as JSON, or None (a form-encoded Slack command, say): never raises."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


# --- helpers ------------------------------------------------------------------------------------------------

def _labelled(headers: dict[str, str], *labels: tuple[str, str | None]) -> dict[str, str]:
    """The signature headers plus each (header, value) that has both: the event type, the delivery id."""
    return {**headers, **{name: value for name, value in labels if name and value}}


def _hex(key: bytes, message: bytes, algorithm: str) -> str:
    return hmac.new(key, message, getattr(hashlib, algorithm)).hexdigest()


def _one(given: str | None, expected: str, header: str) -> Check:
    if given is None:
        return Check(Verdict.UNSIGNED, f"no {header} header")
    if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected.encode()):
        return Check(Verdict.BAD_SIGNATURE, f"{header} does not match this connection's signing secret")
    return Check(None)


def _stripe(key: bytes, header: str | None, body: bytes, now: float) -> Check:
    if header is None:
        return Check(Verdict.UNSIGNED, "no Stripe-Signature header")
    stamp, signatures = None, []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            stamp = _int(value)
        elif name == "v1":
            signatures.append(value.strip())
    if stamp is None or not signatures:
        return Check(Verdict.BAD_SIGNATURE, "Stripe-Signature has no t= timestamp or no v1= signature")
    if abs(now - stamp) > TOLERANCE_S:
        return Check(Verdict.STALE, f"signed {int(now - stamp)} s from now: more than {TOLERANCE_S} s away",
                     timestamp=stamp)
    expected = _hex(key, b"%d." % stamp + body, "sha256").encode()
    # Every candidate is compared (no early exit): the time taken says nothing about which one matched.
    matched = [hmac.compare_digest(s.encode("utf-8", "replace"), expected) for s in signatures]
    if not any(matched):
        return Check(Verdict.BAD_SIGNATURE, "no v1 signature in Stripe-Signature matches this connection's "
                     "signing secret", timestamp=stamp)
    return Check(None, timestamp=stamp)


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 12 else None


def _text(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) and value else None


_GITLAB_EVENTS = {"Push Hook": "push", "Tag Push Hook": "tag_push", "Issue Hook": "issue",
                  "Merge Request Hook": "merge_request", "Note Hook": "note", "Pipeline Hook": "pipeline",
                  "Job Hook": "job", "Release Hook": "release", "Wiki Page Hook": "wiki_page"}


def _gitlab_event(header: str | None) -> str | None:
    """GitLab names events "Push Hook"; connhub's event types are the payload's `object_kind` ("push")."""
    if header is None:
        return None
    return _GITLAB_EVENTS.get(header.strip(), header.strip()[:200] or None)


# --- payloads from a schema -----------------------------------------------------------------------------------

_FORMATS = {"date-time": "2026-12-07T12:00:00Z", "date": "2026-12-07", "email": "dev@example.com",
            "uri": "https://example.com/", "ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "uuid":
            "3f2b8c1e-8d3a-4c2e-9b6f-1a2b3c4d5e6f"}


def generate(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A value valid against `schema` (the subset event schemas use: objects with their required and declared
    properties, arrays of minItems, strings of a format, a pattern's example, enums, consts, numbers in range,
    local `$ref`s, anyOf/oneOf/allOf taken at their first branch)."""
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 20:
        return None
    if "$ref" in schema and schema["$ref"].startswith("#/"):
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return generate(target, root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "examples" in schema and schema["examples"]:
        return schema["examples"][0]
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return generate(schema[key][0], root, depth + 1)
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = generate(part, root, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        props = schema.get("properties", {})
        return {key: generate(props.get(key, {}), root, depth + 1) for key in
                list(dict.fromkeys([*schema.get("required", []), *props]))}
    if kind == "array":
        return [generate(schema.get("items", {}), root, depth + 1) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "string":
        text = _FORMATS.get(schema.get("format", ""), "sample")
        if "pattern" in schema:
            text = pattern_example(schema["pattern"]) or text
        low = schema.get("minLength", 0)
        return text + "x" * max(0, low - len(text))
    if kind == "integer":
        return int(max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1))
    if kind == "number":
        return float(max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return "sample"


def set_path(payload: Any, path: str, value: Any) -> None:
    """`a.b[0].c = value`, creating objects along the way."""
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    if not parts:
        raise ValueError(f"--set {path!r}: name a field, e.g. data.object.amount=500")
    node = payload
    for part, following in zip(parts, parts[1:]):
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                raise ValueError(f"--set {path!r}: there is no item {part} there")
            node = node[part]
        else:
            if not isinstance(node, dict):
                raise ValueError(f"--set {path!r}: {part!r} is not inside an object")
            node = node.setdefault(part, [] if isinstance(following, int) else {})
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise ValueError(f"--set {path!r}: there is no item {last} there")
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ValueError(f"--set {path!r}: {last!r} is not inside an object")


_CLASS_ESCAPES = {"d": "0", "w": "a", "s": " "}


def pattern_example(pattern: str) -> str | None:
    """A text matching a simple regular expression (literals, escapes, [classes], (a|b) groups, quantifiers
    ? * + {n} {n,m}, anchors), or None when the pattern is beyond that or the text does not match."""
    out, i, n = [], 0, len(pattern)
    try:
        while i < n:
            c = pattern[i]
            if c in "^$":
                i += 1
                continue
            if c == "\\":
                piece, i = _CLASS_ESCAPES.get(pattern[i + 1], pattern[i + 1]), i + 2
            elif c == "[":
                end = pattern.index("]", i + 2)
                body = pattern[i + 1:end]
                piece, i = (body[0] if not body.startswith("^") else "x"), end + 1  # a range's first end
            elif c == "(":
                depth, j = 0, i
                while True:
                    depth += {"(": 1, ")": -1}.get(pattern[j], 0)
                    if depth == 0:
                        break
                    j += 1
                inner = pattern[i + 1:j].removeprefix("?:")
                piece, i = pattern_example(inner.split("|")[0]) or "", j + 1
            elif c in "|)":
                break
            else:
                piece, i = c, i + 1
            count = 1
            if i < n and pattern[i] in "?*+":
                count, i = {"?": 1, "*": 1, "+": 8}[pattern[i]], i + 1
            elif i < n and pattern[i] == "{":
                end = pattern.index("}", i)
                count, i = int(pattern[i + 1:end].split(",")[0]), end + 1
            out.append(piece * count)
    except (ValueError, IndexError):
        return None
    text = "".join(out)
    return text if re.search(pattern, text) else None
