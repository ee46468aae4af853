"""Accounts of members: created when the registrar first invites someone, disabled
when they must no longer get in (their sessions end at once)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.errors import Conflict, NotFound
from registry.models import Account, AccountRole, Member, MemberStatus, Role, Session
from registry.orm import utcnow

__all__ = ["AccountService"]


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
