"""Slack (manifest only) against a local fake of POST /api/auth.test.

Slack's Web API answers HTTP 200 with `{"ok": false, "error": "..."}` for most failures (auth.test docs:
invalid_auth, not_authed; common errors: account_inactive, token_revoked, missing_scope with needed/provided)
and HTTP 429 with Retry-After and `"error": "ratelimited"` when rate limited ("Rate limits" guide).
"""

from __future__ import annotations

import pytest

from tests.integrations import assert_failure, assert_no_secrets
from tests.integrations.saas.conftest import bearer, fake_api

OK = {"ok": True, "url": "https://subarachnoid.slack.com/", "team": "Subarachnoid Workspace", "user": "bot",
      "team_id": "T0G9PQBBK", "user_id": "W23456789", "bot_id": "BZYBOTHED"}


@pytest.fixture(scope="module")
def tokens(fake):
    token = lambda: f"xoxb-{fake.numerify('#' * 12)}-{fake.pystr(min_chars=24, max_chars=24)}"  # noqa: E731
    return {name: token() for name in ("good", "inactive", "revoked", "scopeless", "busy", "broken")}


@pytest.fixture(scope="module")
def slack(tokens):
    def auth_test(request):
        token = bearer(request)
        if token is None:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if token == tokens["inactive"]:
            return 200, {}, {"ok": False, "error": "account_inactive"}
        if token == tokens["revoked"]:
            return 200, {}, {"ok": False, "error": "token_revoked"}
        if token == tokens["scopeless"]:
            return 200, {}, {"ok": False, "error": "missing_scope", "needed": "users:read", "provided": "chat:write"}
        if token == tokens["busy"]:
            return 429, {"Retry-After": "12"}, {"ok": False, "error": "ratelimited"}
        if token == tokens["broken"]:
            return 200, {}, {"ok": False, "error": "fatal_error"}
        if token != tokens["good"]:
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        return 200, {}, OK

    # auth.test itself answers every token (with ok: false when it is bad), as Slack does.
    with fake_api({("POST", "/api/auth.test"): auth_test}, lambda request: True, (500, {}, "")) as server:
        yield server


def config(slack) -> dict:
    return {"base_url": f"{slack.url}/api"}


def test_bot_token_shows_team_and_user(run, slack, tokens):
    secrets = {"bot_token": tokens["good"]}
    result = run("slack", config(slack), secrets)
    assert result.ok, result
    assert (result.details["team"], result.details["user"]) == ("Subarachnoid Workspace", "bot")
    assert (result.details["team_id"], result.details["bot_id"]) == ("T0G9PQBBK", "BZYBOTHED")
    assert result.details["url"] == "https://subarachnoid.slack.com/"
    assert_no_secrets(result, secrets)
    sent = slack.requests[-1]
    assert (sent.method, sent.path) == ("POST", "/api/auth.test")
    assert sent.headers["Authorization"] == f"Bearer {tokens['good']}"


def test_invalid_auth_with_status_200_is_auth(run, slack, fake):
    secrets = {"bot_token": f"xoxb-{fake.pystr(min_chars=30, max_chars=30)}"}
    result = run("slack", config(slack), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert result.message == "The API refused the request: invalid_auth"


@pytest.mark.parametrize("which, code", [("inactive", "account_inactive"), ("revoked", "token_revoked")])
def test_dead_accounts_and_revoked_tokens_are_auth(run, slack, tokens, which, code):
    secrets = {"bot_token": tokens[which]}
    result = run("slack", config(slack), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert code in result.message


def test_missing_scope_is_permission(run, slack, tokens):
    secrets = {"bot_token": tokens["scopeless"]}
    result = run("slack", config(slack), secrets)
    assert_failure(result, "permission", secrets, stage="auth")
    assert "missing_scope" in result.message


def test_ratelimited_says_how_long_to_wait(run, slack, tokens):
    secrets = {"bot_token": tokens["busy"]}
    result = run("slack", config(slack), secrets)
    assert_failure(result, "rate_limited", secrets, stage="probe")
    assert result.message == "HTTP 429 Too Many Requests: ratelimited; retry in 12 s"
    assert "wait 12 s" in result.hint


def test_unmapped_error_is_unknown_and_quoted(run, slack, tokens):
    secrets = {"bot_token": tokens["broken"]}
    result = run("slack", config(slack), secrets)
    assert_failure(result, "unknown", secrets, stage="probe")
    assert "fatal_error" in result.message


def test_a_base_url_that_is_not_the_web_api_says_so(run, tokens):
    from tests.support.servers import http_server

    with http_server(lambda request: (200, {"Content-Type": "text/html"}, "<html>welcome</html>")) as site:
        result = run("slack", {"base_url": site.url}, {"bot_token": tokens["good"]})
    assert_failure(result, "unknown", {"bot_token": tokens["good"]})
    assert "not JSON" in result.message


def test_the_form_validates_the_token_shape(registry):
    from connhub.core.fields import validate_values

    entry = registry.get("slack")
    values = {"base_url": "https://slack.com/api", "bot_token": "hunter2"}
    assert validate_values(entry.manifest.credentials, entry.specs, values) == {
        "bot_token": "A Slack token starts with xoxb- (bot) or another xox?- prefix"}
    assert registry.get("slack").integration().connection_info({}).display_url == "https://slack.com/api"
