"""Webhook signatures (issue 19), each against the provider's published example where there is one, and the
edges of each rule: tolerance windows, several Stripe signatures, missing headers, random input."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connhub.core.webhooks import (
    STATUS,
    TOLERANCE_S,
    Scheme,
    Verdict,
    body_facts,
    mask_headers,
    sign,
    slack_challenge,
    verify,
)

GITHUB, GITLAB, SLACK, STRIPE = (Scheme(n) for n in ("github", "gitlab", "slack", "stripe"))
HMAC = Scheme("hmac", header="X-Signature", prefix="sha256=", event_header="X-Event-Type", id_header="X-Delivery-Id")
NOW = 1_800_000_000


def lower(headers):
    return {k.lower(): v for k, v in headers.items()}


def test_githubs_documented_example():
    """docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody", payload
    "Hello, World!" → this X-Hub-Signature-256."""
    headers = {"x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
               "x-github-event": "push", "x-github-delivery": "d-1"}
    check = verify(GITHUB, "It's a Secret to Everybody", headers, b"Hello, World!", NOW)
    assert check.verdict is None and check.event == "push" and check.delivery_id == "d-1"
    assert sign(GITHUB, "It's a Secret to Everybody", b"Hello, World!", NOW)["X-Hub-Signature-256"] == \
        headers["x-hub-signature-256"]


SLACK_BODY = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
              b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
              b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZ"
              b"RskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")


def test_slacks_documented_example():
    """api.slack.com "Verifying requests from Slack": the signing secret, timestamp and slash-command body of
    its walkthrough give this X-Slack-Signature."""
    headers = {"x-slack-request-timestamp": "1531420618",
               "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"}
    assert verify(SLACK, "8f742231b10e8888abcd99yyyzzz85a5", headers, SLACK_BODY, 1531420618 + 60).verdict is None
    assert verify(SLACK, "8f742231b10e8888abcd99yyyzzz85a5", headers, SLACK_BODY,
                  1531420618 + TOLERANCE_S + 1).verdict is Verdict.STALE


def stripe_header(secret: str, body: bytes, stamp: int, extra: str = "") -> str:
    digest = hmac.new(secret.encode(), b"%d." % stamp + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}{extra}"


def test_stripe_accepts_any_v1_and_refuses_outside_the_tolerance():
    body = b'{"id": "evt_1", "type": "charge.succeeded"}'
    rotated = f"t={NOW},v1={'0' * 64}," + stripe_header("whsec_new", body, NOW).split(",", 1)[1]
    assert verify(STRIPE, "whsec_new", {"stripe-signature": rotated}, body, NOW).verdict is None
    assert verify(STRIPE, "whsec_old", {"stripe-signature": rotated}, body, NOW).verdict is Verdict.BAD_SIGNATURE
    edge = stripe_header("s", body, NOW - TOLERANCE_S)
    assert verify(STRIPE, "s", {"stripe-signature": edge}, body, NOW).verdict is None
    late = stripe_header("s", body, NOW - TOLERANCE_S - 1)
    assert verify(STRIPE, "s", {"stripe-signature": late}, body, NOW).verdict is Verdict.STALE
    assert verify(STRIPE, "s", {"stripe-signature": "t=x,v1=y"}, body, NOW).verdict is Verdict.BAD_SIGNATURE
    assert body_facts(STRIPE, {"id": "evt_1", "type": "charge.succeeded"}) == ("charge.succeeded", "evt_1")


def test_gitlab_compares_the_token_itself():
    headers = {"x-gitlab-token": "tok", "x-gitlab-event": "Push Hook", "x-gitlab-event-uuid": "u-1"}
    check = verify(GITLAB, "tok", headers, b"{}", NOW)
    assert (check.verdict, check.event, check.delivery_id) == (None, "push", "u-1")
    assert verify(GITLAB, "other", headers, b"{}", NOW).verdict is Verdict.BAD_SIGNATURE


def test_the_generic_scheme_signs_and_verifies_as_declared():
    for scheme in (HMAC, Scheme("hmac", header="X-Sig", algorithm="sha512", encoding="base64")):
        headers = lower(sign(scheme, "k", b"payload", NOW, event="order.paid", delivery_id="7"))
        check = verify(scheme, "k", headers, b"payload", NOW)
        assert check.verdict is None
        assert verify(scheme, "k", headers, b"payload!", NOW).verdict is Verdict.BAD_SIGNATURE
    assert verify(HMAC, "k", lower(sign(HMAC, "k", b"p", NOW, "order.paid", "7")), b"p", NOW).event == "order.paid"


@pytest.mark.parametrize("scheme", [GITHUB, GITLAB, SLACK, STRIPE, HMAC], ids=lambda s: s.name)
def test_every_scheme_round_trips_and_refuses_without_a_secret_or_a_header(scheme):
    body = b'{"type": "event_callback", "event": {"type": "message"}, "event_id": "Ev1"}'
    headers = lower(sign(scheme, "secret-1", body, NOW, event="push", delivery_id="d"))
    assert verify(scheme, "secret-1", headers, body, NOW).verdict is None
    assert verify(scheme, "secret-2", headers, body, NOW).verdict is Verdict.BAD_SIGNATURE
    assert verify(scheme, "", headers, body, NOW).verdict is Verdict.UNSIGNED
    assert verify(scheme, "secret-1", {}, body, NOW).verdict in (Verdict.UNSIGNED, Verdict.BAD_SIGNATURE)


def test_masking_hides_every_signature_header():
    for scheme in (GITHUB, GITLAB, SLACK, STRIPE, HMAC):
        headers = sign(scheme, "Canary-9e1", b"{}", NOW)
        masked = mask_headers({**headers, "Content-Type": "application/json"}, scheme)
        assert "Canary-9e1" not in str(masked)
        assert masked["Content-Type"] == "application/json"
        assert all(v == "********" for k, v in masked.items() if k != "Content-Type" and "Timestamp" not in k)


def test_slack_envelope_and_handshake():
    assert body_facts(SLACK, {"type": "event_callback", "event": {"type": "app_mention"}, "event_id": "Ev9"}) == \
        ("app_mention", "Ev9")
    assert slack_challenge({"type": "url_verification", "challenge": "3eZbrw1aB"}) == "3eZbrw1aB"
    assert slack_challenge({"type": "event_callback"}) is None


def test_each_verdict_has_the_status_the_providers_expect():
    assert STATUS[Verdict.ACCEPTED] == 200 and STATUS[Verdict.BAD_SIGNATURE] == 401
    assert STATUS[Verdict.INVALID_PAYLOAD] == 400 and STATUS[Verdict.TOO_LARGE] == 413
    assert set(STATUS) == set(Verdict)


@given(headers=st.dictionaries(st.sampled_from(["x-hub-signature-256", "x-gitlab-token", "x-slack-signature",
                                                 "x-slack-request-timestamp", "stripe-signature", "x-signature"]),
                               st.text(max_size=80)),
       body=st.binary(max_size=200), now=st.floats(0, 4e9))
def test_random_deliveries_never_raise_and_are_never_accepted_without_the_secret(headers, body, now):
    for scheme in (GITHUB, GITLAB, SLACK, STRIPE, HMAC):
        check = verify(scheme, "the-real-secret-that-nobody-guessed", headers, body, now)
        assert check.verdict is not None
