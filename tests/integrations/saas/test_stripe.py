"""Stripe (manifest only) against a local fake of GET /v1/balance.

From Stripe's docs: keys are `sk_test_`/`sk_live_` (secret) or `rk_test_`/`rk_live_` (restricted, "Restricted API
keys"); Bearer authentication ("Authentication"); the Balance object (`object`, `available`, `pending`,
`livemode`); errors are `{"error": {"type", "code", "message"}}` — an invalid key is a 401 whose message echoes
a masked key, a restricted key without the permission a 403, too many requests a 429 ("Rate limits").
"""

from __future__ import annotations

import json

import pytest

from tests.integrations import assert_failure, assert_no_secrets
from tests.integrations.saas.conftest import bearer, fake_api


def balance(livemode: bool) -> dict:
    return {"object": "balance", "livemode": livemode,
            "available": [{"amount": 666670, "currency": "usd", "source_types": {"card": 666670}}],
            "pending": [{"amount": 61414, "currency": "usd", "source_types": {"card": 61414}}]}


@pytest.fixture(scope="module")
def keys(fake):
    body = lambda: fake.pystr(min_chars=32, max_chars=32)  # noqa: E731
    return {"test": f"sk_test_{body()}", "live": f"sk_live_{body()}", "restricted_test": f"rk_test_{body()}",
            "restricted_live": f"rk_live_{body()}", "no_balance": f"rk_live_{body()}", "busy": f"sk_live_{body()}"}


@pytest.fixture(scope="module")
def stripe(keys):
    def retrieve_balance(request):
        key = bearer(request)
        if key == keys["no_balance"]:
            return 403, {}, {"error": {"type": "invalid_request_error", "code": "secret_key_required",
                                       "message": f"The provided key '{key[:8]}****{key[-4:]}' does not have the "
                                                  "required permissions for this endpoint."}}
        if key == keys["busy"]:
            return 429, {}, {"error": {"type": "invalid_request_error", "code": "rate_limit",
                                       "message": "Too many requests hit the API too quickly."}}
        return 200, {"Server": "nginx", "Request-Id": "req_123"}, balance("_live_" in key)

    def authorized(request):
        return bearer(request) in keys.values()

    def unauthorized_body():  # Stripe echoes a masked key in the message: that must never reach the result
        return {"error": {"type": "invalid_request_error",
                          "message": "Invalid API Key provided: sk_test_************************abcd"}}

    with fake_api({("GET", "/v1/balance"): retrieve_balance}, authorized,
                  (401, {"WWW-Authenticate": 'Basic realm="Stripe"'}, unauthorized_body())) as server:
        yield server


@pytest.mark.parametrize("which, mode", [("test", "test mode"), ("live", "live mode"),
                                         ("restricted_test", "test mode"), ("restricted_live", "live mode")])
def test_mode_comes_from_the_key_prefix_and_the_key_never_appears(run, stripe, keys, which, mode):
    key = keys[which]
    result = run("stripe", {"base_url": stripe.url}, {"secret_key": key})
    assert result.ok, result
    assert result.details["mode"] == mode
    assert result.details["livemode"] == ("true" if "live" in which else "false")
    text = json.dumps(result.to_dict())
    assert_no_secrets(result, {"secret_key": key})
    assert key[8:] not in text and key[-6:] not in text  # not even the part after the public prefix
    sent = stripe.requests[-1]
    assert (sent.method, sent.path) == ("GET", "/v1/balance")
    assert sent.headers["Authorization"] == f"Bearer {key}"


def test_invalid_key_is_auth_without_the_masked_key(run, stripe, fake):
    secrets = {"secret_key": f"sk_test_{fake.pystr(min_chars=32, max_chars=32)}"}
    result = run("stripe", {"base_url": stripe.url}, secrets)
    assert_failure(result, "auth", secrets, stage="auth")
    assert result.message == "HTTP 401 Unauthorized: invalid_request_error"
    assert "****" not in json.dumps(result.to_dict())


def test_restricted_key_without_balance_access_is_permission(run, stripe, keys):
    secrets = {"secret_key": keys["no_balance"]}
    result = run("stripe", {"base_url": stripe.url}, secrets)
    assert_failure(result, "permission", secrets, stage="auth")
    assert result.message == "HTTP 403 Forbidden: secret_key_required"


def test_too_many_requests_is_rate_limited(run, stripe, keys):
    secrets = {"secret_key": keys["busy"]}
    result = run("stripe", {"base_url": stripe.url}, secrets)
    assert_failure(result, "rate_limited", secrets, stage="probe")
    assert "rate_limit" in result.message


def test_the_form_refuses_a_publishable_key(registry):
    from connhub.core.fields import validate_values

    entry = registry.get("stripe")
    errors = validate_values(entry.manifest.credentials, entry.specs, {"secret_key": "pk_test_abc"})
    assert errors == {"secret_key": "A secret key (sk_test_…, sk_live_…) or restricted key (rk_…), not a publishable key (pk_…)"}
    assert entry.integration().connection_info({}).display_url == "https://api.stripe.com"
