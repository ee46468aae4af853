"""The live meeting on a real database: presence, quorum, the floor, the record."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.events import events_after
from meetings.models import MeetingEvent
from meetings.room import RoomService
from meetings.schemas import NotesIn
from registry.errors import Conflict, NotFound, PermissionDenied
from tests import factories as f


async def kinds(db: AsyncSession, meeting_id: int, after: int = 0) -> list[str]:
    return [e.kind for e in await events_after(db, meeting_id, after)]


async def test_presence_counts_once_and_quorum_flips(db: AsyncSession) -> None:
    setup = await f.meeting(db, size=5)
    start = (await events_after(db, setup.meeting_id, 0))[-1].seq
    # Three of five arrive: quorum (more than half) is reached on the third.
    for person in setup.members[:3]:
        room = RoomService(db, setup.actor(person))
        assert await room.connect(setup.meeting_id) is True
    # A second tab of the same member changes nothing.
    assert await RoomService(db, setup.actor(setup.members[0])).connect(setup.meeting_id) is False
    await db.commit()
    events = await events_after(db, setup.meeting_id, start)
    assert [e.kind for e in events] == ["presence.arrived", "quorum"] * 3
    quorum = [json.loads(e.data) for e in events if e.kind == "quorum"]
    assert [(q["present"], q["met"], q["changed"]) for q in quorum] == [
        (1, False, False),
        (2, False, False),
        (3, True, True),
    ]
    seqs = [e.seq for e in events]
    assert seqs == list(range(start + 1, start + 7))

    # One tab of member 0 closes: still present. The other closes: gone after expiry.
    room0 = RoomService(db, setup.actor(setup.members[0]))
    assert await room0.disconnect(setup.meeting_id, setup.members[0].id) == 1
    assert await room0.disconnect(setup.meeting_id, setup.members[0].id) == 0
    assert await room0.expire(setup.meeting_id, setup.members[0].id) is True
    await db.commit()
    last = [json.loads(e.data) for e in await events_after(db, setup.meeting_id, start + 6)]
    assert last[0]["member"] == setup.members[0].id
    assert last[1]["met"] is False
    assert last[1]["changed"] is True


async def test_reconnect_within_grace_records_no_departure(db: AsyncSession) -> None:
    setup = await f.meeting(db)
    room = RoomService(db, setup.actor(setup.members[2]))
    await room.connect(setup.meeting_id)
    await room.disconnect(setup.meeting_id, setup.members[2].id)
    await room.connect(setup.meeting_id)  # back before the grace period ended
    assert await room.expire(setup.meeting_id, setup.members[2].id) is False
    await db.commit()
    assert "presence.left" not in await kinds(db, setup.meeting_id)


async def test_in_person_registration_by_the_secretary(db: AsyncSession) -> None:
    setup = await f.meeting(db)
    secretary = RoomService(db, setup.actor(setup.secretary))
    assert await secretary.register_in_person(setup.meeting_id, setup.members[3].id, True)
    with pytest.raises(PermissionDenied):
        await RoomService(db, setup.actor(setup.members[4])).register_in_person(
            setup.meeting_id, setup.members[3].id, True
        )
    snapshot = await secretary.snapshot(setup.meeting_id)
    row = next(p for p in snapshot["people"] if p["member"] == setup.members[3].id)
    assert row["in_person"] is True
    assert snapshot["quorum"]["present"] == 1


async def test_floor_and_agenda(db: AsyncSession) -> None:
    setup = await f.meeting(db)
    member = RoomService(db, setup.actor(setup.members[3]))
    chair = RoomService(db, setup.actor(setup.chair))
    request = await member.raise_hand(setup.meeting_id)
    assert (await member.raise_hand(setup.meeting_id)).id == request.id  # one hand each
    with pytest.raises(PermissionDenied):
        await member.give_floor(setup.meeting_id, request.id)
    granted = await chair.give_floor(setup.meeting_id, request.id, seconds=120)
    assert granted.ends_at is not None
    await chair.take_floor(setup.meeting_id)
    await chair.set_current_item(setup.meeting_id, setup.item_ids[1])
    with pytest.raises(NotFound):
        await chair.set_current_item(setup.meeting_id, 10**6)
    await RoomService(db, setup.actor(setup.secretary)).update_notes(
        setup.meeting_id, setup.item_ids[1], NotesIn(speeches="Иванов М. Г.", decision="Принять")
    )
    await db.commit()
    recorded = await kinds(db, setup.meeting_id)
    assert [k for k in recorded if k.startswith("floor") or k == "agenda.current"] == [
        "floor.raised",
        "floor.granted",
        "floor.ended",
        "agenda.current",
    ]


async def test_no_vote_without_quorum(db: AsyncSession) -> None:
    setup = await f.meeting(db, size=5)
    chair = RoomService(db, setup.actor(setup.chair))
    with pytest.raises(Conflict, match="no quorum: 0 of 5 present, 3 needed"):
        await chair.require_quorum(setup.meeting_id)
    for person in setup.members[:3]:
        await RoomService(db, setup.actor(person)).connect(setup.meeting_id)
    status = await chair.require_quorum(setup.meeting_id)
    assert status.met


async def test_outsiders_cannot_see_the_room(db: AsyncSession) -> None:
    setup = await f.meeting(db)
    root = await f.org(db, "Другой союз")
    stranger = await f.member(db, root)
    with pytest.raises(NotFound):
        await RoomService(db, setup.actor(stranger)).snapshot(setup.meeting_id)


async def test_the_event_log_is_append_only(db: AsyncSession) -> None:
    setup = await f.meeting(db)
    with pytest.raises(DBAPIError, match="append-only"):
        await db.execute(text("UPDATE meeting_event SET kind = 'x'"))
    await db.rollback()
    assert await db.scalar(select(MeetingEvent).limit(1)) is not None
    assert setup.meeting_id
