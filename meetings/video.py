"""Who may enter a meeting's video room (its roster, read from the registry, and the
guests invited to it), and what the room must remember beyond one process's memory:
who has the floor, and whom the chair removed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.access import roles_in
from meetings.events import append_event
from meetings.models import (
    FloorRequest,
    FloorState,
    Guest,
    Meeting,
    MeetingEvent,
    MeetingState,
)
from meetings.sfu import Identity
from registry.actor import Actor
from registry.errors import Conflict, NotFound
from registry.models import Member

__all__ = [
    "Moderation",
    "RoomMemory",
    "floor_key",
    "member_identity",
    "record_moderation",
    "room_memory",
]

#: The meeting record's events for the chair's decisions about the video room.
Moderation = Literal["video.removed", "video.admitted"]


async def member_identity(session: AsyncSession, meeting_id: int, actor: Actor) -> Identity | None:
    """The caller as the video room knows them, or None if they are not on the roster
    (the chair, the secretary and the members of the body that day; auditors and the
    registrar may follow the meeting but not sit in it). A guest come in through their
    link is known as ``g<guest id>`` (the room keeps every guest in its lobby until
    the chair admits them)."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("no such meeting", key="no_meeting")
    roles = await roles_in(session, meeting, actor)
    roles.require_view()
    if meeting.state is MeetingState.CLOSED:
        raise Conflict("the meeting is closed", code="meeting_closed")
    if actor.member_id is None or not (roles.is_chair or roles.is_secretary or roles.is_member):
        return await _guest_identity(session, meeting, actor) if roles.is_guest else None
    member = await session.get(Member, actor.member_id)
    assert member is not None
    return Identity(
        key=f"m{member.id}",
        name=member.full_name,
        member_id=member.id,
        chair=roles.is_chair,
        secretary=roles.is_secretary,
    )


async def _guest_identity(session: AsyncSession, meeting: Meeting, actor: Actor) -> Identity | None:
    # Read again rather than trusted from the actor: the guest may have been removed
    # from the meeting since their page opened.
    guest = await session.get(Guest, actor.guest_id) if actor.guest_id is not None else None
    if guest is None or guest.meeting_id != meeting.id:
        return None
    return Identity(key=f"g{guest.id}", name=guest.name, guest_id=guest.id)


def floor_key(request: FloorRequest) -> str | None:
    """The video room's key of whoever a request for the floor is from."""
    if request.member_id is not None:
        return f"m{request.member_id}"
    if request.guest_id is not None:
        return f"g{request.guest_id}"
    return None


@dataclass
class RoomMemory:
    """What a video room starts from when it is made again (after it emptied, or in a
    server process started anew)."""

    floor: str | None = None
    removed: set[str] = field(default_factory=set)


async def room_memory(session: AsyncSession, meeting_id: int) -> RoomMemory:
    """Who has the floor now, and whom the chair removed from the video room and has
    not admitted since, as the meeting's record says."""
    memory = RoomMemory()
    speaking = await session.scalar(
        select(FloorRequest)
        .where(FloorRequest.meeting_id == meeting_id, FloorRequest.state == FloorState.SPEAKING)
        .order_by(FloorRequest.granted_at.desc())
        .limit(1)
    )
    if speaking is not None:
        memory.floor = floor_key(speaking)
    events = await session.execute(
        select(MeetingEvent.kind, MeetingEvent.data)
        .where(
            MeetingEvent.meeting_id == meeting_id,
            MeetingEvent.kind.in_(("video.removed", "video.admitted")),
        )
        .order_by(MeetingEvent.seq)
    )
    for kind, data in events:
        key = json.loads(data or "{}").get("key")
        if not isinstance(key, str):
            continue
        if kind == "video.removed":
            memory.removed.add(key)
        else:
            memory.removed.discard(key)
    return memory


async def record_moderation(
    session: AsyncSession, meeting_id: int, kind: Moderation, who: Identity, actor: str
) -> None:
    """Put the chair's removal or admission of someone in the meeting's record."""
    data: dict[str, object] = {"key": who.key, "name": who.name}
    if who.member_id is not None:
        data["member"] = who.member_id
    if who.guest_id is not None:
        data["guest"] = who.guest_id
    await append_event(session, meeting_id, kind, data, actor=actor)
