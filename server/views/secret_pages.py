"""Pages of an election's secret vote, each a shell its script fills from
``/api/v1/elections/{id}/secret``: the counting commission's key page (transport keys,
dealing, shares, complaints, the share kept and backed up), the voter's ballot (encrypted,
proved and signed in the browser, with the cast-or-audit challenge) and the count page
(the board checked and the partial decryption made in the commission member's browser).
The server hands these pages no secret and takes none from them: every choice, share and
key stays in the member's browser."""

from __future__ import annotations

from aiohttp import web

from meetings.elections.models import ElectionState
from meetings.elections.schemas import ElectionOut
from meetings.elections.services import ElectionService
from meetings.models import Meeting
from server.auth import unit
from server.forms import path_id
from server.keys import KEYRING
from server.pages import render, translator

__all__ = ["install", "secret_links"]

#: The states in which a commission member is linked to the key page: until the count.
_KEY_STATES = frozenset(
    {
        ElectionState.COMMISSION_CONSTITUTED,
        ElectionState.KEY_READY,
        ElectionState.OPEN,
        ElectionState.CLOSED,
    }
)


def _on_commission(e: ElectionOut, member_id: int | None) -> bool:
    return (
        member_id is not None
        and e.commission is not None
        and e.commission.state.value == "constituted"
        and any(m.member_id == member_id for m in e.commission.members)
    )


def secret_links(e: ElectionOut, member_id: int | None, roles: list[str]) -> list[str]:
    """Which of the secret vote's pages the election's page links to for this reader:
    ``key`` (commission members from the commission's constitution until the count, who
    come back to it for their share's backup; those who prepare it while the key is
    being made),
    ``ballot`` (the body's members while the vote is open), ``count`` (commission
    members and those who prepare it, from the close)."""
    links: list[str] = []
    mine = _on_commission(e, member_id)
    keygen = e.state in (ElectionState.COMMISSION_CONSTITUTED, ElectionState.KEY_READY)
    if (e.state in _KEY_STATES and mine) or (keygen and "preparer" in roles):
        links.append("key")
    if e.state is ElectionState.OPEN and "member" in roles:
        links.append("ballot")
    if e.state in (ElectionState.CLOSED, ElectionState.COUNTED, ElectionState.APPROVED) and (
        mine or "preparer" in roles
    ):
        links.append("count")
    return links


async def _page(request: web.Request, template: str, prefix: str) -> web.StreamResponse:
    async with unit(request) as (db, actor):
        service = ElectionService(db, actor, request.app[KEYRING])
        election, access = await service.get(path_id(request, "election_id"))
        out = await service.out(election, access)
        meeting = await db.get(Meeting, election.meeting_id) if election.meeting_id else None
        t = translator(request)
        return render(
            request,
            template,
            actor=actor,
            e=out,
            meeting=meeting,
            on_commission=_on_commission(out, actor.member_id),
            texts=t.texts(prefix),
        )


async def key_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, "secret_key.html", "secret.key.js.")


async def ballot_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, "secret_ballot.html", "secret.ballot.js.")


async def count_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, "secret_count.html", "secret.count.js.")


def install(app: web.Application) -> None:
    r = app.router
    e = r"/elections/{election_id:\d+}"
    r.add_get(e + "/key", key_page)
    r.add_get(e + "/ballot", ballot_page)
    r.add_get(e + "/count", count_page)
