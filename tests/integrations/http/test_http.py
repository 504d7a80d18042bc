"""The declarative HTTP runner against local HTTP(S) servers, for the built-in type and a manifest-only one."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from connhub.plugins.registry import BUILTIN_FOLDER, Registry
from tests.integrations import (
    assert_builtin_ok,
    assert_failure,
    assert_no_secrets,
    cancel_quickly,
)
from tests.support.servers import http_server
from tests.support.services import free_port


@pytest.fixture(scope="module")
def creds(fake):
    return SimpleNamespace(token=fake.sha256(), user=fake.user_name(), password=fake.password(length=20),
                           key=fake.uuid4(), org_token=fake.sha1())


@pytest.fixture(scope="module")
def api(creds):
    """An API that checks each auth method on its own path and answers the classic failures."""

    def handle(req):
        auth = req.headers.get("Authorization", "")
        if req.path == "/bearer":
            if auth == f"Bearer {creds.token}":
                return 200, {"Server": "FakeAPI/1.2"}, {"ok": True}
            return 401, {"WWW-Authenticate": "Bearer"}, {"error": "bad token"}
        if req.path == "/basic":
            expected = base64.b64encode(f"{creds.user}:{creds.password}".encode()).decode()
            return (200, {}, "ok") if auth == f"Basic {expected}" else (401, {}, "no")
        if req.path == "/key":
            return (200, {}, "ok") if req.headers.get("X-API-Key") == creds.key else (401, {}, "no")
        if req.path == "/echo-headers":
            return 200, {"X-Seen": json.dumps(sorted(req.headers.keys()))}, "ok"
        if req.path == "/v1/ping":
            return 200, {}, "pong"
        if req.path == "/forbidden":
            return 403, {}, {"error": "scope missing"}
        if req.path == "/limited":
            return 429, {"Retry-After": "7"}, "slow down"
        if req.path == "/down":
            return 503, {}, "maintenance"
        if req.path == "/teapot":
            return 418, {}, "teapot"
        if req.path == "/moved":
            return 302, {"Location": "/bearer"}, ""
        if req.path == "/elsewhere":
            return 302, {"Location": f"{other.url}/bearer"}, ""
        return 404, {}, "not here"

    with http_server(lambda req: (200, {}, "ok")) as other, http_server(handle) as server:
        server.other = other
        yield server


def http(api, path: str, **changes) -> dict:
    return {"base_url": api.url, "test_path": path, "auth.method": "none", **changes}


def test_bearer_token(run, api, creds):
    secrets = {"auth.token": creds.token}
    result = run("http", http(api, "/bearer", **{"auth.method": "bearer"}), secrets)
    assert result.ok, result
    assert result.details["status"] == "200"
    assert result.server_version == "FakeAPI/1.2"
    assert [s.name for s in result.stages] == ["resolve", "connect", "probe"]
    assert_no_secrets(result, secrets)


def test_wrong_bearer_token_is_auth(run, api, fake):
    secrets = {"auth.token": fake.sha256()}
    result = run("http", http(api, "/bearer", **{"auth.method": "bearer"}), secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert "401" in result.message


def test_forbidden_is_permission(run, api, creds):
    secrets = {"auth.token": creds.token}
    result = run("http", http(api, "/forbidden", **{"auth.method": "bearer"}), secrets)
    assert_failure(result, "permission", secrets, stage="auth")


def test_rate_limited_says_when_to_retry(run, api, creds):
    secrets = {"auth.token": creds.token}
    result = run("http", http(api, "/limited", **{"auth.method": "bearer"}), secrets)
    assert_failure(result, "rate_limited", secrets, stage="probe")
    assert "7" in result.hint


def test_missing_path_is_not_found(run, api):
    assert_failure(run("http", http(api, "/nothing-here")), "not_found", stage="probe")


def test_server_error_and_unexpected_status_are_unknown(run, api):
    result = run("http", http(api, "/down"))
    assert_failure(result, "unknown")
    assert "503" in result.message
    result = run("http", http(api, "/teapot"))
    assert_failure(result, "unknown")
    assert "418" in result.message


def test_basic_auth(run, api, creds, fake):
    config = http(api, "/basic", **{"auth.method": "basic", "auth.username": creds.user})
    assert run("http", config, {"auth.password": creds.password}).ok
    secrets = {"auth.password": fake.password(length=20)}
    assert_failure(run("http", config, secrets), "auth", secrets)


def test_api_key_header(run, api, creds, fake):
    config = http(api, "/key", **{"auth.method": "api_key", "auth.header": "X-API-Key"})
    assert run("http", config, {"auth.key": creds.key}).ok
    secrets = {"auth.key": fake.uuid4()}
    assert_failure(run("http", config, secrets), "auth", secrets)


def test_extra_headers_are_sent(run, api):
    result = run("http", http(api, "/echo-headers", headers="Accept: application/json\n\nX-Trace: 1\n"))
    assert result.ok, result
    sent = api.requests[-1].headers
    assert (sent["Accept"], sent["X-Trace"]) == ("application/json", "1")


def test_malformed_extra_header_names_the_line_not_its_content(run, api, fake):
    hidden = fake.sha1()
    result = run("http", http(api, "/", headers=f"Accept: */*\n{hidden}\n"))
    assert_failure(result, "config")
    assert "line 2" in result.message
    assert hidden not in result.message


def test_base_url_path_prefix_is_kept(run, api):
    result = run("http", {"base_url": api.url + "/v1/", "test_path": "/ping"})
    assert result.ok, result
    assert api.requests[-1].path == "/v1/ping"


def test_same_origin_redirect_is_followed(run, api, creds):
    secrets = {"auth.token": creds.token}
    assert run("http", http(api, "/moved", **{"auth.method": "bearer"}), secrets).ok


def test_redirect_to_another_host_does_not_carry_credentials(run, api, creds):
    secrets = {"auth.key": creds.key}
    before = len(api.other.requests)
    result = run("http", http(api, "/elsewhere", **{"auth.method": "api_key", "auth.header": "X-API-Key"}),
                 secrets)
    assert_failure(result, "config", secrets)
    assert len(api.other.requests) == before  # never contacted, so the key went nowhere


def test_https_with_private_ca(run, tls_files):
    with http_server(lambda req: (200, {}, "ok"), tls=tls_files.server_context()) as server:
        assert run("http", {"base_url": server.url, "ca_file": str(tls_files.ca)}).ok
        assert_failure(run("http", {"base_url": server.url}), "tls", stage="tls")
        assert run("http", {"base_url": server.url, "verify_tls": False}).ok


def test_not_a_url_is_config(run):
    assert_failure(run("http", {"base_url": "ftp://example.com"}), "config")


def test_closed_port_is_refused(run):
    assert_failure(run("http", {"base_url": f"http://127.0.0.1:{free_port()}"}), "refused", stage="connect")


def test_silent_server_times_out_on_time(run_timed, blackhole):
    host, port = blackhole
    result, elapsed = run_timed("http", {"base_url": f"http://{host}:{port}"}, timeout=1.0)
    assert_failure(result, "timeout", stage="handshake")
    assert elapsed <= 1.1, elapsed


def test_unknown_host_is_dns(run):
    assert_failure(run("http", {"base_url": "https://nonexistent.invalid/api"}), "dns", stage="resolve")


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    assert cancel_quickly(registry, "http", {"base_url": f"http://{host}:{port}"}) < 0.3


def test_connection_info_hides_userinfo_and_query(registry):
    info = registry.get("http").integration().connection_info(
        {"base_url": "https://bob:hunter2@api.example.com:8443/v1/?api_key=abc#x"})
    assert info.display_url == "https://api.example.com:8443/v1"
    assert (info.host, info.port) == ("api.example.com", 8443)


# --- a type that is only a manifest and an icon -----------------------------------------------------------

MANIFEST = {
    "manifest_version": 1, "type": "fakeorg", "name": "Fake Org API", "group": "http-api", "icon": "icon.svg",
    "credentials": {
        "type": "object", "required": ["base_url", "org", "api_token"],
        "properties": {
            "base_url": {"type": "string", "format": "uri", "default": "https://api.fakeorg.example"},
            "org": {"type": "string", "title": "Organisation"},
            "api_token": {"type": "string", "title": "API token", "writeOnly": True},
        },
    },
    "test": {"method": "POST", "path": "/api/ping", "expect_status": [200, 204],
             "headers": {"X-Org": "{org}", "Authorization": "Token {api_token}"},
             "version_header": "X-FakeOrg-Version"},
}


@pytest.fixture
def declarative(tmp_path, creds):
    folder = tmp_path / "fakeorg"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(MANIFEST))
    shutil.copyfile(Path(BUILTIN_FOLDER, "http", "icon.svg"), folder / "icon.svg")
    entry = Registry.from_folders([folder]).get("fakeorg")
    assert entry.ok, entry.error

    def handle(req):
        if req.method != "POST" or req.path != "/api/ping":
            return 404, {}, ""
        if req.headers.get("Authorization") != f"Token {creds.org_token}":
            return 401, {}, ""
        if req.headers.get("X-Org") != "acme":
            return 403, {}, ""
        return 204, {"X-FakeOrg-Version": "2024-06-01"}, ""

    with http_server(handle) as server:
        yield entry, server


def test_manifest_only_type_uses_the_same_runner(run, declarative, creds):
    entry, server = declarative
    secrets = {"api_token": creds.org_token}
    result = run(entry, {"base_url": server.url, "org": "acme"}, secrets)
    assert result.ok, result
    assert result.server_version == "2024-06-01"
    assert result.details["status"] == "204"
    assert_no_secrets(result, secrets)


def test_manifest_only_type_failures(run, declarative, creds, fake):
    entry, server = declarative
    wrong = {"api_token": fake.sha1()}
    assert_failure(run(entry, {"base_url": server.url, "org": "acme"}, wrong), "auth", wrong)
    secrets = {"api_token": creds.org_token}
    assert_failure(run(entry, {"base_url": server.url, "org": "other"}, secrets), "permission", secrets)
    result = run(entry, {"base_url": server.url, "org": "acme"}, {})
    assert_failure(result, "config")
    assert "api_token" in result.message


def test_registered_with_code_and_icon(registry):
    assert_builtin_ok(registry, "http")
