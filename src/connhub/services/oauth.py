"""OAuth sign-in as a use case: which client and endpoints a type uses, where the tokens go, when they refresh.

The tokens are secret credential fields of the instance (named by the manifest's `oauth2` block), so they
live where the instance keeps its secrets (the keyring, or this session's memory for "ask every time"), written
through Secrets like any other, and never reach SQLite, logs or exports. `needs_reauth` is set
when a refresh is refused and cleared by the next successful sign-in; the instance itself is always kept.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from connhub.core.errors import ConfigError
from connhub.core.oauth import (
    DEFAULT_SIGN_IN_TIMEOUT,
    Client,
    OAuthError,
    SignInRequest,
    Tokens,
    refresh,
    sign_in,
)
from connhub.core.oauth_spec import OAuth2Spec

if TYPE_CHECKING:
    from connhub.core.records import InstanceRecord
    from connhub.plugins.registry import TypeEntry
    from connhub.services.app_config import AppConfig
    from connhub.services.secrets import Secrets
    from connhub.services.types import Types
    from connhub.storage.repository import InstanceStore

log = logging.getLogger("connhub")

#: Refresh an access token that expires within this many seconds, so it cannot lapse during the test.
REFRESH_MARGIN = 60.0
_TEMPLATE = re.compile(r"\{([A-Za-z0-9_.:-]+)\}")


class ReauthNeeded(Exception):
    """The saved sign-in can no longer be used (refresh refused, or nothing to refresh with)."""


def spec_of(entry: TypeEntry) -> OAuth2Spec | None:
    return entry.manifest.oauth2 if entry.manifest is not None else None


def uses_oauth(entry: TypeEntry, config: dict[str, Any]) -> bool:
    """Whether these values choose the type's OAuth method."""
    spec = spec_of(entry)
    return spec is not None and config.get(spec.method_field) == spec.method_value


def provider_name(entry: TypeEntry) -> str:
    return entry.name


def endpoint(entry: TypeEntry, template: str, config: dict[str, Any]) -> str:
    """Fill `{field}` from the values (or the field's default): GitHub Enterprise and self-managed GitLab
    take their endpoints from the base URL."""
    props = entry.manifest.credentials.get("properties", {})

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        value = config.get(key) or (props.get(key) or {}).get("default")
        if value in (None, ""):
            raise OAuthError("not_configured", f"Field '{key}' is empty, but signing in needs it")
        return str(value).strip().rstrip("/")

    return _TEMPLATE.sub(fill, template)


def tokens_to_secrets(spec: OAuth2Spec, tokens: Tokens) -> dict[str, str]:
    secrets = {spec.access_token_field: tokens.access_token}
    if tokens.refresh_token:
        secrets[spec.refresh_token_field] = tokens.refresh_token
    if tokens.expires_at is not None:
        secrets[spec.expires_at_field] = str(int(tokens.expires_at))
    return secrets


def tokens_from_secrets(spec: OAuth2Spec, secrets: dict[str, Any]) -> Tokens | None:
    access = secrets.get(spec.access_token_field)
    if not access:
        return None
    try:
        expires_at = float(secrets[spec.expires_at_field]) if secrets.get(spec.expires_at_field) else None
    except ValueError:
        expires_at = 0.0  # unreadable: treat as expired, a refresh will replace it
    return Tokens(str(access), secrets.get(spec.refresh_token_field) or None, expires_at)


class OAuth:
    """Sign-in, token refresh and token saving for the types whose manifest has an `oauth2` block."""

    def __init__(self, types: Types, app_config: AppConfig, secrets: Secrets, store: InstanceStore):
        self._types = types
        self._app_config = app_config
        self._secrets = secrets
        self._store = store

    def client_for(self, entry: TypeEntry, config: dict[str, Any]) -> Client:
        """The app-level OAuth client (Settings) and how to reach the token endpoint. Blocks (database, keyring)."""
        from connhub.core.net import tls_context

        spec = spec_of(entry)
        try:
            app_config, app_secrets = self._app_config.for_test(entry.type)
        except ConfigError as exc:
            raise OAuthError("not_configured", str(exc)) from None
        client_id = str(app_config.get(spec.client_id_field) or "").strip()
        if not client_id:
            field = next((s for s in entry.specs if s.key == spec.client_id_field), None)
            title = field.title if field else spec.client_id_field
            raise OAuthError("not_configured", f"Signing in with {entry.name} needs an OAuth app: set {title} "
                             f"({spec.client_id_field}) in Settings, or with `connhub config {entry.type} --set "
                             f"{spec.client_id_field}=VALUE`")
        secret = app_secrets.get(spec.client_secret_field) if spec.client_secret_field else None
        merged = {**app_config, **config}
        try:
            verify = tls_context(merged.get("ca_file"), verify=bool(merged.get("verify_tls", True)))
        except ConfigError as exc:
            raise OAuthError("not_configured", str(exc)) from None
        test = entry.manifest.test
        proxy = str(merged.get(test.proxy_field) or "").strip() or None if test and test.proxy_field else None
        return Client(client_id, secret or None, endpoint(entry, spec.token_url, merged), verify, proxy)


    async def sign_in_values(self, type_name: str, values: dict[str, Any],
                             open_browser: Callable[[str], Awaitable[Any] | Any],
                             timeout: float = DEFAULT_SIGN_IN_TIMEOUT,
                             on_progress: Callable[[str], None] | None = None) -> dict[str, str]:
        """Sign in for the (possibly unsaved) form values; returns the token fields to put in the form."""
        loop = asyncio.get_running_loop()
        entry = self._types.usable(type_name)
        spec = spec_of(entry)
        if spec is None:
            raise OAuthError("not_configured", f"{entry.name} offers no OAuth sign-in")
        client = await loop.run_in_executor(None, self.client_for, entry, values)
        request = SignInRequest(client, endpoint(entry, spec.authorization_url, values), list(spec.scopes),
                                dict(spec.authorize_params))
        tokens = await sign_in(request, open_browser, timeout, on_progress)
        log.info("signed in to %s", type_name)
        return tokens_to_secrets(spec, tokens)


    async def sign_in_instance(self, record: InstanceRecord, open_browser: Callable[[str], Awaitable[Any] | Any],
                               timeout: float = DEFAULT_SIGN_IN_TIMEOUT,
                               on_progress: Callable[[str], None] | None = None) -> InstanceRecord:
        """"Sign in again" for a saved instance: new tokens in the keyring, `needs_reauth` cleared, settings kept."""
        loop = asyncio.get_running_loop()
        secrets = await self.sign_in_values(record.type, record.config, open_browser, timeout, on_progress)
        return await loop.run_in_executor(None, self.save_tokens, record.id, secrets, True)


    def save_tokens(self, instance_id: str, secrets: dict[str, str], signed_in: bool) -> InstanceRecord:
        """New tokens where the instance keeps its secrets, then the row: a crash in between leaves a usable token
        and a stale flag, never a row naming a secret that is not there. An expiry the new answer lacks is
        removed, not left stale."""
        record = self._store.get(instance_id)
        spec = spec_of(self._types.entry(record.type))
        stale = {k for k in (spec.refresh_token_field, spec.expires_at_field)
                 if k in record.secret_fields and k not in secrets}

        def write_row() -> InstanceRecord:
            current = self._store.get(instance_id)
            current.secret_fields = sorted((set(current.secret_fields) - stale) | set(secrets))
            if signed_in:
                current.needs_reauth = False
            return self._store.update(current)

        return self._secrets.replace(record, secrets, stale, write_row)


    def mark_needs_reauth(self, instance_id: str) -> None:
        record = self._store.get(instance_id)
        if not record.needs_reauth:
            record.needs_reauth = True
            self._store.update(record)


    async def refresh_if_needed(self, record: InstanceRecord, secrets: dict[str, str]) -> dict[str, str]:
        """Before a test: an access token that is expired or about to be is refreshed and the new tokens saved.
        Raises ReauthNeeded (and sets needs_reauth) when that is impossible; OAuthError on a network failure."""
        entry = self._types.entry(record.type)
        if not uses_oauth(entry, record.config):
            return secrets
        spec = spec_of(entry)
        loop = asyncio.get_running_loop()
        tokens = tokens_from_secrets(spec, secrets)
        if tokens is None:
            await loop.run_in_executor(None, self.mark_needs_reauth, record.id)
            record.needs_reauth = True
            raise ReauthNeeded(f"{record.name} is not signed in to {entry.name}: sign in again")
        if not tokens.expires_within(REFRESH_MARGIN):
            return secrets
        if not tokens.refresh_token:
            await loop.run_in_executor(None, self.mark_needs_reauth, record.id)
            record.needs_reauth = True
            raise ReauthNeeded(f"The {entry.name} sign-in has expired and cannot be refreshed: sign in again")
        client = await loop.run_in_executor(None, self.client_for, entry, record.config)
        try:
            fresh = await refresh(client, tokens.refresh_token)
        except OAuthError as exc:
            if exc.kind != "refresh_refused":
                raise
            await loop.run_in_executor(None, self.mark_needs_reauth, record.id)
            record.needs_reauth = True
            log.info("refresh refused for instance %s: needs re-auth", record.id)
            raise ReauthNeeded(str(exc)) from None
        new = tokens_to_secrets(spec, fresh)
        saved = await loop.run_in_executor(None, self.save_tokens, record.id, new, False)
        record.secret_fields = saved.secret_fields
        log.info("refreshed the access token of instance %s", record.id)
        stale = {spec.refresh_token_field, spec.expires_at_field} - set(new)
        return {**{k: v for k, v in secrets.items() if k not in stale}, **new}


    async def refresh_saved_tokens(self, saved: InstanceRecord, config: dict[str, Any], typed: dict[str, Any],
                                   secrets: dict[str, str]) -> dict[str, str]:
        """Testing an edit form: refresh only when the form uses OAuth with the saved tokens (no fresh sign-in)."""
        entry = self._types.entry(saved.type)
        spec = spec_of(entry)
        if spec is None or not uses_oauth(entry, config) or spec.access_token_field in typed:
            return secrets
        if not uses_oauth(entry, saved.config):
            return secrets  # switched to OAuth in this form and not signed in yet: the test says what is missing
        return await self.refresh_if_needed(saved, secrets)


def signed_in_now(entry: TypeEntry, secrets: dict[str, Any]) -> bool:
    """A save that carries a new access token comes from a fresh sign-in."""
    spec = spec_of(entry)
    return spec is not None and bool(secrets.get(spec.access_token_field))
