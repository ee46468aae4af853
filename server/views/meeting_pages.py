"""Pages of meetings: the list, convening a meeting, the meeting card with its agenda,
materials and guests, moving the meeting through its life, the event record, and the
member's notices. HTML forms only; no JavaScript is needed anywhere here.

As in the registry pages, every change is a POST answered with 303 to the page that
shows the result; a form that does not validate comes back with 422 (409 when it
clashes with the meeting's state), what was typed, and the reason in the user's
language. Changes run inside a savepoint, so a refused one leaves nothing behind.

Times are entered in a time zone the user picks (the organisation's unless they
choose another, remembered in a cookie) and stored in UTC; pages show them in the
meeting's zone (the list and notices: the organisation's), with the zone's label.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.access import OFFICER_SEATS, MeetingRoles
from meetings.blobs import MATERIAL_TYPES
from meetings.elections.services import ElectionService
from meetings.events import MAX_BACKLOG, events_after
from meetings.ical import calendar_text, meeting_event
from meetings.lifecycle import allowed_targets
from meetings.models import (
    AgendaItem,
    Guest,
    Meeting,
    MeetingEvent,
    MeetingForm,
    MeetingState,
)
from meetings.preparation import EDITABLE, MeetingService
from meetings.schemas import (
    AgendaItemIn,
    AgendaItemPatch,
    GuestIn,
    MeetingIn,
    MeetingOut,
    MeetingPatch,
)
from registry.actor import Actor
from registry.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from registry.localtime import zone_label
from registry.members import current_seat_clause
from registry.models import Body, Member, Role, Seat, SeatRole
from registry.orm import utcnow
from server.auth import unit
from server.forms import (
    domain_errors,
    id_errors,
    path_id,
    place_errors,
    read_fields,
    refusal_status,
    see_other,
    validate_form,
)
from server.i18n import Translator, refusal_text
from server.keys import KEYRING, MAILER, SETTINGS
from server.mailer import delivers
from server.middlewares import upload
from server.pages import render, translator
from server.views.election_words import describe_election_event
from server.views.meetings_api import (
    DEFAULT_ZONE,
    mark_notice_read,
    material_response,
    material_store,
    member_notices,
    send_announcement,
)
from server.views.registry_api import read_upload
from server.views.registry_pages import (
    quorum_text,
)

__all__ = ["ZONES", "convenable_bodies", "install", "parse_local"]

log = logging.getLogger("kvorum.meetings")

FormValues = dict[str, str]
FieldErrors = dict[str, str]
M = TypeVar("M", bound=BaseModel)

TZ_COOKIE = "kvorum-tz"
LIVE = (MeetingState.REGISTRATION, MeetingState.IN_SESSION)

# Russia's zones, west to east (no daylight saving since 2014), and UTC.
ZONES: tuple[tuple[str, str], ...] = (
    ("Europe/Kaliningrad", "tz.kaliningrad"),
    ("Europe/Moscow", "tz.moscow"),
    ("Europe/Samara", "tz.samara"),
    ("Asia/Yekaterinburg", "tz.yekaterinburg"),
    ("Asia/Omsk", "tz.omsk"),
    ("Asia/Novosibirsk", "tz.novosibirsk"),
    ("Asia/Krasnoyarsk", "tz.krasnoyarsk"),
    ("Asia/Irkutsk", "tz.irkutsk"),
    ("Asia/Yakutsk", "tz.yakutsk"),
    ("Asia/Vladivostok", "tz.vladivostok"),
    ("Asia/Magadan", "tz.magadan"),
    ("Asia/Kamchatka", "tz.kamchatka"),
    ("UTC", "tz.utc"),
)
_ZONE_KEYS = dict(ZONES)
# The cookie holds the short name ("moscow"): a slash is not a plain cookie character.
_ZONE_OF_COOKIE = {key.removeprefix("tz."): zone for zone, key in ZONES}
# What a browser without a datetime-local input lets people type.
_LOCAL_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M")

# Reasons the meetings services give, as catalogue keys; "field:reason" wins.
_REASONS = {
    "number:already taken": "meeting.error.number_taken",
    "body_id:no such body": "meeting.error.no_body",
    "file:required": "meeting.error.file_required",
    "file:empty": "field.reason.empty_file",
    "file:too large": "meeting.error.file_too_large",
    "file:unsupported type": "meeting.error.file_type",
    "file:damaged": "meeting.error.file_damaged",
    "no such member": "field.reason.no_such_member",
}

_MEETING_FIELDS = (
    "body_id",
    "title",
    "starts_at",
    "tz",
    "place",
    "form",
    "number",
    "chair_member_id",
    "secretary_member_id",
    "speaking_minutes",
)
_ITEM_FIELDS = (
    "title",
    "rapporteur",
    "draft_resolution",
    "position",
    "quorum_mode",
    "quorum_strict",
    "quorum_numerator",
    "quorum_denominator",
)
_GUEST_FIELDS = ("name", "affiliation", "email")


# --- time ------------------------------------------------------------------------------------


def _zone(request: web.Request) -> str:
    """The zone a new meeting's time is entered in: the one the user last chose (a
    cookie), else the organisation's."""
    return _ZONE_OF_COOKIE.get(request.cookies.get(TZ_COOKIE, ""), _org_zone(request))


def _org_zone(request: web.Request) -> str:
    """The organisation's zone: every time a page shows is in it (with its label), as
    elsewhere (registry/localtime.py), whatever zone the reader's computer is in."""
    zone = request.app[SETTINGS].timezone
    return zone if zone in _ZONE_KEYS else DEFAULT_ZONE


def _meeting_zone(meeting: Meeting) -> str:
    """Where the meeting is held: its times are shown there, with the zone's label."""
    return meeting.timezone if meeting.timezone in _ZONE_KEYS else DEFAULT_ZONE


def _offset(zone: str, on: dt.datetime | None = None) -> str:
    moment = (on or utcnow()).astimezone(ZoneInfo(zone))
    minutes = int((moment.utcoffset() or dt.timedelta(0)).total_seconds() // 60)
    hours, rest = divmod(abs(minutes), 60)
    sign = "+" if minutes >= 0 else "−"
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def _zone_options(t: Translator) -> list[tuple[str, str]]:
    return [(zone, f"{_offset(zone)} — {t(key)}") for zone, key in ZONES]


def _zone_label(t: Translator, zone: str) -> str:
    """«по пермскому времени, UTC+5»: the zone as people name it, never its tz name."""
    return zone_label(zone, t.locale)


@dataclass(frozen=True)
class _Clock:
    """Instants shown in the reader's zone."""

    zone: str

    def __call__(self, moment: dt.datetime | None, pattern: str = "%d.%m.%Y %H:%M") -> str:
        if moment is None:
            return ""
        return moment.astimezone(ZoneInfo(self.zone)).strftime(pattern)


def parse_local(text: str, zone: str) -> dt.datetime | None:
    """A wall-clock time typed in ``zone`` as an aware instant (None if unreadable)."""
    text = " ".join(text.split())
    for pattern in _LOCAL_FORMATS:
        try:
            naive = dt.datetime.strptime(text, pattern)  # the zone is attached next
        except ValueError:
            continue
        return naive.replace(tzinfo=ZoneInfo(zone))
    return None


def _day(moment: dt.datetime, zone: str) -> dt.date:
    """The meeting's date as the services count it (composition, numbering): where it
    is held."""
    return moment.astimezone(ZoneInfo(zone)).date()


def _with_zone(response: web.Response, zone: str) -> web.Response:
    # Remember the zone the user works in, for showing times (not a secret, not a login).
    response.set_cookie(
        TZ_COOKIE,
        _ZONE_KEYS[zone].removeprefix("tz."),
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
        max_age=31536000,
    )
    return response


# --- errors in the user's language -------------------------------------------------------------


def _errors(exc: DomainError, t: Translator) -> FieldErrors:
    """The service's refusal as field errors, or one message for the whole form."""
    errors: FieldErrors = {}
    for name, reason in exc.fields.items():
        key = _REASONS.get(f"{name}:{reason}") or _REASONS.get(reason)
        if key:
            errors[name] = t(key)
    if exc.fields and len(errors) == len(exc.fields):
        return errors
    if not exc.fields:
        specific = refusal_text(t, exc.key, exc.params)
        if specific is not None:
            return {"form": specific}
    return domain_errors(exc, t) | errors


def _check(
    model: type[M], data: Mapping[str, Any], t: Translator, *, required: Iterable[str] = ()
) -> tuple[M | None, FieldErrors]:
    """Validate, saying "fill this in" for a required text left blank (the models only
    know it as "too short", and in a patch a missing title would silently mean "keep")."""
    blank = {
        name: t("field.error.missing") for name in required if not str(data.get(name, "")).strip()
    }
    found, errors = validate_form(model, {k: v for k, v in data.items() if k not in blank}, t)
    errors = {k: v for k, v in errors.items() if k not in blank} | blank
    return (None if blank else found), errors


def _first(errors: FieldErrors) -> str:
    return next((v for k, v in errors.items() if k != "form_detail"), "")


# --- lookups ---------------------------------------------------------------------------------


async def convenable_bodies(db: AsyncSession, actor: Actor) -> list[Body]:
    """Bodies the caller may convene: all for the registrar, else where they are an officer."""
    stmt = select(Body).where(Body.retired_at.is_(None)).order_by(Body.name)
    if not actor.has(Role.REGISTRAR):
        if actor.member_id is None:
            return []
        stmt = stmt.where(
            Body.id.in_(
                select(Seat.body_id).where(
                    Seat.member_id == actor.member_id,
                    Seat.role.in_(OFFICER_SEATS),
                    current_seat_clause(utcnow().date()),
                )
            )
        )
    return list((await db.scalars(stmt)).all())


@dataclass(frozen=True)
class _Person:
    member_id: int
    name: str
    role: SeatRole


async def _composition(db: AsyncSession, body_id: int, on: dt.date) -> list[_Person]:
    rows = await db.execute(
        select(Seat.role, Member)
        .join(Member, Member.id == Seat.member_id)
        .where(Seat.body_id == body_id, current_seat_clause(on))
        .order_by(Member.surname, Member.name, Member.id)
    )
    return [_Person(m.id, m.full_name, role) for role, m in rows.all()]


def _people_options(t: Translator, people: Sequence[_Person]) -> list[tuple[str, str]]:
    out = []
    for p in people:
        role = "" if p.role is SeatRole.MEMBER else f" — {t('seat_role.' + p.role.value)}"
        out.append((str(p.member_id), p.name + role))
    return out


def _holder(people: Sequence[_Person], role: SeatRole) -> str:
    return next((str(p.member_id) for p in people if p.role is role), "")


async def _next_number(db: AsyncSession, body_id: int, year: int) -> int:
    last = await db.scalar(
        select(func.max(Meeting.number)).where(Meeting.body_id == body_id, Meeting.year == year)
    )
    return int(last or 0) + 1


def _form_options(t: Translator) -> list[tuple[str, str]]:
    return [(f.value, t(f"meeting.form.{f.value}")) for f in MeetingForm]


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} Б"
    if n < 1024 * 1024:
        return f"{round(n / 1024)} КБ"
    return f"{n / (1024 * 1024):.1f} МБ".replace(".", ",")


# --- the list ----------------------------------------------------------------------------------


async def meeting_list(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        clock = _Clock(_org_zone(request))
        meetings = await MeetingService(db, actor).visible()
        bodies = {
            b.id: b
            for b in (
                await db.scalars(select(Body).where(Body.id.in_({m.body_id for m in meetings})))
            ).all()
        }
        # "Upcoming" until the day of the meeting is over in the reader's zone.
        today = utcnow().astimezone(ZoneInfo(clock.zone)).date()
        upcoming: dict[int, list[Meeting]] = {}
        past: dict[int, list[Meeting]] = {}
        for m in sorted(meetings, key=lambda m: m.starts_at):
            local_day = m.starts_at.astimezone(ZoneInfo(clock.zone)).date()
            ahead = m.state is not MeetingState.CLOSED and (m.state in LIVE or local_day >= today)
            (upcoming if ahead else past).setdefault(m.body_id, []).append(m)
        for group in past.values():
            group.reverse()

        def grouped(groups: dict[int, list[Meeting]]) -> list[tuple[Body, list[Meeting]]]:
            return [
                (bodies[b], ms) for b, ms in sorted(groups.items(), key=lambda g: bodies[g[0]].name)
            ]

        t = translator(request)
        return render(
            request,
            "meetings.html",
            actor=actor,
            upcoming=grouped(upcoming),
            past=grouped(past),
            can_convene=bool(await convenable_bodies(db, actor)),
            local=clock,
            zone_label=_zone_label(t, clock.zone),
        )


# --- convening and editing ---------------------------------------------------------------------


async def meeting_new(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        bodies = await convenable_bodies(db, actor)
        if not bodies:
            raise PermissionDenied(
                "only a body's chair, deputy chair, secretary or the registrar may convene it"
            )
        wanted = request.query.get("body_id", "")
        body = next((b for b in bodies if str(b.id) == wanted), None)
        if body is None and len(bodies) == 1:
            body = bodies[0]
        if body is None:
            return render(
                request,
                "meeting_form.html",
                actor=actor,
                status=422 if wanted else 200,
                mode="choose",
                bodies=[(str(b.id), b.name) for b in bodies],
                errors={"body_id": translator(request)("meeting.error.no_body")} if wanted else {},
                form={"body_id": wanted},
            )
        today = utcnow().date()
        people = await _composition(db, body.id, today)
        values = dict.fromkeys(_MEETING_FIELDS, "") | {
            "body_id": str(body.id),
            "tz": _zone(request),
            "form": MeetingForm.ONLINE.value,
            "chair_member_id": _holder(people, SeatRole.CHAIR),
            "secretary_member_id": _holder(people, SeatRole.SECRETARY),
            "speaking_minutes": "5",
        }
        return await _meeting_form(request, db, actor, values, {}, body=body)


async def _meeting_form(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    values: FormValues,
    errors: FieldErrors,
    *,
    body: Body,
    meeting: Meeting | None = None,
    status: int | None = None,
) -> web.Response:
    t = translator(request)
    zone = str(values.get("tz")) if values.get("tz") in _ZONE_KEYS else DEFAULT_ZONE
    starts = parse_local(values.get("starts_at", ""), zone)
    if starts:
        on = _day(starts, zone)
    elif meeting:
        on = meeting.local_start.date()
    else:
        on = utcnow().date()
    people = await _composition(db, body.id, on)
    year = on.year
    fields = [f for f in _MEETING_FIELDS if f != "body_id"]
    return render(
        request,
        "meeting_form.html",
        actor=actor,
        status=status or (422 if errors else 200),
        mode="edit" if meeting else "new",
        body=body,
        meeting=meeting,
        form=values,
        errors=place_errors(errors, fields, t),
        zones=_zone_options(t),
        forms_of_meeting=_form_options(t),
        people=_people_options(t, people),
        people_on=on,
        next_number=await _next_number(db, body.id, year),
        year=year,
        form_editable=meeting is None or meeting.state is MeetingState.DRAFT,
        other_bodies=meeting is None and len(await convenable_bodies(db, actor)) > 1,
    )


def _meeting_data(
    values: FormValues, t: Translator, *, people: set[int] | None
) -> tuple[dict[str, Any], FieldErrors]:
    """The form's values as the model's input, and what is wrong that the model cannot see."""
    errors: FieldErrors = id_errors(values, ["chair_member_id", "secretary_member_id"], t)
    data: dict[str, Any] = {
        "title": values["title"],
        "place": values["place"],
    }
    zone = values["tz"]
    if zone not in _ZONE_KEYS:
        errors["tz"] = t("meeting.error.zone")
        zone = DEFAULT_ZONE
    typed = values["starts_at"].strip()
    if not typed:
        errors["starts_at"] = t("field.error.missing")
    else:
        starts = parse_local(typed, zone)
        if starts is None:
            errors["starts_at"] = t("meeting.error.starts_at")
        else:
            data["starts_at"] = starts
            data["timezone"] = zone
    if values["form"].strip():
        data["form"] = values["form"]
    minutes = values["speaking_minutes"].strip()
    if not (minutes.isascii() and minutes.isdigit() and len(minutes) <= 2) or not (
        1 <= int(minutes) <= 60
    ):
        errors["speaking_minutes"] = t("meeting.error.speaking_minutes")
    else:
        data["speaking_seconds"] = int(minutes) * 60
    for name in ("chair_member_id", "secretary_member_id"):
        value = values[name].strip()
        if value and name not in errors:
            data[name] = value
            if people is not None and int(value) not in people:
                errors[name] = t("meeting.error.not_in_body")
    return data, errors


async def meeting_create(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        values = await read_fields(request, _MEETING_FIELDS)
        bodies = await convenable_bodies(db, actor)
        body = next((b for b in bodies if str(b.id) == values["body_id"].strip()), None)
        if body is None:
            raise PermissionDenied("only a body's officers or the registrar may convene it")
        zone = values["tz"] if values["tz"] in _ZONE_KEYS else DEFAULT_ZONE
        starts = parse_local(values["starts_at"], zone)
        people = (
            {p.member_id for p in await _composition(db, body.id, _day(starts, zone))}
            if starts
            else None
        )
        data, errors = _meeting_data(values, t, people=people)
        data["body_id"] = body.id
        number = values["number"].strip()
        if number:
            data["number"] = number
        model, invalid = _check(MeetingIn, data, t, required=["title"])
        errors = _renamed(invalid) | errors
        if model is None or errors:
            return await _meeting_form(request, db, actor, values, errors, body=body)
        try:
            async with db.begin_nested():
                meeting = await MeetingService(db, actor).create(model)
        except (InvalidInput, Conflict) as exc:
            return await _meeting_form(
                request, db, actor, values, _errors(exc, t), body=body, status=refusal_status(exc)
            )
        return _with_zone(see_other(f"/meetings/{meeting.id}?done=created"), zone)


def _renamed(errors: FieldErrors) -> FieldErrors:
    """The model's field names as the form's."""
    out = dict(errors)
    if "speaking_seconds" in out:
        out["speaking_minutes"] = out.pop("speaking_seconds")
    return out


async def meeting_edit(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        meeting, roles = await MeetingService(db, actor).get(path_id(request, "meeting_id"))
        _require_editable(meeting, roles)
        body = await db.get(Body, meeting.body_id)
        assert body is not None
        zone = _meeting_zone(meeting)
        values = {
            "body_id": str(body.id),
            "title": meeting.title,
            "starts_at": meeting.starts_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M"),
            "tz": zone,
            "place": meeting.place,
            "form": meeting.form.value,
            "number": str(meeting.number),
            "chair_member_id": str(meeting.chair_member_id or ""),
            "secretary_member_id": str(meeting.secretary_member_id or ""),
            "speaking_minutes": str(max(1, meeting.speaking_seconds // 60)),
        }
        return await _meeting_form(request, db, actor, values, {}, body=body, meeting=meeting)


def _require_editable(meeting: Meeting, roles: MeetingRoles) -> None:
    roles.require_prepare()
    if meeting.state not in EDITABLE:
        raise Conflict(f"the meeting is {meeting.state.value}: its record can no longer be changed")


async def meeting_update(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        service = MeetingService(db, actor)
        meeting, roles = await service.get(path_id(request, "meeting_id"))
        _require_editable(meeting, roles)
        body = await db.get(Body, meeting.body_id)
        assert body is not None
        values = await read_fields(request, _MEETING_FIELDS)
        values["body_id"] = str(body.id)
        values["number"] = str(meeting.number)
        if meeting.state is not MeetingState.DRAFT:
            values["form"] = meeting.form.value
        zone = values["tz"] if values["tz"] in _ZONE_KEYS else DEFAULT_ZONE
        starts = parse_local(values["starts_at"], zone)
        people = (
            {p.member_id for p in await _composition(db, body.id, _day(starts, zone))}
            if starts
            else None
        )
        data, errors = _meeting_data(values, t, people=people)
        if meeting.state is not MeetingState.DRAFT:
            data.pop("form", None)  # fixed once announced: the members were told it
        model, invalid = _check(MeetingPatch, data, t, required=["title"])
        errors = _renamed(invalid) | errors
        if model is None or errors:
            return await _meeting_form(
                request, db, actor, values, errors, body=body, meeting=meeting
            )
        try:
            async with db.begin_nested():
                await service.update(meeting.id, model)
        except (InvalidInput, Conflict) as exc:
            await db.refresh(meeting)
            return await _meeting_form(
                request,
                db,
                actor,
                values,
                _errors(exc, t),
                body=body,
                meeting=meeting,
                status=refusal_status(exc),
            )
        return _with_zone(see_other(f"/meetings/{meeting.id}?done=updated"), zone)


# --- the meeting card --------------------------------------------------------------------------


@dataclass
class _CardForms:
    """What was typed into the forms of the meeting card, and what was wrong."""

    guest: FormValues = field(default_factory=dict)
    guest_errors: FieldErrors = field(default_factory=dict)
    material_errors: dict[int, str] = field(default_factory=dict)
    transition_error: str = ""
    transition_detail: str = ""


_TRANSITION_KEYS = {
    MeetingState.DRAFT: "meeting.go.draft",
    MeetingState.ANNOUNCED: "meeting.go.announced",
    MeetingState.REGISTRATION: "meeting.go.registration",
    MeetingState.IN_SESSION: "meeting.go.in_session",
    MeetingState.CLOSED: "meeting.go.closed",
}


def _transition_buttons(meeting: Meeting, roles: MeetingRoles) -> list[tuple[str, str, str]]:
    """(target, label key, button style) for each move the caller may make now."""
    out = []
    for target in allowed_targets(meeting.form, meeting.state, roles.names):
        key = _TRANSITION_KEYS[target]
        if target is MeetingState.CLOSED and meeting.form is MeetingForm.ABSENTEE:
            key = "meeting.go.closed_absentee"
        style = "btn-secondary" if target is MeetingState.DRAFT else "btn-primary"
        if target is MeetingState.CLOSED:
            style = "btn-danger"
        out.append((target.value, key, style))
    return out


async def meeting_detail(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        meeting, roles = await MeetingService(db, actor).get(path_id(request, "meeting_id"))
        return await _meeting_page(request, db, actor, meeting, roles)


async def _meeting_page(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    meeting: Meeting,
    roles: MeetingRoles,
    forms: _CardForms | None = None,
    *,
    status: int | None = None,
) -> web.Response:
    t = translator(request)
    forms = forms or _CardForms()
    out: MeetingOut = await MeetingService(db, actor).out(meeting)
    clock = _Clock(_meeting_zone(meeting))
    prepare = roles.can_prepare
    missing = []
    if meeting.state is MeetingState.DRAFT and prepare:
        if not out.items:
            missing.append(t("meeting.missing.items"))
        if out.chair_member_id is None:
            missing.append(t("meeting.missing.chair"))
        if out.secretary_member_id is None:
            missing.append(t("meeting.missing.secretary"))
    rules = {
        i.id: quorum_text(t, i.quorum_numerator, i.quorum_denominator, bool(i.quorum_strict))
        for i in out.items
        if i.quorum_numerator and i.quorum_denominator
    }
    failed = bool(forms.guest_errors or forms.material_errors or forms.transition_error)
    linkable = prepare and meeting.state is not MeetingState.CLOSED
    issued: dict[int, dt.datetime] = {}
    if linkable:
        rows = await db.execute(
            select(Guest.id, Guest.link_issued_at).where(
                Guest.meeting_id == meeting.id, Guest.link_issued_at.is_not(None)
            )
        )
        issued = {guest_id: at for guest_id, at in rows.tuples() if at is not None}
    elections = await ElectionService(db, actor, request.app[KEYRING]).of_meeting(meeting.id)
    return render(
        request,
        "meeting.html",
        actor=actor,
        status=status or (422 if failed else 200),
        elections=elections,
        page="card",
        meeting=out,
        state=meeting.state.value,
        roles=sorted(roles.names),
        can_prepare=prepare,
        editable=prepare and meeting.state in EDITABLE,
        removable=prepare and meeting.state is MeetingState.DRAFT,
        transitions=_transition_buttons(meeting, roles),
        live=meeting.state in LIVE and meeting.form is not MeetingForm.ABSENTEE,
        calendar=meeting.state in (MeetingState.ANNOUNCED, *LIVE),
        missing=missing,
        rules=rules,
        local=clock,
        zone_label=_zone_label(t, clock.zone),
        type_names=MATERIAL_TYPES,
        size=_size,
        guest_form=forms.guest or dict.fromkeys(_GUEST_FIELDS, ""),
        guest_errors=place_errors(forms.guest_errors, _GUEST_FIELDS, t),
        guest_linkable=linkable,
        guest_links=issued,
        material_errors=forms.material_errors,
        transition_error=forms.transition_error,
        transition_detail=forms.transition_detail,
    )


async def meeting_transition(request: web.Request) -> web.StreamResponse:
    announcement = None
    async with unit(request) as (db, actor):
        t = translator(request)
        service = MeetingService(db, actor)
        meeting, roles = await service.get(path_id(request, "meeting_id"))
        values = await read_fields(request, ("target",))
        try:
            target = MeetingState(values["target"])
        except ValueError:
            raise InvalidInput(
                f"'{values['target']}' is not a state of a meeting", fields={"target": "unknown"}
            ) from None
        try:
            async with db.begin_nested():
                meeting, announcement = await service.transition(meeting.id, target)
        except Conflict as exc:
            await db.refresh(meeting)
            errors = _errors(exc, t)
            forms = _CardForms(
                transition_error=_first(errors), transition_detail=errors.get("form_detail", "")
            )
            return await _meeting_page(request, db, actor, meeting, roles, forms, status=409)
        meeting_id = meeting.id
    # Mail only once the announcement (and its notices) are committed.
    if announcement is not None:
        await send_announcement(request.app, announcement)
    return see_other(f"/meetings/{meeting_id}?done={target.value}")


async def meeting_calendar(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        meeting, _roles = await MeetingService(db, actor).get(path_id(request, "meeting_id"))
        body = await db.get(Body, meeting.body_id)
        settings = request.app[SETTINGS]
        text = calendar_text(
            meeting_event(
                meeting,
                body_name=body.name if body else "",
                host=settings.public_host,
                stamp=utcnow(),
                url=f"{settings.effective_public_url}/meetings/{meeting.id}",
            ),
            method="PUBLISH",
        )
    return web.Response(
        body=text.encode("utf-8"),
        content_type="text/calendar",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="meeting-{meeting.id}.ics"'},
    )


# --- the agenda --------------------------------------------------------------------------------


def _item_data(values: FormValues, *, editing: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": values["title"],
        "rapporteur": values["rapporteur"],
        "draft_resolution": values["draft_resolution"].replace("\r\n", "\n"),
    }
    if values["position"].strip():
        data["position"] = values["position"].strip()
    if values["quorum_mode"] == "custom":
        data["quorum"] = {
            "numerator": values["quorum_numerator"].strip(),
            "denominator": values["quorum_denominator"].strip(),
            "strict": values["quorum_strict"] or "true",
        }
    elif editing:
        data["clear_quorum"] = True
    return data


def _item_values(item: AgendaItem | None = None) -> FormValues:
    if item is None:
        return dict.fromkeys(_ITEM_FIELDS, "") | {
            "quorum_mode": "body",
            "quorum_strict": "false",
            "quorum_numerator": "2",
            "quorum_denominator": "3",
        }
    custom = bool(item.quorum_numerator and item.quorum_denominator)
    return {
        "title": item.title,
        "rapporteur": item.rapporteur,
        "draft_resolution": item.draft_resolution,
        "position": str(item.position),
        "quorum_mode": "custom" if custom else "body",
        "quorum_strict": "true" if item.quorum_strict else "false",
        "quorum_numerator": str(item.quorum_numerator or 2),
        "quorum_denominator": str(item.quorum_denominator or 3),
    }


def _item_form(
    request: web.Request,
    actor: Actor,
    meeting: Meeting,
    values: FormValues,
    errors: FieldErrors,
    *,
    item: AgendaItem | None = None,
    status: int | None = None,
) -> web.Response:
    t = translator(request)
    return render(
        request,
        "agenda_item_form.html",
        actor=actor,
        status=status or (422 if errors else 200),
        meeting=meeting,
        item=item,
        form=values,
        errors=place_errors(errors, [*_ITEM_FIELDS, "quorum"], t),
    )


async def item_new(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        meeting, roles = await MeetingService(db, actor).get(path_id(request, "meeting_id"))
        _require_editable(meeting, roles)
        values = _item_values() | {
            k: v for k, v in request.query.items() if k in ("title", "rapporteur")
        }
        return _item_form(request, actor, meeting, values, {})


async def item_create(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        service = MeetingService(db, actor)
        meeting, roles = await service.get(path_id(request, "meeting_id"))
        _require_editable(meeting, roles)
        values = _item_values() | await read_fields(request, _ITEM_FIELDS)
        values["quorum_mode"] = values["quorum_mode"] or "body"
        model, errors = _check(
            AgendaItemIn, _item_data(values, editing=False), t, required=["title"]
        )
        if model is None or errors:
            return _item_form(request, actor, meeting, values, errors)
        try:
            async with db.begin_nested():
                await service.add_item(meeting.id, model)
        except (InvalidInput, Conflict) as exc:
            await db.refresh(meeting)
            return _item_form(
                request, actor, meeting, values, _errors(exc, t), status=refusal_status(exc)
            )
        return see_other(f"/meetings/{meeting.id}?done=item_added#agenda")


async def item_edit(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        meeting, roles = await MeetingService(db, actor).get(path_id(request, "meeting_id"))
        _require_editable(meeting, roles)
        item = await MeetingService(db, actor).item(meeting, path_id(request, "item_id"))
        return _item_form(request, actor, meeting, _item_values(item), {}, item=item)


async def item_update(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        service = MeetingService(db, actor)
        meeting, roles = await service.get(path_id(request, "meeting_id"))
        _require_editable(meeting, roles)
        item = await MeetingService(db, actor).item(meeting, path_id(request, "item_id"))
        values = _item_values(item) | await read_fields(request, _ITEM_FIELDS)
        values["quorum_mode"] = values["quorum_mode"] or "body"
        model, errors = _check(
            AgendaItemPatch, _item_data(values, editing=True), t, required=["title"]
        )
        if model is None or errors:
            return _item_form(request, actor, meeting, values, errors, item=item)
        try:
            async with db.begin_nested():
                await service.update_item(item.id, model)
        except (InvalidInput, Conflict) as exc:
            await db.refresh(item)
            return _item_form(
                request,
                actor,
                meeting,
                values,
                _errors(exc, t),
                item=item,
                status=refusal_status(exc),
            )
        return see_other(f"/meetings/{meeting.id}?done=item_updated#item-{item.id}")


async def item_move(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        service = MeetingService(db, actor)
        meeting, roles = await service.get(path_id(request, "meeting_id"))
        _require_editable(meeting, roles)
        item = await MeetingService(db, actor).item(meeting, path_id(request, "item_id"))
        values = await read_fields(request, ("direction",))
        step = {"up": -1, "down": 1}.get(values["direction"])
        if step is None:
            raise InvalidInput("move an item 'up' or 'down'", fields={"direction": "unknown"})
        position = item.position + step
        if 1 <= position <= len(meeting.items):
            await service.update_item(item.id, AgendaItemPatch(position=position))
        return see_other(f"/meetings/{meeting.id}?done=item_moved#item-{item.id}")


async def item_remove(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        service = MeetingService(db, actor)
        meeting, roles = await service.get(path_id(request, "meeting_id"))
        roles.require_prepare()
        item = await MeetingService(db, actor).item(meeting, path_id(request, "item_id"))
        await service.remove_item(item.id)
        return see_other(f"/meetings/{meeting.id}?done=item_removed#agenda")


@upload
async def material_upload(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        service = MeetingService(db, actor)
        meeting, roles = await service.get(path_id(request, "meeting_id"))
        _require_editable(meeting, roles)
        item = await MeetingService(db, actor).item(meeting, path_id(request, "item_id"))
        try:
            filename, data = await read_upload(request)
            async with db.begin_nested():
                store = material_store(request.app[SETTINGS])
                await service.add_material(item.id, filename, data, store)
        except (InvalidInput, Conflict) as exc:
            await db.refresh(meeting)
            forms = _CardForms(material_errors={item.id: _first(_errors(exc, t))})
            return await _meeting_page(
                request, db, actor, meeting, roles, forms, status=refusal_status(exc)
            )
        return see_other(f"/meetings/{meeting.id}?done=material_added#item-{item.id}")


async def material_download(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        material = await MeetingService(db, actor).material(path_id(request, "material_id"))
    return await material_response(request.app[SETTINGS], material)


# --- guests ------------------------------------------------------------------------------------


async def guest_add(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        service = MeetingService(db, actor)
        meeting, roles = await service.get(path_id(request, "meeting_id"))
        _require_editable(meeting, roles)
        values = await read_fields(request, _GUEST_FIELDS)
        model, errors = _check(GuestIn, values, t, required=["name"])
        if model is not None and not errors:
            try:
                async with db.begin_nested():
                    await service.add_guest(meeting.id, model)
            except (InvalidInput, Conflict) as exc:
                await db.refresh(meeting)
                errors = _errors(exc, t)
        if errors:
            forms = _CardForms(guest=values, guest_errors=errors)
            return await _meeting_page(request, db, actor, meeting, roles, forms)
        return see_other(f"/meetings/{meeting.id}?done=guest_added#guests")


async def guest_remove(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        meeting_id = path_id(request, "meeting_id")
        await MeetingService(db, actor).remove_guest(meeting_id, path_id(request, "guest_id"))
        return see_other(f"/meetings/{meeting_id}?done=guest_removed#guests")


def _guest_letter(name: str, meeting: MeetingOut, url: str) -> tuple[str, str]:
    """The subject and text of the letter that brings a guest their link."""
    when = meeting.starts_at.astimezone(ZoneInfo(meeting.timezone))
    start = f"{when:%d.%m.%Y %H:%M} ({_offset(meeting.timezone, meeting.starts_at)})"
    subject = f"Приглашение на заседание {meeting.code}: {meeting.title}"
    text = (
        f"Здравствуйте, {name}!\n\n"
        f"Вас пригласили на заседание {meeting.code} — {meeting.title} ({meeting.body_name}).\n"
        f"Начало: {start}.\n\n"
        f"Войти в зал заседания можно по вашей личной ссылке:\n\n{url}\n\n"
        f"Не пересылайте её: по ней входят от вашего имени. В видеозал вас впустит "
        f"председатель. Если пришла новая ссылка, прежняя уже не действует.\n"
    )
    return subject, text


async def guest_link(request: web.Request) -> web.StreamResponse:
    """A new personal link for a guest, shown once (and mailed if the guest has an
    address and mail is configured); it replaces the guest's previous link."""
    async with unit(request) as (db, actor):
        service = MeetingService(db, actor)
        meeting_id = path_id(request, "meeting_id")
        guest_id = path_id(request, "guest_id")
        token = await service.guest_link(meeting_id, guest_id)
        guest = await db.get(Guest, guest_id)
        assert guest is not None  # guest_link found it
        name, email = guest.name, guest.email
        meeting, _roles = await service.get(meeting_id)
        out = await service.out(meeting)
    # The link is committed: a mail server that is down costs the letter, not the link.
    settings = request.app[SETTINGS]
    url = f"{settings.effective_public_url}/guest/{token}"
    sent_to = ""
    mail_failed = False
    # As with invitations: a mail server or the outbox gets the letter; the log mailer
    # would write the link, a bearer secret, into the log, so it gets nothing.
    if email and delivers(settings, request.app[MAILER]):
        subject, text = _guest_letter(name, out, url)
        try:
            await request.app[MAILER].send(email, subject, text)
            sent_to = email
        except Exception:  # the link is on the page: hand it over another way
            log.exception("mailing the link of guest %s of meeting %s failed", guest_id, meeting_id)
            mail_failed = True
    return render(
        request,
        "guest_link.html",
        actor=actor,
        meeting=out,
        guest_name=name,
        url=url,
        sent_to=sent_to,
        mail_failed=mail_failed,
    )


# --- the record --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordRow:
    seq: int
    when: str
    text: str
    actor: str
    kind: str
    important: bool


_STATE_EVENTS = {
    "draft": "record.state.draft",
    "announced": "record.state.announced",
    "registration": "record.state.registration",
    "in_session": "record.state.in_session",
    "closed": "record.state.closed",
}
_UPDATED_FIELDS = (
    "title",
    "starts_at",
    "place",
    "form",
    "chair_member_id",
    "secretary_member_id",
    "speaking_seconds",
)


def describe_event(
    kind: str,
    data: Mapping[str, Any],
    t: Translator,
    names: Mapping[int, str],
    items: Mapping[int, tuple[int, str]],
    clock: _Clock,
) -> tuple[str, bool]:
    """What one event of the log means, in words the protocol can use; and whether it
    matters for the protocol's attendance and quorum record (shown stronger)."""

    def who() -> str:
        member = data.get("member")
        return str(data.get("name") or names.get(member if isinstance(member, int) else 0, ""))

    if kind in ("presence.arrived", "presence.left"):
        mode = t(
            "record.mode.in_person" if data.get("mode") == "in_person" else "record.mode.online"
        )
        key = "record.arrived" if kind == "presence.arrived" else "record.left"
        return t(key, name=who(), mode=mode), True
    if kind == "quorum":
        numbers = {k: data.get(k, "?") for k in ("present", "composition", "required")}
        key = "record.quorum.met" if data.get("met") else "record.quorum.not_met"
        return t(key, **numbers), bool(data.get("changed"))
    if kind == "meeting.state":
        target = str(data.get("to", ""))
        state_key = _STATE_EVENTS.get(target)
        return (t(state_key) if state_key else t("record.state.other", state=target)), True
    if kind == "meeting.created":
        return t("record.created"), False
    if kind == "meeting.updated":
        changed = [
            t(f"record.field.{name}")
            for name in data.get("fields", [])
            if isinstance(name, str) and name in _UPDATED_FIELDS
        ]
        return t("record.updated", fields=", ".join(changed) or "—"), False
    if kind == "agenda.changed":
        return t("record.agenda_changed"), False
    if kind == "agenda.current":
        return t(
            "record.current_item", position=data.get("position", "?"), title=data.get("title", "")
        ), True
    if kind == "floor.raised":
        return t("record.floor.raised", name=who()), False
    if kind == "floor.lowered":
        return t("record.floor.lowered", name=who()), False
    if kind == "floor.granted":
        ends = data.get("ends_at")
        until = ""
        if isinstance(ends, str):
            try:
                until = clock(dt.datetime.fromisoformat(ends.replace("Z", "+00:00")), "%H:%M:%S")
            except ValueError:
                until = ""
        return t("record.floor.granted", name=who(), until=until or "—"), True
    if kind == "floor.ended":
        return t("record.floor.ended", name=who()), False
    if kind == "video.removed":
        return t("record.video.removed", name=who()), False
    if kind == "video.admitted":
        return t("record.video.admitted", name=who()), False
    election = describe_election_event(kind, data, t)
    if election is not None:
        return election
    vote = describe_vote_event(kind, data, t, items)
    if vote is not None:
        return vote
    if kind == "item.notes":
        item = data.get("item")
        position, _title = items.get(item if isinstance(item, int) else 0, (0, ""))
        return t("record.notes", position=position or "?"), False
    return t("record.other", kind=kind), False


def describe_vote_event(
    kind: str, data: Mapping[str, Any], t: Translator, items: Mapping[int, tuple[int, str]]
) -> tuple[str, bool] | None:
    """A vote's opening, ballots and close in the record's words; None for other events."""
    if kind not in ("vote.opened", "vote.closed", "vote.progress"):
        return None
    if kind == "vote.progress":
        return t(
            "record.vote.progress", cast=data.get("cast", "?"), roll=data.get("roll", "?")
        ), False
    item = data.get("item")
    position = items.get(item, (0, ""))[0] if isinstance(item, int) else 0
    question = str(data.get("question") or "")
    if kind == "vote.opened":
        roll = data.get("roll")
        return t(
            "record.vote.opened",
            position=position or "?",
            question=question,
            roll=len(roll) if isinstance(roll, list) else "?",
        ), True
    result = data.get("result")
    if not isinstance(result, Mapping):
        return t("record.vote.closed", position=position or "?", question=question), True
    options = data.get("options")
    counts = result.get("counts")
    pairs = (
        zip(options, counts, strict=False)
        if isinstance(options, list) and isinstance(counts, list)
        else ()
    )
    tally = ", ".join(f"{o} — {c}" for o, c in pairs)
    adopted = result.get("adopted")
    verdict = (
        "vote.result.no_decision"
        if not isinstance(adopted, bool)
        else "vote.result.adopted"
        if adopted
        else "vote.result.rejected"
    )
    return t(
        "record.vote.closed_result",
        position=position or "?",
        question=question,
        voters=result.get("voters", "?"),
        tally=tally or "—",
        verdict=t(verdict),
    ), True


def _data(event: MeetingEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.data or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


async def _all_events(db: AsyncSession, meeting_id: int) -> list[MeetingEvent]:
    events: list[MeetingEvent] = []
    after = 0
    while True:
        chunk = await events_after(db, meeting_id, after, MAX_BACKLOG)
        events.extend(chunk)
        if len(chunk) < MAX_BACKLOG:
            return events
        after = chunk[-1].seq


def record_rows(
    events: Iterable[MeetingEvent],
    t: Translator,
    names: Mapping[int, str],
    items: Mapping[int, tuple[int, str]],
    clock: _Clock,
) -> list[RecordRow]:
    rows = []
    day = ""
    for event in events:
        text, important = describe_event(event.kind, _data(event), t, names, items, clock)
        this_day = clock(event.at, "%d.%m.%Y")
        when = (
            clock(event.at, "%H:%M:%S") if this_day == day else clock(event.at, "%d.%m.%Y %H:%M:%S")
        )
        day = this_day
        rows.append(RecordRow(event.seq, when, text, event.actor, event.kind, important))
    return rows


async def meeting_record(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        service = MeetingService(db, actor)
        meeting, _roles = await service.get(path_id(request, "meeting_id"))
        events = await _all_events(db, meeting.id)
        ids = {m for m in (_data(e).get("member") for e in events) if isinstance(m, int)}
        names: dict[int, str] = {}
        if ids:
            names = {
                m.id: m.full_name
                for m in (await db.scalars(select(Member).where(Member.id.in_(ids)))).all()
            }
        items = {i.id: (i.position, i.title) for i in meeting.items}
        clock = _Clock(_meeting_zone(meeting))
        out = await service.out(meeting)
        return render(
            request,
            "meeting.html",
            actor=actor,
            page="record",
            meeting=out,
            state=meeting.state.value,
            rows=record_rows(events, t, names, items, clock),
            local=clock,
            zone_label=_zone_label(t, clock.zone),
        )


# --- notices -----------------------------------------------------------------------------------


async def notice_list(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        clock = _Clock(_org_zone(request))
        notices = await member_notices(db, actor)
        return render(
            request,
            "notices.html",
            actor=actor,
            notices=notices,
            unread=sum(1 for n in notices if n.read_at is None),
            local=clock,
            zone_label=_zone_label(translator(request), clock.zone),
        )


async def notice_read(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        await mark_notice_read(db, actor, path_id(request, "notice_id"))
        return see_other("/notices?done=notice_read")


async def notice_read_all(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        for notice in await member_notices(db, actor):
            if notice.read_at is None:
                await mark_notice_read(db, actor, notice.id)
        return see_other("/notices?done=notices_read")


# --- routes ------------------------------------------------------------------------------------


def install(app: web.Application) -> None:
    r = app.router
    m = r"/meetings/{meeting_id:\d+}"
    r.add_get("/meetings", meeting_list, name="meeting_list")
    r.add_get("/meetings/new", meeting_new)
    r.add_post("/meetings/new", meeting_create)
    r.add_get(m, meeting_detail)
    r.add_get(m + "/edit", meeting_edit)
    r.add_post(m + "/edit", meeting_update)
    r.add_post(m + "/transition", meeting_transition)
    r.add_get(m + "/calendar.ics", meeting_calendar)
    r.add_get(m + "/record", meeting_record)
    r.add_get(m + "/items/new", item_new)
    r.add_post(m + "/items/new", item_create)
    r.add_get(m + r"/items/{item_id:\d+}/edit", item_edit)
    r.add_post(m + r"/items/{item_id:\d+}/edit", item_update)
    r.add_post(m + r"/items/{item_id:\d+}/move", item_move)
    r.add_post(m + r"/items/{item_id:\d+}/remove", item_remove)
    r.add_post(m + r"/items/{item_id:\d+}/materials", material_upload)
    r.add_get(r"/materials/{material_id:\d+}", material_download)
    r.add_post(m + "/guests", guest_add)
    r.add_post(m + r"/guests/{guest_id:\d+}/remove", guest_remove)
    r.add_post(m + r"/guests/{guest_id:\d+}/link", guest_link)
    r.add_get("/notices", notice_list)
    r.add_post(r"/notices/{notice_id:\d+}/read", notice_read)
    r.add_post("/notices/read-all", notice_read_all)
