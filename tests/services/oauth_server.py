"""A real OAuth 2.0 authorization server for tests: authlib's authorization code grant with PKCE (S256
required), its refresh token grant, and a GitLab-like `GET /api/v4/user` that checks the bearer token.

Authlib does the protocol (code issue and single use, redirect URI match, verifier check, client auth,
refresh); this file only keeps codes and tokens in dicts and decides consent. Loopback redirect URIs match
on any port (RFC 8252 §7.3). `play_browser` does what the user's browser would: GET the authorization URL
and follow the redirect to connhub's loopback listener.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test server speaks http on 127.0.0.1

from authlib.integrations.flask_oauth2 import AuthorizationServer  # noqa: E402
from authlib.oauth2 import OAuth2Error  # noqa: E402
from authlib.oauth2.rfc6749 import ClientMixin, grants  # noqa: E402
from authlib.oauth2.rfc7636 import CodeChallenge  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

USER = {"id": 7, "username": "jsmith", "name": "Jane Smith", "state": "active"}
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str | None = None

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return scope

    def check_redirect_uri(self, redirect_uri):
        parts = urlsplit(redirect_uri)  # RFC 8252 §7.3: any port on the loopback address
        return parts.scheme == "http" and parts.hostname == "127.0.0.1" and parts.path == "/callback"

    def check_client_secret(self, client_secret):
        return self.client_secret is not None and secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method == "none" if self.client_secret is None else method != "none"

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


@dataclass
class Token:
    client_id: str
    access_token: str
    refresh_token: str | None
    scope: str
    issued_at: float
    expires_in: int
    revoked: bool = False
    expired: bool = False  # set by tests: "time has passed" without waiting for it

    def check_client(self, client):
        return client.get_client_id() == self.client_id

    def get_scope(self):
        return self.scope

    def get_expires_in(self):
        return self.expires_in

    def is_expired(self):
        return self.expired

    def is_revoked(self):
        return self.revoked

    def get_user(self):
        return USER

    def get_client(self):
        return None


@dataclass
class FakeProvider:
    url: str
    client: Client
    consent: str = "allow"  # "allow" or "deny": what the user clicks on the consent page
    codes: dict[str, Code] = field(default_factory=dict)
    tokens: list[Token] = field(default_factory=list)
    refuse_refresh: bool = False
    token_requests: list[dict[str, str]] = field(default_factory=list)
    api_tokens_seen: list[str] = field(default_factory=list)

    def token(self, access_token: str) -> Token | None:
        return next((t for t in self.tokens if t.access_token == access_token), None)

    def expire_all(self) -> None:
        for token in self.tokens:
            token.expired = True


def build_app(provider: FakeProvider) -> Flask:
    app = Flask("fake-oauth-provider")
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 3600, "refresh_token": 3600}
    app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True

    def query_client(client_id):
        return provider.client if client_id == provider.client.client_id else None

    def save_token(token, req):
        provider.tokens.append(Token(req.client.get_client_id(), token["access_token"], token.get("refresh_token"),
                                     token.get("scope", ""), time.time(), token.get("expires_in", 3600)))

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

        def save_authorization_code(self, code, req):
            data = req.payload.data
            provider.codes[code] = Code(code, req.client.get_client_id(), req.payload.redirect_uri,
                                        req.payload.scope or "", data.get("code_challenge"),
                                        data.get("code_challenge_method"))

        def query_authorization_code(self, code, client):
            found = provider.codes.get(code)
            return found if found and found.client_id == client.get_client_id() else None

        def delete_authorization_code(self, authorization_code):
            provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return USER

    class RefreshGrant(grants.RefreshTokenGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
        INCLUDE_NEW_REFRESH_TOKEN = True

        def authenticate_refresh_token(self, refresh_token):
            if provider.refuse_refresh:
                return None
            found = next((t for t in provider.tokens if t.refresh_token == refresh_token), None)
            return found if found and not found.revoked else None

        def authenticate_user(self, credential):
            return USER

        def revoke_old_credential(self, credential):
            credential.revoked = True

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(CodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshGrant)

    @app.get("/oauth/authorize")
    def authorize():
        """The consent page: authlib validates the request (client, redirect URI, PKCE challenge), then the
        user's answer goes back to the redirect URI with a code, or with error=access_denied."""
        try:
            grant = server.get_consent_grant(end_user=USER)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        return server.create_authorization_response(grant=grant,
                                                    grant_user=USER if provider.consent == "allow" else None)

    @app.post("/oauth/token")
    def issue_token():
        provider.token_requests.append(dict(request.form))
        return server.create_token_response()

    @app.get("/api/v4/user")
    def user():
        header = request.headers.get("Authorization", "")
        access = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        provider.api_tokens_seen.append(access)
        token = provider.token(access)
        if token is None or token.revoked or token.expired:
            return jsonify({"message": "401 Unauthorized"}), 401
        return jsonify(USER)

    return app


@contextmanager
def fake_provider(client_secret: str | None = "s3cret-client") -> Iterator[FakeProvider]:
    """The authorization server and API on 127.0.0.1, in a thread, for one test."""
    holder: dict[str, FakeProvider] = {}
    app = Flask("placeholder")
    http = make_server("127.0.0.1", 0, app, threaded=True)
    provider = FakeProvider(f"http://127.0.0.1:{http.server_port}", Client("connhub-test", client_secret))
    holder["p"] = provider
    http.app = build_app(provider)
    thread = threading.Thread(target=http.serve_forever, name="fake-oauth", daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        http.shutdown()
        thread.join(5)
        http.server_close()


def play_browser(url: str, tamper_state: bool = False) -> httpx.Response:
    """GET the authorization URL like a browser, then follow the provider's redirect to the loopback listener
    (optionally with a forged `state`, as a cross-site request would carry). Returns the listener's answer."""
    answer = httpx.get(url, follow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    if tamper_state:
        location = location.replace("state=", "state=forged", 1)
    return httpx.get(location, timeout=10)
