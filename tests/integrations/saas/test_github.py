"""GitHub (manifest only) against a local fake of GET /user: token, Enterprise path prefix, rate limits.

Bodies and headers follow GitHub's REST docs: "Get the authenticated user" (200, 401 "Bad credentials", 403),
"Rate limits for the REST API" (403 or 429 with x-ratelimit-remaining: 0 and x-ratelimit-reset, or Retry-After)
and "Scopes for OAuth apps" (X-OAuth-Scopes).
"""

from __future__ import annotations

import time

import pytest

from tests.integrations import assert_failure, assert_no_secrets
from tests.integrations.saas.conftest import bearer, fake_api

API_VERSION = "2022-11-28"
USER = {"login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "User", "site_admin": False,
        "name": "The Octocat", "html_url": "https://github.com/octocat"}
BAD_CREDENTIALS = (401, {"WWW-Authenticate": 'Bearer realm="GitHub"'},
                   {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})


@pytest.fixture(scope="module")
def tokens(fake):
    return {name: f"ghp_{fake.pystr(min_chars=36, max_chars=36)}"
            for name in ("good", "forbidden", "exhausted", "secondary", "wrong")}


@pytest.fixture(scope="module")
def github(tokens):
    """api.github.com at the root and a GitHub Enterprise Server at /api/v3, both answering GET /user."""

    def user(request):
        token = bearer(request)
        if token == tokens["forbidden"]:
            return 403, {}, {"message": "Resource protected by organization SAML enforcement.",
                             "documentation_url": "https://docs.github.com/rest"}
        if token == tokens["exhausted"]:
            reset = str(int(time.time()) + 42)
            return 403, {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},\
                {"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest"}
        if token == tokens["secondary"]:
            return 429, {"Retry-After": "30"}, {"message": "You have exceeded a secondary rate limit."}
        headers = {"Server": "GitHub.com", "X-OAuth-Scopes": "repo, read:org", "X-RateLimit-Remaining": "4999",
                   "X-GitHub-Api-Version-Selected": request.headers.get("X-GitHub-Api-Version", "")}
        if request.path.startswith("/api/v3/"):
            headers["X-GitHub-Enterprise-Version"] = "3.14.2"
        return 200, headers, USER

    def authorized(request):
        return bearer(request) in tokens.values() and bearer(request) != tokens["wrong"]

    with fake_api({("GET", "/user"): user, ("GET", "/api/v3/user"): user}, authorized, BAD_CREDENTIALS) as server:
        yield server


def test_token_shows_login_scopes_and_api_version(run, github, tokens):
    secrets = {"token": tokens["good"]}
    result = run("github", {"base_url": github.url}, secrets)
    assert result.ok, result
    assert result.server_version == "GitHub.com"
    assert result.details["user"] == "octocat"
    assert result.details["name"] == "The Octocat"
    assert result.details["scopes"] == "repo, read:org"
    assert result.details["api_version"] == API_VERSION
    assert result.details["rate_limit_remaining"] == "4999"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]
    assert_no_secrets(result, secrets)
    sent = github.requests[-1]
    assert (sent.method, sent.path) == ("GET", "/user")
    assert sent.headers["Authorization"] == f"Bearer {tokens['good']}"
    assert sent.headers["X-GitHub-Api-Version"] == API_VERSION
    assert sent.headers["Accept"] == "application/vnd.github+json"


def test_enterprise_server_is_the_same_field_with_api_v3(run, github, tokens):
    result = run("github", {"base_url": f"{github.url}/api/v3"}, {"token": tokens["good"]})
    assert result.ok, result
    assert result.server_version == "3.14.2"
    assert github.requests[-1].path == "/api/v3/user"


def test_wrong_token_is_auth_with_githubs_words(run, github, tokens):
    secrets = {"token": tokens["wrong"]}
    result = run("github", {"base_url": github.url}, secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert result.message == "HTTP 401 Unauthorized: Bad credentials"


def test_forbidden_is_permission(run, github, tokens):
    secrets = {"token": tokens["forbidden"]}
    result = run("github", {"base_url": github.url}, secrets)
    assert_failure(result, "permission", secrets, stage="auth")
    assert "SAML" in result.message


def test_403_with_no_quota_left_is_rate_limited_until_the_reset(run, github, tokens):
    secrets = {"token": tokens["exhausted"]}
    result = run("github", {"base_url": github.url}, secrets)
    assert_failure(result, "rate_limited", secrets, stage="probe")
    assert "API rate limit exceeded" in result.message
    wait = int(result.message.rsplit("retry in ", 1)[1].split()[0])
    assert 30 <= wait <= 42, result.message  # X-RateLimit-Reset was now + 42 s
    assert f"wait {wait} s" in result.hint


def test_429_with_retry_after_is_rate_limited_with_the_wait(run, github, tokens):
    secrets = {"token": tokens["secondary"]}
    result = run("github", {"base_url": github.url}, secrets)
    assert_failure(result, "rate_limited", secrets, stage="probe")
    assert "retry in 30 s" in result.message
    assert "30 s" in result.hint


def test_empty_token_is_config_before_any_request(run, github):
    before = len(github.requests)
    result = run("github", {"base_url": github.url}, {})
    assert_failure(result, "config")
    assert "token" in result.message
    assert len(github.requests) == before


def test_default_address_is_api_github_com(registry):
    info = registry.get("github").integration().connection_info({})
    assert info.display_url == "https://api.github.com"


def test_oauth_app_fields_are_app_level_and_not_in_the_instance_form(registry):
    specs = {s.key: s for s in registry.get("github").specs}
    assert specs["cfg:oauth_client_id"].app_level and not specs["cfg:oauth_client_id"].secret
    assert specs["cfg:oauth_client_secret"].app_level and specs["cfg:oauth_client_secret"].secret
    instance_form = [s.key for s in specs.values() if not s.app_level]  # what gui/editor/form.py and the CLI show
    # the OAuth tokens are the instance's own secrets, shown only when "Sign in with GitHub" is chosen
    assert instance_form == ["base_url", "auth_method", "token", "oauth_web_url", "oauth_access_token",
                             "oauth_refresh_token", "oauth_expires_at", "verify_tls", "ca_file", "webhook_secret"]
