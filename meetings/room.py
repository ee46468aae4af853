"""The live meeting: presence, the quorum, the floor, the agenda pointer, the secretary's
notes. Every change is appended to the meeting's event log in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.access import MeetingRoles, composition_ids, roles_in
from meetings.events import append_event
from meetings.models import (
    AgendaItem,
    FloorRequest,
    FloorState,
    Meeting,
    MeetingState,
    Presence,
)
from meetings.quorum import QuorumStatus, quorum_status
from meetings.schemas import NotesIn
from registry.actor import Actor
from registry.errors import Conflict, NotFound, PermissionDenied
from registry.models import Body, Member
from registry.orm import utcnow
from registry.quorum import QuorumRule

__all__ = ["RoomService", "item_rule"]

LIVE = (MeetingState.REGISTRATION, MeetingState.IN_SESSION)


def item_rule(body: Body, item: AgendaItem | None) -> QuorumRule:
    """The item's stricter rule if the charter sets one, else the body's."""
    if item is not None and item.quorum_numerator and item.quorum_denominator:
        return QuorumRule(item.quorum_numerator, item.quorum_denominator, bool(item.quorum_strict))
    return QuorumRule(body.quorum_numerator, body.quorum_denominator, body.quorum_strict)


class RoomService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def _meeting(self, meeting_id: int) -> tuple[Meeting, MeetingRoles]:
        meeting = await self.session.get(Meeting, meeting_id)
        if meeting is None:
            raise NotFound("no such meeting", key="no_meeting")
        roles = await roles_in(self.session, meeting, self.actor)
        roles.require_view()
        return meeting, roles

    # --- the picture everyone sees --------------------------------------------------------

    async def quorum(self, meeting: Meeting, item_id: int | None = None) -> QuorumStatus:
        body = await self.session.get(Body, meeting.body_id)
        assert body is not None
        item_id = item_id or meeting.current_item_id
        item = await self.session.get(AgendaItem, item_id) if item_id else None
        present = (
            await self.session.scalars(
                select(Presence.member_id).where(
                    Presence.meeting_id == meeting.id,
                    (Presence.online.is_(True)) | (Presence.in_person.is_(True)),
                )
            )
        ).all()
        return quorum_status(
            await composition_ids(self.session, meeting), present, item_rule(body, item)
        )

    async def snapshot(self, meeting_id: int) -> dict[str, Any]:
        """The whole live state, sent to a client when it (re)joins."""
        meeting, roles = await self._meeting(meeting_id)
        composition = await composition_ids(self.session, meeting)
        rows = (
            await self.session.scalars(select(Presence).where(Presence.meeting_id == meeting.id))
        ).all()
        by_member = {p.member_id: p for p in rows}
        people = (
            await self.session.scalars(
                select(Member).where(Member.id.in_(composition | set(by_member)))
            )
        ).all()
        queue = (
            await self.session.scalars(
                select(FloorRequest)
                .where(
                    FloorRequest.meeting_id == meeting.id,
                    FloorRequest.state != FloorState.DONE,
                )
                .order_by(FloorRequest.raised_at, FloorRequest.id)
            )
        ).all()
        names = {m.id: m.full_name for m in people}
        notes: dict[str, dict[str, str]] = {}
        if roles.is_secretary or roles.is_chair:
            # What the secretary saved, so the notes form shows it again after a reload.
            items = await self.session.scalars(
                select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
            )
            notes = {
                str(item.id): {"speeches": item.speeches or "", "decision": item.decision or ""}
                for item in items
            }
        return {
            "meeting": meeting.id,
            "seq": meeting.last_seq,
            "state": meeting.state.value,
            "current_item": meeting.current_item_id,
            "speaking_seconds": meeting.speaking_seconds,
            "quorum": (await self.quorum(meeting)).to_json(),
            "you": {"member": self.actor.member_id, "roles": sorted(roles.names)},
            "people": [
                {
                    "member": m.id,
                    "name": m.full_name,
                    "in_body": m.id in composition,
                    "online": bool(by_member.get(m.id) and by_member[m.id].online),
                    "in_person": bool(by_member.get(m.id) and by_member[m.id].in_person),
                }
                for m in sorted(people, key=lambda m: m.full_name)
            ],
            "floor": [self._floor_json(r, names) for r in queue],
            "notes": notes,
        }

    # --- presence -------------------------------------------------------------------------

    async def connect(self, meeting_id: int) -> bool:
        """A connection of the caller opened; True if that made them present."""
        meeting, _roles = await self._meeting(meeting_id)
        if self.actor.member_id is None:
            return False
        row = await self._presence(meeting.id, self.actor.member_id)
        row.connections += 1
        if row.online:
            return False
        return await self._set(meeting, row, online=True, mode="online")

    async def disconnect(self, meeting_id: int, member_id: int) -> int:
        """A connection closed; returns how many the member still has."""
        row = await self.session.get(Presence, (meeting_id, member_id), with_for_update=True)
        if row is None:
            return 0
        row.connections = max(0, row.connections - 1)
        return row.connections

    async def expire(self, meeting_id: int, member_id: int) -> bool:
        """After the grace period: still no connection → the member left online."""
        meeting = await self.session.get(Meeting, meeting_id)
        row = await self.session.get(Presence, (meeting_id, member_id), with_for_update=True)
        if meeting is None or row is None or row.connections > 0 or not row.online:
            return False
        return await self._set(meeting, row, online=False, mode="online")

    async def register_in_person(self, meeting_id: int, member_id: int, present: bool) -> bool:
        """The secretary marks a member present (or gone) in the hall."""
        meeting, roles = await self._meeting(meeting_id)
        roles.require_secretary()
        if meeting.state not in LIVE:
            raise Conflict("registration is not open for this meeting", key="registration_closed")
        if await self.session.get(Member, member_id) is None:
            raise NotFound("no such member", key="no_member")
        row = await self._presence(meeting.id, member_id)
        if row.in_person == present:
            return False
        return await self._set(meeting, row, in_person=present, mode="in_person")

    async def _presence(self, meeting_id: int, member_id: int) -> Presence:
        row = await self.session.get(Presence, (meeting_id, member_id), with_for_update=True)
        if row is None:
            row = Presence(
                meeting_id=meeting_id,
                member_id=member_id,
                connections=0,
                online=False,
                in_person=False,
            )
            self.session.add(row)
            await self.session.flush()
        return row

    async def _set(self, meeting: Meeting, row: Presence, *, mode: str, **values: bool) -> bool:
        before_present = row.present
        before = await self.quorum(meeting)
        for name, value in values.items():
            setattr(row, name, value)
        await self.session.flush()
        if row.present == before_present:
            return False
        member = await self.session.get(Member, row.member_id)
        row.since = utcnow()
        kind = "presence.arrived" if row.present else "presence.left"
        await append_event(
            self.session,
            meeting.id,
            kind,
            {"member": row.member_id, "name": member.full_name if member else "", "mode": mode},
            actor=self.actor.display_name,
        )
        after = await self.quorum(meeting)
        await append_event(
            self.session,
            meeting.id,
            "quorum",
            after.to_json() | {"item": meeting.current_item_id, "changed": after.met != before.met},
        )
        return True

    # --- the floor ------------------------------------------------------------------------

    async def raise_hand(self, meeting_id: int) -> FloorRequest:
        meeting, roles = await self._meeting(meeting_id)
        self._require_session(meeting)
        if self.actor.member_id is None or not (
            roles.is_member or roles.is_chair or roles.is_secretary
        ):
            raise PermissionDenied(
                "only participants of the meeting may ask for the floor", key="not_participant"
            )
        open_request = await self.session.scalar(
            select(FloorRequest).where(
                FloorRequest.meeting_id == meeting.id,
                FloorRequest.member_id == self.actor.member_id,
                FloorRequest.state != FloorState.DONE,
            )
        )
        if open_request is not None:
            return open_request
        request = FloorRequest(
            meeting_id=meeting.id, member_id=self.actor.member_id, item_id=meeting.current_item_id
        )
        self.session.add(request)
        await self.session.flush()
        await append_event(
            self.session,
            meeting.id,
            "floor.raised",
            {"request": request.id, "member": request.member_id, "name": self.actor.display_name},
            actor=self.actor.display_name,
        )
        return request

    async def lower_hand(self, meeting_id: int) -> None:
        meeting, _roles = await self._meeting(meeting_id)
        request = await self.session.scalar(
            select(FloorRequest).where(
                FloorRequest.meeting_id == meeting.id,
                FloorRequest.member_id == self.actor.member_id,
                FloorRequest.state == FloorState.WAITING,
            )
        )
        if request is None:
            return
        request.state = FloorState.DONE
        request.finished_at = utcnow()
        await append_event(
            self.session,
            meeting.id,
            "floor.lowered",
            {"request": request.id, "member": request.member_id},
            actor=self.actor.display_name,
        )

    async def give_floor(
        self, meeting_id: int, request_id: int, seconds: int | None = None
    ) -> FloorRequest:
        meeting, roles = await self._meeting(meeting_id)
        roles.require_chair()
        self._require_session(meeting)
        request = await self.session.get(FloorRequest, request_id)
        if request is None or request.meeting_id != meeting.id or request.state is FloorState.DONE:
            raise NotFound("no such request for the floor", key="no_floor_request")
        await self._end_speech(meeting)  # one speaker at a time
        now = utcnow()
        request.state = FloorState.SPEAKING
        request.granted_at = now
        request.ends_at = now + dt.timedelta(seconds=seconds or meeting.speaking_seconds)
        member = await self.session.get(Member, request.member_id) if request.member_id else None
        await append_event(
            self.session,
            meeting.id,
            "floor.granted",
            {
                "request": request.id,
                "member": request.member_id,
                "name": member.full_name if member else "",
                "ends_at": request.ends_at.isoformat().replace("+00:00", "Z"),
            },
            actor=self.actor.display_name,
        )
        return request

    async def take_floor(self, meeting_id: int) -> None:
        meeting, roles = await self._meeting(meeting_id)
        roles.require_chair()
        await self._end_speech(meeting)

    async def _end_speech(self, meeting: Meeting) -> None:
        speaking = (
            await self.session.scalars(
                select(FloorRequest).where(
                    FloorRequest.meeting_id == meeting.id,
                    FloorRequest.state == FloorState.SPEAKING,
                )
            )
        ).all()
        for request in speaking:
            request.state = FloorState.DONE
            request.finished_at = utcnow()
            await append_event(
                self.session,
                meeting.id,
                "floor.ended",
                {"request": request.id, "member": request.member_id},
                actor=self.actor.display_name,
            )

    # --- agenda and notes -----------------------------------------------------------------

    async def set_current_item(self, meeting_id: int, item_id: int) -> None:
        meeting, roles = await self._meeting(meeting_id)
        roles.require_chair()
        self._require_session(meeting)
        item = await self.session.get(AgendaItem, item_id)
        if item is None or item.meeting_id != meeting.id:
            raise NotFound("no such agenda item in this meeting", key="no_item")
        meeting.current_item_id = item.id
        await self.session.flush()
        await append_event(
            self.session,
            meeting.id,
            "agenda.current",
            {"item": item.id, "position": item.position, "title": item.title},
            actor=self.actor.display_name,
        )
        status = await self.quorum(meeting)
        await append_event(
            self.session,
            meeting.id,
            "quorum",
            status.to_json() | {"item": item.id, "changed": False},
        )

    async def update_notes(self, meeting_id: int, item_id: int, data: NotesIn) -> AgendaItem:
        meeting, roles = await self._meeting(meeting_id)
        roles.require_secretary()
        item = await self.session.get(AgendaItem, item_id)
        if item is None or item.meeting_id != meeting.id:
            raise NotFound("no such agenda item in this meeting", key="no_item")
        if meeting.state is MeetingState.CLOSED:
            raise Conflict(
                "the meeting is closed: its record can no longer be changed", key="meeting_closed"
            )
        if data.speeches is not None:
            item.speeches = data.speeches
        if data.decision is not None:
            item.decision = data.decision
        await self.session.flush()
        await append_event(
            self.session, meeting.id, "item.notes", {"item": item.id}, actor=self.actor.display_name
        )
        return item

    async def require_quorum(self, meeting_id: int, item_id: int | None = None) -> QuorumStatus:
        """For opening a vote: refuse unless the body can decide on this item now."""
        meeting, _roles = await self._meeting(meeting_id)
        status = await self.quorum(meeting, item_id)
        if not status.met:
            raise Conflict(
                f"no quorum: {status.present} of {status.composition} present, "
                f"{status.required} needed",
                code="no_quorum",
                params={
                    "present": status.present,
                    "composition": status.composition,
                    "required": status.required,
                },
            )
        return status

    # --- helpers --------------------------------------------------------------------------

    @staticmethod
    def _require_session(meeting: Meeting) -> None:
        if meeting.state is not MeetingState.IN_SESSION:
            raise Conflict("the meeting is not in session", key="not_in_session")

    @staticmethod
    def _floor_json(request: FloorRequest, names: dict[int, str]) -> dict[str, Any]:
        return {
            "request": request.id,
            "member": request.member_id,
            "name": names.get(request.member_id or 0, ""),
            "state": request.state.value,
            "ends_at": request.ends_at.isoformat().replace("+00:00", "Z")
            if request.ends_at
            else None,
        }
