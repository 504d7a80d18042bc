"""AWS Signature Version 4 for S3 requests without a body, following AWS's documented algorithm.

    canonical request → string to sign → signing key (HMAC chain over date, region, service) → signature

Standard library only. S3 differs from the other AWS services in two ways that matter here: the path is
URI-encoded once (not twice), and every request carries `x-amz-content-sha256` (the empty body's hash), which
is signed. References: "Signature Calculations for the Authorization Header" in the Amazon S3 API reference,
and "Create a signed AWS API request" in the IAM user guide. Checked in the tests against AWS's published S3
example and against botocore's own S3SigV4Auth.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
#: SHA-256 of an empty payload, the value of `x-amz-content-sha256` for GET and HEAD.
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNRESERVED = "-_.~"  # with letters and digits: never percent-encoded (RFC 3986)


def uri_encode(text: str, *, keep_slash: bool = False) -> str:
    """AWS's UriEncode: every byte but the unreserved ones as %XY (upper-case hex); space is %20, not '+'."""
    return quote(text, safe=_UNRESERVED + ("/" if keep_slash else ""))


def canonical_query(params: Iterable[tuple[str, str]]) -> str:
    """Encoded names and values, sorted by name then value; a parameter without a value keeps its `=`."""
    pairs = sorted((uri_encode(name), uri_encode(value)) for name, value in params)
    return "&".join(f"{name}={value}" for name, value in pairs)


def _canonical_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(`name:value\\n` lines, `name;name`): names lower-cased and sorted, values trimmed, inner runs of
    spaces collapsed to one."""
    normal = {name.lower().strip(): " ".join(str(value).split()) for name, value in headers.items()}
    names = sorted(normal)
    return "".join(f"{name}:{normal[name]}\n" for name in names), ";".join(names)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")."""
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def amz_date(now: datetime | None = None) -> str:
    """The request time in ISO 8601 basic format, UTC: `20130524T000000Z`."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def sign(method: str, canonical_uri: str, query: Iterable[tuple[str, str]], headers: Mapping[str, str], *,
         access_key_id: str, secret_key: str, region: str, service: str = "s3",
         payload_hash: str = EMPTY_SHA256) -> str:
    """The `Authorization` header value for a request.

    `canonical_uri` is the path exactly as sent (already encoded once, e.g. `/my%20bucket`); `headers` are
    all the headers to sign, `host` and `x-amz-date` included (`x-amz-content-sha256` and
    `x-amz-security-token` too, when sent); `payload_hash` is the body's SHA-256 in hex.
    """
    timestamp = next((v for k, v in headers.items() if k.lower() == "x-amz-date"), None)
    if not timestamp or len(timestamp) != 16:
        raise ValueError("headers must carry x-amz-date as YYYYMMDDTHHMMSSZ")
    if not any(k.lower() == "host" for k in headers):
        raise ValueError("headers must carry host")
    date = timestamp[:8]
    header_lines, signed_headers = _canonical_headers(headers)
    canonical_request = "\n".join((method.upper(), canonical_uri or "/", canonical_query(query), header_lines,
                                   signed_headers, payload_hash))
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join((ALGORITHM, timestamp, scope,
                                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()))
    signature = hmac.new(signing_key(secret_key, date, region, service), string_to_sign.encode("utf-8"),
                         hashlib.sha256).hexdigest()
    return f"{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
