"""The outbox: where mail goes when no mail server is configured (the demo, a trial).

Without SMTP every letter Kvorum would send — login codes, invitations, notices of
meetings, votes and documents — is kept in the ``outbox`` table, listed for the
registrar on «Исходящая почта» (``/registry/outbox``), and named in the log (recipient
and subject only: the body may hold a login code or an invitation link, bearer
secrets that do not belong in a log file). So every path that depends on mail can be
tried without a mail server.

What this does not do: it delivers nothing. A deployment whose registrar must not read
other people's login codes configures SMTP (``KVORUM_SMTP_HOST``), and the outbox stays
empty.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Index, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from registry.orm import Base, utcnow

__all__ = ["OutboxMailer", "OutboxMessage", "outbox_page"]

log = logging.getLogger("kvorum.mail")


class OutboxMessage(Base):
    """One letter kept instead of sent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class OutboxMailer:
    """A mailer that keeps each letter in the outbox table, in its own transaction.

    Callers send after their own transaction has committed (as every handler does:
    "mail after commit"), so on SQLite the letter's write never waits on the request's.
    """

    def __init__(self, sessionmaker: Callable[[], async_sessionmaker[Any]]) -> None:
        # A callable: the application opens its database after the mailer is made.
        self._sessionmaker = sessionmaker

    async def send(self, to: str, subject: str, body: str) -> None:
        async with self._sessionmaker()() as db, db.begin():
            db.add(OutboxMessage(recipient=to[:254], subject=subject[:500], body=body))
        log.info("mail kept in the outbox for %s: %s", to, subject, extra={"to": to})


async def outbox_page(
    db: AsyncSession, *, page: int, per_page: int
) -> tuple[Sequence[OutboxMessage], int]:
    """The newest letters first, one page of them, and how many there are in all."""
    total = int(await db.scalar(select(func.count()).select_from(OutboxMessage)) or 0)
    rows = await db.scalars(
        select(OutboxMessage)
        .order_by(OutboxMessage.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return rows.all(), total
