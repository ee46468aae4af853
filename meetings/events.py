"""The meeting's event log: append with the next sequence number, read after a number.

Appending locks the meeting row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serialises writers), so numbers have no gaps and no repeats, and
a client that saw ``seq`` N resumes exactly at N + 1.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.models import Meeting, MeetingEvent
from registry.orm import utcnow

__all__ = ["EVENT_VERSION", "append_event", "event_json", "events_after", "take_pending"]

EVENT_VERSION = 1
MAX_BACKLOG = 5000


async def append_event(
    session: AsyncSession,
    meeting_id: int,
    kind: str,
    data: Mapping[str, object],
    *,
    actor: str = "",
) -> MeetingEvent:
    meeting = await session.scalar(
        select(Meeting).where(Meeting.id == meeting_id).with_for_update()
    )
    if meeting is None:
        raise LookupError(f"meeting {meeting_id} does not exist")
    meeting.last_seq += 1
    event = MeetingEvent(
        meeting_id=meeting_id,
        seq=meeting.last_seq,
        at=utcnow(),
        kind=kind,
        actor=actor,
        data=json.dumps(dict(data), ensure_ascii=False, separators=(",", ":"), default=str),
    )
    session.add(event)
    await session.flush()
    pending = session.info.setdefault("meeting_events", [])
    pending.append(event)
    return event


def event_json(event: MeetingEvent) -> dict[str, object]:
    """The wire form: ``{"v", "meeting", "seq", "at", "kind", "actor", "data"}``."""
    return {
        "v": EVENT_VERSION,
        "meeting": event.meeting_id,
        "seq": event.seq,
        "at": event.at.isoformat().replace("+00:00", "Z"),
        "kind": event.kind,
        "actor": event.actor,
        "data": json.loads(event.data),
    }


async def events_after(
    session: AsyncSession, meeting_id: int, after: int, limit: int = MAX_BACKLOG
) -> Sequence[MeetingEvent]:
    rows = await session.scalars(
        select(MeetingEvent)
        .where(MeetingEvent.meeting_id == meeting_id, MeetingEvent.seq > after)
        .order_by(MeetingEvent.seq)
        .limit(limit)
    )
    return rows.all()


def take_pending(session: AsyncSession) -> list[MeetingEvent]:
    """Events appended in this session's transaction, to publish after it commits."""
    pending: list[MeetingEvent] = session.info.pop("meeting_events", [])
    return pending
