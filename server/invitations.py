"""Invitations: single-use, expiring links with which a member first gets in."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.errors import NotFound, PermissionDenied
from registry.models import Account, Invitation
from registry.orm import utcnow
from server.auth import digest
from server.mailer import Letter, Mailer
from server.settings import Settings

__all__ = [
    "Issued",
    "consume_invitation",
    "invitation_letter",
    "issue_for",
    "issue_invitation",
    "send_invitation",
]


@dataclass(frozen=True)
class Issued:
    """One invitation made: for whom, its link, and the letter to send after the commit
    (``sent_to`` is the address the letter goes to, empty when none is sent)."""

    account_id: int
    member_id: int | None
    name: str
    url: str
    sent_to: str
    letter: Letter | None


async def issue_invitation(
    db: AsyncSession, account: Account, settings: Settings, *, issued_by: str, sent_to: str = ""
) -> str:
    """A single-use link for ``account``, valid for ``invitation_hours``; returns the URL."""
    token = secrets.token_urlsafe(24)  # 192 bits
    db.add(
        Invitation(
            token_hash=digest(token),
            account_id=account.id,
            issued_by=issued_by,
            sent_to=sent_to,
            expires_at=utcnow() + dt.timedelta(hours=settings.invitation_hours),
        )
    )
    await db.flush()
    return f"{settings.effective_public_url}/invite/{token}"


def invitation_letter(to: str, name: str, url: str, hours: int) -> Letter:
    return Letter(
        to,
        "Приглашение в Кворум",
        f"Здравствуйте, {name}!\n\n"
        f"Вас пригласили в Кворум — систему заседаний выборных органов профсоюза.\n"
        f"Чтобы войти и создать ключ доступа, откройте ссылку:\n\n{url}\n\n"
        f"Ссылка одноразовая и действует {hours} ч. Если вы не ждали этого письма, "
        f"просто удалите его.\n",
    )


async def send_invitation(mailer: Mailer, to: str, name: str, url: str, hours: int) -> None:
    letter = invitation_letter(to, name, url, hours)
    await mailer.send(letter.to, letter.subject, letter.body)


async def issue_for(
    db: AsyncSession, account: Account, settings: Settings, actor: Actor, *, mail: bool
) -> Issued:
    """An invitation for ``account``, with its letter when ``mail`` and the account has
    an address; the caller sends the letter once its transaction has committed."""
    to = account.email if mail and account.email else ""
    url = await issue_invitation(db, account, settings, issued_by=actor.display_name, sent_to=to)
    hours = settings.invitation_hours
    letter = invitation_letter(to, account.display_name, url, hours) if to else None
    return Issued(account.id, account.member_id, account.display_name, url, to, letter)


async def consume_invitation(db: AsyncSession, token: str) -> Account:
    """Spend an invitation; refuses unknown, used and expired ones alike (no oracle)."""
    invitation = await db.scalar(
        select(Invitation).where(Invitation.token_hash == digest(token)).with_for_update()
    )
    now = utcnow()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise NotFound(
            "this invitation is unknown, already used or expired; ask the registrar for a new one",
            code="invitation_invalid",
        )
    invitation.used_at = now
    account = await db.get(Account, invitation.account_id)
    if account is None or account.disabled_at is not None:
        raise PermissionDenied("this account is disabled", code="account_disabled")
    return account


async def peek_invitation(db: AsyncSession, token: str) -> Account | None:
    """The account a still-valid invitation is for, without spending it."""
    invitation = await db.scalar(select(Invitation).where(Invitation.token_hash == digest(token)))
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        return None
    return await db.get(Account, invitation.account_id)
