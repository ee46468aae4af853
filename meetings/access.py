"""Who a caller is to a meeting: its chair, its secretary, a member of the body, an
auditor, the registrar or an invited guest — and what that lets them do."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.models import Meeting
from registry.actor import Actor
from registry.errors import NotFound, PermissionDenied
from registry.members import current_seat_clause
from registry.models import Role, Seat, SeatRole

__all__ = [
    "OFFICER_SEATS",
    "MeetingRoles",
    "composition_ids",
    "is_body_officer",
    "meeting_date",
    "roles_in",
]

#: The seats that convene a body's meetings and call its votes.
OFFICER_SEATS = (SeatRole.CHAIR, SeatRole.DEPUTY_CHAIR, SeatRole.SECRETARY)


def meeting_date(meeting: Meeting) -> dt.date:
    """The day of the meeting where it is held (its composition is that day's)."""
    return meeting.local_start.date()


async def composition_ids(session: AsyncSession, meeting: Meeting) -> set[int]:
    """Members of the body on the meeting date: who counts for the quorum."""
    rows = await session.scalars(
        select(Seat.member_id).where(
            Seat.body_id == meeting.body_id, current_seat_clause(meeting_date(meeting))
        )
    )
    return set(rows.all())


async def is_body_officer(
    session: AsyncSession, member_id: int | None, body_id: int, on: dt.date
) -> bool:
    """Whether the member holds an officer's seat (chair, deputy, secretary) that day."""
    if member_id is None:
        return False
    seat = await session.scalar(
        select(Seat.id).where(
            Seat.body_id == body_id,
            Seat.member_id == member_id,
            Seat.role.in_(OFFICER_SEATS),
            current_seat_clause(on),
        )
    )
    return seat is not None


@dataclass(frozen=True)
class MeetingRoles:
    names: frozenset[str]  # chair, secretary, registrar, member, auditor, guest

    @property
    def can_view(self) -> bool:
        return bool(self.names)

    @property
    def can_prepare(self) -> bool:
        return bool(self.names & {"chair", "secretary", "registrar"})

    @property
    def is_chair(self) -> bool:
        return "chair" in self.names

    @property
    def is_secretary(self) -> bool:
        return "secretary" in self.names

    @property
    def is_member(self) -> bool:
        return "member" in self.names

    @property
    def is_guest(self) -> bool:
        return "guest" in self.names

    def require_view(self) -> None:
        if not self.can_view:
            # "not found": outsiders cannot even learn that the meeting exists.
            raise NotFound("no such meeting", key="no_meeting")

    def require_prepare(self) -> None:
        if not self.can_prepare:
            raise PermissionDenied(
                "only the meeting's chair, secretary or the registrar may", key="not_organiser"
            )

    def require_chair(self) -> None:
        if not self.is_chair:
            raise PermissionDenied("only the chair of the meeting may", key="not_chair")

    def require_secretary(self) -> None:
        if not (self.is_secretary or self.is_chair):
            raise PermissionDenied(
                "only the secretary or the chair of the meeting may", key="not_secretary"
            )


async def roles_in(session: AsyncSession, meeting: Meeting, actor: Actor) -> MeetingRoles:
    names: set[str] = set()
    if actor.has(Role.REGISTRAR):
        names.add("registrar")
    if actor.has(Role.AUDITOR):
        names.add("auditor")
    if actor.guest_meeting_id is not None and actor.guest_meeting_id == meeting.id:
        # An invited guest, let in by their link: they may follow this meeting only.
        # Every other right is a role above (prepare) or the composition (member, vote).
        names.add("guest")
    if actor.member_id is not None:
        if actor.member_id == meeting.chair_member_id:
            names.add("chair")
        if actor.member_id == meeting.secretary_member_id:
            names.add("secretary")
        if actor.member_id in await composition_ids(session, meeting):
            names.add("member")
    return MeetingRoles(frozenset(names))
