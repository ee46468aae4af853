"""JSON API of meetings: the record, the agenda and its materials, guests, the meeting's
life, its event log, and the caller's in-app notices.

Also the pieces the meeting pages share with it: sending an announcement by e-mail
(with an iCalendar invitation), serving a material for download, and the notices.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.blobs import EXTENSIONS, MATERIAL_TYPES, BlobStore, clean_filename
from meetings.events import MAX_BACKLOG, event_json, events_after
from meetings.ical import calendar_text, meeting_event
from meetings.lifecycle import allowed_targets
from meetings.models import Material, Meeting, MeetingForm, MeetingState, Notice
from meetings.preparation import Announcement, MeetingService
from meetings.schemas import (
    AgendaItemIn,
    AgendaItemOut,
    AgendaItemPatch,
    GuestIn,
    GuestOut,
    MaterialOut,
    MeetingIn,
    MeetingOut,
    MeetingPatch,
    TransitionIn,
)
from registry.actor import Actor
from registry.errors import NotFound
from registry.models import Body
from registry.orm import utcnow
from registry.schemas import Id, StrictIn
from server.api import MAX_ID, ApiRoutes
from server.auth import unit
from server.keys import MAILER, SESSIONMAKER, SETTINGS
from server.mailer import SmtpMailer
from server.settings import Settings
from server.views.registry_api import read_upload

__all__ = [
    "DEFAULT_ZONE",
    "EventOut",
    "MeetingBriefOut",
    "MeetingDetailOut",
    "NoticeOut",
    "announcement_message",
    "content_disposition",
    "mark_notice_read",
    "material_response",
    "material_store",
    "member_notices",
    "routes",
    "send_announcement",
]

log = logging.getLogger("kvorum.meetings")

routes = ApiRoutes()

# Perm, the union's home (UTC+5): the zone a time is read in unless the user picks another.
DEFAULT_ZONE = "Asia/Yekaterinburg"
MAX_NOTICES = 200


# --- models of the answers -----------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class MeetingBriefOut(_Out):
    """A meeting in a list: no agenda, no guests."""

    id: int
    body_id: int
    year: int
    number: int
    code: str
    title: str
    starts_at: dt.datetime
    place: str
    form: MeetingForm
    state: MeetingState


class MeetingDetailOut(MeetingOut):
    """The meeting, with what the caller is to it and where the caller may move it."""

    roles: list[str]
    transitions: list[MeetingState]


class EventOut(BaseModel):
    """One entry of the meeting's event log (the same shape the live feed sends)."""

    model_config = ConfigDict(frozen=True)

    v: int
    meeting: int
    seq: int
    at: dt.datetime
    kind: str
    actor: str
    data: dict[str, Any]


class NoticeOut(_Out):
    id: int
    meeting_id: int | None
    subject: str
    body: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class MeetingQuery(StrictIn):
    body_id: Id | None = Field(default=None, description="only this body's meetings")


class EventsQuery(StrictIn):
    after: int = Field(default=0, ge=0, le=MAX_ID, description="the last seq already seen")
    limit: int = Field(default=MAX_BACKLOG, ge=1, le=MAX_BACKLOG)


async def _detail(service: MeetingService, meeting: Meeting) -> MeetingDetailOut:
    _meeting, roles = await service.get(meeting.id)
    out = await service.out(meeting)
    return MeetingDetailOut(
        **out.model_dump(),
        roles=sorted(roles.names),
        transitions=allowed_targets(meeting.form, meeting.state, roles.names),
    )


# --- helpers shared with the pages ------------------------------------------------------------


def material_store(settings: Settings) -> BlobStore:
    """Materials live under ``<data_dir>/materials``, by content address."""
    return BlobStore(settings.data_dir / "materials")


def content_disposition(filename: str, fallback: str) -> str:
    """``attachment`` with the original name: RFC 6266 with the RFC 5987 ``filename*`` for
    Cyrillic, and a plain ASCII ``filename`` for clients that know only that."""
    plain = filename.isascii() and all(c.isprintable() and c not in '"\\;' for c in filename)
    ascii_name = filename if plain else fallback
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def material_response(settings: Settings, material: Material) -> web.Response:
    """The stored file, as the type it was sniffed to be, always as a download."""
    data = await asyncio.to_thread(material_store(settings).read, material.sha256)
    # The address is the proof of the content: a damaged or swapped file is not served.
    if hashlib.sha256(data).hexdigest() != material.sha256:
        raise RuntimeError(f"material {material.id}: stored bytes do not match their sha256")
    # The name as kept now (a file stored before names were cleaned may still hold a
    # right-to-left override); the ASCII fallback takes the extension of the type the
    # bytes were found to be, never one a name shows or hides.
    name = clean_filename(material.filename, material.media_type)
    fallback = f"material-{material.id}{EXTENSIONS[material.media_type]}"
    return web.Response(
        body=data,
        content_type=material.media_type,
        headers={
            "Content-Disposition": content_disposition(name, fallback),
            "Cache-Control": "private, no-store",
        },
    )


async def member_notices(db: AsyncSession, actor: Actor) -> Sequence[Notice]:
    """The caller's notices: unread first, newest first within each group."""
    if actor.member_id is None:
        return []
    rows = await db.scalars(
        select(Notice)
        .where(Notice.member_id == actor.member_id)
        .order_by(Notice.read_at.is_not(None), Notice.created_at.desc(), Notice.id.desc())
        .limit(MAX_NOTICES)
    )
    return rows.all()


async def mark_notice_read(db: AsyncSession, actor: Actor, notice_id: int) -> Notice:
    notice = await db.get(Notice, notice_id)
    # Someone else's notice is "not found": its existence is not the caller's business.
    if notice is None or actor.member_id is None or notice.member_id != actor.member_id:
        raise NotFound("no such notice")
    if notice.read_at is None:
        notice.read_at = utcnow()
        await db.flush()
    return notice


def _local(moment: dt.datetime, zone: str = DEFAULT_ZONE) -> str:
    here = moment.astimezone(ZoneInfo(zone))
    offset = here.utcoffset() or dt.timedelta(0)
    hours = int(offset.total_seconds() // 3600)
    return f"{here:%d.%m.%Y %H:%M} (UTC{hours:+d})"


def announcement_message(
    settings: Settings, to: str, subject: str, text: str, ics: str, *, filename: str
) -> EmailMessage:
    """A letter with the invitation attached as ``text/calendar; method=REQUEST``."""
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    message.add_attachment(
        ics.encode("utf-8"),
        maintype="text",
        subtype="calendar",
        filename=filename,
        params={"method": "REQUEST", "charset": "utf-8"},
    )
    return message


async def send_announcement(app: web.Application, announcement: Announcement) -> int:
    """Mail every recipient with an address; returns how many letters went out.

    Called after the announcing transaction committed: the notices are already in
    the database, so a mail server that is down loses nothing but the letters (each
    failure is logged, the others are still sent).
    """
    settings = app[SETTINGS]
    async with app[SESSIONMAKER]() as db, db.begin():
        meeting = await db.get(Meeting, announcement.meeting_id)
        if meeting is None:
            return 0
        body = await db.get(Body, meeting.body_id)
        body_name = body.name if body else ""
        url = f"{settings.effective_public_url}/meetings/{meeting.id}"
        agenda = "\n".join(f"{i.position}. {i.title}" for i in meeting.items)
        subject = f"Заседание {meeting.code}: {meeting.title}"
        place = f"\nМесто: {meeting.place}" if meeting.place else ""
        text = (
            f"{body_name}: заседание {meeting.code} — {meeting.title}.\n"
            f"Начало: {_local(meeting.starts_at)}.{place}\n\n"
            f"Повестка дня:\n{agenda}\n\nСтраница заседания: {url}\n"
        )
        organizer = parseaddr(settings.smtp_from)[1]
        stamp = utcnow()
        letters = [
            (
                email,
                calendar_text(
                    meeting_event(
                        meeting,
                        body_name=body_name,
                        host=settings.public_host,
                        stamp=stamp,
                        url=url,
                        organizer=organizer if "@" in organizer else "",
                        attendees=[(name, email)],
                    )
                ),
            )
            for _member_id, name, email in announcement.recipients
            if email
        ]
        filename = f"meeting-{meeting.id}.ics"
    mailer = app[MAILER]
    sent = 0
    for to, ics in letters:
        try:
            if settings.smtp_host and isinstance(mailer, SmtpMailer):
                import aiosmtplib  # as SmtpMailer does: loaded only where mail is configured

                message = announcement_message(settings, to, subject, text, ics, filename=filename)
                await aiosmtplib.send(
                    message,
                    hostname=settings.smtp_host,
                    port=settings.smtp_port,
                    username=settings.smtp_user or None,
                    password=settings.smtp_password or None,
                    start_tls=settings.smtp_starttls,
                    timeout=30,
                )
            else:
                # No mail server (the demo, tests): the mailer logs the letter.
                await mailer.send(to, subject, text)
            sent += 1
        except Exception:  # one bad address or a mail server hiccup must not stop the rest
            log.exception("announcement of meeting %s to %s failed", announcement.meeting_id, to)
    return sent


# --- meetings ----------------------------------------------------------------------------------


@routes.route(
    "GET",
    "/meetings",
    summary="Meetings the caller may see, newest first",
    tag="meetings",
    query=MeetingQuery,
    response=list[MeetingBriefOut],
)
async def list_meetings(request: web.Request, query: MeetingQuery) -> list[MeetingBriefOut]:
    async with unit(request) as (db, actor):
        meetings = await MeetingService(db, actor).visible(query.body_id)
        return [MeetingBriefOut.model_validate(m) for m in meetings]


@routes.route(
    "POST",
    "/meetings",
    summary="Convene a meeting (a draft; number, chair and secretary default from the body)",
    tag="meetings",
    body=MeetingIn,
    response=MeetingDetailOut,
    status=201,
    creates="meeting_id",
)
async def create_meeting(request: web.Request, body: MeetingIn) -> MeetingDetailOut:
    async with unit(request) as (db, actor):
        service = MeetingService(db, actor)
        return await _detail(service, await service.create(body))


@routes.route(
    "GET",
    "/meetings/{meeting_id}",
    summary="One meeting with its agenda, materials and guests",
    tag="meetings",
    response=MeetingDetailOut,
)
async def get_meeting(request: web.Request, meeting_id: int) -> MeetingDetailOut:
    async with unit(request) as (db, actor):
        service = MeetingService(db, actor)
        meeting, _roles = await service.get(meeting_id)
        return await _detail(service, meeting)


@routes.route(
    "PATCH",
    "/meetings/{meeting_id}",
    summary="Change the meeting's record (until it opens)",
    tag="meetings",
    body=MeetingPatch,
    response=MeetingDetailOut,
)
async def update_meeting(
    request: web.Request, meeting_id: int, body: MeetingPatch
) -> MeetingDetailOut:
    async with unit(request) as (db, actor):
        service = MeetingService(db, actor)
        return await _detail(service, await service.update(meeting_id, body))


@routes.route(
    "POST",
    "/meetings/{meeting_id}/transition",
    summary="Move the meeting on (announce, open registration, open, close, or back to draft)",
    tag="meetings",
    body=TransitionIn,
    response=MeetingDetailOut,
)
async def transition_meeting(
    request: web.Request, meeting_id: int, body: TransitionIn
) -> MeetingDetailOut:
    async with unit(request) as (db, actor):
        service = MeetingService(db, actor)
        meeting, announcement = await service.transition(meeting_id, body.target)
        result = await _detail(service, meeting)
    if announcement is not None:
        await send_announcement(request.app, announcement)
    return result


@routes.route(
    "GET",
    "/meetings/{meeting_id}/events",
    summary="The meeting's event log after a sequence number (the record for the protocol)",
    tag="meetings",
    query=EventsQuery,
    response=list[EventOut],
)
async def list_meeting_events(
    request: web.Request, meeting_id: int, query: EventsQuery
) -> list[EventOut]:
    async with unit(request) as (db, actor):
        await MeetingService(db, actor).get(meeting_id)
        events = await events_after(db, meeting_id, query.after, query.limit)
        return [EventOut.model_validate(event_json(e)) for e in events]


# --- the agenda ----------------------------------------------------------------------------------


@routes.route(
    "POST",
    "/meetings/{meeting_id}/items",
    summary="Add an agenda item (at the end, or at a position)",
    tag="agenda",
    body=AgendaItemIn,
    response=AgendaItemOut,
    status=201,
    creates="item_id",
)
async def add_agenda_item(
    request: web.Request, meeting_id: int, body: AgendaItemIn
) -> AgendaItemOut:
    async with unit(request) as (db, actor):
        item = await MeetingService(db, actor).add_item(meeting_id, body)
        await db.refresh(item, ["materials"])
        return AgendaItemOut.model_validate(item)


@routes.route(
    "PATCH",
    "/items/{item_id}",
    summary="Change an agenda item, or move it to another position",
    tag="agenda",
    body=AgendaItemPatch,
    response=AgendaItemOut,
)
async def update_agenda_item(
    request: web.Request, item_id: int, body: AgendaItemPatch
) -> AgendaItemOut:
    async with unit(request) as (db, actor):
        item = await MeetingService(db, actor).update_item(item_id, body)
        await db.refresh(item, ["materials"])
        return AgendaItemOut.model_validate(item)


@routes.route(
    "POST",
    "/items/{item_id}/remove",
    summary="Remove an agenda item (draft meetings only); the rest are renumbered",
    tag="agenda",
)
async def remove_agenda_item(request: web.Request, item_id: int) -> None:
    async with unit(request) as (db, actor):
        await MeetingService(db, actor).remove_item(item_id)


@routes.route(
    "POST",
    "/items/{item_id}/materials",
    upload=True,
    summary="Attach a material (PDF, DOCX, PNG, JPEG or WebP; the type is read from the file)",
    tag="agenda",
    response=MaterialOut,
    status=201,
    creates="material_id",
)
async def add_material(request: web.Request, item_id: int) -> MaterialOut:
    async with unit(request) as (db, actor):
        filename, data = await read_upload(request)
        store = material_store(request.app[SETTINGS])
        material = await MeetingService(db, actor).add_material(item_id, filename, data, store)
        return MaterialOut.model_validate(material)


@routes.route(
    "GET",
    "/materials/{material_id}",
    summary="Download a material (as an attachment, with its original name)",
    tag="agenda",
    response=bytes,
    media_type=tuple(MATERIAL_TYPES),  # the type the file's bytes were found to be
)
async def download_material(request: web.Request, material_id: int) -> web.Response:
    async with unit(request) as (db, actor):
        material = await MeetingService(db, actor).material(material_id)
    return await material_response(request.app[SETTINGS], material)


# --- guests ------------------------------------------------------------------------------------


@routes.route(
    "POST",
    "/meetings/{meeting_id}/guests",
    summary="Invite a guest (may watch and speak when given the floor, never votes)",
    tag="meetings",
    body=GuestIn,
    response=GuestOut,
    status=201,
    creates="guest_id",
)
async def add_guest(request: web.Request, meeting_id: int, body: GuestIn) -> GuestOut:
    async with unit(request) as (db, actor):
        return GuestOut.model_validate(await MeetingService(db, actor).add_guest(meeting_id, body))


@routes.route(
    "POST",
    "/meetings/{meeting_id}/guests/{guest_id}/remove",
    summary="Withdraw a guest's invitation",
    tag="meetings",
)
async def remove_guest(request: web.Request, meeting_id: int, guest_id: int) -> None:
    async with unit(request) as (db, actor):
        await MeetingService(db, actor).remove_guest(meeting_id, guest_id)


# --- notices -----------------------------------------------------------------------------------


@routes.route(
    "GET",
    "/notices",
    summary="The caller's in-app notices, unread first",
    tag="notices",
    response=list[NoticeOut],
)
async def list_notices(request: web.Request) -> list[NoticeOut]:
    async with unit(request) as (db, actor):
        return [NoticeOut.model_validate(n) for n in await member_notices(db, actor)]


@routes.route(
    "POST",
    "/notices/{notice_id}/read",
    summary="Mark one of the caller's notices as read",
    tag="notices",
    response=NoticeOut,
)
async def read_notice(request: web.Request, notice_id: int) -> NoticeOut:
    async with unit(request) as (db, actor):
        return NoticeOut.model_validate(await mark_notice_read(db, actor, notice_id))
