"""Amazon S3 and S3-compatible object storage (MinIO, Ceph RGW, Cloudflare R2…): one SigV4-signed request.

Without a bucket the test is ListBuckets (`GET /`), with one it is HeadBucket (`HEAD /bucket`). A HEAD
answer has no body, so when it fails with 400 or 403 one more signed request (`GET /bucket?list-type=2&
max-keys=0`, which needs the same permission) fetches the XML error code that says *why*: unknown key id,
wrong secret, expired token, or a policy that denies access.

The signature is computed by `sigv4` (standard library) and sent with httpx, rather than through botocore:
see that module and the type's tests, which check it against AWS's published examples and botocore's signer.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit
from xml.etree import ElementTree

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionTestError,
    DnsError,
    NotFound,
    PermissionDenied,
    RateLimited,
    UnknownError,
)
from connhub.core.integration import DriverIntegration, Values
from connhub.core.net import (
    classify_http_transport,
    handshake,
    resolve_host,
    retry_after,
    tls_context,
)
from connhub.core.results import ConnectionInfo, ProbeInfo
from connhub.integrations.s3 import sigv4
from connhub.integrations.s3.actions import S3Actions

if TYPE_CHECKING:
    import httpx

USER_AGENT = "connhub/0.1"
#: Largest answer read: a ListBuckets of 10,000 buckets is about 1.5 MB.
MAX_BODY = 8 * 1024 * 1024
_REGION = re.compile(r"^[a-z0-9-]{1,40}$")
#: Bucket names that can be a DNS label of their own (no dots: a dot breaks the TLS wildcard *.s3…).
_DNS_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_BUCKET = re.compile(r"^[A-Za-z0-9._-]{1,255}$")  # S3-compatible services are laxer than AWS's 3–63 rule

_AUTH_TOKEN_CODES = {"InvalidToken", "ExpiredToken", "TokenRefreshRequired", "InvalidClientTokenId"}
_DENIED_CODES = {"AccessDenied", "AllAccessDisabled", "AccountProblem", "InvalidPayer", "AccessForbidden"}
_SLOW_CODES = {"SlowDown", "ServiceUnavailable", "TooManyRequests", "RequestLimitExceeded", "Throttling",
               "ThrottlingException", "Busy"}


@dataclass(frozen=True)
class Target:
    """Where the request goes and how it is addressed, worked out from the settings alone."""

    scheme: str
    host: str  # without brackets
    port: int
    prefix: str  # the endpoint's own path, encoded, without a trailing '/' ("" for none)
    region: str
    bucket: str | None
    virtual: bool  # the bucket is in the host name rather than in the path
    aws: bool  # Amazon's own endpoint (the default)

    @property
    def request_host(self) -> str:
        return f"{self.bucket}.{self.host}" if self.virtual and self.bucket else self.host

    @property
    def host_header(self) -> str:
        host = self.request_host
        host = f"[{host}]" if ":" in host else host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def path(self) -> str:
        """The canonical URI as sent: encoded once (S3 does not double-encode)."""
        if self.bucket and not self.virtual:
            return f"{self.prefix}/{sigv4.uri_encode(self.bucket)}"
        return f"{self.prefix}/"

    def url(self, query: list[tuple[str, str]]) -> str:
        text = f"{self.scheme}://{self.host_header}{self.path()}"
        return f"{text}?{sigv4.canonical_query(query)}" if query else text

    def endpoint_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{host}{'' if self.port == default else f':{self.port}'}{self.prefix}"


def target_of(config: Values) -> Target:
    """Endpoint, region, bucket and addressing from the settings; a ConfigError says what to fix."""
    region = str(config.get("region") or "us-east-1").strip()
    if not _REGION.fullmatch(region):
        raise ConfigError(f"Region {region!r} is not a region name: write it like us-east-1 or eu-west-1")
    bucket = str(config.get("bucket") or "").strip() or None
    if bucket is not None and not _BUCKET.fullmatch(bucket):
        raise ConfigError(f"{bucket!r} is not a bucket name: use letters, digits, '.', '-' and '_' only "
                          "(without s3:// or a path)")
    endpoint = str(config.get("endpoint") or "").strip()
    if endpoint:
        scheme, host, port, prefix = _split_endpoint(endpoint)
        aws = host.endswith((".amazonaws.com", ".amazonaws.com.cn"))
    else:
        suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
        scheme, host, port, prefix, aws = "https", f"s3.{region}.{suffix}", 443, "", True
    addressing = str(config.get("addressing") or "auto")
    if addressing not in ("auto", "path", "virtual"):
        raise ConfigError(f"Unknown bucket addressing {addressing!r}: use auto, path or virtual")
    virtual = False
    if bucket is not None:
        if addressing == "virtual":
            if _is_ip(host):
                raise ConfigError("Virtual-hosted addressing puts the bucket in the host name, which an IP "
                                  "address cannot have: choose path-style addressing")
            virtual = True
        elif addressing == "auto":
            # Amazon: virtual-hosted (path-style is deprecated there), except for names that cannot be a
            # host label under TLS. Anything else: path-style, which every S3-compatible server understands.
            virtual = aws and bool(_DNS_BUCKET.fullmatch(bucket))
    return Target(scheme, host, port, prefix, region, bucket, virtual, aws)


def credentials_of(config: Values, secrets: Values) -> tuple[str, str, str | None]:
    """(access key ID, secret, session token or None), checked; a ConfigError names what is wrong, never it."""
    key_id = str(config.get("access_key_id") or "").strip()
    secret = str(secrets.get("secret_access_key") or "")
    token = str(secrets.get("session_token") or "").strip() or None
    if not key_id:
        raise ConfigError("The access key ID is empty")
    if not secret:
        raise ConfigError("The secret access key is empty")
    if any(ch.isspace() or ord(ch) < 32 for ch in key_id + (token or "")):
        raise ConfigError("The access key ID or the session token contains a space or a line break")
    return key_id, secret, token


def _split_endpoint(endpoint: str) -> tuple[str, str, int, str]:
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        raise ConfigError("The endpoint URL is not valid: write it like https://s3.example.com:9000") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError("The endpoint URL must start with http:// or https:// and name a host, "
                          "e.g. http://localhost:9000")
    if parts.username is not None or parts.password is not None:
        raise ConfigError("The endpoint URL must not carry user:password@: enter the keys in their own fields")
    if parts.query or parts.fragment:
        raise ConfigError("The endpoint URL must not have a '?query' or '#fragment'")
    prefix = quote(unquote(parts.path.rstrip("/")), safe="/-_.~")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), prefix


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class S3Integration(S3Actions, DriverIntegration):
    """ListBuckets, or HeadBucket when a bucket is set; no retries, no redirects followed."""

    drivers = ("httpx",)
    driver_timeouts = ("httpx:TimeoutException",)

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        import httpx

        target = target_of(config)
        key_id, secret, token = credentials_of(config, secrets)
        verify = (tls_context(config.get("ca_file"), verify=bool(config.get("verify_tls", True)))
                  if target.scheme == "https" else False)
        signer = _Signer(target, key_id, secret, token)

        try:
            await resolve_host(target.request_host, target.port, ctx)
        except DnsError as exc:
            if target.virtual:
                raise DnsError(f"{exc.detail} (virtual-hosted addressing puts the bucket in the host name: "
                               "choose path-style if this server does not serve bucket subdomains)") from None
            raise
        async with httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(ctx.remaining()), trust_env=False,
                                     follow_redirects=False) as client:
            method = "HEAD" if target.bucket else "GET"
            with handshake(ctx, lambda exc: _map_transport_error(exc, ctx)):
                response, body = await _send(client, signer.request(client, method, [], ctx))
            if response.status_code >= 300:
                failure = _failure(target, response, body)
                try:
                    with ctx.stage("auth"):
                        if failure.code is None and method == "HEAD" and response.status_code in (400, 403):
                            failure = await self._diagnose(client, signer, failure, ctx)
                        raise failure.error(target)
                finally:
                    if failure.stage != "auth":  # a missing bucket, a rate limit…: not an auth problem
                        ctx.stages[-1].name = failure.stage
            with ctx.stage("probe"):
                return _probe_info(target, response, body)

    async def _diagnose(self, client: httpx.AsyncClient, signer: _Signer, head: _Failure,
                        ctx: TestContext) -> _Failure:
        """HEAD failed without saying why: ask the same of GET (ListObjectsV2, no keys), whose error has a body."""
        try:
            response, body = await _send(client, signer.request(client, "GET", [("list-type", "2"),
                                                                             ("max-keys", "0")], ctx))
        except Exception:  # noqa: BLE001 - the HEAD's own answer is still worth reporting
            return head
        if response.status_code < 300:
            return head
        failure = _failure(signer.target, response, body)
        return failure if failure.code else head

    def connection_info(self, config: Values) -> ConnectionInfo:
        """`https://s3.<region>.amazonaws.com/bucket` or the custom endpoint (+ `/bucket`); never the keys."""
        try:
            target = target_of({**config, "addressing": "path"})
        except ConfigError:
            return ConnectionInfo(display_url=self.manifest.name)
        url = target.endpoint_url() + (f"/{quote(target.bucket, safe='')}" if target.bucket else "")
        key_id = str(config.get("access_key_id") or "").strip() or None
        return ConnectionInfo(url, host=target.host, port=target.port, database=target.bucket, user=key_id)


class _Signer:
    def __init__(self, target: Target, key_id: str, secret: str, token: str | None):
        self.target = target
        self._key_id, self._secret, self._token = key_id, secret, token

    def request(self, client: httpx.AsyncClient, method: str, query: list[tuple[str, str]],
                ctx: TestContext) -> httpx.Request:
        headers = {"host": self.target.host_header, "x-amz-date": sigv4.amz_date(),
                   "x-amz-content-sha256": sigv4.EMPTY_SHA256}
        if self._token:
            headers["x-amz-security-token"] = self._token
        headers["authorization"] = sigv4.sign(method, self.target.path(), query, headers,
                                              access_key_id=self._key_id, secret_key=self._secret,
                                              region=self.target.region)
        headers["user-agent"] = USER_AGENT
        return client.build_request(method, self.target.url(query), headers=headers,
                                    timeout=ctx.remaining())


async def _send(client: httpx.AsyncClient, request: httpx.Request) -> tuple[httpx.Response, bytes]:
    response = await client.send(request, stream=True)
    try:
        body = bytearray()
        if request.method != "HEAD":
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise UnknownError(f"The answer is larger than {MAX_BODY // (1024 * 1024)} MB: "
                                       "is the endpoint an S3 service?")
    finally:
        await response.aclose()
    return response, bytes(body)


# --- reading answers ---------------------------------------------------------------------------------------

def _xml(body: bytes) -> ElementTree.Element | None:
    if not body.lstrip().startswith(b"<"):
        return None
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ElementTree.Element) -> dict[str, str]:
    return {_local(child.tag): (child.text or "").strip() for child in element}


def _probe_info(target: Target, response: httpx.Response, body: bytes) -> ProbeInfo:
    server = response.headers.get("server") or None
    details = {"endpoint": target.endpoint_url(), "region": target.region}
    if target.bucket:
        details.update(bucket=target.bucket, addressing="virtual-hosted" if target.virtual else "path-style")
        if response.headers.get("x-amz-bucket-region"):
            details["bucket_region"] = response.headers["x-amz-bucket-region"]
        return ProbeInfo(server_version=server, details=details)
    root = _xml(body)
    if root is None or _local(root.tag) != "ListAllMyBucketsResult":
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        raise UnknownError(f"The endpoint answered HTTP {response.status_code} ({kind}), but not with an S3 "
                           "bucket list: check the endpoint URL")
    buckets = [b for b in root.iter() if _local(b.tag) == "Bucket"]
    more = any(_local(e.tag) == "ContinuationToken" and (e.text or "").strip() for e in root.iter())
    details["buckets"] = f"{len(buckets)}{'+' if more else ''}"
    owner = next((e for e in root if _local(e.tag) == "Owner"), None)
    if owner is not None and _children(owner).get("DisplayName"):
        details["owner"] = _children(owner)["DisplayName"]
    return ProbeInfo(server_version=server, details=details)


@dataclass
class _Failure:
    status: int
    code: str | None
    message: str
    fields: dict[str, str]
    headers: httpx.Headers

    @property
    def stage(self) -> str:
        if self.code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "RequestTimeTooSkewed",
                         "AuthorizationHeaderMalformed", *_AUTH_TOKEN_CODES, *_DENIED_CODES):
            return "auth"
        return "auth" if self.code is None and self.status in (401, 403) else "probe"

    def error(self, target: Target) -> ConnectionTestError:
        return _classify(self, target)


def _failure(target: Target, response: httpx.Response, body: bytes) -> _Failure:
    root = _xml(body)
    fields = _children(root) if root is not None and _local(root.tag) == "Error" else {}
    code = fields.get("Code") or None
    if code is None and not body and response.status_code == 404 and target.bucket:
        code = "NoSuchBucket"  # HEAD: S3's answer for a missing bucket, bodyless
    if code is None and response.status_code in (301, 307) and response.headers.get("x-amz-bucket-region"):
        code = "PermanentRedirect" if response.status_code == 301 else "TemporaryRedirect"
    message = " ".join((fields.get("Message") or "").split())
    return _Failure(response.status_code, code, message[:300], fields, response.headers)


def _classify(f: _Failure, target: Target) -> ConnectionTestError:
    code = f.code
    # The server's own words, unless they only restate the code ("Access Denied" for AccessDenied).
    plain = re.sub(r"[^a-z]", "", f.message.lower())
    said = f" — the server says: {f.message}" if plain and plain != (code or "").lower() else ""
    bucket = f"bucket {target.bucket!r}" if target.bucket else "the bucket list"
    if code == "InvalidAccessKeyId":
        return AuthError("The server does not know this access key ID (InvalidAccessKeyId): check the access "
                         "key ID, and that the key is active and belongs to this service")
    if code == "SignatureDoesNotMatch":
        return AuthError("The access key ID is known, but the signature does not match (SignatureDoesNotMatch): "
                         "the secret access key is wrong")
    if code in _AUTH_TOKEN_CODES:
        what = "has expired" if code in ("ExpiredToken", "TokenRefreshRequired") else "is not valid for this key"
        return AuthError(f"The session token {what} ({code}): get fresh temporary credentials, or clear the "
                         "session token for a permanent key")
    if code in _DENIED_CODES:
        return PermissionDenied(f"Access to {bucket} denied ({code}): the key works, but its policy does not "
                                f"allow {'s3:ListBucket on it' if target.bucket else 's3:ListAllMyBuckets'}{said}")
    if code == "NoSuchBucket":
        return NotFound(f"Bucket {target.bucket!r} does not exist at {target.endpoint_url()} (NoSuchBucket)")
    if code == "RequestTimeTooSkewed":
        return ConfigError(f"This computer's clock is wrong{_skew(f)}: requests are signed with the time and "
                           "refused when it is 15 minutes off. Set the clock (turn on automatic time/NTP) and "
                           "test again (RequestTimeTooSkewed)")
    if code == "AuthorizationHeaderMalformed" and f.fields.get("Region"):
        region = f.fields["Region"]
        return ConfigError(f"The server expects region {region!r}, not {target.region!r}: set the region to "
                           f"{region} (AuthorizationHeaderMalformed)")
    if code in ("PermanentRedirect", "TemporaryRedirect", "IllegalLocationConstraintException") \
            or f.status in (301, 302, 307, 308):
        why = code or f"HTTP {f.status}"
        region = f.headers.get("x-amz-bucket-region") or f.fields.get("Region")
        if region:
            what = f"Bucket {target.bucket!r} is" if target.bucket else "This endpoint is"
            return ConfigError(f"{what} in region {region!r}, not {target.region!r}: set the region to {region} "
                               f"({why})")
        location = f.headers.get("location") or f.fields.get("Endpoint") or ""
        location = location.split("?", 1)[0] or "another address"
        return ConfigError(f"The endpoint redirects to {location} ({why}): use that address as the endpoint URL")
    if code == "InvalidBucketName":
        return ConfigError(f"{target.bucket!r} is not a valid bucket name for this server (InvalidBucketName)")
    if code in _SLOW_CODES or f.status in (429, 503):
        return RateLimited(f"The server asks to slow down ({code or f'HTTP {f.status}'}){said}",
                           retry_after=retry_after(f.headers))
    if code:
        return UnknownError(f"{code} (HTTP {f.status}){said}")
    if f.status == 401:
        return AuthError(f"HTTP {f.status} without an S3 error code: check the keys")
    if f.status == 403:
        return PermissionDenied(f"Access to {bucket} denied (HTTP 403, no S3 error code)")
    if f.status == 404:
        return NotFound("Nothing at this endpoint answers like S3 (HTTP 404): check the endpoint URL")
    return UnknownError(f"Unexpected answer HTTP {f.status} without an S3 error code")


def _skew(f: _Failure) -> str:
    """' (5 h 3 min behind the server)', from the error's ServerTime or else the Date header."""
    server_time: datetime | None = None
    try:
        if f.fields.get("ServerTime"):
            server_time = datetime.fromisoformat(f.fields["ServerTime"].replace("Z", "+00:00"))
        elif f.headers.get("date"):
            server_time = parsedate_to_datetime(f.headers["date"])
    except (TypeError, ValueError):
        return ""
    if server_time is None or server_time.tzinfo is None:
        return ""
    delta = (datetime.now(timezone.utc) - server_time).total_seconds()
    minutes = round(abs(delta) / 60)
    hours, minutes = divmod(minutes, 60)
    amount = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f" ({amount} {'ahead of' if delta > 0 else 'behind'} the server)"


def _map_transport_error(exc: Exception, ctx: TestContext) -> ConnectionTestError:
    if isinstance(exc, ConnectionTestError):
        return exc
    return classify_http_transport(exc, ctx.timeout, "endpoint") or S3Integration.classify_driver_error(exc, ctx)
