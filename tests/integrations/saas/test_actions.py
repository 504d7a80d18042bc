"""The SaaS types' manifest-declared actions against local fakes answering each API's documented endpoints.

Endpoints, pagination and error bodies follow the APIs' reference docs: GitHub "List repositories for the
authenticated user" (Link header, per_page ≤ 100) and "Create an issue" (201); GitLab "List all projects"
(membership=true, Link header); Slack chat.postMessage and conversations.list (200 with `ok`, cursor in
response_metadata.next_cursor, 429 with Retry-After); Stripe "List all charges" (data, has_more,
starting_after); Jira "Search for issues using JQL (GET)" (/rest/api/2/search, Basic e-mail:token).
The second action of each: GitHub "Get a repository" (GET /repos/{owner}/{repo}, 404 {"message": "Not Found"});
GitLab "Get a single project" (https://docs.gitlab.com/api/projects/#get-a-single-project: GET /projects/:id,
the ID or the URL-encoded NAMESPACE/PROJECT, 404 {"message": "404 Project Not Found"}); Stripe "Retrieve
balance" (https://docs.stripe.com/api/balance/balance_retrieve: GET /v1/balance, no parameters, available and
pending as lists of {amount, currency, source_types}); Jira "Get issue" (GET /rest/api/2/issue/{issueIdOrKey},
404 {"errorMessages": ["Issue does not exist or you do not have permission to see it."]}).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

import pytest

from connhub.core.actions import InvalidParams
from tests.integrations.actions_support import act, act_timed, assert_failed, assert_ok, run_saved, saved_hub
from tests.integrations.saas.conftest import basic, bearer, fake_api
from tests.support.services import free_port

GH_TOKEN = "ghp_" + "A1b2C3d4" * 4 + "Zz99"
BAD_CREDENTIALS = (401, {}, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})


def q(request, name):
    return request.query.get(name, [None])[0]


def _repo(n, description=None):
    return {"id": n, "name": f"repo{n}", "full_name": f"octocat/repo{n}", "owner": {"login": "octocat"},
            "private": n % 2 == 0, "description": description, "html_url": f"https://github.com/octocat/repo{n}",
            "default_branch": "main", "updated_at": "2026-11-30T10:00:00Z"}


@pytest.fixture
def github():
    """GET /user/repos in pages of `per_page` (Link: rel="next"/"last"), POST /repos/{o}/{r}/issues."""
    repos = [_repo(n) for n in range(1, 251)]
    repos[7]["description"] = f"CI token {GH_TOKEN} (oops)"  # an API that echoes the credential

    def list_repos(request):
        page, per_page = int(q(request, "page") or 1), int(q(request, "per_page") or 30)
        chunk = repos[(page - 1) * per_page:page * per_page]
        last = (len(repos) + per_page - 1) // per_page
        links = []
        if page < last:
            links.append(f'<{server.url}/user/repos?per_page={per_page}&page={page + 1}>; rel="next"')
            links.append(f'<{server.url}/user/repos?per_page={per_page}&page={last}>; rel="last"')
        return 200, ({"Link": ", ".join(links)} if links else {}), chunk

    def create_issue(request):
        sent = json.loads(request.body)
        if not sent.get("title"):
            return 422, {}, {"message": "Validation Failed", "errors": [{"field": "title", "code": "missing_field"}]}
        return 201, {"Location": f"{server.url}/repos/octocat/hello/issues/42"}, \
            {"id": 9001, "number": 42, "title": sent["title"], "state": "open", "body": sent.get("body"),
             "labels": [{"name": n} for n in sent.get("labels", [])],
             "html_url": "https://github.com/octocat/hello/issues/42"}

    def limited(request):
        return 429, {"Retry-After": "30"}, {"message": "You have exceeded a secondary rate limit."}

    def get_repo(request):
        return 200, {}, {**_repo(3, "Hello"), "full_name": "octocat/hello", "stargazers_count": 80,
                         "open_issues_count": 2, "archived": False, "pushed_at": "2026-12-01T08:00:00Z"}

    routes = {("GET", "/user/repos"): list_repos, ("POST", "/repos/octocat/hello/issues"): create_issue,
              ("POST", "/repos/octocat/busy/issues"): limited, ("GET", "/repos/octocat/hello"): get_repo}
    with fake_api(routes, lambda r: bearer(r) == GH_TOKEN, BAD_CREDENTIALS) as server:
        server.repos = repos
        yield server


def gh(server):
    return {"base_url": server.url}, {"token": GH_TOKEN}


def test_list_repos_follows_the_link_header_across_pages_with_the_token(registry, github):
    config, secrets = gh(github)
    repos = assert_ok(act(registry, "github", "list_repos", {"visibility": "all"}, config, secrets))
    assert [r["full_name"] for r in repos] == [f"octocat/repo{n}" for n in range(1, 251)]
    assert repos[1] == {"full_name": "octocat/repo2", "name": "repo2", "owner": "octocat", "private": True,
                        "description": None, "html_url": "https://github.com/octocat/repo2",
                        "default_branch": "main", "updated_at": "2026-11-30T10:00:00Z"}
    assert [q(r, "page") for r in github.requests] == [None, "2", "3"]
    first = github.requests[0]
    assert (q(first, "per_page"), q(first, "visibility"), q(first, "sort")) == ("100", "all", "full_name")
    assert all(r.headers["Authorization"] == f"Bearer {GH_TOKEN}" for r in github.requests)
    assert all(r.headers["X-GitHub-Api-Version"] == "2022-11-28" for r in github.requests)
    assert GH_TOKEN not in json.dumps(repos)  # the echoed token is scrubbed out of the result


def test_list_repos_stops_at_max_pages_and_keeps_what_it_got(registry, github, caplog):
    github.repos.extend(_repo(n) for n in range(251, 1200))  # 12 pages of 100
    config, secrets = gh(github)
    with caplog.at_level(logging.INFO, logger="connhub.actions"):
        repos = assert_ok(act(registry, "github", "list_repos", {}, config, secrets))
    assert len(repos) == 1000 and len(github.requests) == 10
    assert "after 10 pages" in caplog.text


def test_create_issue_posts_json_and_returns_the_new_issue(registry, github):
    config, secrets = gh(github)
    created = assert_ok(act(registry, "github", "create_issue",
                            {"owner": "octocat", "repo": "hello", "title": "Build is red ✗", "body": "See CI.",
                             "labels": ["bug", "ci"]}, config, secrets))
    assert created == {"number": 42, "id": 9001, "title": "Build is red ✗", "state": "open",
                       "html_url": "https://github.com/octocat/hello/issues/42"}
    (sent,) = github.requests
    assert sent.method == "POST" and sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.body) == {"title": "Build is red ✗", "body": "See CI.", "labels": ["bug", "ci"]}


def test_get_repo_maps_one_repository_and_a_missing_one_is_not_found(registry, github):
    config, secrets = gh(github)
    repo = assert_ok(act(registry, "github", "get_repo", {"owner": "octocat", "repo": "hello"}, config, secrets))
    assert repo == {"full_name": "octocat/hello", "private": False, "description": "Hello",
                    "html_url": "https://github.com/octocat/repo3", "default_branch": "main",
                    "stargazers_count": 80, "open_issues_count": 2, "archived": False,
                    "pushed_at": "2026-12-01T08:00:00Z"}
    assert_failed(act(registry, "github", "get_repo", {"owner": "octocat", "repo": "gone"}, config, secrets),
                  "not_found")
    with pytest.raises(InvalidParams) as missing:
        act(registry, "github", "get_repo", {"owner": "octocat"}, config, secrets)
    assert "repo" in missing.value.errors
    assert [r.path for r in github.requests] == ["/repos/octocat/hello", "/repos/octocat/gone"]
    assert all(r.headers["Authorization"] == f"Bearer {GH_TOKEN}" for r in github.requests)


def test_bad_params_are_refused_before_anything_is_sent(registry, github):
    config, secrets = gh(github)
    with pytest.raises(InvalidParams) as missing:
        act(registry, "github", "create_issue", {"owner": "octocat", "repo": "hello"}, config, secrets)
    assert "title" in missing.value.errors
    with pytest.raises(InvalidParams) as wrong:
        act(registry, "github", "list_repos", {"visibility": "secret", "colour": "red"}, config, secrets)
    assert set(wrong.value.errors) == {"visibility", "colour"}
    done = act(registry, "github", "create_issue", {"owner": "..", "repo": "hello", "title": "x"}, config, secrets)
    assert_failed(done, "config")
    assert "owner" in done.message
    assert github.requests == []


def test_github_failures_are_classified_like_the_test(registry, github):
    config, secrets = gh(github)
    wrong = act(registry, "github", "list_repos", {}, config, {"token": "ghp_wrong"})
    assert_failed(wrong, "auth", "ghp_wrong")
    assert "Bad credentials" in wrong.message
    missing = act(registry, "github", "create_issue", {"owner": "octocat", "repo": "gone", "title": "x"},
                  config, secrets)
    assert_failed(missing, "not_found")
    busy = act(registry, "github", "create_issue", {"owner": "octocat", "repo": "busy", "title": "x"},
               config, secrets)
    assert_failed(busy, "rate_limited")
    assert "retry in 30 s" in busy.message


def test_auth_none_sends_no_credentials_and_oauth_sends_the_signed_in_token(registry, github):
    import asyncio

    from connhub.core.actions import check_params
    from connhub.core.manifest import ActionSpec
    from connhub.services.actions import execute

    public = ActionSpec.model_validate({
        "name": "public_repos", "title": "Public", "description": "Without credentials.", "effect": "read",
        "result": {}, "http": {"path": "/user/repos", "auth": "none", "result_path": "$[*]"}})
    config, secrets = gh(github)
    done = asyncio.run(execute(registry.get("github"), public, check_params(public, {}), config, secrets, 5))
    assert_failed(done, "auth")  # the fake wants the token: none was sent
    (sent,) = github.requests
    assert "Authorization" not in sent.headers and sent.headers["Accept"] == "application/vnd.github+json"
    oauth = {"base_url": github.url, "auth_method": "oauth2"}
    repos = assert_ok(act(registry, "github", "list_repos", {}, oauth, {"oauth_access_token": GH_TOKEN}))
    assert len(repos) == 250 and github.requests[-1].headers["Authorization"] == f"Bearer {GH_TOKEN}"


def test_a_dead_api_ends_refused_quickly(registry):
    done, took = act_timed(registry, "github", "list_repos", {}, {"base_url": f"http://127.0.0.1:{free_port()}"},
                           {"token": GH_TOKEN}, timeout=3)
    assert_failed(done, "refused")
    assert took < 3


def test_a_run_through_the_hub_is_logged_without_the_token(registry, github, tmp_path, memory_keyring):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("github", "gh", {"base_url": github.url, "auth_method": "token",
                                                      "token": GH_TOKEN})
        done = run_saved(hub, record, "list_repos", {"sort": "updated"})
        assert done.ok and len(done.result) == 250
        failed = run_saved(hub, record, "create_issue", {"owner": "octocat", "repo": "nope", "title": "t"})
        assert not failed.ok and failed.error_class == "not_found"
        history = hub.actions.history(record.id)
        assert [(r.action, r.ok, r.error_class) for r in history] == [("create_issue", False, "not_found"),
                                                                       ("list_repos", True, None)]
        listed = history[1]
        assert listed.params == {"visibility": "all", "affiliation": "owner,collaborator,organization_member",
                                 "sort": "updated"}
        assert "octocat/repo1" in listed.preview and listed.result_size > 0
        for run in history:
            assert GH_TOKEN not in json.dumps([run.params, run.preview, run.message])
    assert all(r.headers["Authorization"] == f"Bearer {GH_TOKEN}" for r in github.requests)


# --- GitLab -----------------------------------------------------------------------------------------------

GL_TOKEN = "glpat-" + "x1y2z3" * 3 + "ab"


def test_gitlab_list_projects_follows_links_with_the_private_token(registry):
    projects = [{"id": n, "name": f"p{n}", "path_with_namespace": f"team/p{n}", "web_url": f"https://gl/team/p{n}",
                 "default_branch": "main", "visibility": "private", "last_activity_at": "2026-12-01T00:00:00Z"}
                for n in range(1, 151)]

    def list_projects(request):
        page = int(q(request, "page") or 1)
        headers = {"X-Total": str(len(projects)), "X-Page": str(page)}
        if page == 1:
            headers["Link"] = (f'<{server.url}/api/v4/projects?membership=true&page=2&per_page=100>; rel="next", '
                               f'<{server.url}/api/v4/projects?membership=true&page=1&per_page=100>; rel="first"')
        return 200, headers, projects[(page - 1) * 100:page * 100]

    with fake_api({("GET", "/api/v4/projects"): list_projects}, lambda r: r.headers.get("PRIVATE-TOKEN") == GL_TOKEN,
                  (401, {}, {"message": "401 Unauthorized"})) as server:
        config, secrets = {"base_url": server.url}, {"token": GL_TOKEN}
        found = assert_ok(act(registry, "gitlab", "list_projects", {"search": "p"}, config, secrets))
        assert [p["path_with_namespace"] for p in found] == [f"team/p{n}" for n in range(1, 151)]
        first = server.requests[0]
        assert (q(first, "membership"), q(first, "search"), q(first, "per_page")) == ("true", "p", "100")
        assert q(first, "archived") is None  # a param left out is not sent
        assert len(server.requests) == 2
        denied = act(registry, "gitlab", "list_projects", {}, config, {"token": "glpat-wrong"})
        assert_failed(denied, "auth", "glpat-wrong")
        assert "401 Unauthorized" in denied.message


def test_gitlab_get_project_by_its_url_encoded_path(registry):
    project = {"id": 42, "name": "api", "path_with_namespace": "team/api", "web_url": "https://gl/team/api",
               "default_branch": "main", "visibility": "internal", "star_count": 5,
               "last_activity_at": "2026-12-02T00:00:00Z", "namespace": {"full_path": "team"}}
    routes = {("GET", "/api/v4/projects/team%2Fapi"): lambda r: (200, {}, project),
              ("GET", "/api/v4/projects/42"): lambda r: (200, {}, project)}
    with fake_api(routes, lambda r: r.headers.get("PRIVATE-TOKEN") == GL_TOKEN,
                  (401, {}, {"message": "401 Unauthorized"})) as server:
        config, secrets = {"base_url": server.url}, {"token": GL_TOKEN}
        expected = {k: project[k] for k in ("id", "name", "path_with_namespace", "web_url", "default_branch",
                                             "visibility", "star_count", "last_activity_at")}
        assert assert_ok(act(registry, "gitlab", "get_project", {"project": "team/api"}, config, secrets)) == expected
        assert assert_ok(act(registry, "gitlab", "get_project", {"project": "42"}, config, secrets)) == expected
        assert_failed(act(registry, "gitlab", "get_project", {"project": "team/gone"}, config, secrets), "not_found")
        assert [r.path for r in server.requests] == ["/api/v4/projects/team%2Fapi", "/api/v4/projects/42",
                                                     "/api/v4/projects/team%2Fgone"]


# --- Slack ------------------------------------------------------------------------------------------------

SLACK_TOKEN = "xoxb-1234-5678-" + "Qw" * 12


@pytest.fixture
def slack():
    channels = [{"id": f"C{n:08}", "name": f"chan-{n}", "is_private": False, "is_archived": False, "num_members": n}
                for n in range(1, 451)]
    posted = []

    def post_message(request):
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if form.get("channel") == "C-none":
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if form.get("channel") == "C-busy":
            return 429, {"Retry-After": "7"}, {"ok": False, "error": "ratelimited"}
        posted.append(form)
        return 200, {}, {"ok": True, "channel": form["channel"], "ts": "1765100000.000100",
                         "message": {"text": form["text"], "type": "message"}}

    def conversations(request):
        cursor = q(request, "cursor")
        start = int(cursor.removeprefix("dXNlcjo")) if cursor else 0
        limit = int(q(request, "limit") or 100)
        chunk = channels[start:start + limit]
        following = f"dXNlcjo{start + limit}" if start + limit < len(channels) else ""
        return 200, {}, {"ok": True, "channels": chunk, "response_metadata": {"next_cursor": following}}

    def authorized(request):
        return bearer(request) == SLACK_TOKEN

    routes = {("POST", "/chat.postMessage"): post_message, ("GET", "/conversations.list"): conversations}
    with fake_api(routes, authorized, (200, {}, {"ok": False, "error": "invalid_auth"})) as server:
        server.posted = posted
        yield server


def test_slack_post_message_sends_a_form_with_the_bot_token(registry, slack):
    config, secrets = {"base_url": slack.url}, {"bot_token": SLACK_TOKEN}
    done = assert_ok(act(registry, "slack", "post_message", {"channel": "C0123", "text": "Deploy done ✓"},
                         config, secrets))
    assert done == {"channel": "C0123", "ts": "1765100000.000100"}
    assert slack.posted == [{"channel": "C0123", "text": "Deploy done ✓"}]
    (sent,) = slack.requests
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"


def test_slack_errors_in_a_200_answer_are_failures(registry, slack):
    config, secrets = {"base_url": slack.url}, {"bot_token": SLACK_TOKEN}
    missing = act(registry, "slack", "post_message", {"channel": "C-none", "text": "hi"}, config, secrets)
    assert_failed(missing, "unknown")
    assert "channel_not_found" in missing.message
    wrong = act(registry, "slack", "post_message", {"channel": "C1", "text": "hi"}, config, {"bot_token": "xoxb-bad"})
    assert_failed(wrong, "auth", "xoxb-bad")
    busy = act(registry, "slack", "post_message", {"channel": "C-busy", "text": "hi"}, config, secrets)
    assert_failed(busy, "rate_limited")
    assert "retry in 7 s" in busy.message
    assert slack.posted == []


def test_slack_list_channels_follows_the_cursor(registry, slack):
    config, secrets = {"base_url": slack.url}, {"bot_token": SLACK_TOKEN}
    channels = assert_ok(act(registry, "slack", "list_channels", {}, config, secrets))
    assert [c["name"] for c in channels] == [f"chan-{n}" for n in range(1, 451)]
    assert channels[0] == {"id": "C00000001", "name": "chan-1", "is_private": False, "is_archived": False,
                           "num_members": 1}
    assert [q(r, "cursor") for r in slack.requests] == [None, "dXNlcjo200", "dXNlcjo400"]
    assert q(slack.requests[0], "exclude_archived") == "true" and q(slack.requests[0], "types") == "public_channel"


# --- Stripe -----------------------------------------------------------------------------------------------

STRIPE_KEY = "sk_test_" + "51HqLyjWDarjtT1zdp7dc" * 2


def test_stripe_list_charges_pages_with_starting_after(registry):
    charges = [{"id": f"ch_{n:04}", "object": "charge", "amount": 100 * n, "currency": "eur", "status": "succeeded",
                "paid": True, "created": 1765000000 - n, "customer": "cus_A", "description": None}
               for n in range(1, 26)]

    def list_charges(request):
        limit = int(q(request, "limit") or 10)
        after = q(request, "starting_after")
        start = next(i + 1 for i, c in enumerate(charges) if c["id"] == after) if after else 0
        chunk = charges[start:start + limit]
        return 200, {"Request-Id": "req_1"}, {"object": "list", "url": "/v1/charges", "data": chunk,
                                              "has_more": start + limit < len(charges)}

    unauthorized = (401, {}, {"error": {"type": "invalid_request_error", "code": "api_key_invalid",
                                        "message": "Invalid API Key provided: sk_test_****"}})
    with fake_api({("GET", "/v1/charges"): list_charges}, lambda r: bearer(r) == STRIPE_KEY, unauthorized) as server:
        config, secrets = {"base_url": server.url}, {"secret_key": STRIPE_KEY}
        got = assert_ok(act(registry, "stripe", "list_charges", {"limit": 10, "customer": "cus_A"}, config, secrets))
        assert [c["id"] for c in got] == [c["id"] for c in charges]
        assert got[0] == {"id": "ch_0001", "amount": 100, "currency": "eur", "status": "succeeded", "paid": True,
                          "created": 1764999999, "customer": "cus_A", "description": None}
        # The Pager reads the last ID, not has_more: the page after the last one answers empty data and ends it.
        assert [q(r, "starting_after") for r in server.requests] == [None, "ch_0010", "ch_0020", "ch_0025"]
        assert all(q(r, "limit") == "10" and q(r, "customer") == "cus_A" for r in server.requests)
        wrong = act(registry, "stripe", "list_charges", {}, config, {"secret_key": "sk_test_wrong"})
        assert_failed(wrong, "auth", "sk_test_wrong")
        assert "api_key_invalid" in wrong.message


def test_stripe_get_balance_returns_available_and_pending_per_currency(registry):
    balance = {"object": "balance", "livemode": False,
               "available": [{"amount": 666670, "currency": "usd", "source_types": {"card": 666670}},
                             {"amount": 1200, "currency": "eur", "source_types": {"card": 1200}}],
               "connect_reserved": [{"amount": 0, "currency": "usd"}],
               "pending": [{"amount": 61414, "currency": "usd", "source_types": {"card": 61414}}]}
    with fake_api({("GET", "/v1/balance"): lambda r: (200, {}, balance)}, lambda r: bearer(r) == STRIPE_KEY,
                  (401, {}, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})) as server:
        config, secrets = {"base_url": server.url}, {"secret_key": STRIPE_KEY}
        got = assert_ok(act(registry, "stripe", "get_balance", {}, config, secrets))
        assert got["livemode"] is False
        assert [(a["amount"], a["currency"]) for a in got["available"]] == [(666670, "usd"), (1200, "eur")]
        assert [(a["amount"], a["currency"]) for a in got["pending"]] == [(61414, "usd")]
        (sent,) = server.requests
        assert sent.query == {} and sent.headers["Authorization"] == f"Bearer {STRIPE_KEY}"
        assert_failed(act(registry, "stripe", "get_balance", {}, config, {"secret_key": "sk_test_no"}), "auth",
                      "sk_test_no")


# --- Jira -------------------------------------------------------------------------------------------------

def test_jira_search_issues_sends_the_jql_with_basic_auth(registry):
    issues = [{"id": str(10000 + n), "key": f"ABC-{n}", "fields": {
        "summary": f"Issue {n}", "status": {"name": "In Progress"}, "issuetype": {"name": "Bug"},
        "assignee": {"displayName": "Ada"} if n % 2 else None, "updated": "2026-12-01T09:00:00.000+0000"}}
        for n in range(1, 8)]

    def search(request):
        jql = q(request, "jql")
        if "bogus" in jql:
            return 400, {}, {"errorMessages": ["Field 'bogus' does not exist or you do not have permission to view "
                                               "it."], "errors": {}}
        start, size = int(q(request, "startAt") or 0), int(q(request, "maxResults") or 50)
        return 200, {}, {"expand": "names,schema", "startAt": start, "maxResults": size, "total": len(issues),
                         "issues": issues[start:start + size]}

    token = "ATATT3xFfGF0" + "k9" * 10
    with fake_api({("GET", "/rest/api/2/search"): search}, lambda r: basic(r) == ("ada@example.com", token),
                  (401, {}, "Client must be authenticated to access this resource.")) as server:
        config, secrets = {"site_url": server.url, "email": "ada@example.com"}, {"api_token": token}
        jql = 'project = ABC AND status = "In Progress" ORDER BY updated DESC'
        found = assert_ok(act(registry, "jira", "search_issues", {"jql": jql, "max_results": 5, "start_at": 2},
                              config, secrets))
        assert [i["key"] for i in found] == ["ABC-3", "ABC-4", "ABC-5", "ABC-6", "ABC-7"]
        assert found[0] == {"key": "ABC-3", "id": "10003", "summary": "Issue 3", "status": "In Progress",
                            "type": "Bug", "assignee": "Ada", "updated": "2026-12-01T09:00:00.000+0000"}
        assert found[1]["assignee"] is None
        (sent,) = server.requests
        assert (q(sent, "jql"), q(sent, "maxResults"), q(sent, "startAt")) == (jql, "5", "2")
        bad = act(registry, "jira", "search_issues", {"jql": "bogus = 1"}, config, secrets)
        assert_failed(bad, "unknown")
        assert "Field 'bogus' does not exist" in bad.message
        assert_failed(act(registry, "jira", "search_issues", {"jql": "x"}, config, {"api_token": "nope"}), "auth")


def test_jira_get_issue_by_key_and_a_missing_issue_is_not_found(registry):
    issue = {"id": "10003", "key": "ABC-3", "self": "https://x/rest/api/2/issue/10003", "fields": {
        "summary": "Login fails", "status": {"name": "Open"}, "issuetype": {"name": "Bug"}, "assignee": None,
        "reporter": {"displayName": "Ada"}, "description": "Steps: …", "created": "2026-11-30T09:00:00.000+0000",
        "updated": "2026-12-01T09:00:00.000+0000"}}
    gone = (404, {}, {"errorMessages": ["Issue does not exist or you do not have permission to see it."],
                      "errors": {}})
    routes = {("GET", "/rest/api/2/issue/ABC-3"): lambda r: (200, {}, issue),
              ("GET", "/rest/api/2/issue/ABC-999"): lambda r: gone}
    token = "ATATT3xFfGF0" + "m7" * 10
    with fake_api(routes, lambda r: basic(r) == ("ada@example.com", token), (401, {}, "")) as server:
        config, secrets = {"site_url": server.url, "email": "ada@example.com"}, {"api_token": token}
        got = assert_ok(act(registry, "jira", "get_issue", {"issue": "ABC-3"}, config, secrets))
        assert got == {"key": "ABC-3", "id": "10003", "summary": "Login fails", "status": "Open", "type": "Bug",
                       "assignee": None, "reporter": "Ada", "description": "Steps: …",
                       "created": "2026-11-30T09:00:00.000+0000", "updated": "2026-12-01T09:00:00.000+0000"}
        assert "summary" in q(server.requests[0], "fields")
        missing = act(registry, "jira", "get_issue", {"issue": "ABC-999"}, config, secrets)
        assert_failed(missing, "not_found")
        assert "Issue does not exist" in missing.message


# --- canaries ---------------------------------------------------------------------------------------------

def test_echoed_tokens_never_reach_results_errors_the_log_or_the_cli(tmp_path, memory_keyring, cli, caplog, fake):
    """GitHub and Slack fakes that echo the token in answers and in error messages; runs from the Hub and from
    `connhub run`; then everything they left is searched: results, messages, previews, the action_runs table
    (database bytes, -wal included), connhub.log, log records and the CLI's output."""
    from connhub.plugins.registry import Registry
    from connhub.services.hub import Hub
    from connhub.storage.vault import KeyringVault
    from tests.test_canary import app_log, data_files, leaks

    gh_token = f"ghp_{fake.password(length=20, special_chars=False)}-%@:+"
    slack_token = f"xoxb-{fake.password(length=20, special_chars=False)}-%@:+"
    canaries = [gh_token, slack_token]
    caplog.set_level(logging.DEBUG)

    def repos(request):
        if bearer(request) != gh_token:
            return 401, {}, {"message": f"Bad credentials: {bearer(request)}"}
        return 200, {}, [_repo(1, f"deploy with {gh_token}")]

    def post(request):
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        if bearer(request) != slack_token:
            return 200, {}, {"ok": False, "error": "invalid_auth",
                             "response_metadata": {"messages": [f"[ERROR] token {bearer(request)} is not valid"]}}
        return 200, {}, {"ok": True, "channel": form["channel"], "ts": "1.2", "message": {"text": form["text"]}}

    routes = {("GET", "/user/repos"): repos, ("POST", "/chat.postMessage"): post}
    data_dir = tmp_path / "data"
    runs = []
    with fake_api(routes, lambda r: True, (401, {}, {})) as server, app_log(data_dir):
        hub = Hub(data_dir=data_dir, registry=Registry.discover(plugins=False),
                  vault=KeyringVault(backend=memory_keyring))
        try:
            gh_record = hub.instances.create("github", "gh", {"base_url": server.url, "auth_method": "token",
                                                              "token": gh_token})
            slack_record = hub.instances.create("slack", "chat", {"base_url": server.url, "bot_token": slack_token})
            runs.append(run_saved(hub, gh_record, "list_repos", {}))
            runs.append(run_saved(hub, slack_record, "post_message", {"channel": "C1", "text": f"key {slack_token}"}))
            assert [r.ok for r in runs] == [True, True], [r.message for r in runs]
            assert runs[0].result[0]["description"] == "deploy with ********"
            hub.instances.update(gh_record.id, {"base_url": server.url, "auth_method": "token",
                                                "token": gh_token[:-3]})
            hub.instances.update(slack_record.id, {"base_url": server.url, "bot_token": slack_token[:-3]})
            runs.append(run_saved(hub, gh_record, "list_repos", {}))
            runs.append(run_saved(hub, slack_record, "post_message", {"channel": "C1", "text": "hi"}))
            assert [r.error_class for r in runs[2:]] == ["auth", "auth"]
            canaries += [gh_token[:-3], slack_token[:-3]]
            logged = hub.actions.history(gh_record.id) + hub.actions.history(slack_record.id)
        finally:
            hub.close()
        outputs = {}
        for name, action in (("gh", "list_repos"), ("chat", "post_message")):
            params = ["--param", "channel=C1", "--param", "text=x"] if action == "post_message" else []
            done = cli(data_dir, "run", name, action, *params, "--json")
            assert done.returncode == 1, done  # the wrong tokens saved last: a classified failure
            outputs[f"cli {name}"] = done.stdout + done.stderr
            assert json.loads(done.stdout)["error"]["class"] == "auth"
        while_open = data_files(data_dir)
    texts = {f"run {n}": json.dumps([r.result, r.message, r.preview, r.params]) for n, r in enumerate(runs)}
    texts["history"] = json.dumps([[r.message, r.preview, r.params] for r in logged])
    texts["log records"] = caplog.text
    found = leaks(canaries, {**texts, **outputs, **while_open})
    assert found == [], found
    assert len(logged) == 4 and b"post_message" in while_open["connhub.db"] + while_open.get("connhub.db-wal", b"")
