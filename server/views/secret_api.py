"""Secret votes over HTTP (the contract the browser pages work against): the state of
an election's secret vote, the commission's key generation (transport keys,
dealings, complaints, the key), opening and closing, encrypted ballots and spoilings,
partial decryptions with the count at the t-th, and the audit bundle.

Documents are signed in the members' browsers; the board (``ballots.secretboard``)
appends them in a transaction of its own after the request's checks committed (on
SQLite a request's transaction holds the database's write lock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.secretboard import Appended, SecretBoard, refusal
from ballots.secretmodels import SecretPhase
from meetings.elections.models import Election
from meetings.elections.secretvote import SecretVoteService
from meetings.events import event_json, take_pending
from registry.actor import Actor
from server.api import ApiRoutes
from server.auth import unit
from server.keys import HUB, KEYRING, SECRET_BOARD, SESSIONMAKER, SETTINGS

__all__ = ["close_due_secret_votes", "routes", "secret_board_context"]

routes = ApiRoutes()
TAG = "secret"


class SignedIn(BaseModel):
    """A document signed by a member's certified key in their browser."""

    model_config = ConfigDict(extra="forbid")

    payload: dict[str, Any]
    signature: str = Field(max_length=200)
    signer: str = Field(max_length=100)


class DealingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dealer: SignedIn
    shares: list[SignedIn] = Field(max_length=254)


class EntriesQuery(BaseModel):
    after: int = Field(0, ge=0, le=2**31 - 1)


class PlacedOut(BaseModel):
    seq: int
    receipt: dict[str, Any]


class PublishedOut(BaseModel):
    published: bool


async def secret_board_context(app: web.Application) -> AsyncIterator[None]:
    """One secret board per process."""

    async def committed(session: AsyncSession) -> None:
        events = take_pending(session)
        if events:
            await app[HUB].publish([event_json(e) for e in events])

    board = SecretBoard(
        app[SESSIONMAKER],
        app[KEYRING],
        committed,
        workers=app[SETTINGS].secret_proof_workers,
    )
    app[SECRET_BOARD] = board
    yield
    await asyncio.to_thread(board.close)


async def close_due_secret_votes(app: web.Application) -> list[int]:
    """Close the absentee secret votes whose deadline passed (the vote sweeper)."""
    async with app[SESSIONMAKER]() as db:
        async with db.begin():
            service = SecretVoteService(db, Actor.system("kvorum"), app[KEYRING], app[SECRET_BOARD])
            closed = await service.close_due()
        events = take_pending(db)
    if events:
        await app[HUB].publish([event_json(e) for e in events])
    return closed


def _service(request: web.Request, db: Any, actor: Actor) -> SecretVoteService:
    return SecretVoteService(db, actor, request.app[KEYRING], request.app[SECRET_BOARD])


def _placed(appended: Appended) -> PlacedOut:
    return PlacedOut(seq=appended.seq, receipt=appended.receipt)


@routes.route(
    "GET",
    "/elections/{election_id}/secret",
    summary="An election's secret vote: phase, definitions, commission, who voted, result",
    tag=TAG,
    response=dict[str, Any],
)
async def get_secret(request: web.Request, election_id: int) -> dict[str, Any]:
    async with unit(request) as (db, actor):
        return await _service(request, db, actor).state(election_id)


@routes.route(
    "GET",
    "/elections/{election_id}/secret/entries",
    summary="The secret vote's board entries after seq `after` (at most 1000)",
    tag=TAG,
    query=EntriesQuery,
    response=dict[str, Any],
)
async def get_secret_entries(
    request: web.Request, election_id: int, query: EntriesQuery
) -> dict[str, Any]:
    async with unit(request) as (db, actor):
        return {"entries": await _service(request, db, actor).entries(election_id, query.after)}


@routes.route(
    "GET",
    "/elections/{election_id}/secret/certificates",
    summary="The key certificates of the roll and the commission",
    tag=TAG,
    response=list[dict[str, Any]],
)
async def get_secret_certificates(request: web.Request, election_id: int) -> list[Any]:
    async with unit(request) as (db, actor):
        return await _service(request, db, actor).certificates(election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/secret/transport-keys",
    summary="A commission member publishes their signed transport key (once)",
    tag=TAG,
    body=SignedIn,
    response=PublishedOut,
    status=201,
)
async def post_transport_key(
    request: web.Request, election_id: int, body: SignedIn
) -> PublishedOut:
    async with unit(request) as (db, actor):
        await _service(request, db, actor).publish_transport_key(election_id, body.model_dump())
    return PublishedOut(published=True)


@routes.route(
    "POST",
    "/elections/{election_id}/secret/dealings",
    summary="A dealer's commitment onto the board and their wrapped shares (all or nothing)",
    tag=TAG,
    body=DealingIn,
    response=PlacedOut,
    status=201,
)
async def post_dealing(request: web.Request, election_id: int, body: DealingIn) -> PlacedOut:
    dealer = body.dealer.model_dump()
    async with unit(request) as (db, actor):
        vote_id, store = await _service(request, db, actor).prepare_deal(
            election_id, dealer, [s.model_dump() for s in body.shares]
        )
    appended = await request.app[SECRET_BOARD].append(
        vote_id, "dealer", dealer, phases=(SecretPhase.KEYGEN,), hook=store
    )
    return _placed(appended)


@routes.route(
    "GET",
    "/elections/{election_id}/secret/shares",
    summary="The wrapped shares addressed to the caller (a commission member)",
    tag=TAG,
    response=list[dict[str, Any]],
)
async def get_shares(request: web.Request, election_id: int) -> list[Any]:
    async with unit(request) as (db, actor):
        return await _service(request, db, actor).shares_for_me(election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/secret/complaints",
    summary="A complaint against a dealer's share, or the dealer's answer revealing it",
    tag=TAG,
    body=SignedIn,
    response=PlacedOut,
    status=201,
)
async def post_complaint(request: web.Request, election_id: int, body: SignedIn) -> PlacedOut:
    async with unit(request) as (db, actor):
        vote_id = await _service(request, db, actor).vote_of(election_id)
    return _placed(
        await request.app[SECRET_BOARD].append(
            vote_id, "complaint", body.model_dump(), phases=(SecretPhase.KEYGEN,)
        )
    )


@routes.route(
    "POST",
    "/elections/{election_id}/secret/key",
    summary="Finish key generation: the election key is the board's (election → key_ready)",
    tag=TAG,
    response=dict[str, Any],
)
async def post_key(request: web.Request, election_id: int) -> dict[str, Any]:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.finish_key(election_id)
        return await service.state(election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/secret/open",
    summary="Open the secret vote: the registry signs the final definition (the chair)",
    tag=TAG,
    response=dict[str, Any],
)
async def post_open(request: web.Request, election_id: int) -> dict[str, Any]:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.open(election_id)
        return await service.state(election_id)


@routes.route(
    "POST",
    "/elections/{election_id}/secret/close",
    summary="Close the secret vote (the chair)",
    tag=TAG,
    response=dict[str, Any],
)
async def post_close(request: web.Request, election_id: int) -> dict[str, Any]:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        await service.close(election_id)
        return await service.state(election_id)


async def _public_vote(request: web.Request, election_id: int) -> int:
    """The election's secret vote, for a document authenticated by its signature (read
    once: a transaction per ballot would contend for SQLite's lock with the board)."""
    known = request.app[SECRET_BOARD].election_votes
    if election_id in known:
        return known[election_id]
    async with request.app[SESSIONMAKER]() as db, db.begin():
        vote_id = await db.scalar(select(Election.vote_id).where(Election.id == election_id))
    if vote_id is None:
        raise refusal("no_secret_vote", "no such secret vote")
    if len(known) > 10_000:
        known.clear()
    known[election_id] = int(vote_id)
    return int(vote_id)


@routes.route(
    "POST",
    "/elections/{election_id}/secret/ballots",
    summary="Cast an encrypted, signed ballot; answered with the signed receipt once it is "
    "durable. No session needed: the ballot is authenticated by its signature.",
    tag=TAG,
    body=SignedIn,
    response=PlacedOut,
    status=201,
    public=True,
)
async def post_ballot(request: web.Request, election_id: int, body: SignedIn) -> PlacedOut:
    vote_id = await _public_vote(request, election_id)
    return _placed(
        await request.app[SECRET_BOARD].append(
            vote_id, "ballot", body.model_dump(), phases=(SecretPhase.OPEN,)
        )
    )


@routes.route(
    "POST",
    "/elections/{election_id}/secret/spoils",
    summary="Spoil (challenge) one's own ballot by publishing its opening",
    tag=TAG,
    body=SignedIn,
    response=PlacedOut,
    status=201,
    public=True,
)
async def post_spoil(request: web.Request, election_id: int, body: SignedIn) -> PlacedOut:
    vote_id = await _public_vote(request, election_id)
    return _placed(
        await request.app[SECRET_BOARD].append(
            vote_id, "spoil", body.model_dump(), phases=(SecretPhase.OPEN,)
        )
    )


@routes.route(
    "POST",
    "/elections/{election_id}/secret/partials",
    summary="A commission member's partial decryption; the t-th valid one counts the vote",
    tag=TAG,
    body=SignedIn,
    response=PlacedOut,
    status=201,
)
async def post_partial(request: web.Request, election_id: int, body: SignedIn) -> PlacedOut:
    async with unit(request) as (db, actor):
        service = _service(request, db, actor)
        vote_id = await service.vote_of(election_id)
        count = service.counter()
    return _placed(
        await request.app[SECRET_BOARD].append(
            vote_id,
            "partial",
            body.model_dump(),
            phases=(SecretPhase.CLOSED,),
            hook=count,
        )
    )


@routes.route(
    "GET",
    "/elections/{election_id}/secret/bundle",
    summary="The secret vote's audit bundle (once counted): `kvorum audit verify` checks it",
    tag="audit",
    response=dict[str, Any],
)
async def get_secret_bundle(request: web.Request, election_id: int) -> web.Response:
    async with unit(request) as (db, actor):
        data = await _service(request, db, actor).bundle(election_id)
    return web.Response(
        body=data,
        content_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="election-{election_id}-secret.json"'
        },
    )
