"""Outgoing mail: SMTP when configured; otherwise the outbox (the demo), or the log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker

from server.outbox import OutboxMailer
from server.settings import Settings

__all__ = ["Letter", "LogMailer", "Mailer", "SmtpMailer", "delivers", "make_mailer", "send_letters"]

log = logging.getLogger("kvorum.mail")


class Mailer(Protocol):
    async def send(self, to: str, subject: str, body: str) -> None: ...


@dataclass(frozen=True)
class Letter:
    """A letter made inside a transaction and sent after it committed."""

    to: str
    subject: str
    body: str


async def send_letters(mailer: Mailer, letters: list[Letter]) -> int:
    """Send each letter; one that fails is logged and does not stop the others."""
    sent = 0
    for letter in letters:
        try:
            await mailer.send(letter.to, letter.subject, letter.body)
            sent += 1
        except Exception:  # a bad address or a mail server hiccup costs this letter only
            log.exception("mail to %s failed", letter.to)
    return sent


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


def make_mailer(
    settings: Settings, outbox: Callable[[], async_sessionmaker[Any]] | None = None
) -> Mailer:
    """SMTP when a host is set; else the outbox when a database is given; else the log."""
    if settings.smtp_host:
        return SmtpMailer(settings)
    return OutboxMailer(outbox) if outbox is not None else LogMailer()


def delivers(settings: Settings, mailer: Mailer) -> bool:
    """Whether letters holding a secret (an invitation link) may be handed to ``mailer``:
    a mail server delivers them, the outbox keeps them for the registrar; the log
    mailer would write them into a log file, so it gets none."""
    return bool(settings.smtp_host) or isinstance(mailer, OutboxMailer)
