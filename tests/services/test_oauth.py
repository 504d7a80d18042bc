"""OAuth sign-in end to end against a real authorization server (authlib: code + PKCE S256 + refresh).

The test plays the browser: it GETs the authorization URL connhub built and follows the provider's redirect
to connhub's loopback listener, then the flow exchanges the code at the provider's token endpoint. GitLab's
own manifest is used: its endpoints derive from `base_url`, which points at the local provider.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connhub.core.oauth import (
    LoopbackListener,
    OAuthError,
    authorization_url,
    new_state,
    new_verifier,
    s256_challenge,
)
from connhub.plugins.registry import Registry
from connhub.services import oauth as oauth_service
from connhub.services.hub import Hub
from connhub.storage.vault import KeyringVault
from tests.services.oauth_server import fake_provider, play_browser

TOKEN_FIELDS = ("oauth_access_token", "oauth_refresh_token", "oauth_expires_at")


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.discover(plugins=False)


@pytest.fixture
def provider():
    with fake_provider() as running:
        yield running


@pytest.fixture
def hub(tmp_path, registry, memory_keyring, provider) -> Hub:
    hub = Hub(data_dir=tmp_path / "data", registry=registry, vault=KeyringVault(backend=memory_keyring))
    hub.app_config.save("gitlab", {"cfg:oauth_client_id": provider.client.client_id,
                                    "cfg:oauth_client_secret": provider.client.client_secret})
    yield hub
    hub.close()


class Browser:
    """Stands in for QDesktopServices.openUrl: opens the URL on a thread, as a real browser is another process."""

    def __init__(self, tamper_state: bool = False, follow: bool = True):
        self.tamper_state, self.follow = tamper_state, follow
        self.urls: list[str] = []
        self.answer: asyncio.Future | None = None

    def __call__(self, url: str) -> None:
        self.urls.append(url)
        if self.follow:
            self.answer = asyncio.get_running_loop().run_in_executor(None, play_browser, url, self.tamper_state)


def values(provider) -> dict:
    return {"base_url": provider.url, "auth_method": "oauth2"}


async def sign_in(hub, provider, browser, timeout=10.0):
    return await hub.oauth.sign_in_values("gitlab", values(provider), browser, timeout=timeout)


def all_secret_text(memory_keyring) -> str:
    return "\n".join(memory_keyring.secrets_of().values())


# --- PKCE and the authorization URL ------------------------------------------------------------------------

def test_s256_challenge_matches_rfc_7636_appendix_b():
    assert s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == \
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifier_is_rfc_7636_shaped_and_fresh_each_time():
    first, second = new_verifier(), new_verifier()
    assert first != second and new_state() != new_state()
    assert 43 <= len(first) <= 128 and re.fullmatch(r"[A-Za-z0-9\-._~]+", first)


def test_authorization_url_carries_pkce_state_and_scopes():
    url = authorization_url("https://gitlab.example.com/oauth/authorize", "app-id", "http://127.0.0.1:5000/callback",
                            ["read_user", "api"], "st", "ch", {"prompt": "consent"})
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query == {"response_type": "code", "client_id": "app-id", "redirect_uri": "http://127.0.0.1:5000/callback",
                     "state": "st", "code_challenge": "ch", "code_challenge_method": "S256",
                     "scope": "read_user api", "prompt": "consent"}


def test_github_manifest_signs_in_at_github_com_or_an_enterprise_server(registry):
    entry = registry.get("github")
    spec = entry.manifest.oauth2
    assert oauth_service.endpoint(entry, spec.authorization_url, {}) == "https://github.com/login/oauth/authorize"
    enterprise = {"base_url": "https://github.example.com/api/v3", "oauth_web_url": "https://github.example.com/"}
    assert oauth_service.endpoint(entry, spec.token_url, enterprise) == \
        "https://github.example.com/login/oauth/access_token"
    assert spec.client_secret_field == "cfg:oauth_client_secret" and spec.scopes == ["read:user"]


def test_self_managed_gitlab_endpoints_follow_the_base_url(registry):
    entry = registry.get("gitlab")
    config = {"base_url": "https://git.example.com/gitlab/"}
    assert oauth_service.endpoint(entry, entry.manifest.oauth2.token_url, config) == \
        "https://git.example.com/gitlab/oauth/token"


def test_tokens_and_client_secret_never_show_in_a_repr():
    from connhub.core.oauth import Client, Tokens

    text = repr(Tokens("access-canary", "refresh-canary", 1.0)) + repr(Client("id", "secret-canary", "https://t"))
    assert "canary" not in text


# --- the loopback listener ---------------------------------------------------------------------------------

def test_listener_binds_loopback_and_closes_after_one_callback():
    async def scenario():
        listener = LoopbackListener("the-state")
        redirect = await listener.start()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callback", redirect)
        loop = asyncio.get_running_loop()
        favicon = await loop.run_in_executor(None, lambda: httpx.get(redirect.replace("/callback", "/favicon.ico")))
        answer = loop.run_in_executor(None, lambda: httpx.get(redirect + "?code=abc&state=the-state"))
        params = await listener.wait(5)
        page = await answer
        return favicon.status_code, params, page.status_code, page.text, listener.listening, redirect

    favicon, params, status, page, listening, redirect = asyncio.run(scenario())
    assert favicon == 404  # a stray request does not count as the callback
    assert params["code"] == "abc" and status == 200 and "return to connhub" in page
    assert not listening
    with pytest.raises(httpx.ConnectError):  # nothing listens any more
        httpx.get(redirect, timeout=2)


def test_listener_times_out_and_closes():
    async def scenario():
        listener = LoopbackListener("s")
        await listener.start()
        with pytest.raises(OAuthError) as caught:
            await listener.wait(0.2)
        return caught.value, listener.listening

    error, listening = asyncio.run(scenario())
    assert error.kind == "timeout" and "sign in again" in str(error)
    assert not listening


def test_cancelling_the_sign_in_closes_the_listener(hub, provider):
    browser = Browser(follow=False)

    async def scenario():
        task = asyncio.create_task(sign_in(hub, provider, browser))
        while not browser.urls:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return parse_qs(urlsplit(browser.urls[0]).query)["redirect_uri"][0]

    redirect = asyncio.run(scenario())
    with pytest.raises(httpx.ConnectError):
        httpx.get(redirect + "?code=x&state=y", timeout=2)


# --- sign-in against the real authorization server ---------------------------------------------------------

def test_sign_in_creates_an_instance_that_tests_ok(hub, provider, memory_keyring):
    browser = Browser()
    tokens = asyncio.run(sign_in(hub, provider, browser))
    assert set(tokens) == set(TOKEN_FIELDS)
    issued = provider.tokens[-1]
    assert tokens["oauth_access_token"] == issued.access_token
    assert tokens["oauth_refresh_token"] == issued.refresh_token
    # what went through the browser: the challenge, never the verifier; the verifier went to the token endpoint
    query = parse_qs(urlsplit(browser.urls[0]).query)
    sent = provider.token_requests[-1]
    assert query["code_challenge_method"] == ["S256"]
    assert s256_challenge(sent["code_verifier"]) == query["code_challenge"][0]
    assert sent["code_verifier"] not in browser.urls[0]

    record = hub.instances.create("gitlab", "work", {**values(provider), **tokens})
    assert set(TOKEN_FIELDS) <= set(record.secret_fields)
    result = asyncio.run(hub.prober.test_instance(record, timeout=5))
    assert result.ok, result.message
    assert result.details["user"] == "jsmith"
    assert provider.api_tokens_seen[-1] == issued.access_token  # sent as a bearer token, not PRIVATE-TOKEN
    assert not hub.instances.find("work").needs_reauth


def test_state_mismatch_is_refused_and_nothing_is_stored(hub, provider, memory_keyring):
    browser = Browser(tamper_state=True)

    async def scenario():
        with pytest.raises(OAuthError) as caught:
            await sign_in(hub, provider, browser, timeout=1.5)
        return caught.value, await browser.answer

    error, page = asyncio.run(scenario())
    assert error.kind == "state_mismatch"
    assert "did not match" in str(error) and "nothing was saved" in str(error)
    assert page.status_code == 400 and "ignored" in page.text  # the browser tab says so too
    assert provider.token_requests == []  # the code was never exchanged
    assert not [k for k in memory_keyring.secrets_of() if "oauth" in k and "cfg:" not in k]


def test_a_wrong_state_callback_is_ignored_and_the_right_one_still_signs_in():
    """The page of a refused callback says it "was ignored": the sign-in goes on waiting for its own answer."""
    async def scenario():
        listener = LoopbackListener("the-right-state")
        redirect = await listener.start()
        waiting = asyncio.create_task(listener.wait(5))
        async with httpx.AsyncClient() as browser:
            stale = await browser.get(redirect, params={"code": "stale", "state": "another-sign-in"})
            assert not waiting.done()
            fresh = await browser.get(redirect, params={"code": "fresh", "state": "the-right-state"})
        return stale, fresh, await waiting, listener.listening

    stale, fresh, params, listening = asyncio.run(scenario())
    assert stale.status_code == 400 and "ignored" in stale.text
    assert fresh.status_code == 200 and params["code"] == "fresh"
    assert not listening


def test_denied_consent_is_reported(hub, provider):
    provider.consent = "deny"
    with pytest.raises(OAuthError) as caught:
        asyncio.run(sign_in(hub, provider, Browser()))
    assert caught.value.kind == "denied" and "declined" in str(caught.value)
    assert provider.token_requests == []


def test_wrong_verifier_is_refused_by_the_token_endpoint(hub, provider, monkeypatch):
    """The verifier sent to the token endpoint is not the one whose challenge went to the browser."""
    from connhub.core import oauth as core_oauth

    real = core_oauth.exchange_code

    async def with_wrong_verifier(client, code, redirect_uri, verifier, timeout=30.0):
        return await real(client, code, redirect_uri, new_verifier(), timeout)

    monkeypatch.setattr(core_oauth, "exchange_code", with_wrong_verifier)
    with pytest.raises(OAuthError) as caught:
        asyncio.run(sign_in(hub, provider, Browser()))
    assert caught.value.kind == "exchange_refused"
    assert "invalid_grant" in str(caught.value) and "PKCE verifier" in str(caught.value)
    assert provider.tokens == []


def test_missing_client_id_points_to_settings(hub, provider):
    hub.app_config.save("gitlab", {}, unset=["cfg:oauth_client_id"])
    with pytest.raises(OAuthError) as caught:
        asyncio.run(sign_in(hub, provider, Browser(follow=False)))
    assert caught.value.kind == "not_configured"
    assert "Settings" in str(caught.value) and "cfg:oauth_client_id" in str(caught.value)


# --- refresh before a test ---------------------------------------------------------------------------------

def signed_in_instance(hub, provider) -> tuple:
    tokens = asyncio.run(sign_in(hub, provider, Browser()))
    return hub.instances.create("gitlab", "work", {**values(provider), **tokens}), tokens


def test_expired_token_is_refreshed_before_a_test(hub, provider, memory_keyring):
    record, old = signed_in_instance(hub, provider)
    provider.expire_all()  # the provider no longer takes the old access token…
    memory_keyring.set_password("connhub", f"{record.id}:oauth_expires_at", "1000")  # …and connhub knows it

    result = asyncio.run(hub.prober.test_instance(hub.instances.find("work"), timeout=5))
    assert result.ok, result.message
    new = hub.secrets.known(hub.instances.find("work"))
    assert new["oauth_access_token"] != old["oauth_access_token"]
    assert new["oauth_access_token"] == provider.tokens[-1].access_token == provider.api_tokens_seen[-1]
    assert new["oauth_refresh_token"] != old["oauth_refresh_token"]  # rotated, the old one revoked
    assert float(new["oauth_expires_at"]) > 1000
    assert provider.token_requests[-1]["grant_type"] == "refresh_token"
    assert not hub.instances.find("work").needs_reauth


def test_testing_an_edit_form_refreshes_the_saved_sign_in(hub, provider, memory_keyring):
    """The dialog's Test on an edited OAuth instance uses the saved tokens, refreshed like a saved test's."""
    record, old = signed_in_instance(hub, provider)
    provider.expire_all()
    memory_keyring.set_password("connhub", f"{record.id}:oauth_expires_at", "1000")
    result = asyncio.run(hub.prober.test_values("gitlab", values(provider), timeout=5, saved_from=hub.instances.find("work")))
    assert result.ok, result.message
    assert hub.secrets.known(hub.instances.find("work"))["oauth_access_token"] == provider.api_tokens_seen[-1]
    assert provider.api_tokens_seen[-1] != old["oauth_access_token"]


def test_an_ask_every_time_instance_refreshes_in_memory_and_keeps_nothing_in_the_keyring(hub, provider,
                                                                                         memory_keyring):
    """"Ask every time" keeps no secret in the keyring: a refreshed token must stay in this session's memory too,
    and the next test must use it (not the stale one it replaced)."""
    tokens = asyncio.run(sign_in(hub, provider, Browser()))
    record = hub.instances.create("gitlab", "work", {**values(provider), **tokens}, secret_mode="session")

    def kept_for_the_instance() -> list[str]:
        return [user for user in memory_keyring.secrets_of() if user.startswith(record.id)]

    assert kept_for_the_instance() == []
    hub.secrets.remember(record.id, {**tokens, "oauth_expires_at": "1000"})  # expired, and connhub knows it
    provider.expire_all()

    result = asyncio.run(hub.prober.test_instance(hub.instances.find("work"), timeout=5))
    assert result.ok, result.message
    assert provider.token_requests[-1]["grant_type"] == "refresh_token"
    assert kept_for_the_instance() == []  # the new tokens did not go to the keyring
    fresh = hub.secrets.known(hub.instances.find("work"))
    assert fresh["oauth_access_token"] == provider.tokens[-1].access_token != tokens["oauth_access_token"]
    assert float(fresh["oauth_expires_at"]) > 1000

    refreshes = len(provider.token_requests)
    again = asyncio.run(hub.prober.test_instance(hub.instances.find("work"), timeout=5))  # the fresh token, from memory
    assert again.ok, again.message
    assert len(provider.token_requests) == refreshes  # not refreshed again: the memory copy is current
    assert provider.api_tokens_seen[-1] == fresh["oauth_access_token"]


def test_fresh_token_is_not_refreshed(hub, provider):
    record, _ = signed_in_instance(hub, provider)
    asyncio.run(hub.prober.test_instance(record, timeout=5))
    assert [r["grant_type"] for r in provider.token_requests] == ["authorization_code"]


def test_refused_refresh_marks_needs_reauth_and_keeps_the_instance(hub, provider, memory_keyring):
    record, _ = signed_in_instance(hub, provider)
    provider.refuse_refresh = True
    memory_keyring.set_password("connhub", f"{record.id}:oauth_expires_at", "1000")

    result = asyncio.run(hub.prober.test_instance(hub.instances.find("work"), timeout=5))
    assert not result.ok and result.error_class == "auth"
    assert "sign in again" in result.message
    kept = hub.instances.find("work")
    assert kept.needs_reauth and kept.config == record.config and kept.secret_fields == record.secret_fields
    assert hub.prober.history(kept.id)[0].error_class == "auth"

    # "Sign in again": new tokens, flag cleared, the same instance
    provider.refuse_refresh = False
    again = asyncio.run(hub.oauth.sign_in_instance(kept, Browser(), timeout=10))
    assert again.id == record.id and not hub.instances.find("work").needs_reauth
    assert asyncio.run(hub.prober.test_instance(hub.instances.find("work"), timeout=5)).ok


def test_old_token_shaped_instance_still_loads_and_tests(hub, provider):
    """An instance saved before the sign-in choice existed: `token` at top level, no `auth_method`."""
    from tests.support.servers import http_server

    def api(request):
        ok = request.headers.get("PRIVATE-TOKEN") == "glpat-old-shape-token"
        return (200, {}, {"username": "old"}) if ok else (401, {}, {"message": "401 Unauthorized"})

    with http_server(api) as server:
        from connhub.storage.repository import InstanceRecord

        record = InstanceRecord(name="legacy", type="gitlab", config={"base_url": server.url},
                                secret_fields=["token"])
        hub.vault.store(record.id, {"token": "glpat-old-shape-token"})
        hub.store.add(record)
        result = asyncio.run(hub.prober.test_instance(hub.instances.find("legacy"), timeout=5))
    assert result.ok, result.message
    assert result.details["user"] == "old"
    assert hub.types.validate("gitlab", {"base_url": server.url}, saved_secrets={"token"}) == {}
    assert provider.token_requests == []


# --- canaries: no token outside the keyring ----------------------------------------------------------------

def test_tokens_never_reach_sqlite_logs_or_errors(hub, provider, memory_keyring, caplog):
    caplog.set_level(logging.DEBUG, logger="connhub")
    record, tokens = signed_in_instance(hub, provider)
    provider.expire_all()
    memory_keyring.set_password("connhub", f"{record.id}:oauth_expires_at", "1000")
    assert asyncio.run(hub.prober.test_instance(hub.instances.find("work"), timeout=5)).ok
    provider.refuse_refresh = True
    memory_keyring.set_password("connhub", f"{record.id}:oauth_expires_at", "1000")
    failed = asyncio.run(hub.prober.test_instance(hub.instances.find("work"), timeout=5))

    canaries = [tokens["oauth_access_token"], tokens["oauth_refresh_token"], *hub.secrets.known(hub.instances.find("work")).values(),
                provider.client.client_secret, *(r.get("code_verifier", "") for r in provider.token_requests),
                *(r.get("code", "") for r in provider.token_requests)]
    canaries = [c for c in canaries if c and len(c) > 8]
    database = b"".join(p.read_bytes() for p in (hub.data_dir).glob("connhub.db*"))
    with sqlite3.connect(hub.data_dir / "connhub.db") as conn:
        dump = "\n".join(conn.iterdump())
    # connhub's own log (the provider's and the test browser's logs are not connhub's to keep clean)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("connhub"))
    assert "refreshed the access token" in logged
    texts = [logged, failed.message, failed.hint or "", repr(failed), dump]
    for canary in canaries:
        assert canary.encode() not in database
        for text in texts:
            assert canary not in text
