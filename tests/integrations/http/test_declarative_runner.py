"""The declarative runner's answer checks on a manifest-only type: query parameters, JSON fields as version and
details, the API's own error codes, rate-limit headers and a proxy — against local HTTP servers."""

from __future__ import annotations

import json
import shutil
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from connhub.plugins.registry import BUILTIN_FOLDER, Registry
from tests.integrations import assert_failure, assert_no_secrets
from tests.support.servers import http_server
from tests.support.services import free_port

MANIFEST = {
    "manifest_version": 1, "type": "acme", "name": "Acme API", "group": "http-api", "icon": "icon.svg",
    "credentials": {
        "type": "object", "required": ["base_url", "token"],
        "properties": {
            "base_url": {"type": "string", "format": "uri"},
            "workspace": {"type": "string"},
            "token": {"type": "string", "writeOnly": True},
            "cfg:proxy": {"type": "string"},
        },
    },
    "test": {
        "method": "GET", "path": "/v2/whoami", "query": {"workspace": "{workspace}", "verbose": "1"},
        "headers": {"X-Token": "{token}"}, "proxy_field": "cfg:proxy",
        "success_field": "ok", "error_field": ["error.code", "errors.0"],
        "error_classes": {"bad_token": "auth", "no_scope": "permission", "slow_down": "rate_limited",
                          "no_workspace": "not_found"},
        "rate_limit_header": "X-Quota-Left", "rate_limit_reset_header": "X-Quota-Reset",
        "version_field": "meta.version", "version_header": ["X-Acme-Release", "X-Acme-Build"],
        "detail_fields": {"user": "who.name", "first_role": "who.roles.0", "admin": "who.admin", "seats": "seats",
                          "profile": "who"},
        "detail_headers": {"region": "X-Acme-Region"},
    },
}


@pytest.fixture
def acme(tmp_path):
    folder = tmp_path / "acme"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(MANIFEST))
    shutil.copyfile(Path(BUILTIN_FOLDER, "http", "icon.svg"), folder / "icon.svg")
    entry = Registry.from_folders([folder]).get("acme")
    assert entry.ok, entry.error
    return entry


def serve(reply):
    return http_server(lambda request: reply(request) if callable(reply) else reply)


def whoami(**extra) -> dict:
    body = {"ok": True, "meta": {"version": "2.7.1"}, "seats": 12,
            "who": {"name": "Ada", "roles": ["owner", "billing"], "admin": True}}
    body.update(extra)
    return body


def test_query_json_version_and_details(run, acme):
    with serve((200, {"X-Acme-Build": "b77", "X-Acme-Region": "eu-1"}, whoami())) as api:
        result = run(acme, {"base_url": api.url, "workspace": "r&d team"}, {"token": "tok-123456"})
        sent = api.requests[-1]
    assert result.ok, result
    assert result.server_version == "2.7.1"  # the JSON field wins over the headers
    assert result.details == {"status": "200", "http_version": "HTTP/1.1", "user": "Ada", "first_role": "owner",
                              "admin": "true", "seats": "12", "region": "eu-1"}  # `profile` is an object: left out
    assert sent.path == "/v2/whoami"
    assert sent.query == {"workspace": ["r&d team"], "verbose": ["1"]}
    assert sent.headers["X-Token"] == "tok-123456"


def test_version_headers_in_order_then_server(run, acme):
    body = whoami(meta={})
    with serve((200, {"X-Acme-Build": "b77"}, body)) as api:
        assert run(acme, {"base_url": api.url, "workspace": "w"}, {"token": "t0k"}).server_version == "b77"
    with serve((200, {"Server": "AcmeGate/3"}, body)) as api:
        assert run(acme, {"base_url": api.url, "workspace": "w"}, {"token": "t0k"}).server_version == "AcmeGate/3"


def test_empty_query_field_is_config_and_sends_nothing(run, acme):
    with serve((200, {}, whoami())) as api:
        result = run(acme, {"base_url": api.url}, {"token": "t0k"})
        assert_failure(result, "config")
        assert "workspace" in result.message
        assert api.requests == []


@pytest.mark.parametrize("status, body, error_class, stage, quoted", [
    (200, {"ok": False, "error": {"code": "bad_token"}}, "auth", "auth", "bad_token"),
    (200, {"ok": False, "errors": ["no_scope"]}, "permission", "auth", "no_scope"),
    (200, {"ok": False, "error": {"code": "no_workspace"}}, "not_found", "probe", "no_workspace"),
    (200, {"ok": False, "error": {"code": "exploded"}}, "unknown", "probe", "exploded"),
    (200, {"ok": False}, "unknown", "probe", "'ok' is not true"),
    (200, {"ok": "yes"}, "unknown", "probe", "'ok' is not true"),  # only JSON true counts
    (400, {"error": {"code": "bad_token"}}, "auth", "auth", "HTTP 400 Bad Request: bad_token"),  # code beats status
    (401, "<html>nope</html>", "auth", "auth", "HTTP 401 Unauthorized"),
    (404, {"errors": ["no such route"]}, "not_found", "probe", "no such route"),
    (502, {}, "unknown", "probe", "Server error 502 Bad Gateway"),
])
def test_the_apis_own_error_codes_decide(run, acme, status, body, error_class, stage, quoted):
    secrets = {"token": "tok-secret-9"}
    with serve((status, {}, body)) as api:
        result = run(acme, {"base_url": api.url, "workspace": "w"}, secrets)
    assert_failure(result, error_class, secrets, stage=stage)
    assert quoted in result.message


def test_a_quoted_error_is_one_short_line(run, acme):
    with serve((500, {}, {"errors": ["line one\nline two " + "x" * 500]})) as api:
        result = run(acme, {"base_url": api.url, "workspace": "w"}, {"token": "t0k"})
    assert_failure(result, "unknown")
    assert "\n" not in result.message and len(result.message) < 260
    assert "line one line two" in result.message


def test_a_success_that_is_not_json_is_unknown(run, acme):
    with serve((200, {"Content-Type": "text/html"}, "<html>login page</html>")) as api:
        result = run(acme, {"base_url": api.url, "workspace": "w"}, {"token": "t0k"})
    assert_failure(result, "unknown")
    assert "not JSON" in result.message


def test_quota_header_at_zero_is_rate_limited_until_the_reset(run, acme):
    reset = str(int(time.time()) + 20)
    with serve((403, {"X-Quota-Left": "0", "X-Quota-Reset": reset}, {"ok": False})) as api:
        result = run(acme, {"base_url": api.url, "workspace": "w"}, {"token": "t0k"})
    assert_failure(result, "rate_limited", stage="probe")
    wait = int(result.message.rsplit("retry in ", 1)[1].split()[0])
    assert 18 <= wait <= 20 and f"wait {wait} s" in result.hint


def test_quota_header_above_zero_is_just_forbidden(run, acme):
    with serve((403, {"X-Quota-Left": "10"}, {"ok": False})) as api:
        assert_failure(run(acme, {"base_url": api.url, "workspace": "w"}, {"token": "t0k"}), "permission")


def test_retry_after_as_an_http_date(run, acme):
    with serve((429, {"Retry-After": formatdate(time.time() + 90, usegmt=True)}, {"ok": False})) as api:
        result = run(acme, {"base_url": api.url, "workspace": "w"}, {"token": "t0k"})
    assert_failure(result, "rate_limited")
    assert 88 <= int(result.message.rsplit("retry in ", 1)[1].split()[0]) <= 90


def test_mapped_rate_limit_code_uses_retry_after(run, acme):
    with serve((200, {"Retry-After": "3"}, {"ok": False, "error": {"code": "slow_down"}})) as api:
        result = run(acme, {"base_url": api.url, "workspace": "w"}, {"token": "t0k"})
    assert_failure(result, "rate_limited", stage="probe")
    assert result.message == "The API refused the request: slow_down; retry in 3 s"


def test_an_answer_echoing_the_token_is_redacted(run, acme):
    secrets = {"token": "tok-echoed-4711"}
    with serve((200, {}, {"ok": False, "error": {"code": "token tok-echoed-4711 unknown"}})) as api:
        result = run(acme, {"base_url": api.url, "workspace": "w"}, secrets)
    assert_failure(result, "unknown", secrets)


def test_forward_proxy_asking_for_credentials_is_auth(run, acme):
    with serve((407, {"Proxy-Authenticate": 'Basic realm="corp"'}, "")) as corp_proxy:
        result = run(acme, {"base_url": "http://api.acme.invalid", "workspace": "w", "cfg:proxy": corp_proxy.url},
                     {"token": "t0k"})
        # an http:// API goes to the proxy as an absolute-form request; the API's name is resolved by the proxy
        assert corp_proxy.requests[-1].path == "/v2/whoami"
        assert corp_proxy.requests[-1].headers["Host"] == "api.acme.invalid"
    assert_failure(result, "auth", stage="auth")
    assert "proxy" in result.message and "407" in result.message


def test_proxy_bad_gateway_says_it_came_through_the_proxy(run, acme):
    with serve((502, {}, "upstream down")) as corp_proxy:
        result = run(acme, {"base_url": "http://api.acme.invalid", "workspace": "w", "cfg:proxy": corp_proxy.url},
                     {"token": "t0k"})
    assert_failure(result, "unknown")
    assert "through the proxy" in result.message


def test_unreachable_proxy_names_it(run, acme):
    port = free_port()
    result = run(acme, {"base_url": "http://api.acme.invalid", "workspace": "w",
                        "cfg:proxy": f"http://127.0.0.1:{port}"}, {"token": "t0k"})
    assert_failure(result, "refused", stage="connect")
    assert result.message.startswith(f"Cannot reach the proxy 127.0.0.1:{port}")


def test_unresolvable_proxy_is_dns(run, acme):
    result = run(acme, {"base_url": "http://api.acme.invalid", "workspace": "w",
                        "cfg:proxy": "http://proxy.corp.invalid:3128"}, {"token": "t0k"})
    assert_failure(result, "dns", stage="resolve")
    assert "proxy.corp.invalid" in result.message


def test_details_never_carry_secret_values(run, acme):
    secrets = {"token": "tok-in-the-profile-1"}
    with serve((200, {}, whoami(who={"name": "tok-in-the-profile-1"}))) as api:
        result = run(acme, {"base_url": api.url, "workspace": "w"}, secrets)
    assert result.ok
    assert_no_secrets(result, secrets)
