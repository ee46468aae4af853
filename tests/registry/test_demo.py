"""The demo organisation: seeded through the services, complete, and idempotent."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from registry.actor import Actor
from registry.bodies import BodyService
from registry.demo import DEMO_ROOT_NAME, DemoPeople, seed_demo
from registry.models import (
    AccessLogEntry,
    Body,
    BodyKind,
    Member,
    Organisation,
    OrgKind,
    Seat,
    SeatRole,
)
from registry.schemas import MemberIn
from server.database import create_engine, upgrade

TODAY = dt.date(2026, 11, 24)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Sessions]:
    # Local until tests/conftest.py grows shared database fixtures.
    url = f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}"
    # Alembic's env runs its own event loop: keep it off this one.
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


async def _seed(sessions: Sessions, today: dt.date = TODAY) -> tuple[DemoPeople, bool]:
    async with sessions() as session, session.begin():
        return await seed_demo(session, today=today)


async def _counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for table in (Organisation, Member, Body, Seat, AccessLogEntry):
        counts[table.__name__] = await session.scalar(select(func.count()).select_from(table)) or 0
    return counts


async def test_seed_creates_tree_members_and_bodies(sessions: Sessions) -> None:
    people, created = await _seed(sessions)

    assert created
    async with sessions() as session:
        counts = await _counts(session)
        assert counts["Member"] >= 55
        assert counts["Organisation"] == 11
        root = await session.get(Organisation, people.root_id)
        assert root is not None
        assert (root.name, root.kind, root.parent_id) == (
            DEMO_ROOT_NAME,
            OrgKind.REGIONAL_COUNCIL,
            None,
        )
        member_orgs = (
            await session.scalars(
                select(Organisation.short_name).where(Organisation.parent_id == root.id)
            )
        ).all()
        assert sorted(member_orgs) == [
            "Пермская краевая организация Профавиа",
            "Пермская краевая организация Профсоюза образования",
            "Пермская краевая организация Профсоюза работников АПК",
        ]

        chair = await session.get(Member, people.chair_member_id)
        assert chair is not None
        assert chair.full_name == "Иванов Михаил Геннадьевич"
        assert chair.short_name == "Иванов М. Г."
        registrar = await session.get(Member, people.registrar_member_id)
        assert registrar is not None
        assert registrar.organisation_id == people.root_id
        registrar_seats = await session.scalar(
            select(func.count()).select_from(Seat).where(Seat.member_id == registrar.id)
        )
        assert registrar_seats == 0


async def test_presidium_on_today_has_eleven_with_ivanov_in_the_chair(sessions: Sessions) -> None:
    people, _ = await _seed(sessions)

    async with sessions() as session:
        bodies = BodyService(session, Actor.system("test"))
        presidium = await bodies.composition(people.presidium_id, TODAY)
        assert presidium.size == 11
        assert presidium.quorum_required == 6
        by_role = {s.role: s for s in presidium.seats if s.role is not SeatRole.MEMBER}
        assert by_role[SeatRole.CHAIR].member_id == people.chair_member_id
        assert by_role[SeatRole.SECRETARY].member_id == people.secretary_member_id
        assert SeatRole.DEPUTY_CHAIR in by_role
        names = {s.member_name for s in presidium.seats}
        assert {
            "Галайда Зинаида Ивановна",
            "Эмир-Вели Сейран Рустемович",
            "Шалаев Владимир Васильевич",
        } <= names
        assert people.member_member_id in {
            s.member_id for s in presidium.seats if s.role is SeatRole.MEMBER
        }

        council = await bodies.composition(people.council_id, TODAY)
        assert council.size == 25
        assert [s.member_id for s in council.seats if s.role is SeatRole.CHAIR] == [
            people.chair_member_id
        ]

        # The previous term is history: in force in 2023, not today.
        history = await bodies.history(people.presidium_id)
        assert len(history) > presidium.size
        earlier = await bodies.composition(people.presidium_id, dt.date(2023, 3, 23))
        assert earlier.size == 6
        assert "Лыкова Галина Фёдоровна" in {s.member_name for s in earlier.seats}


async def test_every_body_is_in_force_today(sessions: Sessions) -> None:
    people, _ = await _seed(sessions)

    async with sessions() as session:
        bodies = BodyService(session, Actor.system("test"))
        sizes = {}
        for body in await bodies.find():
            composition = await bodies.composition(body.id, TODAY)
            open_seats = await session.scalar(
                select(func.count())
                .select_from(Seat)
                .where(Seat.body_id == body.id, Seat.term_end.is_(None))
            )
            assert composition.size == open_seats
            sizes[body.kind, body.organisation_id == people.root_id] = composition.size
            chairs = [s for s in composition.seats if s.role is SeatRole.CHAIR]
            assert len(chairs) == 1, body.name
        assert sizes == {
            (BodyKind.COUNCIL, True): 25,
            (BodyKind.PRESIDIUM, True): 11,
            (BodyKind.AUDIT_COMMISSION, True): 5,
            (BodyKind.YOUTH_COUNCIL, True): 7,
            (BodyKind.PRESIDIUM, False): 7,
        }

        auditor_bodies = (
            await session.scalars(
                select(Body.kind)
                .join(Seat, Seat.body_id == Body.id)
                .where(Seat.member_id == people.auditor_member_id)
            )
        ).all()
        assert auditor_bodies == [BodyKind.AUDIT_COMMISSION]


async def test_second_run_creates_nothing_and_returns_the_same_ids(sessions: Sessions) -> None:
    first, created_first = await _seed(sessions)
    async with sessions() as session:
        before = await _counts(session)

    second, created_second = await _seed(sessions, TODAY + dt.timedelta(days=30))

    assert (created_first, created_second) == (True, False)
    assert second == first
    async with sessions() as session:
        assert await _counts(session) == before


async def test_members_pass_validation_and_contacts_are_unique(sessions: Sessions) -> None:
    await _seed(sessions)

    async with sessions() as session:
        members = (await session.scalars(select(Member))).all()
    for m in members:
        # Stored values are already in their normalised form: validating them again
        # changes nothing.
        again = MemberIn(
            organisation_id=m.organisation_id,
            surname=m.surname,
            name=m.name,
            patronymic=m.patronymic,
            card_number=m.card_number,
            position=m.position,
            email=m.email,
            phone=m.phone,
            joined_on=m.joined_on,
        )
        assert (again.surname, again.name, again.patronymic, again.email, again.phone) == (
            m.surname,
            m.name,
            m.patronymic,
            m.email,
            m.phone,
        )
        assert m.email.endswith(("@example.ru", "@example.org"))
        assert m.phone.startswith(("+7342", "+79"))
        assert m.joined_on is not None
        assert dt.date(1995, 1, 1) <= m.joined_on <= dt.date(2022, 12, 31)
    assert len({m.card_number for m in members}) == len(members)
    assert len({m.email for m in members}) == len(members)
    assert len({m.phone for m in members}) == len(members)


async def test_an_early_today_moves_the_terms_back(sessions: Sessions) -> None:
    today = dt.date(2024, 6, 1)
    people, _ = await _seed(sessions, today)

    async with sessions() as session:
        bodies = BodyService(session, Actor.system("test"))
        presidium = await bodies.composition(people.presidium_id, today)
        assert presidium.size == 11
        assert all(s.term_start <= today for s in presidium.seats)
