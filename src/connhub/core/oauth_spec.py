"""The manifest's `oauth2` block: how a type signs in with OAuth 2.0 (authorization code + PKCE).

The block only names things that live elsewhere: credential fields that hold the tokens (secrets, so the
keyring), app-level `cfg:` fields that hold the client id and secret, and the provider's endpoints. Each rule
that JSON Schema cannot state is checked by `oauth2_problems`, with a message that says what to change.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

_TEMPLATE_FIELD = re.compile(r"\{([A-Za-z0-9_.:-]+)\}")
_HEADER_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SCOPE = re.compile(r'^[\x21\x23-\x5b\x5d-\x7e]+$')  # RFC 6749 §3.3 scope-token
#: Authorization request parameters connhub sets itself; `authorize_params` may not override them.
RESERVED_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
                   "code_challenge_method")


class OAuth2Spec(BaseModel):
    """Sign in with OAuth 2.0 (authorization code grant with PKCE S256 and a loopback redirect, RFC 8252)."""

    model_config = ConfigDict(extra="forbid")

    method_field: str = Field("auth_method", description="Credential field (an `enum`) that chooses how to "
                              "authenticate; OAuth is used when it holds `method_value`.")
    method_value: str = Field("oauth2", description="The value of `method_field` that means \"sign in with "
                              "OAuth\".")
    authorization_url: str = Field(description="The provider's authorization endpoint. `{field}` is replaced "
                                   "by that non-secret field's value (its default when empty), e.g. "
                                   "`{base_url}/oauth/authorize` for a self-hosted server.")
    token_url: str = Field(description="The provider's token endpoint; `{field}` templates as in "
                           "`authorization_url`.")
    scopes: list[str] = Field(default_factory=list, description="Scopes asked for, e.g. `[\"read:user\"]`; "
                              "sent space-separated.")
    client_id_field: str = Field(description="App-level field (`cfg:…`) that holds the OAuth client id, set "
                                 "once in Settings.")
    client_secret_field: str | None = Field(None, description="App-level secret field (`cfg:…`, writeOnly) "
                                            "that holds the client secret, for providers that require one "
                                            "even with PKCE (GitHub OAuth apps). Omit it for public clients.")
    authorize_params: dict[str, str] = Field(default_factory=dict, description="Extra query parameters of "
                                             "the authorization request, e.g. `{\"prompt\": \"consent\"}`.")
    access_token_field: str = Field("oauth_access_token", description="Secret credential field that holds the "
                                    "access token; the connection test sends it (see `headers`).")
    refresh_token_field: str = Field("oauth_refresh_token", description="Secret credential field that holds "
                                     "the refresh token, when the provider issues one.")
    expires_at_field: str = Field("oauth_expires_at", description="Secret credential field that holds when the "
                                  "access token expires (Unix seconds); empty means it does not expire.")
    headers: dict[str, str] = Field(default_factory=dict, description="Headers of the declarative test when "
                                    "signed in with OAuth; they replace `test.headers`. `{field}` is replaced "
                                    "by that field's value, e.g. `{\"Authorization\": \"Bearer "
                                    "{oauth_access_token}\"}`.")

    @field_validator("authorization_url", "token_url")
    @classmethod
    def _http_url(cls, value: str, info) -> str:
        probe = _TEMPLATE_FIELD.sub("x", value)
        if probe.startswith("x"):  # "{base_url}/oauth/authorize": the field's value gives scheme and host
            return value
        parts = urlsplit(probe)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"oauth2.{info.field_name} {value!r} must be an http(s) URL, e.g. "
                             "'https://github.com/login/oauth/authorize', or start with a field such as "
                             "'{base_url}/oauth/authorize'")
        return value

    @field_validator("scopes")
    @classmethod
    def _scope_tokens(cls, value: list[str]) -> list[str]:
        for scope in value:
            if not _SCOPE.fullmatch(scope):
                raise ValueError(f"oauth2.scopes item {scope!r} is not one scope: write each scope as its own "
                                 "list item, without spaces or quotes")
        return value

    @field_validator("authorize_params")
    @classmethod
    def _not_reserved(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if name in RESERVED_PARAMS:
                raise ValueError(f"oauth2.authorize_params sets {name!r}, which connhub sets itself: remove it "
                                 "(scopes go in oauth2.scopes)")
        return value

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _HEADER_TOKEN.fullmatch(name):
                raise ValueError(f"oauth2.headers names header {name!r}, which is not a valid header name: use "
                                 "letters, digits and '-'")
        return value

    def token_fields(self) -> tuple[str, str, str]:
        return self.access_token_field, self.refresh_token_field, self.expires_at_field

    def url_fields(self) -> list[tuple[str, str]]:
        """(where, field) for every `{field}` in the endpoint URLs."""
        return [(name, key) for name in ("authorization_url", "token_url")
                for key in _TEMPLATE_FIELD.findall(getattr(self, name))]


def oauth2_problems(spec: OAuth2Spec, credentials: dict[str, Any], has_test: bool) -> list[str]:
    """Rules that depend on the credential fields; each message names the fix."""
    props: dict[str, Any] = credentials.get("properties", {})

    def prop(key: str) -> dict[str, Any] | None:
        value = props.get(key)
        return value if isinstance(value, dict) else None

    problems = []
    method = prop(spec.method_field)
    if method is None:
        problems.append(f"oauth2.method_field {spec.method_field!r} is not a credential field: add an enum field "
                        f"such as {{\"enum\": [\"token\", \"{spec.method_value}\"]}} that chooses the sign-in method")
    elif spec.method_value not in method.get("enum", []):
        problems.append(f"oauth2.method_value {spec.method_value!r} is not one of {spec.method_field!r}'s enum "
                        "values: add it to the enum")
    for where in ("client_id_field", "client_secret_field"):
        key = getattr(spec, where)
        if key is None:
            continue
        if not key.startswith("cfg:"):
            problems.append(f"oauth2.{where} {key!r} must be an app-level field: name it 'cfg:{key}' (the client "
                            "is the same for every instance, set once in Settings)")
        elif prop(key) is None:
            problems.append(f"oauth2.{where} {key!r} is not a credential field: add it to credentials.properties")
        elif where == "client_secret_field" and not prop(key).get("writeOnly"):
            problems.append(f"oauth2.client_secret_field {key!r} must be a secret: add \"writeOnly\": true")
        elif where == "client_id_field" and prop(key).get("writeOnly"):
            problems.append(f"oauth2.client_id_field {key!r} is a secret field, but a client id is public: "
                            "remove \"writeOnly\"")
    for where, key in zip(("access_token_field", "refresh_token_field", "expires_at_field"), spec.token_fields()):
        field = prop(key)
        if field is None:
            problems.append(f"oauth2.{where} {key!r} is not a credential field: add {{\"type\": \"string\", "
                            f"\"writeOnly\": true, \"x-show-if\": {{\"{spec.method_field}\": "
                            f"\"{spec.method_value}\"}}}} as {key!r}")
        elif not field.get("writeOnly"):
            problems.append(f"oauth2.{where} {key!r} holds a token, which must stay in the keyring: add "
                            "\"writeOnly\": true")
        elif key.startswith("cfg:"):
            problems.append(f"oauth2.{where} {key!r} is app-level, but tokens belong to one instance: drop 'cfg:'")
        elif field.get("x-show-if") != {spec.method_field: spec.method_value}:
            problems.append(f"oauth2.{where} {key!r} must be shown only when signing in with OAuth: set its "
                            f"\"x-show-if\" to {{\"{spec.method_field}\": \"{spec.method_value}\"}}")
    if len(set(spec.token_fields())) != 3:
        problems.append("oauth2 token fields must be three different fields (access token, refresh token, expiry)")
    for where, key in spec.url_fields():
        field = prop(key)
        if field is None:
            problems.append(f"oauth2.{where} uses {{{key}}}, which is not a credential field: add it or fix the "
                            "name")
        elif field.get("writeOnly"):
            problems.append(f"oauth2.{where} puts secret field {key!r} into a URL: use a non-secret field")
    if has_test:
        if not spec.headers:
            problems.append("oauth2.headers is empty, but the declarative test must send the access token: add "
                            f"{{\"Authorization\": \"Bearer {{{spec.access_token_field}}}\"}}")
        elif not any(f"{{{spec.access_token_field}}}" in value for value in spec.headers.values()):
            problems.append(f"oauth2.headers never sends {{{spec.access_token_field}}}: add "
                            f"{{\"Authorization\": \"Bearer {{{spec.access_token_field}}}\"}}")
        for value in spec.headers.values():
            for key in _TEMPLATE_FIELD.findall(value):
                if key not in props:
                    problems.append(f"oauth2.headers uses {{{key}}}, which is not a credential field: fix the name")
    return problems
