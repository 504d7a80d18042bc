"""SMTP servers through aiosmtplib: greeting, EHLO, STARTTLS or implicit TLS, AUTH, then QUIT. No mail is sent.

Each step is done by hand rather than by aiosmtplib's `connect()` conveniences, so that STARTTLS is required
when chosen (never silently skipped), every step is timed as its own stage, and a failure names the step.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from connhub.core.context import TestContext
from connhub.core.errors import (
    AuthError,
    ConfigError,
    ConnectionTestError,
    ConnectTimeout,
    ErrorClass,
    PermissionDenied,
    RateLimited,
    TlsError,
    UnknownError,
)
from connhub.core.integration import DriverIntegration, Values
from connhub.core.net import classify_os_chain, handshake, resolve_host, tls_context
from connhub.core.results import ConnectionInfo, ProbeInfo
from connhub.integrations.smtp.actions import SmtpActions

if TYPE_CHECKING:
    import aiosmtplib

SECURITY = ("starttls", "tls", "none")


class SmtpIntegration(SmtpActions, DriverIntegration):
    """Connect and read the greeting, EHLO, upgrade with STARTTLS when chosen, log in when a user is set."""

    drivers = ("aiosmtplib",)
    driver_timeouts = ("aiosmtplib:SMTPTimeoutError",)

    async def test_connection(self, config: Values, secrets: Values, ctx: TestContext) -> ProbeInfo:
        smtp, greeting = await connect(config, secrets, ctx, "use the port and encryption your provider "
                                       "documents (587 with STARTTLS or 465 with implicit TLS), or 'None' only "
                                       "on a network you trust")
        try:
            with ctx.stage("probe"):
                try:
                    await smtp.noop(timeout=ctx.remaining())
                    details = _details(smtp, config["security"], str(config.get("user") or "").strip())
                    await smtp.quit(timeout=ctx.remaining())
                except Exception as exc:
                    raise _map_error(exc, ctx, config["security"], int(config["port"])) from exc
        finally:
            smtp.close()
        return ProbeInfo(server_version=_first_line(greeting.message) or None, details=details)

    def connection_info(self, config: Values) -> ConnectionInfo:
        """`smtp://user@host:587`, `smtps://` for implicit TLS; never the password."""
        info = super().connection_info({k: v for k, v in config.items() if k != "database"})
        if config.get("security") == "tls" and info.display_url.startswith("smtp://"):
            info.display_url = "smtps://" + info.display_url.removeprefix("smtp://")
        return info


async def _hello(smtp: aiosmtplib.SMTP, ctx: TestContext) -> None:
    """EHLO (HELO for a server without ESMTP) with this machine's name, or its address as RFC 5321 allows."""
    import aiosmtplib

    name = _local_name(smtp)
    try:
        await smtp.ehlo(hostname=name, timeout=ctx.remaining())
    except aiosmtplib.SMTPHeloError:
        if not smtp.is_connected:
            raise
        await smtp.helo(hostname=name, timeout=ctx.remaining())


def _local_name(smtp: aiosmtplib.SMTP) -> str:
    name = socket.gethostname()
    if "." in name and name.isascii() and not any(ch.isspace() for ch in name):
        return name
    address = smtp.get_transport_info("sockname")
    if not address:
        return "localhost"
    ip = str(address[0]).split("%", 1)[0]
    return f"[IPv6:{ip}]" if ":" in ip else f"[{ip}]"


async def _login(smtp: aiosmtplib.SMTP, user: str, password: str, security: str, ctx: TestContext) -> None:
    import aiosmtplib

    encrypted = smtp.get_transport_info("sslcontext") is not None
    if not smtp.supports_extension("auth"):
        if not encrypted and smtp.supports_extension("starttls"):
            raise TlsError("The server offers login only over an encrypted connection: choose STARTTLS")
        raise ConfigError("The server does not offer login (no AUTH in its EHLO answer): leave the user empty, "
                          "or check the port (587 or 465 for mail submission)")
    if not smtp.supported_auth_methods:
        offered = smtp.esmtp_extensions.get("auth", "").upper() or "none"
        raise ConfigError(f"The server offers only {offered} login, which connhub cannot use with a password")
    try:
        await smtp.login(user, password, timeout=ctx.remaining())
    except aiosmtplib.SMTPAuthenticationError as exc:
        said = f"{exc.code} {_first_line(exc.message)}"
        if exc.code == 538 or (exc.code == 530 and not encrypted):
            raise TlsError(f"The server requires encryption before login ({said}): choose STARTTLS or TLS") \
                from None
        if exc.code == 454:
            raise UnknownError(f"The server could not check the login right now ({said}): try again later") \
                from None
        raise AuthError(f"The server refused the login for {user} ({said})") from None
    except Exception as exc:
        raise _map_error(exc, ctx, security, None) from exc


def _details(smtp: aiosmtplib.SMTP, security: str, user: str) -> dict[str, str]:
    extensions = smtp.esmtp_extensions
    details = {"extensions": ", ".join(sorted(key.upper() for key in extensions)) or "none (no ESMTP)"}
    if smtp.last_ehlo_response is not None:
        details["server_name"] = _first_line(smtp.last_ehlo_response.message)
    if extensions.get("auth"):
        details["auth_mechanisms"] = " ".join(extensions["auth"].upper().split())
    size = extensions.get("size", "").strip()
    if size.isdigit() and int(size) > 0:
        details["max_message_size"] = f"{int(size) / 1024 / 1024:.1f} MiB"
    ssl_object = smtp.get_transport_info("ssl_object")
    if ssl_object is not None:
        details["tls"] = f"{'implicit TLS' if security == 'tls' else 'STARTTLS'}, {ssl_object.version()}"
    else:
        details["tls"] = "none"
    details["logged_in_as"] = user or "(no login)"
    return details


def _first_line(text: Any) -> str:
    lines = str(text or "").splitlines()
    return " ".join(lines[0].split())[:200] if lines else ""



async def connect(config: Values, secrets: Values, ctx: TestContext, no_starttls: str) -> tuple[Any, Any]:
    """(client, the 220 greeting), opened the same way for the test and every action: TCP, implicit TLS or
    STARTTLS, EHLO (again after TLS), then login if a user is set. `no_starttls` ends the message when the
    server offers no STARTTLS. A failure closes the client."""
    import aiosmtplib

    host = str(config.get("host") or "").strip()
    port, security = int(config["port"]), config["security"]  # the manifest's defaults are in (the runner)
    user = str(config.get("user") or "").strip()
    password = str(secrets.get("password") or "")
    if not host:
        raise ConfigError("Enter the mail server's host name")
    if security not in SECURITY:
        raise ConfigError(f"Unknown encryption {security!r}: use one of {', '.join(SECURITY)}")
    if password and not user:
        raise ConfigError("A password is set but no user: enter the user name to log in with")
    context = None
    if security != "none":
        context = tls_context(config.get("ca_file") or None, verify=bool(config.get("verify_tls", True)))

    await resolve_host(host, port, ctx)
    # local_hostname is only a placeholder: EHLO gets a real name below (aiosmtplib's default would ask
    # socket.getfqdn(), a reverse DNS lookup that can block for seconds).
    smtp = aiosmtplib.SMTP(hostname=host, port=port, use_tls=security == "tls", start_tls=False,
                           tls_context=context, timeout=ctx.remaining(), local_hostname="localhost")

    def fail(exc: Exception) -> ConnectionTestError:
        return _map_error(exc, ctx, security, port)

    try:
        with handshake(ctx, fail):  # TCP, implicit TLS, the 220 greeting and EHLO
            greeting = await smtp.connect(timeout=ctx.remaining())
            await _hello(smtp, ctx)
        if security == "starttls":
            with ctx.stage("tls"):
                if not smtp.supports_extension("starttls"):
                    raise TlsError(f"The server does not offer STARTTLS on port {port}: {no_starttls}")
                try:
                    await smtp.starttls(timeout=ctx.remaining())
                    await _hello(smtp, ctx)  # RFC 3207: forget what was said before TLS, ask again
                except Exception as exc:
                    raise fail(exc) from exc
        if user:
            with ctx.stage("auth"):
                await _login(smtp, user, password, security, ctx)
    except BaseException:
        smtp.close()
        raise
    return smtp, greeting


def _map_error(exc: Exception, ctx: TestContext, security: str, port: int | None) -> ConnectionTestError:
    import aiosmtplib

    if isinstance(exc, ConnectionTestError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        said = f"{exc.code} {_first_line(exc.message)}"
        if exc.code == 421:
            return RateLimited(f"The server is not taking connections now ({said})")
        if exc.code == 554:
            return PermissionDenied(f"The server refuses connections from this address ({said})")
        return UnknownError(f"Unexpected greeting from the server: {said}")
    if isinstance(exc, TimeoutError):
        return ConnectTimeout(f"No answer within {ctx.timeout:g} s")
    mapped = classify_os_chain(exc, ctx.timeout)
    if mapped is not None:
        if mapped.error_class is ErrorClass.TLS and security == "tls" and "WRONG_VERSION_NUMBER" in str(exc):
            return TlsError(f"The server on port {port} answered in plain text, not TLS: if it uses STARTTLS "
                            "(usually port 587 or 25), choose STARTTLS")
        return mapped
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return UnknownError(f"The server closed the connection ({exc.message})")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        said = f"{exc.code} {_first_line(exc.message)}"
        if exc.code == 530 and security == "none":
            return TlsError(f"The server requires STARTTLS ({said}): choose STARTTLS")
        return UnknownError(f"The server answered {said}")
    return SmtpIntegration.classify_driver_error(exc, ctx)
