"""Real SMTP servers for the tests: aiosmtpd Controllers (each runs its own loop in a thread).

`submission` offers STARTTLS and login only after it (like a real port 587), `implicit` speaks TLS from the
first byte (port 465), `plain` has no TLS at all. All check user/password with `Accounts` and record every
MAIL/RCPT/DATA they receive, so a test can prove that a connection test never sends mail.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.services import free_port

HOSTNAME = "mx.connhub.test"


@dataclass
class SmtpServer:
    host: str
    port: int
    user: str
    password: str
    #: (command, argument) of every MAIL, RCPT and DATA the server received
    mail_commands: list[tuple[str, str]] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted)


class _Recorder:
    """aiosmtpd handler that accepts nothing silently: it records mail commands (a test must never send any)."""

    def __init__(self, state: SmtpServer):
        self.state = state

    async def handle_MAIL(self, server, session, envelope, address, options) -> str:
        self.state.mail_commands.append(("MAIL", address))
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        self.state.mail_commands.append(("RCPT", address))
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.state.mail_commands.append(("DATA", ""))
        return "250 OK"


@contextmanager
def smtp_server(user: str, password: str, **options: Any) -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1 (free port); `options` go to aiosmtpd's SMTP (tls_context, …) or the
    Controller (ssl_context for implicit TLS)."""
    state = SmtpServer("127.0.0.1", free_port(), user, password)

    def authenticator(server, session, envelope, mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        state.logins.append((auth_data.login.decode(errors="replace"), ok))
        # handled=False: aiosmtpd answers "535 5.7.8 Authentication credentials invalid" itself
        return AuthResult(success=ok, handled=False)

    controller = Controller(_Recorder(state), hostname=state.host, port=state.port, server_hostname=HOSTNAME,
                            authenticator=authenticator, ready_timeout=5, **options)
    controller.start()
    try:
        yield state
    finally:
        controller.stop()


@pytest.fixture(autouse=True)
def quiet_mail_log(caplog):
    """aiosmtpd logs every refused TLS handshake with a traceback; those refusals are what some tests cause."""
    caplog.set_level(logging.CRITICAL, logger="mail.log")


@pytest.fixture(scope="module")
def account(fake) -> tuple[str, str]:
    return fake.user_name() + "@example.com", fake.password(length=20)


@pytest.fixture(scope="module")
def submission(tls_files, account) -> Iterator[SmtpServer]:
    """STARTTLS offered; AUTH only after it (auth_require_tls, aiosmtpd's default)."""
    with smtp_server(*account, tls_context=tls_files.server_context(), auth_require_tls=True) as server:
        yield server


@pytest.fixture(scope="module")
def implicit(tls_files, account) -> Iterator[SmtpServer]:
    """TLS from the first byte. auth_require_tls=False: aiosmtpd cannot see an implicit TLS layer and would
    otherwise hide AUTH (aio-libs/aiosmtpd#281)."""
    with smtp_server(*account, ssl_context=tls_files.server_context(), auth_require_tls=False) as server:
        yield server


@pytest.fixture(scope="module")
def plain(account) -> Iterator[SmtpServer]:
    """No TLS at all; login allowed in plain text."""
    with smtp_server(*account, auth_require_tls=False) as server:
        yield server
