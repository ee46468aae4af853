"""Demo accounts: one per role, for the people ``registry.demo`` seeds, with login links."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.demo import seed_demo
from registry.models import Account, AccountRole, Member, Role
from registry.orm import utcnow
from server.invitations import issue_invitation
from server.settings import Settings

__all__ = ["seed_with_logins"]

# Russian role label, the person (a DemoPeople field) and the application roles.
_DEMO_ROLES = (
    ("председатель", "chair_member_id", (Role.CHAIR, Role.MEMBER)),
    ("секретарь", "secretary_member_id", (Role.SECRETARY, Role.MEMBER)),
    ("член президиума", "member_member_id", (Role.MEMBER,)),
    ("ревизор", "auditor_member_id", (Role.AUDITOR, Role.MEMBER)),
    ("регистратор", "registrar_member_id", (Role.REGISTRAR, Role.MEMBER)),
)


async def seed_with_logins(
    db: AsyncSession, settings: Settings
) -> tuple[bool, list[tuple[str, str, str]]]:
    """Seed the demo union (idempotently) and return a fresh invitation for each role."""
    people, created = await seed_demo(db, today=utcnow().date())
    links = []
    for label, field, roles in _DEMO_ROLES:
        member = await db.get(Member, getattr(people, field))
        assert member is not None
        account = await db.scalar(select(Account).where(Account.member_id == member.id))
        if account is None:
            account = Account(
                member_id=member.id,
                display_name=member.full_name,
                email=member.email,
                role_rows=[AccountRole(role=r) for r in roles],
            )
            db.add(account)
            await db.flush()
        url = await issue_invitation(db, account, settings, issued_by="kvorum demo")
        links.append((label, member.full_name, url))
    return created, links
