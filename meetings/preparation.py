"""Preparing a meeting: the record, the agenda and its materials, guests, and moving the
meeting through its life (announcing sends every member of the body a notice)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.access import MeetingRoles, composition_ids, is_body_officer, roles_in
from meetings.blobs import BlobStore, clean_filename
from meetings.events import append_event
from meetings.lifecycle import check_transition
from meetings.models import (
    AgendaItem,
    Guest,
    Material,
    Meeting,
    MeetingState,
    Notice,
)
from meetings.schemas import (
    AgendaItemIn,
    AgendaItemOut,
    AgendaItemPatch,
    GuestIn,
    GuestOut,
    MeetingIn,
    MeetingOut,
    MeetingPatch,
)
from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.localtime import LocalClock
from registry.members import current_seat_clause
from registry.models import Body, Member, Role, Seat, SeatRole
from registry.orm import utcnow

__all__ = ["Announcement", "MeetingService"]

EDITABLE = (MeetingState.DRAFT, MeetingState.ANNOUNCED, MeetingState.REGISTRATION)
_STAMP = {
    MeetingState.ANNOUNCED: "announced_at",
    MeetingState.REGISTRATION: "registration_at",
    MeetingState.IN_SESSION: "started_at",
    MeetingState.CLOSED: "closed_at",
}


# Longer than any token guest_link makes (43 characters): anything past it is not one.
_GUEST_TOKEN_MAX = 64


def _guest_token_hash(token: str) -> str:
    """How a guest's link token is stored: the hex of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Announcement:
    """Who must be told that a meeting was announced (the server sends the mail)."""

    meeting_id: int
    recipients: tuple[tuple[int, str, str], ...]  # (member id, full name, e-mail)


class MeetingService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    # --- reading --------------------------------------------------------------------------

    async def get(self, meeting_id: int) -> tuple[Meeting, MeetingRoles]:
        meeting = await self.session.get(Meeting, meeting_id, populate_existing=True)
        if meeting is None:
            raise NotFound("no such meeting", key="no_meeting")
        await self.session.refresh(meeting, ["items"])
        roles = await roles_in(self.session, meeting, self.actor)
        roles.require_view()
        return meeting, roles

    async def item(self, meeting: Meeting, item_id: int) -> AgendaItem:
        """An agenda item of this meeting (another meeting's item is "not found")."""
        item = await self.session.get(AgendaItem, item_id)
        if item is None or item.meeting_id != meeting.id:
            raise NotFound("no such agenda item in this meeting", key="no_item")
        return item

    async def visible(self, body_id: int | None = None) -> list[Meeting]:
        """Meetings the caller may see, newest first."""
        stmt = select(Meeting).order_by(Meeting.starts_at.desc())
        if body_id is not None:
            stmt = stmt.where(Meeting.body_id == body_id)
        meetings = (await self.session.scalars(stmt)).all()
        return [m for m in meetings if (await roles_in(self.session, m, self.actor)).can_view]

    async def out(self, meeting: Meeting) -> MeetingOut:
        body = await self.session.get(Body, meeting.body_id)
        names = await self._names({meeting.chair_member_id, meeting.secretary_member_id})
        guests = (
            await self.session.scalars(
                select(Guest).where(Guest.meeting_id == meeting.id).order_by(Guest.id)
            )
        ).all()
        await self.session.refresh(meeting, ["items"])
        return MeetingOut(
            id=meeting.id,
            body_id=meeting.body_id,
            body_name=body.name if body else "",
            year=meeting.year,
            number=meeting.number,
            code=meeting.code,
            title=meeting.title,
            starts_at=meeting.starts_at,
            timezone=meeting.timezone,
            place=meeting.place,
            form=meeting.form,
            state=meeting.state,
            chair_member_id=meeting.chair_member_id,
            chair_name=names.get(meeting.chair_member_id or 0, ""),
            secretary_member_id=meeting.secretary_member_id,
            secretary_name=names.get(meeting.secretary_member_id or 0, ""),
            current_item_id=meeting.current_item_id,
            speaking_seconds=meeting.speaking_seconds,
            last_seq=meeting.last_seq,
            items=[AgendaItemOut.model_validate(i) for i in meeting.items],
            guests=[GuestOut.model_validate(g) for g in guests],
        )

    # --- the record -----------------------------------------------------------------------

    async def create(self, data: MeetingIn) -> Meeting:
        body = await self.session.get(Body, data.body_id)
        if body is None or body.retired_at is not None:
            raise InvalidInput("no such active body", fields={"body_id": "no such body"})
        local = data.starts_at.astimezone(ZoneInfo(data.timezone))
        on = local.date()
        await self._require_body_officer(body.id, on)
        year = local.year
        number = data.number
        if number is None:
            last = await self.session.scalar(
                select(func.max(Meeting.number)).where(
                    Meeting.body_id == body.id, Meeting.year == year
                )
            )
            number = (last or 0) + 1
        elif await self.session.scalar(
            select(Meeting.id).where(
                Meeting.body_id == body.id, Meeting.year == year, Meeting.number == number
            )
        ):
            raise Conflict(
                f"the body already has meeting № {number} in {year}",
                fields={"number": "already taken"},
            )
        chair = data.chair_member_id or await self._holder(body.id, SeatRole.CHAIR, on)
        secretary = data.secretary_member_id or await self._holder(body.id, SeatRole.SECRETARY, on)
        await self._check_person(chair, "chair_member_id")
        await self._check_person(secretary, "secretary_member_id")
        meeting = Meeting(
            body_id=body.id,
            year=year,
            number=number,
            title=data.title,
            starts_at=data.starts_at,
            timezone=data.timezone,
            place=data.place,
            form=data.form,
            chair_member_id=chair,
            secretary_member_id=secretary,
            speaking_seconds=data.speaking_seconds,
        )
        self.session.add(meeting)
        await self.session.flush()
        await append_event(
            self.session,
            meeting.id,
            "meeting.created",
            {"state": meeting.state.value},
            actor=self.actor.display_name,
        )
        return meeting

    async def update(self, meeting_id: int, data: MeetingPatch) -> Meeting:
        meeting, roles = await self.get(meeting_id)
        roles.require_prepare()
        self._require_editable(meeting)
        changes = data.model_dump(exclude_unset=True)
        for field in ("chair_member_id", "secretary_member_id"):
            if changes.get(field) is not None:
                await self._check_person(changes[field], field)
        if "form" in changes and meeting.state is not MeetingState.DRAFT:
            raise Conflict(
                "the form can change only while the meeting is a draft", key="form_fixed"
            )
        for field, value in changes.items():
            if value is not None:
                setattr(meeting, field, value)
        await self.session.flush()
        await append_event(
            self.session,
            meeting.id,
            "meeting.updated",
            {"fields": sorted(changes)},
            actor=self.actor.display_name,
        )
        return meeting

    # --- the agenda -----------------------------------------------------------------------

    async def add_item(self, meeting_id: int, data: AgendaItemIn) -> AgendaItem:
        meeting, roles = await self.get(meeting_id)
        roles.require_prepare()
        self._require_editable(meeting)
        items = list(meeting.items)
        position = min(data.position or len(items) + 1, len(items) + 1)
        item = AgendaItem(
            meeting_id=meeting.id,
            position=position,
            title=data.title,
            rapporteur=data.rapporteur,
            draft_resolution=data.draft_resolution,
        )
        if data.quorum is not None:
            item.quorum_numerator = data.quorum.numerator
            item.quorum_denominator = data.quorum.denominator
            item.quorum_strict = data.quorum.strict
        items.insert(position - 1, item)
        self.session.add(item)
        self._renumber(items)
        await self.session.flush()
        await self._agenda_changed(meeting)
        return item

    async def update_item(self, item_id: int, data: AgendaItemPatch) -> AgendaItem:
        item, meeting = await self._item(item_id)
        (await roles_in(self.session, meeting, self.actor)).require_prepare()
        self._require_editable(meeting)
        for field in ("title", "rapporteur", "draft_resolution"):
            value = getattr(data, field)
            if value is not None:
                setattr(item, field, value)
        if data.quorum is not None:
            item.quorum_numerator = data.quorum.numerator
            item.quorum_denominator = data.quorum.denominator
            item.quorum_strict = data.quorum.strict
        elif data.clear_quorum:
            item.quorum_numerator = item.quorum_denominator = item.quorum_strict = None
        if data.position is not None:
            items = [i for i in meeting.items if i.id != item.id]
            items.insert(min(data.position, len(items) + 1) - 1, item)
            self._renumber(items)
        await self.session.flush()
        await self._agenda_changed(meeting)
        return item

    async def remove_item(self, item_id: int) -> None:
        item, meeting = await self._item(item_id)
        (await roles_in(self.session, meeting, self.actor)).require_prepare()
        if meeting.state is not MeetingState.DRAFT:
            raise Conflict(
                "agenda items can be removed only while the meeting is a draft",
                key="remove_draft_only",
            )
        await self.session.delete(item)
        await self.session.flush()
        await self.session.refresh(meeting, ["items"])
        self._renumber(list(meeting.items))
        await self.session.flush()
        await self._agenda_changed(meeting)

    async def add_material(
        self, item_id: int, filename: str, data: bytes, store: BlobStore
    ) -> Material:
        item, meeting = await self._item(item_id)
        (await roles_in(self.session, meeting, self.actor)).require_prepare()
        self._require_editable(meeting)
        digest, media_type = store.put(data)
        name = clean_filename(filename, media_type)
        material = Material(
            item_id=item.id, filename=name, media_type=media_type, size=len(data), sha256=digest
        )
        self.session.add(material)
        await self.session.flush()
        await self._agenda_changed(meeting)
        return material

    async def material(self, material_id: int) -> Material:
        material = await self.session.get(Material, material_id)
        if material is None:
            raise NotFound("no such material", key="no_material")
        await self._item(material.item_id)
        return material

    # --- guests ---------------------------------------------------------------------------

    async def add_guest(self, meeting_id: int, data: GuestIn) -> Guest:
        meeting, roles = await self.get(meeting_id)
        roles.require_prepare()
        self._require_editable(meeting)
        guest = Guest(meeting_id=meeting.id, **data.model_dump())
        self.session.add(guest)
        await self.session.flush()
        return guest

    async def remove_guest(self, meeting_id: int, guest_id: int) -> None:
        meeting, roles = await self.get(meeting_id)
        roles.require_prepare()
        guest = await self.session.get(Guest, guest_id)
        if guest is None or guest.meeting_id != meeting.id:
            raise NotFound("no such guest", key="no_guest")
        await self.session.delete(guest)
        await self.session.flush()

    async def guest_link(self, meeting_id: int, guest_id: int) -> str:
        """A new personal link for the guest to enter the meeting's room: returns its
        token, which is stored only as a hash and so can be shown only this once.

        Issuing one replaces the guest's previous link, which stops working — the way
        to take back a link sent to the wrong address. Refused once the meeting is closed.
        """
        meeting, roles = await self.get(meeting_id)
        roles.require_prepare()
        if meeting.state is MeetingState.CLOSED:
            raise Conflict(
                "the meeting is closed: its guests can no longer come in", code="meeting_closed"
            )
        guest = await self.session.get(Guest, guest_id, with_for_update=True)
        if guest is None or guest.meeting_id != meeting.id:
            raise NotFound("no such guest", key="no_guest")
        token = secrets.token_urlsafe(32)  # 256 bits
        guest.access_hash = _guest_token_hash(token)
        guest.link_issued_at = utcnow()
        await self.session.flush()
        return token

    async def guest_by_token(self, token: str) -> Guest | None:
        """The guest whose current link carries ``token``; None for an unknown, replaced
        or malformed one and for a closed meeting's guest — all alike, so a refusal tells
        nothing about which. The token is never compared itself: the lookup is by its
        hash, through the unique index."""
        if not token or len(token) > _GUEST_TOKEN_MAX or not token.isascii():
            return None  # ours are URL-safe base64; a non-UTF-8 one cannot be hashed
        guest: Guest | None = await self.session.scalar(
            select(Guest)
            .join(Meeting, Meeting.id == Guest.meeting_id)
            .where(
                Guest.access_hash == _guest_token_hash(token),
                Meeting.state != MeetingState.CLOSED,
            )
        )
        return guest

    # --- life -----------------------------------------------------------------------------

    async def transition(
        self, meeting_id: int, target: MeetingState
    ) -> tuple[Meeting, Announcement | None]:
        meeting, roles = await self.get(meeting_id)
        check_transition(meeting.form, meeting.state, target, roles.names)
        await self.session.refresh(meeting, ["items"])
        if target is MeetingState.ANNOUNCED and not meeting.items:
            raise Conflict(
                "add at least one agenda item before announcing the meeting", key="no_items"
            )
        if target is MeetingState.ANNOUNCED and (
            meeting.chair_member_id is None or meeting.secretary_member_id is None
        ):
            raise Conflict(
                "name the chair and the secretary before announcing the meeting",
                key="no_officers",
            )
        source = meeting.state
        meeting.state = target
        stamp = _STAMP.get(target)
        if stamp is not None:
            setattr(meeting, stamp, utcnow())
        if target is MeetingState.IN_SESSION and meeting.items and not meeting.current_item_id:
            meeting.current_item_id = meeting.items[0].id
        await self.session.flush()
        await append_event(
            self.session,
            meeting.id,
            "meeting.state",
            {"from": source.value, "to": target.value, "current_item": meeting.current_item_id},
            actor=self.actor.display_name,
        )
        announcement = None
        if target is MeetingState.ANNOUNCED and source is MeetingState.DRAFT:
            announcement = await self._notify(meeting)
        return meeting, announcement

    # --- helpers --------------------------------------------------------------------------

    async def _notify(self, meeting: Meeting) -> Announcement:
        body = await self.session.get(Body, meeting.body_id)
        members = (
            await self.session.scalars(
                select(Member).where(Member.id.in_(await composition_ids(self.session, meeting)))
            )
        ).all()
        when = LocalClock(meeting.timezone).labelled(meeting.starts_at)
        agenda = "\n".join(f"{i.position}. {i.title}" for i in meeting.items)
        subject = f"Заседание {meeting.code}: {meeting.title}"
        text = (
            f"{body.name if body else ''}: заседание {meeting.code} — {meeting.title}.\n"
            f"Начало: {when}. {meeting.place}\n\nПовестка дня:\n{agenda}\n"
        )
        for member in members:
            self.session.add(
                Notice(member_id=member.id, meeting_id=meeting.id, subject=subject, body=text)
            )
        await self.session.flush()
        return Announcement(meeting.id, tuple((m.id, m.full_name, m.email) for m in members))

    async def _item(self, item_id: int) -> tuple[AgendaItem, Meeting]:
        item = await self.session.get(AgendaItem, item_id)
        if item is None:
            raise NotFound("no such agenda item", key="no_item")
        meeting, _roles = await self.get(item.meeting_id)
        return item, meeting

    def _require_editable(self, meeting: Meeting) -> None:
        if meeting.state not in EDITABLE:
            raise Conflict(
                f"the meeting is {meeting.state.value}: its record can no longer be changed",
                key="not_editable",
            )

    @staticmethod
    def _renumber(items: Sequence[AgendaItem]) -> None:
        for position, item in enumerate(items, start=1):
            item.position = position

    async def _agenda_changed(self, meeting: Meeting) -> None:
        await append_event(
            self.session, meeting.id, "agenda.changed", {}, actor=self.actor.display_name
        )

    async def _require_body_officer(self, body_id: int, on: dt.date) -> None:
        if self.actor.has(Role.REGISTRAR) or await is_body_officer(
            self.session, self.actor.member_id, body_id, on
        ):
            return
        raise PermissionDenied(
            "only the body's chair, deputy chair, secretary or the registrar "
            "may convene its meetings",
            key="not_body_officer",
        )

    async def _holder(self, body_id: int, role: SeatRole, on: dt.date) -> int | None:
        holder: int | None = await self.session.scalar(
            select(Seat.member_id).where(
                Seat.body_id == body_id, Seat.role == role, current_seat_clause(on)
            )
        )
        return holder

    async def _check_person(self, member_id: int | None, field: str) -> None:
        if member_id is not None and await self.session.get(Member, member_id) is None:
            raise InvalidInput("no such member", fields={field: "no such member"})

    async def _names(self, ids: set[int | None]) -> dict[int, str]:
        wanted = {i for i in ids if i}
        if not wanted:
            return {}
        rows = await self.session.scalars(select(Member).where(Member.id.in_(wanted)))
        return {m.id: m.full_name for m in rows.all()}
