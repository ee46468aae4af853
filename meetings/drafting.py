"""Drafts of a meeting's documents, assembled from its record in the database.

What a document says is :mod:`meetings.documents`; this module reads the meeting, its
body and organisation, the item and the people, and hands them over.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from meetings.documents import Resolution, resolution
from meetings.models import AgendaItem, Meeting
from meetings.preparation import MeetingService
from registry.actor import Actor
from registry.errors import NotFound
from registry.models import Body, Member, Organisation

__all__ = ["initials", "item_resolution"]


def initials(full_name: str) -> str:
    """«Иванов Михаил Геннадьевич» → «М. Г. Иванов», as a signature is typed."""
    parts = full_name.split()
    if len(parts) < 2:
        return full_name.strip()
    return " ".join([*(f"{p[0]}." for p in parts[1:]), parts[0]])


async def item_resolution(
    session: AsyncSession, actor: Actor, meeting_id: int, item_id: int
) -> Resolution:
    """The resolution of one agenda item, as far as the record holds it now."""
    meeting, _roles = await MeetingService(session, actor).get(meeting_id)
    item = await session.get(AgendaItem, item_id)
    if item is None or item.meeting_id != meeting.id:
        raise NotFound("no such agenda item in this meeting")
    body = await session.get(Body, meeting.body_id)
    assert body is not None
    org = await session.get(Organisation, body.organisation_id)
    assert org is not None
    chair = await session.get(Member, meeting.chair_member_id) if meeting.chair_member_id else None
    return resolution(
        organisation=org.name,
        short_name=org.short_name,
        body=body.name,
        date=_local_date(meeting),
        city=org.city,
        meeting=meeting.number,
        item=item.position,
        title=item.title,
        draft=item.draft_resolution,
        decision=item.decision,
        signature_title=("Председатель", body.name),
        signer=initials(chair.full_name) if chair else "",
    )


def _local_date(meeting: Meeting) -> dt.date:
    return meeting.local_start.date()
