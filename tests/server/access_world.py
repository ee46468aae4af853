"""One organisation with every kind of caller, for the access-control matrix.

A presidium (chair, secretary, three members) with a meeting that has been held — its
open vote closed, the meeting closed, its protocol signed by both officers — and a
second meeting in registration with an agenda item, a material, a guest with a live
link and notices to the members; an election in draft on that item with a candidate,
and an election of the presidium between meetings. Beside them: the registrar and an
auditor (members of the organisation without a seat in the presidium, as the demo has
them), a member without a seat, and a member of another organisation nobody here may
see.

Each caller gets their own client (cookie jar): ``registrar``, ``chair``, ``secretary``,
``seated`` (a member of the presidium), ``unseated`` (a member of the organisation
without a seat), ``auditor``, ``guest`` (the guest link's cookie) and ``anonymous``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import CookieJar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.blobs import BlobStore
from meetings.elections.schemas import AbsenteeElectionIn, CandidateIn, ElectionIn
from meetings.elections.services import ElectionService
from meetings.models import Document, MeetingState, Notice
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, GuestIn, MeetingIn
from registry.models import Account, AccountRole, DeviceKey, Member, Organisation, Role, Seat
from server.keys import KEYRING, SETTINGS
from tests import factories as f
from tests.meetings.closed_meeting import held_meeting
from tests.samples import pdf_bytes
from tests.server.test_document_signing import signed_protocol

__all__ = ["PDF", "ROLES", "World", "build_world", "make_client_factory"]

ROLES = ("registrar", "chair", "secretary", "seated", "unseated", "auditor", "guest", "anonymous")
PDF = pdf_bytes("agenda material")


@dataclasses.dataclass
class World:
    db: AsyncSession
    make_client: Callable[[], Awaitable[Any]]
    ids: dict[str, int]  # named objects of the dataset
    members: dict[str, Member]  # the callers who are members, by role
    accounts: dict[str, Account]
    guest_token: str
    logins: dict[str, Any] = dataclasses.field(default_factory=dict)
    keyring: Any = None
    data_dir: Any = None  # the application's (stored files are written under it)

    async def caller(self, role: str) -> Any:
        """A logged-in :class:`tests.factories.Login` (or a bare client) for ``role``."""
        if role in self.logins:
            return self.logins[role]
        client = await self.make_client()
        if role == "anonymous":
            login: Any = f.Login(client, "")
        elif role == "guest":
            response = await client.get(f"/guest/{self.guest_token}", allow_redirects=False)
            assert response.status == 303, await response.text()
            login = f.Login(client, "")
        else:
            login = await f.login(client, self.db, self.accounts[role])
        self.logins[role] = login
        return login


async def build_world(db: AsyncSession, client: Any, make_client: Any) -> World:
    held = await held_meeting(db, client)
    document_id = await signed_protocol(db, client, held)
    # A second document, still to be signed: the resolution on the first item.
    secretary = await held.as_("secretary", db)
    response = await secretary.post(
        f"/meetings/{held.meeting_id}/documents",
        data={"kind": "resolution", "item": str(held.vm.setup.item_ids[0])},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    signing_id = int(response.headers["Location"].split("/")[2].split("?")[0])
    setup = held.vm.setup
    for n, person in enumerate(setup.members):  # contacts, to see who is shown them
        person.email = f"member{n}@example.org"
        person.phone = f"+7342200{n:04d}"
    organisation_id = setup.body.organisation_id
    organisation = await db.get(Organisation, organisation_id)
    assert organisation is not None
    chair = setup.actor(setup.chair)

    # The second meeting: in registration, with an item, a material, a guest and a link.
    service = MeetingService(db, chair)
    upcoming = await service.create(
        MeetingIn(
            body_id=setup.body.id,
            title="О плане работы на 2027 год",
            starts_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        )
    )
    item = await service.add_item(upcoming.id, AgendaItemIn(title="О плане работы"))
    store = BlobStore(client.server.app[SETTINGS].data_dir / "materials")
    material = await service.add_material(item.id, "План.pdf", PDF, store)
    guest = await service.add_guest(
        upcoming.id, GuestIn(name="Галайда Зоя Ивановна", affiliation="правовой инспектор")
    )
    await service.transition(upcoming.id, MeetingState.ANNOUNCED)
    await service.transition(upcoming.id, MeetingState.REGISTRATION)
    token = await service.guest_link(upcoming.id, guest.id)

    # Two elections in draft: one on the upcoming meeting's item, with a candidate, and
    # one of the presidium between meetings.
    elections = ElectionService(db, chair, client.server.app[KEYRING])
    election = await elections.create_on_item(
        upcoming.id, ElectionIn(item_id=item.id, office="председатель")
    )
    candidate = await elections.nominate(
        election.id, CandidateIn(name="Кандидатова Анна", nominated_by="самовыдвижение")
    )
    absentee = await elections.create_absentee(
        AbsenteeElectionIn(
            body_id=setup.body.id,
            office="заместитель председателя",
            closes_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=5),
        )
    )

    outsider_org = await f.org(db, "Посторонняя организация")
    outsider = await f.member(db, outsider_org, "Посторонний", email="outsider@example.org")
    people = {
        "registrar": await f.member(db, organisation, "Регистраторова", email="reg@example.org"),
        "auditor": await f.member(db, organisation, "Ревизорова", email="aud@example.org"),
        "unseated": await f.member(db, organisation, "Бесместный", email="free@example.org"),
        "chair": setup.chair,
        "secretary": setup.secretary,
        "seated": setup.members[2],
    }
    accounts = {
        "registrar": await f.account(
            db, Role.REGISTRAR, Role.MEMBER, member_obj=people["registrar"]
        ),
        "auditor": await f.account(db, Role.AUDITOR, Role.MEMBER, member_obj=people["auditor"]),
        "unseated": await f.account(db, Role.MEMBER, member_obj=people["unseated"]),
    }
    for role in ("chair", "secretary", "seated"):
        found = await db.scalar(select(Account).where(Account.member_id == people[role].id))
        assert found is not None
        accounts[role] = found
    # The officers hold the application roles of their office, as the demo gives them.
    db.add(AccountRole(account_id=accounts["chair"].id, role=Role.CHAIR))
    db.add(AccountRole(account_id=accounts["secretary"].id, role=Role.SECRETARY))
    await db.flush()
    seat = await db.scalar(
        select(Seat.id).where(Seat.body_id == setup.body.id, Seat.member_id == people["seated"].id)
    )
    notice = await db.scalar(
        select(Notice.id).where(Notice.member_id == people["seated"].id).order_by(Notice.id)
    )
    serial = await db.scalar(
        select(DeviceKey.serial).where(DeviceKey.member_id == people["seated"].id)
    )
    document = await db.get(Document, document_id)
    assert document is not None
    ids = {
        "org": organisation_id,
        "outsider_org": outsider_org.id,
        "outsider": outsider.id,
        "body": setup.body.id,
        "seat": seat or 0,
        "held": held.meeting_id,
        "meeting": upcoming.id,
        "item": item.id,
        "held_item": setup.item_ids[0],
        "material": material.id,
        "guest": guest.id,
        "notice": notice or 0,
        "vote": int(held.vote["vote"]),
        "document": document_id,
        "signing": signing_id,
        "serial": serial or 0,
        "election": election.id,
        "candidate": candidate.id,
        "absentee_election": absentee.id,
    }
    ids |= {f"member:{role}": m.id for role, m in people.items()}
    ids |= {f"account:{role}": a.id for role, a in accounts.items()}
    await db.commit()
    return World(db, make_client, ids, people, accounts, token)


def make_client_factory(server: Any, aiohttp_client: Any) -> Callable[[], Awaitable[Any]]:
    async def make() -> Any:
        jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
        return await aiohttp_client(server, cookie_jar=jar)

    return make
