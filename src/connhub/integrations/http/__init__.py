"""HTTP APIs: the declarative runner behind every manifest that has a `test` request.

Everything type-specific comes from `manifest.test` and the credential values, so a new HTTP-API type needs
only a manifest and an icon.
"""

from __future__ import annotations

import re
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    NotFound,
    PermissionDenied,
    RateLimited,
    RefusedError,
    UnknownError,
    classify,
)
from connhub.core.integration import Integration, Values
from connhub.core.net import classify_os_chain, handshake, resolve_host, tls_context
from connhub.core.results import ConnectionInfo, ProbeInfo

if TYPE_CHECKING:
    import httpx

USER_AGENT = "connhub/0.1"
MAX_REDIRECTS = 5
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_TEMPLATE = re.compile(r"\{([A-Za-z0-9_.:-]+)\}")


# --- the declarative HTTP runner ---------------------------------------------------------------------------

class HttpIntegration(Integration):
    """One HTTP request described by `manifest.test`; the answer's status says whether the credentials work."""

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        import httpx

        test = self.manifest.test
        if test is None:
            raise ConfigError(f"{self.manifest.name} has no declarative test request")
        base = _base_url(config.get(test.url_field), test.url_field)
        path = (str(config.get(test.path_field) or "").strip() if test.path_field else "") or test.path
        url = _join(base, path)
        headers = {"User-Agent": USER_AGENT}
        headers.update(_template_headers(test.headers, config, secrets))
        headers.update(_extra_headers(config.get("headers")))
        auth = _auth(config, secrets, headers)
        for name, value in headers.items():
            if any(c in value for c in "\r\n\0"):  # a pasted secret with a line break: say so, not what
                raise ConfigError(f"The value of header {name!r} contains a line break")
        verify = tls_context(config.get("ca_file"), verify=bool(config.get("verify_tls", True)))

        parts = urlsplit(url)
        await resolve_host(parts.hostname or "", parts.port, ctx)
        timeout = httpx.Timeout(ctx.remaining())
        async with httpx.AsyncClient(verify=verify, timeout=timeout, follow_redirects=False, auth=auth,
                                     trust_env=False) as client:
            with handshake(ctx, lambda exc: _map_error(exc, ctx)):
                response = await self._send(client, client.build_request(test.method, url, headers=headers),
                                            set(test.expect_status))
        return self._judge(response, set(test.expect_status), test.version_header, ctx)

    async def _send(self, client: httpx.AsyncClient, request: httpx.Request,
                    expected: set[int]) -> httpx.Response:
        """Follow redirects only within the same origin: our own headers (API keys) must not travel on."""
        origin = _origin(request.url)
        for _ in range(MAX_REDIRECTS + 1):
            response = await client.send(request, stream=True)  # the status is enough: skip the body
            await response.aclose()
            if not response.is_redirect or response.status_code in expected or response.next_request is None:
                return response
            target = response.next_request
            if not _same_site(origin, _origin(target.url)):
                raise ConfigError(f"The server redirects to {target.url.scheme}://{target.url.host}: "
                                  "use that address as the base URL")
            request = target
        raise UnknownError(f"More than {MAX_REDIRECTS} redirects")

    def _judge(self, response: httpx.Response, expected: set[int], version_header: str | None,
               ctx: TestContext) -> ProbeInfo:
        status = response.status_code
        label = f"{status} {response.reason_phrase}".strip()
        if status in (401, 403) and status not in expected:
            with ctx.stage("auth"):
                raise (AuthError if status == 401 else PermissionDenied)(f"HTTP {label}")
        with ctx.stage("probe"):
            if not (status in expected if expected else 200 <= status < 300):
                if status == 404:
                    raise NotFound(f"HTTP {label} for {response.request.url.path}")
                if status == 429:
                    raise RateLimited(f"HTTP {label}", retry_after=_retry_after(response.headers))
                if status >= 500:
                    raise UnknownError(f"Server error {label}")
                raise UnknownError(f"Unexpected status {label}")
            version = (response.headers.get(version_header) if version_header else None) \
                or response.headers.get("server")
            return ProbeInfo(server_version=version,
                             details={"status": str(status), "http_version": response.http_version})

    def connection_info(self, config: Values) -> ConnectionInfo:
        """The base URL without user info, query or fragment: those may carry secrets."""
        field = self.manifest.test.url_field if self.manifest.test else "base_url"
        raw = config.get(field)
        try:
            parts = urlsplit(str(raw or "").strip())
            port = parts.port
        except ValueError:
            return ConnectionInfo(display_url=self.manifest.name)
        if not parts.hostname:
            return ConnectionInfo(display_url=self.manifest.name)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        netloc = f"{host}:{port}" if port else host
        url = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
        user = config.get("auth.username") if config.get("auth.method") == "basic" else None
        return ConnectionInfo(url, host=parts.hostname, port=port, user=user or None)


def _base_url(value: Any, field: str) -> str:
    text = str(value or "").strip()
    if not text:
        raise ConfigError(f"Field '{field}' is empty: enter the API's base URL")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"Field '{field}' is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"Field '{field}' must start with http:// or https:// and name a host")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))


def _template_headers(templates: dict[str, str], config: Values, secrets: Values) -> dict[str, str]:
    """Fill `{field}` in the manifest's headers from the values (secrets included, never echoed)."""
    values = {**config, **secrets}

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        value = values.get(key)
        if value in (None, ""):
            raise ConfigError(f"Field '{key}' is empty, but the test request needs it")
        return str(value)

    return {name: _TEMPLATE.sub(fill, template) for name, template in templates.items()}


def _extra_headers(text: Any) -> dict[str, str]:
    """Parse the multiline `headers` field; errors name the line, never its content (it may hold a key)."""
    headers: dict[str, str] = {}
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not _HEADER_NAME.fullmatch(name) or "\r" in value or "\n" in value:
            raise ConfigError(f"Extra headers, line {number}: write it as 'Name: value'")
        headers[name] = value
    return headers


def _auth(config: Values, secrets: Values, headers: dict[str, str]) -> httpx.Auth | None:
    """Apply the `auth` choice: a header for bearer/api_key, httpx's BasicAuth for basic."""
    import httpx

    method = config.get("auth.method") or "none"
    if method == "none":
        return None
    if method == "bearer":
        token = secrets.get("auth.token")
        if not token:
            raise ConfigError("The bearer token is empty")
        headers["Authorization"] = f"Bearer {token}"
        return None
    if method == "basic":
        username = config.get("auth.username")
        if not username:
            raise ConfigError("The user name is empty")
        return httpx.BasicAuth(str(username), str(secrets.get("auth.password") or ""))
    if method == "api_key":
        name, key = str(config.get("auth.header") or "X-API-Key"), secrets.get("auth.key")
        if not _HEADER_NAME.fullmatch(name):
            raise ConfigError("The API key header name may use only letters, digits and '-'")
        if not key:
            raise ConfigError("The API key is empty")
        headers[name] = str(key)
        return None
    raise ConfigError(f"Unknown authentication method {method!r}")


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


def _same_site(origin: tuple[str, str, int | None], target: tuple[str, str, int | None]) -> bool:
    """The same origin, or the same host moved from http to https on the default ports."""
    return origin == target or (origin[1] == target[1] and (origin[0], origin[2]) == ("http", 80)
                                and (target[0], target[2]) == ("https", 443))


def _join(base: str, path: str) -> str:
    """Base URL + test path, keeping the base's own path prefix ("https://h/v1" + "/user" → "/v1/user")."""
    parts = urlsplit(base)
    joined = parts.path.rstrip("/") + "/" + path.lstrip("/")
    url = urlunsplit((parts.scheme, parts.netloc, "", "", "")) + joined
    if parts.query:
        url += ("&" if "?" in joined else "?") + parts.query
    return url


def _retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After in seconds, from either of its forms (delta-seconds or an HTTP date)."""
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        from datetime import datetime, timezone

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


def _map_error(exc: Exception, ctx: TestContext) -> ConnectionTestError:
    import httpx

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return ConnectTimeout(f"No answer within {ctx.timeout:g} s")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ConfigError(f"Not a usable URL: {exc}")
    if isinstance(exc, httpx.TransportError):
        mapped = classify_os_chain(exc, ctx.timeout)
        if mapped is not None:
            return mapped
        if isinstance(exc, httpx.RemoteProtocolError):
            return UnknownError(f"The server did not answer in HTTP: {exc}")
        if isinstance(exc, httpx.ConnectError):
            return RefusedError(str(exc) or "Cannot connect")
    return classify(exc)
