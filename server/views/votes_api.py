"""Votes over HTTP: casting signed ballots (authenticated by their signature alone),
opening and closing votes, live state, receipts' entries and audit bundles — plus the
board's setup and the sweeper that closes votes at their deadline."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.board import Board, BoardHooks
from ballots.models import Vote, VoteState
from crypto.instant import format_instant
from meetings.events import event_json, take_pending
from meetings.preparation import MeetingService
from meetings.votes import (
    AbsenteeVoteIn,
    MeetingVoteIn,
    SurveyIn,
    VoteDesk,
    VoteNotice,
    vote_progress,
)
from registry.actor import Actor
from registry.errors import InvalidInput, NotFound, PermissionDenied
from registry.models import Role
from server.api import ApiRoutes
from server.auth import unit
from server.keys import BOARD, HUB, KEYRING, MAILER, SESSIONMAKER, SETTINGS
from server.views.secret_api import close_due_secret_votes

__all__ = [
    "MAX_BALLOT_BODY",
    "board_context",
    "routes",
    "send_vote_notice",
    "vote_out",
    "vote_sweeper",
]

log = logging.getLogger("kvorum")
routes = ApiRoutes()

#: A ballot is a few hundred bytes; anything near this is not a ballot.
MAX_BALLOT_BODY = 16 * 1024


class VoteOut(BaseModel):
    vote: int
    item: int | None = None
    kind: str
    state: str
    title: str
    question: str
    options: list[str]
    min_choices: int
    max_choices: int
    roll: list[int]
    keys: dict[str, list[int]]
    rule: dict[str, Any]
    fingerprint: str
    closes_at: str | None
    cast: int
    result: dict[str, Any] | None
    secretary: int | None = None
    in_hall: list[int] = []
    recorded: list[int] = []
    mine: dict[str, Any] | None = None
    on_roll: bool = False
    bundle: bool = False


class ReceiptOut(BaseModel):
    vote: int
    seq: int
    entry: str
    received_at: str
    choice: list[int]
    receipt: dict[str, Any]


class EntryOut(BaseModel):
    vote: int
    seq: int
    hash: str
    entry: str  # the canonical JSON whose SHA-256 is ``hash``


# --- the board and the sweeper ----------------------------------------------------------------


async def board_context(app: web.Application) -> AsyncIterator[None]:
    """One board per process; the meeting room hears of every append."""

    async def committed(session: AsyncSession) -> None:
        events = take_pending(session)
        if events:
            await app[HUB].publish([event_json(e) for e in events])

    app[BOARD] = Board(
        app[SESSIONMAKER], app[KEYRING], BoardHooks(appended=vote_progress, committed=committed)
    )
    yield


async def close_due_votes(app: web.Application) -> list[int]:
    """Close the votes whose deadline passed; returns their ids."""
    async with app[SESSIONMAKER]() as db:
        async with db.begin():
            desk = VoteDesk(db, Actor.system("kvorum"), app[KEYRING])
            closed = [vote.id for vote in await desk.close_due()]
        events = take_pending(db)
    if events:
        await app[HUB].publish([event_json(e) for e in events])
    for vote_id in closed:
        app[BOARD].forget(vote_id)
    return closed


async def vote_sweeper(app: web.Application) -> AsyncIterator[None]:
    async def loop() -> None:
        while True:
            await asyncio.sleep(app[SETTINGS].vote_sweep_seconds)
            try:
                closed = await close_due_votes(app)
                if closed:
                    log.info("votes closed at their deadline: %s", closed)
                secret = await close_due_secret_votes(app)
                if secret:
                    log.info("secret votes of elections closed at their deadline: %s", secret)
            except Exception:  # keep sweeping after a transient database error
                log.exception("closing due votes failed")

    task = asyncio.create_task(loop(), name="kvorum-vote-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def send_vote_notice(app: web.Application, notice: VoteNotice) -> int:
    """Mail the voters who have an address (after the opening committed)."""
    url = f"{app[SETTINGS].effective_public_url}/votes/{notice.vote_id}"
    sent = 0
    for _member, name, email in notice.recipients:
        if not email:
            continue
        text = (
            f"{name}, вас просят проголосовать.\n\n{notice.subject}\n\n"
            f"Страница голосования: {url}\n"
        )
        try:
            await app[MAILER].send(email, notice.subject, text)
            sent += 1
        except Exception:  # one bad address must not stop the others
            log.exception("vote notice to %s failed", email)
    return sent


# --- casting ----------------------------------------------------------------------------------


# The signed envelope a browser sends (docs/ballots.md): read by the board itself, which
# checks far more than a schema can (the signature, the certificate, the roll).
_COMMON = {
    "vote": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    "definition": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
    "serial": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    "nonce": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
    "choice": {},
}
BALLOT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["payload", "signature", "signer"],
    "additionalProperties": False,
    "properties": {
        # A member's own ballot, or (a mixed meeting) the secretary's record of a hall
        # member's vote from a show of hands (docs/ballots.md, "Hall records").
        "payload": {
            "oneOf": [
                {
                    "type": "object",
                    "required": ["choice", "definition", "nonce", "serial", "type", "v", "vote"],
                    "additionalProperties": False,
                    "properties": {"type": {"const": "kvorum.ballot"}, "v": {"const": 1}} | _COMMON,
                },
                {
                    "type": "object",
                    "required": [
                        "choice",
                        "definition",
                        "member",
                        "nonce",
                        "serial",
                        "type",
                        "v",
                        "vote",
                    ],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"const": "kvorum.hall-record"},
                        "v": {"const": 1},
                        "member": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    }
                    | _COMMON,
                },
            ]
        },
        "signature": {"type": "string", "pattern": "^[A-Za-z0-9_-]{86}$"},
        "signer": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    },
}


@routes.route(
    "POST",
    "/votes/{vote_id}/ballots",
    summary="Cast a signed ballot, or record a hall member's vote as the secretary; "
    "answered with the signed receipt once it is durable. "
    "No session needed: the ballot is authenticated by its signature.",
    tag="ballots",
    response=ReceiptOut,
    status=201,
    public=True,
    raw_body=BALLOT_SCHEMA,
)
async def cast_ballot(request: web.Request, vote_id: int) -> web.Response:
    if request.content_type != "application/json":
        raise InvalidInput("send the ballot as application/json", code="malformed")
    if request.content_length is not None and request.content_length > MAX_BALLOT_BODY:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_BALLOT_BODY, actual_size=request.content_length
        )
    raw = await request.content.read(MAX_BALLOT_BODY + 1)
    if len(raw) > MAX_BALLOT_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BALLOT_BODY, actual_size=len(raw))
    receipt = await request.app[BOARD].cast(vote_id, raw)
    return web.json_response(receipt, status=201)


# --- in a meeting -----------------------------------------------------------------------------


@routes.route(
    "POST",
    "/meetings/{meeting_id}/votes",
    summary="Open a vote on the current agenda item (the chair; only with quorum)",
    tag="ballots",
    body=MeetingVoteIn,
    response=VoteOut,
    status=201,
    creates="vote_id",
)
async def open_meeting_vote(request: web.Request, meeting_id: int, body: MeetingVoteIn) -> VoteOut:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        vote = await desk.open_on_item(meeting_id, body)
        return await vote_out(desk, vote, actor)


@routes.route(
    "POST",
    "/meetings/{meeting_id}/votes/{vote_id}/close",
    summary="Close a meeting's vote and count it (the chair)",
    tag="ballots",
    response=VoteOut,
)
async def close_meeting_vote(request: web.Request, meeting_id: int, vote_id: int) -> VoteOut:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        vote = await desk.close_meeting_vote(meeting_id, vote_id)
        result = await vote_out(desk, vote, actor)
    request.app[BOARD].forget(vote_id)
    return result


@routes.route(
    "GET",
    "/meetings/{meeting_id}/votes",
    summary="The votes held in a meeting",
    tag="ballots",
    response=list[VoteOut],
)
async def list_meeting_votes(request: web.Request, meeting_id: int) -> list[VoteOut]:
    async with unit(request) as (db, actor):
        # The meeting first: one the caller may not see (or none) is "not found" whether
        # it has votes or not, never an empty list that says it exists.
        await MeetingService(db, actor).get(meeting_id)
        desk = VoteDesk(db, actor, request.app[KEYRING])
        rows = await desk.meeting_votes(meeting_id)
        if rows and not await desk.can_view(rows[0][0]):
            raise NotFound("no such meeting")
        return [await vote_out(desk, vote, actor) for vote, _link in rows]


@routes.route(
    "GET",
    "/meetings/{meeting_id}/bundle",
    summary="The audit bundle of every closed vote of a meeting",
    tag="audit",
    response=dict[str, Any],
)
async def meeting_bundle(request: web.Request, meeting_id: int) -> web.Response:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        votes = [vote for vote, _link in await desk.meeting_votes(meeting_id)]
        if not votes or not await desk.can_view(votes[0]):
            raise NotFound("this meeting has no votes")
        closed = [vote for vote in votes if vote.state is VoteState.CLOSED]
        if not closed:
            raise NotFound("no vote of this meeting is closed yet")
        for vote in closed:
            _require_bundle(vote, actor)
        data = await desk.votes.bundle(closed)
    return _download(data, f"meeting-{meeting_id}-audit.json")


# --- between meetings -------------------------------------------------------------------------


@routes.route(
    "POST",
    "/votes/absentee",
    summary="Call an absentee vote of a body's members, open until a deadline",
    tag="ballots",
    body=AbsenteeVoteIn,
    response=VoteOut,
    status=201,
    creates="vote_id",
)
async def open_absentee_vote(request: web.Request, body: AbsenteeVoteIn) -> VoteOut:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        vote, notice = await desk.open_absentee(body)
        result = await vote_out(desk, vote, actor)
    await send_vote_notice(request.app, notice)
    return result


@routes.route(
    "POST",
    "/votes/surveys",
    summary="Start a survey of an organisation's members, open until a deadline",
    tag="ballots",
    body=SurveyIn,
    response=VoteOut,
    status=201,
    creates="vote_id",
)
async def open_survey(request: web.Request, body: SurveyIn) -> VoteOut:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        vote, notice = await desk.open_survey(body)
        result = await vote_out(desk, vote, actor)
    await send_vote_notice(request.app, notice)
    return result


# --- reading ----------------------------------------------------------------------------------


@routes.route(
    "GET", "/votes", summary="The votes the caller may see", tag="ballots", response=list[VoteOut]
)
async def list_votes(request: web.Request) -> list[VoteOut]:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        return [await vote_out(desk, vote, actor) for vote in await desk.visible()]


@routes.route(
    "GET",
    "/votes/{vote_id}",
    summary="A vote: question, options, the live count, the caller's ballot, the result",
    tag="ballots",
    response=VoteOut,
)
async def get_vote(request: web.Request, vote_id: int) -> VoteOut:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        return await vote_out(desk, await desk.require_view(vote_id), actor)


@routes.route(
    "GET",
    "/votes/{vote_id}/definition",
    summary="The vote's signed definition (what every ballot's fingerprint names)",
    tag="ballots",
    response=dict[str, Any],
)
async def get_definition(request: web.Request, vote_id: int) -> web.Response:
    async with unit(request) as (db, actor):
        vote = await VoteDesk(db, actor, request.app[KEYRING]).require_view(vote_id)
        return web.Response(text=vote.definition, content_type="application/json")


@routes.route(
    "GET",
    "/votes/{vote_id}/entries/{seq}",
    summary="One board entry, as hashed: a voter checks their receipt against it",
    tag="audit",
    response=EntryOut,
)
async def get_entry(request: web.Request, vote_id: int, seq: int) -> EntryOut:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        vote = await desk.require_view(vote_id)
        entry = await desk.votes.entry(vote.id, seq)
        if not (
            entry.member_id == actor.member_id
            or actor.has(Role.AUDITOR)
            or actor.has(Role.REGISTRAR)
            or (vote.state is VoteState.CLOSED and _public(vote))
        ):
            raise PermissionDenied("only the voter and the auditors see an entry before the close")
        return EntryOut(vote=vote.id, seq=entry.seq, hash=entry.hash, entry=entry.entry)


@routes.route(
    "GET",
    "/votes/{vote_id}/bundle",
    summary="The vote's audit bundle (after the close): check it with `kvorum audit verify`",
    tag="audit",
    response=dict[str, Any],
)
async def vote_bundle(request: web.Request, vote_id: int) -> web.Response:
    async with unit(request) as (db, actor):
        desk = VoteDesk(db, actor, request.app[KEYRING])
        vote = await desk.require_view(vote_id)
        _require_bundle(vote, actor)
        data = await desk.votes.bundle([vote])
    return _download(data, f"vote-{vote_id}-audit.json")


# --- helpers ----------------------------------------------------------------------------------


def _public(vote: Vote) -> bool:
    """Whether the board may be read by every participant: an open (named) vote."""
    return bool(json.loads(vote.definition)["payload"]["publicity"] == "named")


def may_download(vote: Vote, actor: Actor) -> bool:
    if vote.state is not VoteState.CLOSED:
        return False
    return actor.has(Role.AUDITOR) or actor.has(Role.REGISTRAR) or _public(vote)


def _require_bundle(vote: Vote, actor: Actor) -> None:
    if vote.state is not VoteState.CLOSED:
        raise NotFound("the bundle is made when the vote closes")
    if not may_download(vote, actor):
        # A survey anonymous to members: its signed ballots name the voters.
        raise PermissionDenied("only auditors may download the ballots of this survey")


def _download(data: bytes, filename: str) -> web.Response:
    return web.Response(
        body=data,
        content_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def vote_out(desk: VoteDesk, vote: Vote, actor: Actor) -> VoteOut:
    link = await desk.link(vote.id)
    data = await desk.vote_json(vote, link.item_id if link else None)
    mine = None
    on_roll = actor.member_id is not None and actor.member_id in data["roll"]
    if on_roll and actor.member_id is not None:
        mine = await desk.votes.my_ballot(vote, actor.member_id)
        if mine is not None:
            mine["received_at"] = format_instant(mine["received_at"])
    return VoteOut(**data, mine=mine, on_roll=on_roll, bundle=may_download(vote, actor))
