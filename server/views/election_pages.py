"""Pages of elections: the list, preparing an election on a meeting's agenda item (or
between meetings), and an election's page — its state and what comes next, the
candidates with their biographies and consent, nominating, closing the nomination,
and the counting commission (proposed to the body's open vote, or appointed)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import Vote, VoteState
from meetings.access import roles_in
from meetings.elections.models import Election, ElectionKind, ElectionState
from meetings.elections.protocol import commission_protocol
from meetings.elections.schemas import (
    MAX_COMMISSION,
    MIN_COMMISSION,
    AbsenteeElectionIn,
    CandidateIn,
    CommissionIn,
    ConsentIn,
    ElectionIn,
    ElectionOut,
    default_threshold,
)
from meetings.elections.services import ElectionAccess, ElectionService
from meetings.issuing import DocumentDesk
from meetings.models import DocumentState, Meeting, MeetingState
from meetings.preparation import MeetingService
from registry.actor import Actor
from registry.errors import DomainError, InvalidInput, PermissionDenied
from registry.localtime import zone_label
from registry.members import current_seat_clause
from registry.models import Member, Seat
from registry.orm import utcnow
from server.auth import read_form, unit
from server.forms import (
    FieldErrors,
    FormValues,
    domain_errors,
    path_id,
    read_fields,
    refusal_status,
    see_other,
    validate_form,
)
from server.keys import KEYRING
from server.pages import render, translator
from server.views.document_pages import issue_commission_protocol
from server.views.meeting_pages import convenable_bodies, parse_local
from server.views.secret_pages import secret_links

__all__ = ["install"]

#: The union's home zone (Perm): times between meetings are shown there.
HOME_ZONE = "Asia/Yekaterinburg"
_ELECTION_FIELDS = (
    "kind",
    "item_id",
    "body_id",
    "office",
    "question",
    "seats",
    "form",
    "rule",
    "base",
    "closes_at",
)
_CANDIDATE_FIELDS = (
    "member_id",
    "name",
    "bio",
    "nominated_by",
    "at_meeting",
    "consent",
    "consent_note",
)
#: The rule as a form offers it: (numerator, denominator, strict).
RULES = {
    "more_than_half": (1, 2, True),
    "at_least_half": (1, 2, False),
    "two_thirds": (2, 3, False),
}


@dataclass
class _Forms:
    """What a refused form posts back onto the election's page."""

    candidate: FormValues | None = None
    candidate_errors: FieldErrors | None = None
    commission: list[str] | None = None
    commission_threshold: str = ""
    commission_errors: FieldErrors | None = None
    commission_problems: list[tuple[str, str]] | None = None  # (member id, reason)
    action_error: FieldErrors | None = None
    protocol_error: FieldErrors | None = None


def _service(request: web.Request, db: AsyncSession, actor: Actor) -> ElectionService:
    return ElectionService(db, actor, request.app[KEYRING])


def _clock(zone: str) -> Any:
    def local(moment: dt.datetime | None) -> str:
        if moment is None:
            return ""
        return moment.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M")

    return local


# --- the list ---------------------------------------------------------------------------------


async def elections_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        elections = [await service.out(e, await service.access(e)) for e in await service.visible()]
        return render(
            request,
            "elections.html",
            actor=actor,
            elections=elections,
            can_call=bool(await convenable_bodies(db, actor)),
            local=_clock(HOME_ZONE),
        )


# --- preparing ----------------------------------------------------------------------------------


def _election_data(values: FormValues, zone: str) -> tuple[dict[str, Any], FieldErrors]:
    numerator, denominator, strict = RULES.get(values["rule"], RULES["more_than_half"])
    data: dict[str, Any] = {
        "kind": values["kind"] or "election",
        "office": values["office"],
        "question": values["question"],
        "seats": values["seats"] or "1",
        "form": values["form"] or "approve_each",
        "rule": {
            "base": values["base"] or "took_part",
            "numerator": numerator,
            "denominator": denominator,
            "strict": strict,
        },
    }
    errors: FieldErrors = {}
    if values["item_id"]:
        data["item_id"] = values["item_id"]
    if values["body_id"] or values["closes_at"]:
        data["body_id"] = values["body_id"] or 0
        closes = parse_local(values["closes_at"], zone)
        if closes is None:
            errors["closes_at"] = "closes_at"
        data["closes_at"] = closes or utcnow()
    return data, errors


def _blank(**kw: str) -> FormValues:
    values = dict.fromkeys(_ELECTION_FIELDS, "")
    values |= {"kind": "election", "seats": "1", "form": "approve_each", "rule": "more_than_half"}
    return values | kw


async def meeting_election_new(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        meeting, roles = await MeetingService(db, actor).get(path_id(request, "meeting_id"))
        roles.require_prepare()
        values = _blank(item_id=request.query.get("item", ""))
        return await _form(request, db, actor, values, {}, meeting=meeting)


async def meeting_election_create(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        meeting, roles = await MeetingService(db, actor).get(path_id(request, "meeting_id"))
        roles.require_prepare()  # refused as such, not as a form with an error
        values = await read_fields(request, _ELECTION_FIELDS)
        values["body_id"] = values["closes_at"] = ""
        data, _ = _election_data(values, meeting.timezone)
        model, invalid = validate_form(ElectionIn, data, t)
        if model is None:
            return await _form(request, db, actor, values, invalid, meeting=meeting, status=422)
        try:
            async with db.begin_nested():
                election = await _service(request, db, actor).create_on_item(meeting.id, model)
        except DomainError as exc:
            return await _form(
                request,
                db,
                actor,
                values,
                domain_errors(exc, t),
                meeting=meeting,
                status=refusal_status(exc),
            )
        election_id = election.id
    return see_other(f"/elections/{election_id}?done=prepared")


async def absentee_election_new(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        values = _blank(body_id=request.query.get("body", ""))
        return await _form(request, db, actor, values, {})


async def absentee_election_create(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        t = translator(request)
        values = await read_fields(request, _ELECTION_FIELDS)
        values["item_id"] = ""
        values["body_id"] = values["body_id"] or "0"
        data, errors = _election_data(values, HOME_ZONE)
        if errors:
            errors = {"closes_at": t("vote.form.error.deadline")}
        model, invalid = validate_form(AbsenteeElectionIn, data, t)
        if model is None or errors:
            return await _form(request, db, actor, values, invalid | errors, status=422)
        try:
            async with db.begin_nested():
                election = await _service(request, db, actor).create_absentee(model)
        except DomainError as exc:
            return await _form(
                request, db, actor, values, domain_errors(exc, t), status=refusal_status(exc)
            )
        election_id = election.id
    return see_other(f"/elections/{election_id}?done=prepared")


async def _form(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    values: FormValues,
    errors: FieldErrors,
    *,
    meeting: Meeting | None = None,
    status: int = 200,
) -> web.Response:
    bodies = [] if meeting is not None else await convenable_bodies(db, actor)
    if meeting is None and not bodies:
        raise PermissionDenied(
            "only a body's chair, deputy chair, secretary or the registrar prepare an"
            " election between meetings"
        )
    return render(
        request,
        "election_form.html",
        actor=actor,
        status=status,
        values=values,
        errors=errors,
        meeting=meeting,
        items=[(str(i.id), f"{i.position}. {i.title}") for i in meeting.items] if meeting else [],
        bodies=[(str(b.id), b.name) for b in bodies],
        zone=zone_label(meeting.timezone if meeting else HOME_ZONE, translator(request).locale),
    )


# --- an election's page -------------------------------------------------------------------------


async def election_page(request: web.Request) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        return await _page(request, db, actor, path_id(request, "election_id"), _Forms())


async def _page(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    election_id: int,
    forms: _Forms,
    *,
    status: int = 200,
) -> web.Response:
    service = _service(request, db, actor)
    election, access = await service.get(election_id)
    out = await service.out(election, access)
    meeting = await db.get(Meeting, election.meeting_id) if election.meeting_id else None
    zone = meeting.timezone if meeting else HOME_ZONE
    people = await _body_people(db, election)
    candidates = {c.member_id for c in out.candidates if c.member_id is not None}
    item = next((i for i in meeting.items if i.id == election.item_id), None) if meeting else None
    in_session = meeting is not None and meeting.state is MeetingState.IN_SESSION
    # Who opens and closes the secret vote: the meeting's chair; between meetings the
    # body's officers who prepare it.
    leads = (
        (await roles_in(db, meeting, actor)).is_chair if meeting is not None else access.can_prepare
    )
    return render(
        request,
        "election.html",
        actor=actor,
        status=status,
        e=out,
        meeting=meeting,
        item=item,
        local=_clock(zone),
        can_prepare=access.can_prepare,
        nominating=access.can_prepare
        and out.state is ElectionState.DRAFT
        and out.kind is ElectionKind.ELECTION,
        can_propose="caller" in access.names
        and out.state is ElectionState.CANDIDATES_CLOSED
        and out.commission is None
        and meeting is not None,
        in_session=in_session,
        can_appoint="appointer" in access.names
        and out.state is ElectionState.CANDIDATES_CLOSED
        and meeting is None,
        people=[(str(m_id), name) for m_id, name in people],
        eligible=[(m_id, name) for m_id, name in people if m_id not in candidates],
        thresholds=[str(n) for n in range(2, MAX_COMMISSION + 1)],
        default_threshold=default_threshold,
        candidate_form=forms.candidate
        or (dict.fromkeys(_CANDIDATE_FIELDS, "") | {"at_meeting": "on" if in_session else ""}),
        candidate_errors=forms.candidate_errors or {},
        commission_form=forms.commission or [],
        commission_threshold=forms.commission_threshold,
        commission_errors=forms.commission_errors or {},
        commission_problems=forms.commission_problems or [],
        names={str(m_id): name for m_id, name in people},
        action_error=forms.action_error or {},
        next_key=next_step_key(out),
        protocol=await _protocol_panel(request, db, actor, election, access, forms),
        secret_links=secret_links(out, actor.member_id, sorted(access.names)),
        can_open=leads and out.state is ElectionState.KEY_READY,
        can_close=leads and out.state is ElectionState.OPEN,
    )


async def _protocol_panel(
    request: web.Request,
    db: AsyncSession,
    actor: Actor,
    election: Election,
    access: ElectionAccess,
    forms: _Forms,
) -> dict[str, Any] | None:
    """The counting commission's protocol on the page, once the election is counted."""
    if election.state not in (ElectionState.COUNTED, ElectionState.APPROVED):
        return None
    desk = DocumentDesk(db, actor, request.app[KEYRING])
    document = await desk.commission_document(election.id)
    signers: list[dict[str, Any]] = []
    counted: set[int] = set()
    my_turn = False
    if document is not None:
        signatures = {s.member_id: s for s in await desk.signatures(document)}
        for signer in json.loads(document.record)["signers"]:
            member = int(signer["member"])
            done = signatures.get(member)
            signers.append({"name": signer["name"], "at": done.signed_at if done else None})
        pending = desk.pending(document, list(signatures.values()))
        my_turn = any(member == actor.member_id for _role, member in pending)
    else:
        try:
            counted = {
                member for member, _name in (await commission_protocol(db, election, None))[2]
            }
        except DomainError:
            counted = set()
    vote = await db.get(Vote, election.approval_vote_id) if election.approval_vote_id else None
    voting = vote is not None and vote.state is not VoteState.CLOSED
    signed = document is not None and document.state is DocumentState.SIGNED
    caller = "caller" in access.names
    return {
        "document": document,
        "signers": signers,
        "signed": signed,
        "my_turn": my_turn,
        "can_issue": document is None
        and election.state is ElectionState.COUNTED
        and election.meeting_id is not None
        and (caller or actor.member_id in counted),
        "can_approve": caller and signed and election.state is ElectionState.COUNTED and not voting,
        "voting": voting,
        "rejected": vote is not None and not voting and election.state is ElectionState.COUNTED,
        "approval_vote": election.approval_vote_id,
        "approved_at": election.approved_at,
        "error": forms.protocol_error or {},
    }


async def protocol_issue(request: web.Request) -> web.StreamResponse:
    """Issue the counting commission's protocol: render its PDF and fix it."""
    election_id = path_id(request, "election_id")
    await read_form(request)

    async def action(service: ElectionService, t: Any) -> None:
        await issue_commission_protocol(request, service.session, service.actor, election_id)

    return await _act(
        request, election_id, action, lambda errors: _Forms(protocol_error=errors), "protocol"
    )


async def approval_put(request: web.Request) -> web.StreamResponse:
    """Put the signed protocol to the body's open vote («Поставить на утверждение»)."""
    election_id = path_id(request, "election_id")
    await read_form(request)

    async def action(service: ElectionService, t: Any) -> None:
        await service.put_to_approval(election_id)

    return await _act(
        request, election_id, action, lambda errors: _Forms(protocol_error=errors), "approval"
    )


async def _body_people(db: AsyncSession, election: Election) -> list[tuple[int, str]]:
    """The body's members on the day (the meeting's, or today between meetings)."""
    on = utcnow().date()
    if election.meeting_id is not None:
        meeting = await db.get(Meeting, election.meeting_id)
        assert meeting is not None
        on = meeting.local_start.date()
    rows = await db.execute(
        select(Member.id, Member)
        .join(Seat, Seat.member_id == Member.id)
        .where(Seat.body_id == election.body_id, current_seat_clause(on))
        .order_by(Member.surname, Member.name, Member.id)
    )
    return [(member_id, member.full_name) for member_id, member in rows.tuples().all()]


async def _act(
    request: web.Request,
    election_id: int,
    action: Any,
    refused: Any,
    done: str,
) -> web.StreamResponse:
    """Run ``action`` on the election; on a refusal show the page with ``refused``'s
    forms and status 403/409/422 (nothing changed)."""
    async with unit(request) as (db, actor):
        t = translator(request)
        try:
            async with db.begin_nested():
                await action(_service(request, db, actor), t)
        except DomainError as exc:
            forms = refused(_errors(exc, t))
            status = 403 if isinstance(exc, PermissionDenied) else refusal_status(exc)
            return await _page(request, db, actor, election_id, forms, status=status)
    return see_other(f"/elections/{election_id}?done={done}")


async def candidate_add(request: web.Request) -> web.StreamResponse:
    election_id = path_id(request, "election_id")
    values = await read_fields(request, _CANDIDATE_FIELDS)
    data = {
        "member_id": values["member_id"] or None,
        "name": values["name"] if not values["member_id"] else "",
        "bio": values["bio"],
        "nominated_by": values["nominated_by"],
        "at_meeting": values["at_meeting"] == "on",
        "consent": values["consent"] == "on",
        "consent_note": values["consent_note"],
    }

    async def action(service: ElectionService, t: Any) -> None:
        model, invalid = validate_form(CandidateIn, data, t)
        if model is None:
            raise _FormInvalid(invalid)
        await service.nominate(election_id, model)

    return await _act(
        request,
        election_id,
        action,
        lambda errors: _Forms(candidate=values, candidate_errors=errors),
        "nominated",
    )


class _FormInvalid(DomainError):
    """A posted form that does not validate, carried to the page like a refusal."""

    code = "invalid_input"

    def __init__(self, errors: FieldErrors) -> None:
        super().__init__("the form is invalid", fields=errors)


async def candidate_consent(request: web.Request) -> web.StreamResponse:
    election_id = path_id(request, "election_id")
    candidate_id = path_id(request, "candidate_id")
    values = await read_fields(request, ("note",))

    async def action(service: ElectionService, t: Any) -> None:
        await service.record_consent(
            election_id, candidate_id, ConsentIn(note=values["note"][:500])
        )

    return await _act(
        request, election_id, action, lambda errors: _Forms(action_error=errors), "consent"
    )


async def candidate_withdraw(request: web.Request) -> web.StreamResponse:
    election_id = path_id(request, "election_id")
    candidate_id = path_id(request, "candidate_id")

    async def action(service: ElectionService, t: Any) -> None:
        await service.withdraw(election_id, candidate_id)

    return await _act(
        request, election_id, action, lambda errors: _Forms(action_error=errors), "withdrawn"
    )


async def election_transition(request: web.Request) -> web.StreamResponse:
    election_id = path_id(request, "election_id")
    values = await read_fields(request, ("target",))
    try:
        target = ElectionState(values["target"])
    except ValueError:
        raise InvalidInput(
            f"'{values['target']}' is not a state of an election", fields={"target": "unknown"}
        ) from None

    async def action(service: ElectionService, t: Any) -> None:
        await service.transition(election_id, target)

    return await _act(
        request, election_id, action, lambda errors: _Forms(action_error=errors), target.value
    )


async def _commission(request: web.Request, *, appoint: bool) -> web.StreamResponse:
    election_id = path_id(request, "election_id")
    posted = await read_form(request)
    chosen = [v for v in posted.getall("member_id", []) if isinstance(v, str)]
    threshold = str(posted.get("threshold", "") or "")
    data: dict[str, Any] = {"member_ids": chosen}
    if threshold:
        data["threshold"] = threshold

    async def action(service: ElectionService, t: Any) -> None:
        if not MIN_COMMISSION <= len(chosen) <= MAX_COMMISSION:
            raise _FormInvalid({"member_ids": t("election.commission_size")})
        model, invalid = validate_form(CommissionIn, data, t)
        if model is None:
            raise _FormInvalid(invalid)
        if appoint:
            await service.appoint_commission(election_id, model)
        else:
            await service.propose_commission(election_id, model)

    return await _act(
        request,
        election_id,
        action,
        lambda errors: _Forms(
            commission=chosen,
            commission_threshold=threshold,
            commission_errors=errors,
            commission_problems=[
                (chosen[int(name.split(".")[1])], reason)
                for name, reason in errors.items()
                if name.startswith("member_ids.")
                and name.split(".")[1].isdigit()
                and int(name.split(".")[1]) < len(chosen)
            ],
        ),
        "appointed" if appoint else "proposed",
    )


async def commission_propose(request: web.Request) -> web.StreamResponse:
    return await _commission(request, appoint=False)


async def commission_appoint(request: web.Request) -> web.StreamResponse:
    return await _commission(request, appoint=True)


#: Reasons the elections service gives in its fields, as catalogue keys.
_REASONS = {
    "a candidate": "election.reason.candidate",
    "not in the body": "election.reason.not_in_body",
    "no such member": "field.reason.no_such_member",
    "already a candidate": "election.reason.already_candidate",
    "on the commission": "election.reason.on_commission",
    "another union": "field.reason.another_union",
    "has left": "field.reason.has_left",
    "in the past": "election.reason.in_the_past",
    "not in this meeting": "election.reason.not_in_meeting",
    "required": "field.reason.required",
}


def _errors(exc: DomainError, t: Any) -> FieldErrors:
    """The refusal in the reader's language: a field's reason from the catalogue, a
    whole-form refusal by its code, with the service's detail (naming who) kept."""
    if isinstance(exc, _FormInvalid):
        return dict(exc.fields)
    errors: FieldErrors = {}
    for name, reason in exc.fields.items():
        key = _REASONS.get(reason)
        errors[name] = t(key) if key else reason
    key = f"election.refused.{exc.code}"
    if not errors:
        errors["form"] = t(key) if t.has(key) else t("form.refused")
    errors["form_detail"] = exc.detail
    return errors


def next_step_key(e: ElectionOut) -> str:
    """The catalogue key of "what comes next" on the election's page."""
    if e.state is ElectionState.CANDIDATES_CLOSED and e.commission is not None:
        return "election.next.commission_vote"
    if e.state is ElectionState.CANDIDATES_CLOSED and e.meeting_id is None:
        return "election.next.commission_appoint"
    return f"election.next.{e.state.value}"


def install(app: web.Application) -> None:
    r = app.router
    e = r"/elections/{election_id:\d+}"
    r.add_get("/elections", elections_page)
    r.add_get("/elections/new", absentee_election_new)
    r.add_post("/elections/new", absentee_election_create)
    r.add_get(r"/meetings/{meeting_id:\d+}/elections/new", meeting_election_new)
    r.add_post(r"/meetings/{meeting_id:\d+}/elections/new", meeting_election_create)
    r.add_get(e, election_page)
    r.add_post(e + "/candidates", candidate_add)
    r.add_post(e + r"/candidates/{candidate_id:\d+}/consent", candidate_consent)
    r.add_post(e + r"/candidates/{candidate_id:\d+}/withdraw", candidate_withdraw)
    r.add_post(e + "/transition", election_transition)
    r.add_post(e + "/commission", commission_propose)
    r.add_post(e + "/commission/appoint", commission_appoint)
    r.add_post(e + "/protocol", protocol_issue)
    r.add_post(e + "/approval", approval_put)
