"""Who may enter a meeting's video room: its roster, read from the registry, and the
guests invited to it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.access import roles_in
from meetings.models import Guest, Meeting, MeetingState
from meetings.sfu import Identity
from registry.actor import Actor
from registry.errors import Conflict, NotFound
from registry.models import Member

__all__ = ["member_identity"]


async def member_identity(session: AsyncSession, meeting_id: int, actor: Actor) -> Identity | None:
    """The caller as the video room knows them, or None if they are not on the roster
    (the chair, the secretary and the members of the body that day; auditors and the
    registrar may follow the meeting but not sit in it). A guest come in through their
    link is known as ``g<guest id>`` (the room keeps every guest in its lobby until
    the chair admits them)."""
    meeting = await session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound("no such meeting")
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
