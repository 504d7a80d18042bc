"""HTTP APIs: the declarative runner behind every manifest that has a `test` request.

Everything type-specific comes from `manifest.test` and the credential values, so a new HTTP-API type needs
only a manifest and an icon.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    ErrorClass,
    NotFound,
    PermissionDenied,
    RateLimited,
    RefusedError,
    UnknownError,
    classify,
)
from connhub.core.integration import Integration, Values
from connhub.core.net import (
    classify_http_transport,
    classify_os_chain,
    handshake,
    resolve_host,
    retry_after,
    tls_context,
)
from connhub.core.results import ConnectionInfo, ProbeInfo

if TYPE_CHECKING:
    import httpx

    from connhub.core.actions import RenderedRequest
    from connhub.core.context import ActionContext
    from connhub.core.manifest import ActionSpec, HttpTest

USER_AGENT = "connhub/0.1"
MAX_REDIRECTS = 5
MAX_BODY = 1 << 20  # a test answer is small; never read more than this
ACTION_MAX_BODY = 8 << 20  # one answer (page) of an action
MAX_DETAIL = 200  # characters of one value quoted from an answer
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_TEMPLATE = re.compile(r"\{([A-Za-z0-9_.:-]+)\}")


@dataclass(frozen=True)
class _Setup:
    """What the test and every action request of a type share: base URL, headers with auth, TLS, proxy."""

    base: str
    headers: dict[str, str]
    auth: Any  # httpx.Auth | None
    verify: Any
    proxy: str | None

    def __repr__(self) -> str:  # the headers carry the credentials
        return f"_Setup(base={self.base!r}, headers={sorted(self.headers)}, proxy={self.proxy is not None})"

    @asynccontextmanager
    async def client(self, url: str, ctx: TestContext) -> AsyncIterator[httpx.AsyncClient]:
        """A client for this setup, once the first hop's name resolves (through a proxy, only the proxy's
        name must resolve here: the proxy resolves the API's)."""
        import httpx

        first_hop = urlsplit(self.proxy or url)
        await resolve_host(first_hop.hostname or "", first_hop.port, ctx)
        async with httpx.AsyncClient(verify=self.verify, timeout=httpx.Timeout(ctx.remaining()),
                                     follow_redirects=False, auth=self.auth, trust_env=False,
                                     proxy=self.proxy) as client:
            yield client


# --- the declarative HTTP runner ---------------------------------------------------------------------------

class HttpIntegration(Integration):
    """One HTTP request described by `manifest.test`; the answer's status says whether the credentials work."""

    drivers = ("httpx",)

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        test = self._test()
        setup = self._setup(config, secrets)
        path = (str(config.get(test.path_field) or "").strip() if test.path_field else "") or test.path
        url = _join(setup.base, path)
        params = _fill_templates(test.query, config)  # never secrets: the validator keeps them out of URLs
        async with setup.client(url, ctx) as client:
            with handshake(ctx, lambda exc: _map_error(exc, ctx, setup.proxy)):
                request = client.build_request(test.method, url, headers=setup.headers, params=params or None)
                response, body = await self._send(client, request, set(test.expect_status), _reads_body(test))
        return _judge(response, _json_or_none(body[:MAX_BODY]), test, {**config, **secrets}, ctx,
                      via_proxy=bool(setup.proxy))

    def _test(self) -> HttpTest:
        test = self.manifest.test
        if test is None:
            raise ConfigError(f"{self.manifest.name} has no declarative test request")
        return test

    def _setup(self, config: Values, secrets: Values, with_auth: bool = True) -> _Setup:
        """What every request of this type shares with the test: base URL, auth, extra headers, TLS, proxy.
        Without auth (`http.auth: none`), only the test's headers that name no field are kept."""
        test = self._test()
        base = _base_url(config.get(test.url_field) or self._default(test.url_field), test.url_field)
        headers = {"User-Agent": USER_AGENT}
        auth = None
        if with_auth:
            oauth = self.manifest.oauth2
            signed_in = oauth is not None and oauth.headers and config.get(oauth.method_field) == oauth.method_value
            headers.update(_fill_templates(oauth.headers if signed_in else test.headers, {**config, **secrets}))
            headers.update(_extra_headers(config.get("headers")))
            auth = _auth(config, secrets, headers)
            if test.basic_auth is not None:
                auth = _basic_auth_from_fields(test.basic_auth.username, test.basic_auth.password, config, secrets)
        else:
            headers.update({name: value for name, value in test.headers.items() if not _TEMPLATE.search(value)})
        for name, value in headers.items():
            if any(c in value for c in "\r\n\0"):  # a pasted secret with a line break: say so, not what
                raise ConfigError(f"The value of header {name!r} contains a line break")
        verify = tls_context(config.get("ca_file"), verify=bool(config.get("verify_tls", True)))
        proxy = _proxy_url(config.get(test.proxy_field), test.proxy_field) if test.proxy_field else None
        return _Setup(base, headers, auth, verify, proxy)

    async def run_http_action(self, action: ActionSpec, params: Values, config: Values, secrets: Values,
                              ctx: ActionContext) -> Any:
        """One manifest-declared `http` action: its request rendered from the params, sent to the test's base
        URL with the test's auth, failures classified as the test's are, each page's items appended."""
        from connhub.core.actions import Pager, extract_result, render_request

        http = action.http
        assert http is not None
        rendered = render_request(action, params)  # InvalidParams before anything is sent
        setup = self._setup(config, secrets, with_auth=http.auth == "test")
        pager = Pager(http.pagination, rendered) if http.pagination is not None else None
        collected: list[Any] = []
        request: RenderedRequest | None = rendered
        async with setup.client(rendered.url(setup.base), ctx) as client:
            while request is not None:
                response, data = await self._exchange(client, setup, request, set(http.expect_status), ctx)
                result = extract_result(http, data)
                if pager is None:
                    return result
                collected.extend(result)
                ctx.progress(f"{len(collected)} items from {pager.pages} page(s)")
                request = pager.next(str(response.url), response.headers.get_list("link"), data)
        if pager.truncated:
            ctx.log.info("action %s stopped after %d pages (http.pagination.max_pages); more remain",
                         action.name, pager.pages)
        return collected

    async def send_request(self, params: Values, config: Values, secrets: Values, ctx: ActionContext) -> Any:
        """The http type's `request` action: any method and path under the base URL, with the connection's
        auth; the answer's status, headers and body (JSON when it is JSON, else text)."""
        from connhub.core.actions import InvalidParams, RenderedRequest

        method = str(params.get("method") or "GET").upper()
        path = str(params.get("path") or "/")
        errors = {}
        if not path.startswith("/") or any(c in path for c in "#\r\n\0") or \
                any(part in (".", "..") for part in path.split("?", 1)[0].split("/")):
            errors["path"] = "Start it with '/' and use no '.' or '..' parts, '#' or line breaks"
        headers = {}
        for name, value in (params.get("headers") or {}).items():
            if not _HEADER_NAME.fullmatch(name) or any(c in str(value) for c in "\r\n\0"):
                errors["headers"] = "Give each header as a name (letters, digits, '-') and a one-line value"
            else:
                headers[name] = str(value)
        body: bytes | None = None
        if "body" in params:
            value = params["body"]
            if method in ("GET", "HEAD"):
                errors["body"] = f"{method} sends no body: use POST, PUT or PATCH"
            elif isinstance(value, str):
                body = value.encode("utf-8")
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            else:
                body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
                headers.setdefault("Content-Type", "application/json")
        if errors:
            raise InvalidParams(errors)
        raw_path, _, raw_query = path.partition("?")
        query = [tuple(pair.split("=", 1)) if "=" in pair else (pair, "") for pair in raw_query.split("&") if pair]
        query += [(str(k), _query_text(v)) for k, v in (params.get("query") or {}).items()]
        from urllib.parse import quote, unquote

        encoded = quote(unquote(raw_path), safe="/:@!$&'()*+,;=-._~")
        request = RenderedRequest(method, encoded, tuple((unquote(k), unquote(v)) for k, v in query), headers, body)
        setup = self._setup(config, secrets)
        async with setup.client(request.url(setup.base), ctx) as client:
            response, raw = await self._fetch(client, setup, request, set(), ctx)
        if not _status_ok(response, set()):  # classified as the test's: 401 auth, 404 not_found, 429 …
            _check_answer(response, _json_or_none(raw), self._test(), set(), ctx, via_proxy=bool(setup.proxy))
        try:
            content: Any = json.loads(raw) if raw.strip() else None
        except (ValueError, UnicodeDecodeError):
            content = raw.decode("utf-8", "replace")
        shown = {name: _clip(value) for name, value in response.headers.items()
                 if name.lower() not in ("set-cookie", "authorization", "proxy-authorization")}
        return {"status": response.status_code, "ok": 200 <= response.status_code < 300, "headers": shown,
                "body": content}

    async def _fetch(self, client: httpx.AsyncClient, setup: _Setup, request: RenderedRequest, expected: set[int],
                     ctx: ActionContext) -> tuple[httpx.Response, bytes]:
        url = request.url(setup.base)
        headers = {**setup.headers, **request.headers}
        with handshake(ctx, lambda exc: _map_error(exc, ctx, setup.proxy)):
            built = client.build_request(request.method, url, headers=headers, content=request.body)
            response, body = await self._send(client, built, expected, request.method != "HEAD", ACTION_MAX_BODY)
        if len(body) > ACTION_MAX_BODY:
            from connhub.core.actions import BadAnswer

            raise BadAnswer(f"The API's answer is larger than {ACTION_MAX_BODY >> 20} MiB: narrow the request")
        return response, body

    async def _exchange(self, client: httpx.AsyncClient, setup: _Setup, request: RenderedRequest,
                        expected: set[int], ctx: ActionContext) -> tuple[httpx.Response, Any]:
        """Send one request of an action; the parsed answer, or the failure classified as the test's is."""
        from connhub.core.actions import parse_answer

        response, body = await self._fetch(client, setup, request, expected, ctx)
        if not _status_ok(response, expected):
            _check_answer(response, _json_or_none(body), self._test(), expected, ctx, via_proxy=bool(setup.proxy))
        data = parse_answer(body)
        _check_answer(response, data, self._test(), expected, ctx, via_proxy=bool(setup.proxy))
        return response, data

    def _default(self, field: str) -> Any:
        """The credential field's schema default (a SaaS type's public API address)."""
        prop = self.manifest.credentials.get("properties", {}).get(field)
        return prop.get("default") if isinstance(prop, dict) else None

    async def _send(self, client: httpx.AsyncClient, request: httpx.Request, expected: set[int],
                    read_body: bool, cap: int = MAX_BODY) -> tuple[httpx.Response, bytes]:
        """Follow redirects only within the same origin: our own headers (API keys) must not travel on."""
        origin = _origin(request.url)
        for _ in range(MAX_REDIRECTS + 1):
            response = await client.send(request, stream=True)
            if not response.is_redirect or response.status_code in expected or response.next_request is None:
                return response, await _read_capped(response, cap) if read_body else await _discard(response)
            await response.aclose()
            target = response.next_request
            if not _same_site(origin, _origin(target.url)):
                raise ConfigError(f"The server redirects to {target.url.scheme}://{target.url.host}: "
                                  "use that address as the base URL")
            request = target
        raise UnknownError(f"More than {MAX_REDIRECTS} redirects")

    def connection_info(self, config: Values) -> ConnectionInfo:
        """The base URL without user info, query or fragment: those may carry secrets."""
        test = self.manifest.test
        field = test.url_field if test else "base_url"
        raw = config.get(field) or self._default(field)
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
        if test is not None and test.basic_auth is not None:
            user = config.get(test.basic_auth.username) or user
        return ConnectionInfo(url, host=parts.hostname, port=port, user=user or None)


# --- judging the answer ------------------------------------------------------------------------------------

_ERRORS: dict[str, type[ConnectionTestError]] = {
    "auth": AuthError, "permission": PermissionDenied, "rate_limited": RateLimited, "not_found": NotFound,
    "config": ConfigError, "unknown": UnknownError,
}


def _judge(response: httpx.Response, data: Any, test: HttpTest, values: Values, ctx: TestContext,
           via_proxy: bool = False) -> ProbeInfo:
    """Success or a classified failure, from the status, the API's own error code and the rate-limit headers."""
    _check_answer(response, data, test, set(test.expect_status), ctx, via_proxy)
    with ctx.stage("probe"):
        return ProbeInfo(server_version=_version(response, data, test), details=_details(response, data, test, values))


def _status_ok(response: httpx.Response, expected: set[int]) -> bool:
    status = response.status_code
    return status in expected if expected else 200 <= status < 300


def _check_answer(response: httpx.Response, data: Any, test: HttpTest, expected: set[int], ctx: TestContext,
                  via_proxy: bool = False) -> None:
    """Raise the classified failure an answer means (status, the API's own error code, rate-limit headers,
    `success_field`), for the test and for every request of an action alike; return when it is a success."""
    status = response.status_code
    label = f"{status} {response.reason_phrase}".strip()
    status_ok = _status_ok(response, expected)
    code = _first_text(data, test.error_fields)
    said = f": {code}" if code else ""
    mapped = test.error_classes.get(code) if code else None

    if not status_ok:
        if status == 407:
            _fail("auth", "The proxy asks for credentials (HTTP 407): put user:password@ in the proxy URL", ctx)
        wait = retry_after(response.headers, test.rate_limit_reset_header)
        if status in (403, 429) and test.rate_limit_header \
                and response.headers.get(test.rate_limit_header, "").strip() == "0":
            _fail("rate_limited", f"HTTP {label}{said}{_wait_text(wait)}", ctx, wait)
        if mapped:
            wait = wait if mapped == "rate_limited" else None
            _fail(mapped, f"HTTP {label}{said}{_wait_text(wait)}", ctx, wait)
        if status == 401:
            _fail("auth", f"HTTP {label}{said}", ctx)
        if status == 403:
            _fail("permission", f"HTTP {label}{said}", ctx)
        if status == 404:
            _fail("not_found", f"HTTP {label} for {response.request.url.path}{said}", ctx)
        if status == 429:
            _fail("rate_limited", f"HTTP {label}{said}{_wait_text(wait)}", ctx, wait)
        if status >= 500:
            through = " (answered through the proxy)" if via_proxy and status in (502, 503, 504) else ""
            _fail("unknown", f"Server error {label}{said}{through}", ctx)
        _fail("unknown", f"Unexpected status {label}{said}", ctx)

    if test.success_field is not None:
        if data is None:
            _fail("unknown", f"HTTP {label}, but the answer is not JSON: check the base URL", ctx)
        if _lookup(data, test.success_field) is not True:
            if mapped:
                wait = retry_after(response.headers, test.rate_limit_reset_header) \
                    if mapped == "rate_limited" else None
                _fail(mapped, f"The API refused the request{said}{_wait_text(wait)}", ctx, wait)
            _fail("unknown", f"The API reported an error{said or f' ({test.success_field!r} is not true)'}", ctx)



def _fail(error_class: str, detail: str, ctx: TestContext, retry_after: float | None = None) -> None:
    """Raise the class's error inside the stage it belongs to: credentials → auth, the rest → probe."""
    with ctx.stage("auth" if error_class in ("auth", "permission") else "probe"):
        raise _ERRORS[error_class](detail, retry_after=retry_after)


def _wait_text(wait: float | None) -> str:
    return f"; retry in {wait:.0f} s" if wait is not None else ""


def _version(response: httpx.Response, data: Any, test: HttpTest) -> str | None:
    if test.version_field is not None:
        value = _scalar_text(_lookup(data, test.version_field))
        if value:
            return value
    for header in test.version_headers:
        if response.headers.get(header):
            return _clip(response.headers[header])
    return response.headers.get("server")


def _details(response: httpx.Response, data: Any, test: HttpTest, values: Values) -> dict[str, str]:
    details = {"status": str(response.status_code), "http_version": response.http_version}
    for name, path in test.detail_fields.items():
        value = _scalar_text(_lookup(data, path))
        if value is not None:
            details[name] = value
    for name, header in test.detail_headers.items():
        if header in response.headers:
            details[name] = _clip(response.headers[header])
    if test.secret_prefix is not None:
        secret = str(values.get(test.secret_prefix.field) or "")
        matches = [prefix for prefix in test.secret_prefix.prefixes if secret.startswith(prefix)]
        if matches:  # only the manifest's own words, never a character of the secret
            details[test.secret_prefix.detail] = test.secret_prefix.prefixes[max(matches, key=len)]
    return details


def _reads_body(test: HttpTest) -> bool:
    return bool(test.success_field or test.error_fields or test.version_field or test.detail_fields)


async def _read_capped(response: httpx.Response, cap: int = MAX_BODY) -> bytes:
    """At most cap + 1 bytes of the body: one byte more than the cap says the answer was larger."""
    chunks, size = [], 0
    try:
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > cap:
                break
    finally:
        await response.aclose()
    return b"".join(chunks)[:cap + 1]


async def _discard(response: httpx.Response) -> bytes:
    await response.aclose()  # the status is enough: skip the body
    return b""


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _lookup(data: Any, path: str) -> Any:
    """A dotted path into parsed JSON; a number picks a list item (`errorMessages.0`). None when absent."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float) and str(value).strip():
        return _clip(str(value))
    return None


def _first_text(data: Any, paths: list[str]) -> str | None:
    for path in paths:
        value = _scalar_text(_lookup(data, path))
        if value:
            return value
    return None


def _clip(text: str) -> str:
    """One line, at most MAX_DETAIL characters: an API's words quoted in a result."""
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL - 1] + "…"


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


def _fill_templates(templates: dict[str, str], values: Values) -> dict[str, str]:
    """Fill `{field}` in the manifest's headers or query from the values (secrets included, never echoed)."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        value = values.get(key)
        if value in (None, ""):
            raise ConfigError(f"Field '{key}' is empty, but the test request needs it")
        return str(value)

    return {name: _TEMPLATE.sub(fill, template) for name, template in templates.items()}


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


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


def _basic_auth_from_fields(user_field: str, password_field: str, config: Values, secrets: Values) -> httpx.Auth:
    import httpx

    username = config.get(user_field)
    password = secrets.get(password_field) or config.get(password_field)
    if not username:
        raise ConfigError(f"Field '{user_field}' is empty, but the test request needs it")
    if not password:
        raise ConfigError(f"Field '{password_field}' is empty, but the test request needs it")
    return httpx.BasicAuth(str(username), str(password))


def _proxy_url(value: Any, field: str) -> str | None:
    """The proxy URL, or None for a direct connection; problems name the field, never the URL (it may hold a
    password)."""
    text = str(value or "").strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"Field '{field}' is not a valid proxy URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"Field '{field}' must be an http:// or https:// proxy URL with a host, "
                          "e.g. http://proxy.example.com:3128")
    return text


def _proxy_name(proxy: str) -> str:
    parts = urlsplit(proxy)
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port}" if parts.port else str(host)


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


def _map_error(exc: Exception, ctx: TestContext, proxy: str | None = None) -> ConnectionTestError:
    if isinstance(exc, ConnectionTestError):
        return exc
    if proxy is not None:
        mapped = _map_proxy_error(exc, ctx, proxy)
        if mapped is not None:
            return mapped
    return classify_http_transport(exc, ctx.timeout) or classify(exc)


def _map_proxy_error(exc: Exception, ctx: TestContext, proxy: str) -> ConnectionTestError | None:
    """With a proxy, httpx only ever connects to the proxy: a connect failure means the proxy is unreachable,
    and a refused CONNECT tunnel (HTTPS APIs) is the proxy's answer, not the API's."""
    import httpx

    name = _proxy_name(proxy)
    if isinstance(exc, httpx.ProxyError):
        text = str(exc)
        if text.startswith("407"):
            return AuthError(f"The proxy {name} asks for credentials (407): put user:password@ in the proxy URL")
        return RefusedError(f"The proxy {name} refused to open a tunnel to the API: {text}")
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        mapped = classify_os_chain(exc, ctx.timeout)
        if mapped is not None and mapped.error_class in (ErrorClass.REFUSED, ErrorClass.TIMEOUT):
            return type(mapped)(f"Cannot reach the proxy {name}: {mapped.detail}")
        if isinstance(exc, httpx.ConnectTimeout):
            return ConnectTimeout(f"The proxy {name} did not answer within {ctx.timeout:g} s")
    return None
