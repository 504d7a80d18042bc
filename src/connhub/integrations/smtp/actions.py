"""SMTP's action: send one plain-text email.

The session is opened exactly as the connection test opens it (greeting, EHLO, STARTTLS required when chosen
and never skipped, login when a user is set); then one message goes out and the session ends with QUIT. The
result names the recipients the server accepted and the Message-ID, so the mail can be found later.
"""

from __future__ import annotations

import email.utils
from email.message import EmailMessage
from typing import Any

from connhub.core.context import ActionContext
from connhub.core.errors import ConfigError, ConnectionTestError, PermissionDenied, UnknownError
from connhub.core.integration import Values


class SmtpActions:
    """Mixed into SmtpIntegration: `send_email`."""

    async def send_email(self, params: Values, config: Values, secrets: Values, ctx: ActionContext
                         ) -> dict[str, Any]:
        import aiosmtplib

        sender = str(params.get("from") or config.get("user") or "").strip()
        if "@" not in sender:
            raise ConfigError("Give the sender's address in From: the instance's user is not an email address")
        recipients = [str(address).strip() for address in params["to"]]
        message = EmailMessage()
        try:
            message["From"] = sender
            message["To"] = ", ".join(recipients)
            message["Subject"] = params.get("subject") or ""
        except ValueError as exc:  # a line break in a header would start a new one
            raise ConfigError(f"The message header cannot be written: {exc}") from None
        domain = sender.rsplit("@", 1)[-1] or "connhub.invalid"
        message["Message-ID"] = email.utils.make_msgid(domain=domain)
        message["Date"] = email.utils.formatdate(localtime=True)
        message.set_content(str(params.get("body") or ""))

        smtp = await _open(config, secrets, ctx)
        try:
            try:
                refused, _ = await smtp.send_message(message, sender=sender, recipients=recipients,
                                                     timeout=ctx.remaining())
            except aiosmtplib.SMTPRecipientsRefused as exc:
                said = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
                raise PermissionDenied(f"The server refused every recipient ({said})") from None
            except aiosmtplib.SMTPSenderRefused as exc:
                raise PermissionDenied(f"The server refused the sender {exc.sender} ({exc.code} {exc.message})"
                                       ) from None
            except aiosmtplib.SMTPDataError as exc:
                raise UnknownError(f"The server refused the message ({exc.code} {exc.message})") from None
            except Exception as exc:
                raise _fail(exc, ctx, config) from exc
            try:
                await smtp.quit(timeout=ctx.remaining())
            except Exception:  # sent is sent: a goodbye that fails changes nothing
                pass
        finally:
            smtp.close()
        accepted = [address for address in recipients if address not in refused]
        return {"accepted": accepted, "refused": {k: f"{v.code} {v.message}" for k, v in refused.items()},
                "message_id": message["Message-ID"]}


async def _open(config: Values, secrets: Values, ctx: ActionContext) -> Any:
    """The connection test's steps up to and including login."""
    from connhub.integrations.smtp import connect

    smtp, _ = await connect(config, secrets, ctx, "nothing was sent")
    return smtp


def _fail(exc: BaseException, ctx: ActionContext, config: Values) -> ConnectionTestError:
    from connhub.integrations.smtp import _map_error

    return _map_error(exc, ctx, config.get("security") or "starttls", int(config.get("port") or 587))  # type: ignore
