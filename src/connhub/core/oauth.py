"""OAuth 2.0 for a desktop app: authorization code grant with PKCE and a loopback redirect.

- PKCE (RFC 7636): a fresh `code_verifier` per sign-in; only its S256 challenge travels through the browser,
  so a code caught on the way (another local app, a browser extension) cannot be exchanged.
- Loopback redirect (RFC 8252 §7.3, §8.3): listen on 127.0.0.1 (not `localhost`, which may resolve elsewhere)
  on a port the OS picks, for exactly one callback, then close.
- `state` ties the callback to this sign-in: a callback carrying another one is refused (CSRF, RFC 6749 §10.12).

Qt-free; the GUI and the CLI drive it through `connhub.services.oauth`. No token, code or verifier ever appears
in a message, a log line or an exception.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

LOOPBACK_HOST = "127.0.0.1"
CALLBACK_PATH = "/callback"
DEFAULT_SIGN_IN_TIMEOUT = 300.0  # the user may have to log in to the provider first
MAX_REQUEST = 16 * 1024


class OAuthError(Exception):
    """A sign-in or refresh that did not work. `kind` is one of: state_mismatch, denied, provider_error,
    exchange_refused, refresh_refused, timeout, network, not_configured. The message is meant for people."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


# --- PKCE and state ----------------------------------------------------------------------------------------

def new_verifier() -> str:
    """A code verifier (RFC 7636 §4.1): 64 random bytes, base64url → 86 characters of [A-Za-z0-9-_]."""
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    """BASE64URL-ENCODE(SHA256(ASCII(code_verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_state() -> str:
    return secrets.token_urlsafe(32)


def authorization_url(endpoint: str, client_id: str, redirect_uri: str, scopes: list[str], state: str,
                      challenge: str, extra: dict[str, str] | None = None) -> str:
    params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "state": state,
              "code_challenge": challenge, "code_challenge_method": "S256", **(extra or {})}
    if scopes:
        params["scope"] = " ".join(scopes)
    separator = "&" if urlsplit(endpoint).query else "?"
    return endpoint + separator + urlencode(params)


# --- tokens ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None  # Unix seconds; None: the provider gave no expiry
    scope: str | None = None

    def __repr__(self) -> str:  # a Tokens in a traceback or a log line shows no token
        return f"Tokens(expires_at={self.expires_at!r}, scope={self.scope!r}, refresh={self.refresh_token is not None})"

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        return self.expires_at - (time.time() if now is None else now) <= seconds


# --- the loopback listener ---------------------------------------------------------------------------------

_PAGE = ("<!doctype html><html><head><meta charset=utf-8><title>connhub</title></head><body style=\"font-family:"
         "sans-serif;margin:3em\"><h1>{title}</h1><p>{text}</p></body></html>")


class LoopbackListener:
    """Waits for the browser's one redirect to http://127.0.0.1:<port>/callback; closes right after it,
    on `close()` (cancel) or when `wait` times out. Other paths (a favicon request) get 404 and do not count, and
    a callback carrying another sign-in's state is refused and ignored, as its page says: the listener keeps
    waiting for this sign-in's own answer until the timeout (a stale tab must not end the sign-in)."""

    def __init__(self, expected_state: str):
        self._state = expected_state
        self._server: asyncio.base_events.Server | None = None
        self._result: asyncio.Future[dict[str, str]] | None = None
        self.port: int | None = None
        self.ignored = 0  # callbacks refused for their state

    @property
    def redirect_uri(self) -> str:
        return f"http://{LOOPBACK_HOST}:{self.port}{CALLBACK_PATH}"

    async def start(self) -> str:
        self._result = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._handle, LOOPBACK_HOST, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.redirect_uri

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def wait(self, timeout: float) -> dict[str, str]:
        """The callback's query parameters (state already checked); raises OAuthError."""
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            if self.ignored:
                raise OAuthError("state_mismatch", f"No answer of this sign-in within {timeout:g} s; "
                                 f"{self.ignored} that did not match it (their state differs) were refused and "
                                 "nothing was saved: sign in again") from None
            raise OAuthError("timeout", f"No answer from the browser within {timeout:g} s: sign in again") from None
        finally:
            self.close()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        if self._result is not None and not self._result.done():
            self._result.cancel()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.TimeoutError, TimeoutError,
                ConnectionError):
            writer.close()
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        target = urlsplit(parts[1]) if len(parts) == 3 else None
        if target is None or parts[0] != "GET" or target.path != CALLBACK_PATH or self._result.done():
            await _answer(writer, 404, "Not found", "connhub is waiting for a sign-in callback elsewhere.")
            return
        params = {k: v[0] for k, v in parse_qs(target.query, keep_blank_values=True).items()}
        if not secrets.compare_digest(params.get("state", ""), self._state):
            await _answer(writer, 400, "Sign-in refused",
                          "This answer does not belong to the sign-in connhub started, so it was ignored. "
                          "Start the sign-in again from connhub.")
            self.ignored += 1
            return
        elif "error" in params:
            await _answer(writer, 200, "Sign-in not completed", "You can close this tab and return to connhub.")
            self._result.set_exception(_provider_error(params))
        elif not params.get("code"):
            await _answer(writer, 400, "Sign-in failed", "The answer carried no authorization code.")
            self._result.set_exception(OAuthError("provider_error", "The provider answered without an "
                                                  "authorization code: sign in again"))
        else:
            await _answer(writer, 200, "Signed in", "You can close this tab and return to connhub.")
            self._result.set_result(params)
        self.close()


async def _answer(writer: asyncio.StreamWriter, status: int, title: str, text: str) -> None:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text)).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
                 f"{len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n".encode() + body)
    try:
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def _provider_error(params: dict[str, str]) -> OAuthError:
    code = _clip(params.get("error", ""))
    description = _clip(params.get("error_description", ""))
    if code == "access_denied":
        return OAuthError("denied", "Sign-in was declined in the browser (access_denied): nothing was saved")
    said = f"{code}: {description}" if description else code
    return OAuthError("provider_error", f"The provider refused the sign-in ({said})")


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


# --- the token endpoint ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str | None = field(default=None, repr=False)  # never in a repr, a log line or a traceback
    token_url: str = ""
    verify: Any = True  # httpx's `verify`: True, False or an ssl.SSLContext
    proxy: str | None = None


async def exchange_code(client: Client, code: str, redirect_uri: str, verifier: str,
                        timeout: float = 30.0) -> Tokens:
    """Trade the authorization code (and the verifier that proves we asked for it) for tokens."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    return await _token_request(client, form, timeout, "exchange_refused", [code, verifier])


async def refresh(client: Client, refresh_token: str, timeout: float = 30.0) -> Tokens:
    """New tokens from a refresh token (RFC 6749 §6); a provider that sends no new refresh token keeps the old."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    tokens = await _token_request(client, form, timeout, "refresh_refused", [refresh_token])
    if tokens.refresh_token is None:
        tokens = Tokens(tokens.access_token, refresh_token, tokens.expires_at, tokens.scope)
    return tokens


async def _token_request(client: Client, form: dict[str, str], timeout: float, refused: str,
                         hide: list[str]) -> Tokens:
    import httpx

    form = {**form, "client_id": client.client_id}
    if client.client_secret:
        form["client_secret"] = client.client_secret
        hide = [*hide, client.client_secret]
    # GitHub answers form-encoded unless asked for JSON.
    headers = {"Accept": "application/json", "User-Agent": "connhub/0.1"}
    try:
        async with httpx.AsyncClient(timeout=timeout, verify=client.verify, proxy=client.proxy,
                                     trust_env=False) as http:
            response = await http.post(client.token_url, data=form, headers=headers)
    except httpx.HTTPError as exc:
        raise OAuthError("network", f"Cannot reach the token endpoint {_origin(client.token_url)} "
                         f"({type(exc).__name__})") from None
    data = _json_or_form(response)
    error = data.get("error") if isinstance(data, dict) else None
    if response.status_code >= 400 or error or not isinstance(data, dict) or not data.get("access_token"):
        said = _clip(str(error or f"HTTP {response.status_code}"))
        description = _clip(str(data.get("error_description") or "")) if isinstance(data, dict) else ""
        for value in hide:  # a provider echoing what we sent must not put it on screen
            said, description = said.replace(value, "…"), description.replace(value, "…")
        detail = f"{said}: {description}" if description else said
        if refused == "refresh_refused":
            message = f"The provider refused to refresh the sign-in ({detail}): sign in again"
        elif error == "invalid_grant":
            message = (f"The provider refused the authorization code ({detail}). The code or its PKCE verifier "
                       "did not match, or the code was already used: sign in again")
        else:
            message = f"The provider refused the sign-in ({detail})"
        raise OAuthError(refused, message)
    expires_in = data.get("expires_in")
    try:
        expires_at = time.time() + float(expires_in) if expires_in not in (None, "") else None
    except (TypeError, ValueError):
        expires_at = None
    return Tokens(str(data["access_token"]), str(data["refresh_token"]) if data.get("refresh_token") else None,
                  expires_at, str(data["scope"]) if data.get("scope") else None)


def _json_or_form(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return {k: v[0] for k, v in parse_qs(response.text).items()}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- the whole sign-in -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignInRequest:
    client: Client
    authorization_endpoint: str
    scopes: list[str]
    extra_params: dict[str, str]


async def sign_in(request: SignInRequest, open_browser: Callable[[str], Awaitable[Any] | Any],
                  timeout: float = DEFAULT_SIGN_IN_TIMEOUT,
                  on_progress: Callable[[str], None] | None = None) -> Tokens:
    """Listen, send the browser to the provider, wait for the one callback, exchange the code.

    Cancelling the task closes the listener at once; so do a timeout and every failure."""
    progress = on_progress or (lambda _text: None)
    state, verifier = new_state(), new_verifier()
    listener = LoopbackListener(state)
    redirect_uri = await listener.start()
    try:
        url = authorization_url(request.authorization_endpoint, request.client.client_id, redirect_uri,
                                request.scopes, state, s256_challenge(verifier), request.extra_params)
        progress("Waiting for the browser…")
        opened = open_browser(url)
        if asyncio.iscoroutine(opened):
            await opened
        params = await listener.wait(timeout)
        progress("Exchanging the authorization code…")
        return await exchange_code(request.client, params["code"], redirect_uri, verifier)
    finally:
        listener.close()
