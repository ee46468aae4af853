"""Demo accounts: one per role, for the people ``registry.demo`` seeds, with login links."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.demo import seed_demo_meeting
from meetings.models import Guest
from meetings.preparation import MeetingService
from meetings.schemas import GuestIn
from registry.accounts import AccountService
from registry.actor import Actor
from registry.demo import DEMO_ACTOR_NAME, seed_demo
from registry.diagnosis.services import MethodologyService
from registry.models import Account, AccountRole, Member, Role
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from server.invitations import issue_invitation
from server.settings import Settings

__all__ = ["Demo", "seed_with_logins"]

# An invited guest of the demo meeting: enters through a personal link and waits in the
# video room's lobby until the chair admits them.
_DEMO_GUEST = GuestIn(
    name="Смирнова Ольга Викторовна", affiliation="Пермская краевая организация ВОИ"
)

# Russian role label, the person (a DemoPeople field) and the application roles.
_DEMO_ROLES = (
    ("председатель", "chair_member_id", (Role.CHAIR, Role.MEMBER)),
    ("секретарь", "secretary_member_id", (Role.SECRETARY, Role.MEMBER)),
    ("член президиума", "member_member_id", (Role.MEMBER,)),
    ("ревизор", "auditor_member_id", (Role.AUDITOR, Role.MEMBER)),
    ("регистратор", "registrar_member_id", (Role.REGISTRAR, Role.MEMBER)),
)


@dataclass(frozen=True)
class Demo:
    created: bool
    links: list[tuple[str, str, str]]  # (Russian role label, full name, invitation URL)
    meeting_url: str
    # The presidium's other members who have not logged in yet: (full name, URL), so the
    # demo meeting can reach its quorum (6 of 11).
    presidium_links: list[tuple[str, str]] = field(default_factory=list)


async def seed_with_logins(db: AsyncSession, settings: Settings) -> Demo:
    """Seed the demo union (idempotently) and return a fresh invitation for each role."""
    people, created = await seed_demo(db, today=utcnow().date())
    # The regional council's self-diagnosis methodology, published (п. 4.2 of the seed).
    await MethodologyService(db, Actor.system(DEMO_ACTOR_NAME)).ensure_default(people.root_id)
    # The registry's key as the server keeps it (made here if the server has not yet run).
    keyring = RegistryKeyring.open(settings.data_dir / "keys", now=utcnow())
    meeting_id = await seed_demo_meeting(
        db, people.presidium_id, people.chair_member_id, now=utcnow(), keyring=keyring
    )
    links = []
    role_members: set[int] = set()
    for label, attribute, roles in _DEMO_ROLES:
        member = await db.get(Member, getattr(people, attribute))
        assert member is not None
        role_members.add(member.id)
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
    links.append(await _guest_link(db, settings, meeting_id))
    return Demo(
        created,
        links,
        f"{settings.effective_public_url}/meetings/{meeting_id}",
        await _presidium_links(db, settings, people.presidium_id, skip=role_members),
    )


async def _presidium_links(
    db: AsyncSession, settings: Settings, presidium_id: int, *, skip: set[int]
) -> list[tuple[str, str]]:
    """A fresh link for each presidium member not yet logged in, as «Пригласить всех
    членов органа» would issue them (the role holders above have theirs already)."""
    actor = Actor.system(DEMO_ACTOR_NAME)
    found = await AccountService(db, actor).body_invitees(presidium_id, utcnow().date())
    links = []
    for account in found.accounts:
        if account.member_id in skip:
            continue
        url = await issue_invitation(db, account, settings, issued_by=DEMO_ACTOR_NAME)
        links.append((account.display_name, url))
    return links


async def _guest_link(
    db: AsyncSession, settings: Settings, meeting_id: int
) -> tuple[str, str, str]:
    """The demo meeting's guest (added once) and a fresh link for them."""
    service = MeetingService(db, Actor.system("kvorum demo"))
    guest = await db.scalar(
        select(Guest).where(Guest.meeting_id == meeting_id, Guest.name == _DEMO_GUEST.name)
    )
    if guest is None:
        guest = await service.add_guest(meeting_id, _DEMO_GUEST)
    token = await service.guest_link(meeting_id, guest.id)
    return ("гость", guest.name, f"{settings.effective_public_url}/guest/{token}")
