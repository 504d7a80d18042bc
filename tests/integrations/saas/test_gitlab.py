"""GitLab (manifest only) against a local fake of GET /api/v4/user with the PRIVATE-TOKEN header.

Bodies follow GitLab's REST docs: 401 `{"message": "401 Unauthorized"}`, 403 for a token without the needed
scope (`insufficient_scope` with an error_description), 429 with Retry-After and RateLimit-* headers.
"""

from __future__ import annotations

import pytest

from tests.integrations import assert_failure, assert_no_secrets
from tests.integrations.saas.conftest import fake_api

USER = {"id": 1, "username": "jsmith", "name": "John Smith", "state": "active", "locked": False,
        "web_url": "https://gitlab.example.com/jsmith", "is_admin": False}


@pytest.fixture(scope="module")
def tokens(fake):
    return {name: f"glpat-{fake.pystr(min_chars=20, max_chars=20)}" for name in ("good", "scopeless", "busy", "wrong")}


@pytest.fixture(scope="module")
def gitlab(tokens):
    """A self-managed GitLab under a relative URL root (/gitlab), as `external_url 'https://host/gitlab'` makes."""

    def user(request):
        token = request.headers.get("PRIVATE-TOKEN")
        if token == tokens["scopeless"]:
            return 403, {}, {"error": "insufficient_scope", "scope": "read_user",
                             "error_description": "The request requires higher privileges than provided by the "
                                                  "access token."}
        if token == tokens["busy"]:
            return 429, {"Retry-After": "60", "RateLimit-Remaining": "0"}, "Retry later\n"
        return 200, {"Server": "nginx", "RateLimit-Remaining": "1999"}, USER

    def authorized(request):
        return request.headers.get("PRIVATE-TOKEN") in set(tokens.values()) - {tokens["wrong"]}

    with fake_api({("GET", "/api/v4/user"): user}, authorized, (401, {}, {"message": "401 Unauthorized"}),
                  prefix="/gitlab") as server:
        yield server


def config(gitlab) -> dict:
    return {"base_url": f"{gitlab.url}/gitlab"}


def test_token_shows_the_user(run, gitlab, tokens):
    secrets = {"token": tokens["good"]}
    result = run("gitlab", config(gitlab), secrets)
    assert result.ok, result
    assert (result.details["user"], result.details["name"], result.details["state"]) == ("jsmith", "John Smith",
                                                                                           "active")
    assert_no_secrets(result, secrets)
    sent = gitlab.requests[-1]
    assert (sent.method, sent.path) == ("GET", "/gitlab/api/v4/user")
    assert sent.headers["PRIVATE-TOKEN"] == tokens["good"]
    assert "Authorization" not in sent.headers


def test_wrong_token_is_auth(run, gitlab, tokens):
    secrets = {"token": tokens["wrong"]}
    result = run("gitlab", config(gitlab), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert result.message == "HTTP 401 Unauthorized: 401 Unauthorized"


def test_token_without_scope_is_permission(run, gitlab, tokens):
    secrets = {"token": tokens["scopeless"]}
    result = run("gitlab", config(gitlab), secrets)
    assert_failure(result, "permission", secrets, stage="auth")
    assert "higher privileges" in result.message


def test_rate_limited_says_how_long_to_wait(run, gitlab, tokens):
    secrets = {"token": tokens["busy"]}
    result = run("gitlab", config(gitlab), secrets)
    assert_failure(result, "rate_limited", secrets, stage="probe")
    assert "retry in 60 s" in result.message
    assert "wait 60 s" in result.hint


def test_base_url_with_api_v4_already_in_it_is_not_found(run, gitlab, tokens):
    result = run("gitlab", {"base_url": f"{gitlab.url}/gitlab/api/v4"}, {"token": tokens["good"]})
    assert_failure(result, "not_found", {"token": tokens["good"]}, stage="probe")
    assert "/gitlab/api/v4/api/v4/user" in result.message


def test_default_address_is_gitlab_com(registry):
    assert registry.get("gitlab").integration().connection_info({}).display_url == "https://gitlab.com"
