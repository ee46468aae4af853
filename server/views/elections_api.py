"""JSON API of elections and secret questions: preparing one on an agenda item or
between meetings, candidates and their consent, closing the nomination, and the
counting commission (put to the body's open vote, or appointed)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.elections.models import Election
from meetings.elections.schemas import (
    AbsenteeElectionIn,
    CandidateIn,
    CommissionIn,
    ConsentIn,
    ElectionIn,
    ElectionOut,
    ElectionTransitionIn,
)
from meetings.elections.services import ElectionService
from meetings.preparation import MeetingService
from registry.actor import Actor
from server.api import ApiRoutes
from server.auth import unit
from server.keys import KEYRING
from server.views.document_pages import DocumentOut, document_out, issue_commission_protocol

__all__ = ["routes"]

routes = ApiRoutes()
TAG = "elections"


async def _out(service: ElectionService, election_id: int) -> ElectionOut:
    election, access = await service.get(election_id)
    return await service.out(election, access)


def _service(request: web.Request, db: AsyncSession, actor: Actor) -> ElectionService:
    return ElectionService(db, actor, request.app[KEYRING])


@routes.route(
    "GET",
    "/elections",
    summary="Elections and secret questions the caller may see, newest first",
    tag=TAG,
    response=list[ElectionOut],
)
async def list_elections(request: web.Request) -> list[ElectionOut]:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        return [await service.out(e, await service.access(e)) for e in await service.visible()]


@routes.route(
    "POST",
    "/elections",
    summary="Prepare an election between meetings (the body's officers; by absentee vote)",
    tag=TAG,
    body=AbsenteeElectionIn,
    response=ElectionOut,
    status=201,
)
async def create_absentee_election(request: web.Request, body: AbsenteeElectionIn) -> ElectionOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        election = await service.create_absentee(body)
        return await _out(service, election.id)


@routes.route(
    "GET",
    "/meetings/{meeting_id}/elections",
    summary="The elections and secret questions of a meeting",
    tag=TAG,
    response=list[ElectionOut],
)
async def list_meeting_elections(request: web.Request, meeting_id: int) -> list[ElectionOut]:
    async with unit(request) as (db, actor):
        await MeetingService(db, actor).get(meeting_id)  # 404 for a meeting not seen
        service = _service(request, db, actor)
        out = []
        for election in await service.of_meeting(meeting_id):
            access = await service.access(election)
            if access.can_view:
                out.append(await service.out(election, access))
        return out


@routes.route(
    "POST",
    "/meetings/{meeting_id}/elections",
    summary="Prepare an election or a secret question on an agenda item (the secretary)",
    tag=TAG,
    body=ElectionIn,
    response=ElectionOut,
    status=201,
)
async def create_meeting_election(
    request: web.Request, meeting_id: int, body: ElectionIn
) -> ElectionOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        election: Election = await service.create_on_item(meeting_id, body)
        return await _out(service, election.id)


@routes.route(
    "GET",
    "/elections/{election_id}",
    summary="An election: its state, candidates, commission and what comes next",
    tag=TAG,
    response=ElectionOut,
)
async def get_election(request: web.Request, election_id: int) -> ElectionOut:
    async with unit(request) as (db, actor):
        return await _out(_service(request, db, actor), election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/candidates",
    summary="Nominate a candidate (a member or a named person), with a biography",
    tag=TAG,
    body=CandidateIn,
    response=ElectionOut,
    status=201,
)
async def nominate_candidate(
    request: web.Request, election_id: int, body: CandidateIn
) -> ElectionOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.nominate(election_id, body)
        return await _out(service, election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/candidates/{candidate_id}/consent",
    summary="Record a candidate's consent (who recorded it and when are kept)",
    tag=TAG,
    body=ConsentIn,
    response=ElectionOut,
)
async def record_consent(
    request: web.Request, election_id: int, candidate_id: int, body: ConsentIn
) -> ElectionOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.record_consent(election_id, candidate_id, body)
        return await _out(service, election_id)


@routes.route(
    "DELETE",
    "/elections/{election_id}/candidates/{candidate_id}",
    summary="Take a candidate off the list while the nomination is open",
    tag=TAG,
    response=ElectionOut,
)
async def withdraw_candidate(
    request: web.Request, election_id: int, candidate_id: int
) -> ElectionOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.withdraw(election_id, candidate_id)
        return await _out(service, election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/transition",
    summary="Close the nomination (candidates_closed) or reopen it (draft)",
    tag=TAG,
    body=ElectionTransitionIn,
    response=ElectionOut,
)
async def transition_election(
    request: web.Request, election_id: int, body: ElectionTransitionIn
) -> ElectionOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.transition(election_id, body.target)
        return await _out(service, election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/commission",
    summary="Propose the counting commission and open the body's open vote on it "
    "(the meeting's secretary or chair; in session, with quorum)",
    tag=TAG,
    body=CommissionIn,
    response=ElectionOut,
    status=201,
)
async def propose_commission(
    request: web.Request, election_id: int, body: CommissionIn
) -> ElectionOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.propose_commission(election_id, body)
        return await _out(service, election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/commission/appoint",
    summary="Appoint the counting commission of an absentee election (the body's officers)",
    tag=TAG,
    body=CommissionIn,
    response=ElectionOut,
    status=201,
)
async def appoint_commission(
    request: web.Request, election_id: int, body: CommissionIn
) -> ElectionOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.appoint_commission(election_id, body)
        return await _out(service, election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/protocol",
    summary="Issue the counting commission's protocol of a counted election (a commission "
    "member, or the meeting's secretary or chair): its PDF is fixed and the commission "
    "members who counted sign it",
    tag=TAG,
    response=DocumentOut,
    status=201,
)
async def issue_protocol(request: web.Request, election_id: int) -> DocumentOut:
    async with unit(request) as (db, actor):
        document = await issue_commission_protocol(request, db, actor, election_id)
        return document_out(document, [])


@routes.route(
    "POST",
    "/elections/{election_id}/approval",
    summary="Put the signed protocol of the counting commission to the body's open vote "
    "(the meeting's secretary or chair); adopting it approves the election",
    tag=TAG,
    response=ElectionOut,
    status=201,
)
async def put_to_approval(request: web.Request, election_id: int) -> ElectionOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.put_to_approval(election_id)
        return await _out(service, election_id)
