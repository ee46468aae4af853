"""The live meeting room page; its live part runs over the meeting's WebSocket.

An invited guest, who has no account, comes in through their personal link
``/guest/{token}`` (issued on the meeting's page): it leaves the token in a cookie
sent only to that meeting's pages, and opens the room. A guest sees this one room
and nothing else; in the video room they wait in the lobby until the chair admits
them.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from meetings.elections.models import Election, ElectionState
from meetings.preparation import MeetingService
from registry.actor import Actor
from registry.errors import NotFound
from server.api import parse_id
from server.auth import set_guest_cookie, unit
from server.forms import see_other
from server.keys import SETTINGS
from server.pages import render

__all__ = ["install"]


async def room(request: web.Request) -> web.StreamResponse:
    meeting_id = parse_id(request.match_info["meeting_id"])
    if meeting_id is None:
        raise NotFound("no such meeting")
    async with unit(request, guest_meeting=meeting_id) as (db, actor):
        service = MeetingService(db, actor)
        meeting, roles = await service.get(meeting_id)
        # The meeting's secret votes under way: the chair opens and closes them here too,
        # and everyone sees who has voted (never how). Not for guests, who do not vote.
        secret = (
            []
            if roles.is_guest and not (roles.is_member or roles.can_prepare)
            else (
                await db.scalars(
                    select(Election)
                    .where(
                        Election.meeting_id == meeting.id,
                        Election.state.in_(
                            (ElectionState.KEY_READY, ElectionState.OPEN, ElectionState.CLOSED)
                        ),
                    )
                    .order_by(Election.id)
                )
            ).all()
        )
        return render(
            request,
            "room.html",
            actor=actor,
            meeting=await service.out(meeting),
            roles=sorted(roles.names),
            secret=secret,
        )


async def guest_entry(request: web.Request) -> web.StreamResponse:
    """A guest's personal link: remember it for the meeting's room, and go there.

    A GET that changes nothing on the server, so a mail scanner following the link
    spends nothing; an unknown, replaced or closed meeting's link is "not found"."""
    token = request.match_info["token"]
    async with unit(request, anonymous=True) as (db, _actor):
        link_reader = Actor(account_id=None, display_name="guest link")
        guest = await MeetingService(db, link_reader).guest_by_token(token)
        if guest is None:
            raise NotFound(
                "this guest link is unknown or no longer valid; ask the meeting's secretary "
                "for a new one",
                code="guest_link_invalid",
            )
        meeting_id = guest.meeting_id
    response = see_other(f"/meetings/{meeting_id}/room")
    set_guest_cookie(response, request.app[SETTINGS], token, meeting_id)
    return response


def install(app: web.Application) -> None:
    app.router.add_get(r"/meetings/{meeting_id:\d+}/room", room)
    app.router.add_get("/guest/{token}", guest_entry)
