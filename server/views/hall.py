"""The hall of a mixed meeting: a page for the hall's screen with a QR code, and the
stable link behind it that takes a logged-in member to the meeting's current vote.

The code holds ``/meetings/{id}/vote`` on the public origin, never a vote's own
address, so one code shown (or printed) for the whole meeting follows every vote
opened in it: the link resolves to whichever vote is open when the member scans.
"""

from __future__ import annotations

import io

import segno
from aiohttp import web

from meetings.preparation import MeetingService
from meetings.votes import VoteDesk
from registry.errors import NotFound, PermissionDenied
from server.api import parse_id
from server.auth import unit
from server.forms import see_other
from server.keys import KEYRING, SETTINGS
from server.pages import render
from server.views.votes_api import vote_out

__all__ = ["hall_qr", "install", "vote_link"]

# The hall's page reloads itself this often (seconds) to follow the current vote.
HALL_REFRESH_SECONDS = 10


def _meeting_id(request: web.Request) -> int:
    meeting_id = parse_id(request.match_info["meeting_id"])
    if meeting_id is None:
        raise NotFound("no such meeting", key="no_meeting")
    return meeting_id


def hall_qr(link: str) -> str:
    """The link as a QR code in SVG with a view box and no fixed size, so the page
    scales it to the screen (a hall's projector or a 360-px phone alike)."""
    # A link of under 100 bytes is a version 4-6 code at level M: big modules, read
    # by a phone camera from the back of a hall.
    code = segno.make(link, micro=False, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=4, border=4, light="#fff", omitsize=True, xmldecl=False)
    return out.getvalue().decode("utf-8")


def vote_link(request: web.Request, meeting_id: int) -> str:
    """The absolute address the hall's QR code holds."""
    return f"{request.app[SETTINGS].effective_public_url}/meetings/{meeting_id}/vote"


async def current_vote(request: web.Request) -> web.StreamResponse:
    """Where the hall's QR code leads: the open vote of the meeting, else its room."""
    meeting_id = _meeting_id(request)
    async with unit(request) as (db, actor):
        await MeetingService(db, actor).get(meeting_id)  # "not found" to an outsider
        vote = await VoteDesk(db, actor, request.app[KEYRING]).open_vote_of(meeting_id)
    if vote is None:
        return see_other(f"/meetings/{meeting_id}/room")
    return see_other(f"/votes/{vote.id}")


async def hall_screen(request: web.Request) -> web.StreamResponse:
    """The page the chair or secretary puts on the hall's screen."""
    meeting_id = _meeting_id(request)
    async with unit(request) as (db, actor):
        service = MeetingService(db, actor)
        meeting, roles = await service.get(meeting_id)
        if not (roles.is_chair or roles.is_secretary):
            raise PermissionDenied(
                "only the meeting's chair or secretary shows the hall's screen",
                key="hall_officers_only",
            )
        desk = VoteDesk(db, actor, request.app[KEYRING])
        vote = await desk.open_vote_of(meeting_id)
        link = vote_link(request, meeting_id)
        response = render(
            request,
            "hall.html",
            actor=actor,
            meeting=await service.out(meeting),
            vote=await vote_out(desk, vote, actor) if vote is not None else None,
            link=link,
            qr=hall_qr(link),
            refresh=HALL_REFRESH_SECONDS,
        )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def install(app: web.Application) -> None:
    app.router.add_get(r"/meetings/{meeting_id:\d+}/vote", current_vote)
    app.router.add_get(r"/meetings/{meeting_id:\d+}/hall", hall_screen)
