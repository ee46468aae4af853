"""Outgoing mail: SMTP when configured, the log otherwise (the demo)."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Protocol

from server.settings import Settings

__all__ = ["LogMailer", "Mailer", "SmtpMailer", "make_mailer"]

log = logging.getLogger("kvorum.mail")


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


class LogMailer:
    """Writes each message to the log: the demo has no mail server."""

    async def send(self, to: str, subject: str, body: str) -> None:
        log.info("mail to %s: %s\n%s", to, subject, body, extra={"to": to, "subject": subject})


class SmtpMailer:
    """Sends through an SMTP server with aiosmtplib (STARTTLS by default)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def send(self, to: str, subject: str, body: str) -> None:
        import aiosmtplib  # imported here: only deployments with mail need it loaded

        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await aiosmtplib.send(
            message,
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            username=self.settings.smtp_user or None,
            password=self.settings.smtp_password or None,
            start_tls=self.settings.smtp_starttls,
            timeout=30,
        )
        log.info("mail sent to %s: %s", to, subject, extra={"to": to, "subject": subject})


def make_mailer(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()
