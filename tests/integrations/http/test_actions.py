"""The generic HTTP type's `request` action against a local server: what is sent, with which auth, and how
answers and failures come back."""

from __future__ import annotations

import base64
import json

import pytest

from connhub.core.actions import InvalidParams
from tests.integrations.actions_support import act, act_timed, assert_failed, assert_ok, cancel_action
from tests.support.servers import http_server
from tests.support.services import free_port

TOKEN = "tok_" + "s3cr3t" * 6


@pytest.fixture
def api():
    """/v1/echo answers what it received; /v1/private wants the bearer token; /v1/slow never answers in time."""
    import time

    def handle(request):
        if request.path == "/v1/slow":
            time.sleep(3)
            return 200, {}, {}
        if request.path == "/v1/text":
            return 200, {"Content-Type": "text/plain"}, "plain words"
        if request.path == "/v1/limited":
            return 429, {"Retry-After": "12"}, {"error": "slow down"}
        if request.path == "/v1/private" and request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"WWW-Authenticate": "Bearer"}, {"error": "unauthorized"}
        if request.path not in ("/v1/echo", "/v1/private", "/v1/a%20b/c"):
            return 404, {}, {"error": "no such path"}
        return 200, {"X-Request-Id": "r-1", "Set-Cookie": "session=abc"}, {
            "method": request.method, "path": request.path, "query": request.query,
            "headers": {k: v for k, v in request.headers.items()}, "body": request.body.decode()}

    with http_server(handle) as server:
        yield server


def config(server, **auth):
    return {"base_url": server.url + "/v1", **{f"auth.{k}": v for k, v in auth.items()}}


def test_a_post_carries_path_query_headers_and_json_body(registry, api):
    done = assert_ok(act(registry, "http", "request",
                         {"method": "POST", "path": "/echo?a=1", "query": {"b": "two words", "n": 3, "yes": True},
                          "headers": {"X-Trace": "t-9"}, "body": {"name": "ø", "items": [1, 2]}},
                         config(api, method="bearer"), {"auth.token": TOKEN}))
    assert done["status"] == 200 and done["ok"] is True
    assert done["headers"]["x-request-id"] == "r-1" and "set-cookie" not in done["headers"]
    echoed = done["body"]
    assert (echoed["method"], echoed["path"]) == ("POST", "/v1/echo")
    assert echoed["query"] == {"a": ["1"], "b": ["two words"], "n": ["3"], "yes": ["true"]}
    assert json.loads(echoed["body"]) == {"name": "ø", "items": [1, 2]}
    assert echoed["headers"]["X-Trace"] == "t-9" and echoed["headers"]["Content-Type"] == "application/json"
    assert api.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert echoed["headers"]["Authorization"] == "Bearer ********"  # the echoed token is scrubbed out
    assert TOKEN not in json.dumps(done)


def test_basic_and_api_key_auth_and_a_text_answer(registry, api):
    done = assert_ok(act(registry, "http", "request", {"method": "GET", "path": "/echo"},
                         config(api, method="basic", username="ada"), {"auth.password": "pw-ü"}))
    assert done["ok"]
    sent = api.requests[-1].headers["Authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")) == "ada:pw-ü".encode()
    keyed = assert_ok(act(registry, "http", "request", {"method": "GET", "path": "/echo"},
                          config(api, method="api_key", header="X-Api-Key"), {"auth.key": "k-123456"}))
    assert api.requests[-1].headers["X-Api-Key"] == "k-123456" and "k-123456" not in json.dumps(keyed)
    text = assert_ok(act(registry, "http", "request", {"method": "GET", "path": "/text"}, config(api)))
    assert text["body"] == "plain words"
    spaced = assert_ok(act(registry, "http", "request", {"method": "DELETE", "path": "/a b/c"}, config(api)))
    assert spaced["body"]["path"] == "/v1/a%20b/c" and spaced["body"]["method"] == "DELETE"


def test_bad_params_send_nothing(registry, api):
    for params, key in (({"method": "GET", "path": "../etc"}, "path"), ({"method": "GET", "path": "/a/../b"}, "path"),
                        ({"method": "GET", "path": "/x", "body": {"a": 1}}, "body"),
                        ({"method": "GET", "path": "/x", "headers": {"Bad Name": "v"}}, "headers"),
                        ({"method": "BREW", "path": "/x"}, "method")):
        try:
            done = act(registry, "http", "request", params, config(api))
        except InvalidParams as exc:
            assert key in exc.errors
        else:
            assert_failed(done, "config")
            assert key in done.message
    assert api.requests == []


def test_failures_are_classified(registry, api):
    denied = act(registry, "http", "request", {"method": "GET", "path": "/private"}, config(api, method="bearer"),
                 {"auth.token": "wrong-token-value"})
    assert_failed(denied, "auth", "wrong-token-value")
    assert_failed(act(registry, "http", "request", {"method": "GET", "path": "/nothing"}, config(api)), "not_found")
    limited = act(registry, "http", "request", {"method": "GET", "path": "/limited"}, config(api))
    assert_failed(limited, "rate_limited")
    assert "retry in 12 s" in limited.message
    dead, took = act_timed(registry, "http", "request", {"method": "GET", "path": "/"},
                           {"base_url": f"http://127.0.0.1:{free_port()}"}, timeout=3)
    assert_failed(dead, "refused")
    assert took < 3


def test_a_hang_times_out_and_a_cancel_lands_fast(registry, api):
    hung, took = act_timed(registry, "http", "request", {"method": "GET", "path": "/slow"}, config(api), timeout=1)
    assert_failed(hung, "timeout")
    assert took < 2
    assert cancel_action(registry, "http", "request", {"method": "GET", "path": "/slow"}, config(api),
                         after=0.3) < 0.1
