"""What the five manifest-only SaaS types share: they load without code, fail the classic ways (closed port,
silent server), go through the app-level `cfg:proxy` when one is set, and keep secrets out of results."""

from __future__ import annotations

import asyncio
import time
from xml.etree import ElementTree

import pytest

from connhub.core.fields import all_specs
from connhub.integrations.http import HttpIntegration
from connhub.services.runner import run_test
from tests.integrations import assert_failure, assert_no_secrets
from tests.integrations.saas.conftest import SAAS_TYPES
from tests.support.servers import http_server
from tests.support.services import free_port
from tests.support.type_cases import cases

#: type → (URL field, secrets that pass the form's checks, the request path the API expects), from the manifests.
CASES = {c.type: (c.url_field, c.secrets, c.test_path) for c in cases() if c.type in SAAS_TYPES}
#: The other required fields (Jira's email), and the path under the API's address (Slack's "/api").
EXTRA = {c.type: {k: v for k, v in c.values.items() if k != c.url_field} for c in cases() if c.type in SAAS_TYPES}
URL_PATH = {c.type: c.url_path for c in cases()}


def config(type_name: str, base: str, **more) -> dict:
    field, _, _ = CASES[type_name]
    return {field: base, **EXTRA.get(type_name, {}), **more}


@pytest.fixture(scope="module")
def anything_goes():
    """An API that says yes to every request, in a body every type accepts (Slack needs `ok: true`)."""
    with http_server(lambda request: (200, {}, {"ok": True, "login": "octocat", "username": "jsmith"})) as server:
        yield server


@pytest.mark.parametrize("type_name", SAAS_TYPES)
def test_manifest_and_icon_only(registry, type_name):
    entry = registry.get(type_name)
    assert entry.ok, entry.error
    assert entry.manifest.entrypoint is None and entry.manifest.test is not None
    assert sorted(p.name for p in entry.folder.iterdir() if p.is_file()) == ["icon.svg", "manifest.json"]
    assert not any(entry.folder.rglob("*.py"))
    assert ElementTree.parse(entry.icon_path).getroot().get("viewBox") == "0 0 24 24"
    assert type(entry.integration()) is HttpIntegration
    assert all((entry.folder / event.schema_path).is_file() for event in entry.manifest.events)


@pytest.mark.parametrize("type_name", SAAS_TYPES)
def test_proxy_is_an_app_level_setting(registry, type_name):
    specs = {s.key: s for s in all_specs(registry.get(type_name).specs)}
    assert specs["cfg:proxy"].app_level and not specs["cfg:proxy"].secret
    assert registry.get(type_name).manifest.test.proxy_field == "cfg:proxy"
    assert all(key.startswith("cfg:") for key, spec in specs.items() if spec.app_level)


@pytest.mark.parametrize("type_name", SAAS_TYPES)
def test_requests_go_through_the_proxy(run, anything_goes, proxy, type_name):
    _, secrets, path = CASES[type_name]
    base = anything_goes.url + URL_PATH[type_name]
    before = len(anything_goes.requests)
    result = run(type_name, config(type_name, base, **{"cfg:proxy": proxy.url}), secrets)
    assert result.ok, result
    assert_no_secrets(result, secrets)
    expected = URL_PATH[type_name] + path
    assert proxy.seen[-1].endswith(f"{anything_goes.url}{expected}"), proxy.seen
    assert len(anything_goes.requests) == before + 1
    assert anything_goes.requests[-1].path == expected


@pytest.mark.parametrize("type_name", SAAS_TYPES)
def test_unreachable_proxy_is_refused_and_named(run, anything_goes, type_name):
    _, secrets, _ = CASES[type_name]
    port = free_port()
    before = len(anything_goes.requests)
    result = run(type_name, config(type_name, anything_goes.url, **{"cfg:proxy": f"http://127.0.0.1:{port}"}),
                 secrets)
    assert_failure(result, "refused", secrets, stage="connect")
    assert f"proxy 127.0.0.1:{port}" in result.message
    assert len(anything_goes.requests) == before  # no way around the proxy


def test_proxy_that_refuses_the_tunnel_is_refused(run, proxy):
    """An https:// API through a proxy that answers CONNECT with 405: the proxy's refusal, not the API's."""
    _, secrets, _ = CASES["github"]
    result = run("github", {"base_url": "https://api.github.com", "cfg:proxy": proxy.url}, secrets)
    assert_failure(result, "refused", secrets, stage="connect")
    assert "refused to open a tunnel" in result.message and "405" in result.message
    assert proxy.seen == ["CONNECT api.github.com:443"]


@pytest.mark.parametrize("proxy_url", ["socks5://127.0.0.1:1080", "proxy.example.com:3128", "http://:8080"])
def test_proxy_that_is_not_an_http_url_is_config(run, anything_goes, proxy_url):
    result = run("gitlab", config("gitlab", anything_goes.url, **{"cfg:proxy": proxy_url}), CASES["gitlab"][1])
    assert_failure(result, "config")
    assert "cfg:proxy" in result.message


def test_proxy_credentials_never_reach_the_message(run, fake):
    password = fake.password(length=16, special_chars=False)
    port = free_port()
    proxy_url = f"http://bob:{password}@127.0.0.1:{port}"
    result = run("gitlab", config("gitlab", "http://127.0.0.1:1", **{"cfg:proxy": proxy_url}), CASES["gitlab"][1])
    assert_failure(result, "refused")
    assert password not in result.message and "bob" not in result.message


@pytest.mark.parametrize("type_name", SAAS_TYPES)
def test_closed_port_is_refused(run, type_name):
    _, secrets, _ = CASES[type_name]
    result = run(type_name, config(type_name, f"http://127.0.0.1:{free_port()}"), secrets)
    assert_failure(result, "refused", secrets, stage="connect")


@pytest.mark.parametrize("type_name", SAAS_TYPES)
def test_silent_server_times_out_on_time(run_timed, blackhole, type_name):
    host, port = blackhole
    _, secrets, _ = CASES[type_name]
    result, elapsed = run_timed(type_name, config(type_name, f"http://{host}:{port}"), secrets, timeout=1.0)
    assert_failure(result, "timeout", secrets, stage="handshake")
    assert elapsed <= 1.1, elapsed


def test_cancel_stops_at_once(registry, blackhole):
    host, port = blackhole
    _, secrets, _ = CASES["slack"]

    async def main():
        task = asyncio.create_task(run_test(registry.get("slack"), {"base_url": f"http://{host}:{port}"}, secrets,
                                            timeout=10))
        await asyncio.sleep(0.2)
        assert not task.done()  # waiting on the silent server, not failed early
        start = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - start

    assert asyncio.run(main()) < 0.3


def test_unknown_host_is_dns(run):
    _, secrets, _ = CASES["stripe"]
    assert_failure(run("stripe", {"base_url": "https://api.stripe.invalid"}, secrets), "dns", secrets,
                   stage="resolve")


def test_icons_are_clean_svgs_titled_after_the_service(registry):
    for type_name in SAAS_TYPES:
        root = ElementTree.parse(registry.get(type_name).icon_path).getroot()
        assert root.get("role") is None  # removed from the Simple Icons originals
        assert root.find("{http://www.w3.org/2000/svg}title").text.lower() == type_name
        assert all(path.get("fill") for path in root.iter("{http://www.w3.org/2000/svg}path")
                   if path.get("stroke") is None)
