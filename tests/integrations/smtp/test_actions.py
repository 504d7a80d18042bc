"""SMTP's send_email against aiosmtpd servers in-process that keep every message they are given."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from connhub.core.actions import InvalidParams
from tests.integrations.actions_support import (
    act,
    act_timed,
    assert_failed,
    assert_ok,
    cancel_action,
    run_saved,
    saved_hub,
)
from tests.integrations.smtp.conftest import HOSTNAME
from tests.support.services import free_port


@dataclass
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    messages: list[Any] = field(default_factory=list)  # (envelope sender, recipients, parsed message)
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK: queued"


@contextmanager
def mail_server(user: str, password: str, **options: Any) -> Iterator[Mailbox]:
    box = Mailbox("127.0.0.1", free_port(), user, password)

    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(), password.encode())
        return AuthResult(success=ok, handled=False)

    controller = Controller(box, hostname=box.host, port=box.port, server_hostname=HOSTNAME,
                            authenticator=authenticator, ready_timeout=5, **options)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def starttls_box(tls_files, account) -> Iterator[Mailbox]:
    with mail_server(*account, tls_context=tls_files.server_context(), auth_require_tls=True) as box:
        yield box


@pytest.fixture
def box(starttls_box) -> Mailbox:
    starttls_box.messages.clear()
    starttls_box.refuse.clear()
    return starttls_box


@pytest.fixture
def config(box, tls_files) -> dict:
    return {"host": box.host, "port": box.port, "security": "starttls", "user": box.user, "verify_tls": True,
            "ca_file": str(tls_files.ca)}


def test_the_email_arrives_with_its_subject_and_body(registry, box, config, fake):
    subject, body = fake.sentence(), fake.paragraph() + "\nÜnïcode ✓\n"
    to = [fake.email(), fake.email()]
    got = assert_ok(act(registry, "smtp", "send_email", {"to": to, "subject": subject, "body": body}, config,
                        {"password": box.password}))
    [(sender, recipients, message)] = box.messages
    assert sender == box.user and recipients == to
    assert message["Subject"] == subject and message["To"] == ", ".join(to)
    assert message.get_content().replace("\r\n", "\n") == body  # as it travelled: CRLF line ends
    assert got == {"accepted": to, "refused": {}, "message_id": message["Message-ID"]}


def test_a_refused_recipient_is_named_and_the_others_still_get_it(registry, box, config):
    box.refuse.add("ghost@example.com")
    got = assert_ok(act(registry, "smtp", "send_email", {"to": ["ghost@example.com", "real@example.com"],
                                                         "subject": "hi"}, config, {"password": box.password}))
    assert got["accepted"] == ["real@example.com"] and "550" in got["refused"]["ghost@example.com"]
    assert [m[1] for m in box.messages] == [["real@example.com"]]
    box.refuse.add("real@example.com")
    done = act(registry, "smtp", "send_email", {"to": ["ghost@example.com", "real@example.com"], "subject": "x"},
               config, {"password": box.password})
    assert_failed(done, "permission")
    assert len(box.messages) == 1


def test_bad_params_are_per_field_and_nothing_is_sent(registry, box, config):
    with pytest.raises(InvalidParams) as caught:
        act(registry, "smtp", "send_email", {"to": ["not an address"], "subject": "a\r\nBcc: victim@example.com",
                                             "from": "x"}, config, {"password": box.password})
    assert set(caught.value.errors) == {"to", "subject", "from"}
    with pytest.raises(InvalidParams) as caught:
        act(registry, "smtp", "send_email", {"to": [], "subject": "s"}, config, {"password": box.password})
    assert set(caught.value.errors) == {"to"}
    assert box.messages == []


def test_a_wrong_password_is_auth_and_nothing_is_sent(registry, box, config, fake):
    wrong = fake.password(length=16)
    assert_failed(act(registry, "smtp", "send_email", {"to": ["a@example.com"], "subject": "s"}, config,
                      {"password": wrong}), "auth", wrong)
    assert box.messages == []


def test_a_server_without_starttls_gets_no_mail_when_starttls_is_chosen(registry, fake):
    with mail_server("u@example.com", "pw-1234", auth_require_tls=False) as plain:
        config = {"host": plain.host, "port": plain.port, "security": "starttls", "user": plain.user}
        done = act(registry, "smtp", "send_email", {"to": ["a@example.com"], "subject": "s"}, config,
                   {"password": plain.password})
        assert_failed(done, "tls")
        assert plain.messages == []


def test_a_closed_port_is_refused_within_the_timeout(registry, config, box):
    done, took = act_timed(registry, "smtp", "send_email", {"to": ["a@example.com"], "subject": "s"},
                           {**config, "port": free_port()}, {"password": box.password}, timeout=2)
    assert_failed(done, "refused")
    assert took < 2


def test_a_silent_server_times_out_and_a_cancel_lands_at_once(registry, blackhole):
    config = {"host": blackhole[0], "port": blackhole[1], "security": "none"}
    params = {"to": ["a@example.com"], "subject": "s", "from": "me@example.com"}
    done, took = act_timed(registry, "smtp", "send_email", params, config, timeout=0.5)
    assert_failed(done, "timeout")
    assert took < 2
    assert cancel_action(registry, "smtp", "send_email", params, config, after=0.3) < 0.1


def test_a_saved_instance_runs_through_the_hub_and_is_logged(registry, box, config, tmp_path, memory_keyring):
    with saved_hub(tmp_path, memory_keyring) as hub:
        record = hub.instances.create("smtp", "mail", {**config, "password": box.password})
        done = run_saved(hub, record, "send_email", {"to": ["ops@example.com"], "subject": "From the hub"})
        assert done.ok and done.result["accepted"] == ["ops@example.com"]
        assert [m[2]["Subject"] for m in box.messages] == ["From the hub"]
        [logged] = hub.actions.history(record.id)
        assert logged.ok and done.result["message_id"] in logged.preview
