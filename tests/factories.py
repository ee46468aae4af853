"""Builders of registry data and logged-in clients for tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.models import MeetingState
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, MeetingIn
from registry.actor import Actor
from registry.bodies import BodyService
from registry.members import MemberService
from registry.models import (
    Account,
    AccountRole,
    Body,
    BodyKind,
    Member,
    Organisation,
    OrgKind,
    Role,
    SeatRole,
)
from registry.organisations import OrganisationService
from registry.schemas import BodyIn, MemberIn, OrganisationIn, QuorumIn, SeatIn
from server.auth import COOKIE, open_session
from server.settings import Settings

SYSTEM = Actor.system("tests")
_cards = itertools.count(1000)
_SURNAMES = ["Иванов", "Петров", "Сидоров", "Кузнецов", "Смирнов", "Попов", "Волков", "Зайцев"]


async def org(
    db: AsyncSession,
    name: str = "Краевой союз",
    *,
    kind: OrgKind = OrgKind.REGIONAL_COUNCIL,
    parent: Organisation | None = None,
    short_name: str = "",
) -> Organisation:
    return await OrganisationService(db, SYSTEM).create(
        OrganisationIn(
            name=name, short_name=short_name, kind=kind, parent_id=parent.id if parent else None
        )
    )


async def member(
    db: AsyncSession,
    organisation: Organisation,
    surname: str | None = None,
    *,
    name: str = "Анна",
    patronymic: str = "Сергеевна",
    card: str | None = None,
    email: str = "",
) -> Member:
    n = next(_cards)
    out = await MemberService(db, SYSTEM).create(
        MemberIn(
            organisation_id=organisation.id,
            surname=surname or _SURNAMES[n % len(_SURNAMES)],
            name=name,
            patronymic=patronymic,
            card_number=card or f"59-{n:06d}",
            email=email,
        )
    )
    found = await db.get(Member, out.id)
    assert found is not None
    return found


async def body(
    db: AsyncSession,
    organisation: Organisation,
    name: str = "Президиум",
    *,
    kind: BodyKind = BodyKind.PRESIDIUM,
    quorum: QuorumIn | None = None,
) -> Body:
    return await BodyService(db, SYSTEM).create(
        BodyIn(organisation_id=organisation.id, kind=kind, name=name, quorum=quorum or QuorumIn())
    )


async def seat(
    db: AsyncSession,
    b: Body,
    m: Member,
    role: SeatRole = SeatRole.MEMBER,
    *,
    start: dt.date = dt.date(2020, 1, 1),
    end: dt.date | None = None,
) -> None:
    await BodyService(db, SYSTEM).add_seat(
        b.id, SeatIn(member_id=m.id, role=role, term_start=start, term_end=end)
    )


async def account(
    db: AsyncSession, *roles: Role, member_obj: Member | None = None, name: str = ""
) -> Account:
    acc = Account(
        member_id=member_obj.id if member_obj else None,
        display_name=name or (member_obj.full_name if member_obj else "Учётная запись"),
        email=member_obj.email if member_obj else "",
        role_rows=[AccountRole(role=r) for r in roles],
    )
    db.add(acc)
    await db.flush()
    return acc


@dataclass
class Login:
    """A test client logged in as one account: cookie set, CSRF header ready."""

    client: Any
    csrf: str

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf} | (extra or {})

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.client.get(path, **kw)

    async def post(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return await self.client.post(path, headers=self._headers(headers), **kw)

    async def patch(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return await self.client.patch(path, headers=self._headers(headers), **kw)


async def login(client: Any, db: AsyncSession, acc: Account) -> Login:
    """Open a session directly in the database (login pages arrive with identity)."""
    token, row = await open_session(db, acc, None, method="invitation")
    await db.commit()
    client.session.cookie_jar.update_cookies(
        {COOKIE: token}, response_url=client.server.make_url("/")
    )
    return Login(client, row.csrf_token)


@dataclasses.dataclass(frozen=True)
class LiveServer:
    """The real application on a real TCP port, reached as http://localhost:PORT (a host
    name, as WebAuthn requires; browsers treat localhost as a secure context)."""

    settings: Settings
    server: Any

    def url(self, path: str = "/") -> str:
        return f"{self.settings.effective_public_url}{path}"


@dataclass
class MeetingSetup:
    """A presidium of ``size`` with a chair and a secretary, and a meeting of it."""

    meeting_id: int
    body: Body
    chair: Member
    secretary: Member
    members: list[Member]
    item_ids: list[int]

    def actor(self, member: Member, *roles: Role) -> Actor:
        return Actor(
            account_id=None,
            display_name=member.full_name,
            roles=frozenset(roles or (Role.MEMBER,)),
            member_id=member.id,
        )


async def meeting(
    db: AsyncSession, *, size: int = 5, items: int = 2, state: str = "in_session"
) -> MeetingSetup:
    root = await org(db, "Союз для заседаний")
    presidium = await body(db, root)
    people = [await member(db, root) for _ in range(size)]
    await seat(db, presidium, people[0], SeatRole.CHAIR)
    await seat(db, presidium, people[1], SeatRole.SECRETARY)
    for m in people[2:]:
        await seat(db, presidium, m)
    chair_actor = Actor(None, people[0].full_name, frozenset({Role.CHAIR}), people[0].id)
    service = MeetingService(db, chair_actor)
    created = await service.create(
        MeetingIn(
            body_id=presidium.id,
            title="О цифровизации профсоюзной деятельности",
            starts_at=dt.datetime.now(dt.UTC),
        )
    )
    item_ids = [
        (await service.add_item(created.id, AgendaItemIn(title=f"Вопрос {n}"))).id
        for n in range(1, items + 1)
    ]
    path = [MeetingState.ANNOUNCED, MeetingState.REGISTRATION, MeetingState.IN_SESSION]
    for target in path[: path.index(MeetingState(state)) + 1] if state != "draft" else []:
        await service.transition(created.id, target)
    await db.commit()
    return MeetingSetup(created.id, presidium, people[0], people[1], people, item_ids)
