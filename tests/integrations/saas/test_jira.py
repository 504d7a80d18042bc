"""Jira Cloud (manifest only) against a local fake of GET /rest/api/3/myself with Basic e-mail:API-token.

Shapes follow Atlassian's docs: "Basic auth for REST APIs" (e-mail + API token, Basic), "Get current user"
(accountId, accountType, emailAddress, displayName, active, timeZone), 401 for bad credentials, 429 with
Retry-After ("Rate limiting"). The exact 401 body of Jira Cloud is not documented; the fake sends Jira's
usual `errorMessages` list.
"""

from __future__ import annotations

import pytest

from tests.integrations import assert_failure, assert_no_secrets
from tests.integrations.saas.conftest import basic, fake_api

ME = {"self": "https://acme.atlassian.net/rest/api/3/user?accountId=5b10a2844c20165700ede21g",
      "accountId": "5b10a2844c20165700ede21g", "accountType": "atlassian", "emailAddress": "mia@example.com",
      "displayName": "Mia Krystof", "active": True, "timeZone": "Australia/Sydney", "locale": "en_US"}


@pytest.fixture(scope="module")
def creds(fake):
    return {"token": fake.pystr(min_chars=24, max_chars=24), "revoked_site": fake.pystr(min_chars=24, max_chars=24),
            "busy": fake.pystr(min_chars=24, max_chars=24)}


@pytest.fixture(scope="module")
def jira(creds):
    def myself(request):
        _, token = basic(request)
        if token == creds["revoked_site"]:
            return 403, {}, {"errorMessages": ["You do not have permission to access this site."], "errors": {}}
        if token == creds["busy"]:
            return 429, {"Retry-After": "5"}, {"errorMessages": ["Rate limit exceeded."]}
        return 200, {"Server": "AtlassianEdge"}, ME

    def authorized(request):
        sent = basic(request)
        return sent is not None and sent[0] == ME["emailAddress"] and sent[1] in creds.values()

    unauthorized = (401, {"WWW-Authenticate": 'Basic realm="protected-area"'},
                    {"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}})
    with fake_api({("GET", "/rest/api/3/myself"): myself}, authorized, unauthorized) as server:
        yield server


def config(jira, email=ME["emailAddress"]) -> dict:
    return {"site_url": jira.url, "email": email}


def test_email_and_api_token_show_who_you_are(run, jira, creds):
    secrets = {"api_token": creds["token"]}
    result = run("jira", config(jira), secrets)
    assert result.ok, result
    assert result.details["user"] == "Mia Krystof"
    assert result.details["email"] == "mia@example.com"
    assert result.details["account_type"] == "atlassian"
    assert result.details["time_zone"] == "Australia/Sydney"
    assert_no_secrets(result, secrets)
    sent = jira.requests[-1]
    assert (sent.method, sent.path) == ("GET", "/rest/api/3/myself")
    assert basic(sent) == (ME["emailAddress"], creds["token"])


def test_wrong_token_is_auth(run, jira, fake):
    secrets = {"api_token": fake.pystr(min_chars=24, max_chars=24)}
    result = run("jira", config(jira), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "must be authenticated" in result.message


def test_wrong_email_is_auth(run, jira, creds):
    secrets = {"api_token": creds["token"]}
    assert_failure(run("jira", config(jira, email="someone@example.com"), secrets), "auth", secrets, stage="auth")


def test_no_access_to_the_site_is_permission(run, jira, creds):
    secrets = {"api_token": creds["revoked_site"]}
    result = run("jira", config(jira), secrets)
    assert_failure(result, "permission", secrets, stage="auth")
    assert "permission to access this site" in result.message


def test_rate_limited_says_how_long_to_wait(run, jira, creds):
    secrets = {"api_token": creds["busy"]}
    result = run("jira", config(jira), secrets)
    assert_failure(result, "rate_limited", secrets)
    assert "retry in 5 s" in result.message


def test_missing_email_is_config(run, jira, creds):
    result = run("jira", {"site_url": jira.url}, {"api_token": creds["token"]})
    assert_failure(result, "config", {"api_token": creds["token"]})
    assert "email" in result.message


def test_site_url_is_required_and_summary_names_the_user(run, registry):
    assert_failure(run("jira", {"email": "mia@example.com"}, {"api_token": "x" * 24}), "config")
    info = registry.get("jira").integration().connection_info(
        {"site_url": "https://acme.atlassian.net/", "email": "mia@example.com"})
    assert (info.display_url, info.user) == ("https://acme.atlassian.net", "mia@example.com")
