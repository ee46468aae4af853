"""Accounts of members: created when the registrar first invites someone, disabled
when they must no longer get in (their sessions end at once)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.errors import Conflict, NotFound, PermissionDenied
from registry.members import current_seat_clause
from registry.models import (
    Account,
    AccountRole,
    Body,
    Member,
    MemberStatus,
    Role,
    Seat,
    SeatRole,
    Session,
)
from registry.orm import utcnow

__all__ = ["AccountService", "BodyInvitees"]

#: Seats whose holders may send the body's members their invitations by e-mail.
_OFFICERS = (SeatRole.CHAIR, SeatRole.DEPUTY_CHAIR, SeatRole.SECRETARY)


@dataclass(frozen=True)
class BodyInvitees:
    """Whom «invite every member of the body» reaches, and whether the caller may see
    the links (the registrar) or only have them e-mailed (the body's officers)."""

    body: Body
    accounts: list[Account]
    """Accounts of the current members who have never logged in, made where missing,
    in the order of the members' names."""
    settled: int
    """Current members left out: they have logged in before, or their account is
    disabled (the registrar enables it first)."""
    show_links: bool


class AccountService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def for_member(self, member_id: int, roles: Iterable[Role] = (Role.MEMBER,)) -> Account:
        """The member's account, created with ``roles`` if they have none yet."""
        self.actor.require(Role.REGISTRAR)
        member = await self.session.get(Member, member_id)
        if member is None:
            raise NotFound(f"member {member_id} does not exist")
        if member.status is MemberStatus.LEFT:
            raise Conflict(f"{member.full_name} has left the union and cannot be invited")
        account: Account | None = await self.session.scalar(
            select(Account).where(Account.member_id == member.id)
        )
        if account is None:
            account = Account(
                member_id=member.id,
                display_name=member.full_name,
                email=member.email,
                role_rows=[AccountRole(role=r) for r in set(roles) | {Role.MEMBER}],
            )
            self.session.add(account)
            await self.session.flush()
        elif account.disabled_at is not None:
            raise Conflict(f"the account of {member.full_name} is disabled; enable it first")
        return account

    async def body_invitees(self, body_id: int, on: dt.date) -> BodyInvitees:
        """Everyone seated in the body on ``on`` who has not yet got in.

        "Not yet got in": no account, or an account that has never had a session (an
        earlier invitation was lost or expired) and is not disabled. Accounts are
        created as :meth:`for_member` would, with the member role alone.

        The registrar sees the links. The body's chair, deputy chair and secretary may
        only have them e-mailed: a link shown to them would let them log in as the
        member (and so vote as them) before the member has.
        """
        body = await self.session.get(Body, body_id)
        if body is None:
            raise NotFound(f"body {body_id} does not exist")
        show_links = self.actor.has(Role.REGISTRAR)
        if not await self.may_invite_body(body_id, on):
            raise PermissionDenied(
                "only the registrar or the body's chair, deputy chair or secretary may "
                "invite its members"
            )
        if body.retired_at is not None:
            raise Conflict(f"{body.name} is retired")
        members = (
            await self.session.scalars(
                select(Member)
                .join(Seat, Seat.member_id == Member.id)
                .where(
                    Seat.body_id == body_id,
                    current_seat_clause(on),
                    Member.status == MemberStatus.ACTIVE,
                )
                .distinct()
                .order_by(Member.surname, Member.name, Member.patronymic, Member.id)
            )
        ).all()
        existing = {
            a.member_id: a
            for a in (
                await self.session.scalars(
                    select(Account).where(Account.member_id.in_([m.id for m in members]))
                )
            ).all()
        }
        logged_in = set(
            (
                await self.session.scalars(
                    select(Account.id).where(
                        Account.id.in_([a.id for a in existing.values()]),
                        exists().where(Session.account_id == Account.id),
                    )
                )
            ).all()
        )
        accounts: list[Account] = []
        settled = 0
        for member in members:
            account = existing.get(member.id)
            if account is not None and (account.id in logged_in or account.disabled_at):
                settled += 1
                continue
            if account is None:
                account = Account(
                    member_id=member.id,
                    display_name=member.full_name,
                    email=member.email,
                    role_rows=[AccountRole(role=Role.MEMBER)],
                )
                self.session.add(account)
            accounts.append(account)
        await self.session.flush()
        return BodyInvitees(body, accounts, settled, show_links)

    async def bodies_not_in(self, on: dt.date) -> list[tuple[int, str, int]]:
        """For the registrar's «Мои дела»: each body with current members who have never
        logged in, as (body id, name, how many), by name."""
        self.actor.require(Role.REGISTRAR)
        never = ~exists().where(Session.account_id == Account.id)
        rows = await self.session.execute(
            select(Body.id, Body.name, func.count(func.distinct(Seat.member_id)))
            .join(Seat, Seat.body_id == Body.id)
            .join(Member, Member.id == Seat.member_id)
            .outerjoin(Account, Account.member_id == Member.id)
            .where(
                Body.retired_at.is_(None),
                current_seat_clause(on),
                Member.status == MemberStatus.ACTIVE,
                (Account.id.is_(None)) | (Account.disabled_at.is_(None) & never),
            )
            .group_by(Body.id, Body.name)
            .order_by(Body.name)
        )
        return [(int(i), str(n), int(c)) for i, n, c in rows.all()]

    async def may_invite_body(self, body_id: int, on: dt.date) -> bool:
        """The registrar, or the body's chair, deputy chair or secretary on ``on``."""
        if self.actor.has(Role.REGISTRAR):
            return True
        if self.actor.member_id is None:
            return False
        seat = await self.session.scalar(
            select(Seat.id).where(
                Seat.body_id == body_id,
                Seat.member_id == self.actor.member_id,
                Seat.role.in_(_OFFICERS),
                current_seat_clause(on),
            )
        )
        return seat is not None

    async def set_roles(self, account_id: int, roles: Iterable[Role]) -> Account:
        self.actor.require(Role.REGISTRAR)
        account = await self._get(account_id)
        account.role_rows = [AccountRole(role=r) for r in sorted(set(roles))]
        await self.session.flush()
        return account

    async def disable(self, account_id: int) -> Account:
        """No more logins, and every open session of the account ends now."""
        self.actor.require(Role.REGISTRAR)
        account = await self._get(account_id)
        if account.disabled_at is None:
            account.disabled_at = utcnow()
        await self.session.execute(
            update(Session)
            .where(Session.account_id == account.id, Session.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        await self.session.flush()
        return account

    async def enable(self, account_id: int) -> Account:
        self.actor.require(Role.REGISTRAR)
        account = await self._get(account_id)
        account.disabled_at = None
        await self.session.flush()
        return account

    async def _get(self, account_id: int) -> Account:
        account = await self.session.get(Account, account_id)
        if account is None:
            raise NotFound(f"account {account_id} does not exist")
        return account
