"""The live meeting room page; its live part runs over the meeting's WebSocket."""

from __future__ import annotations

from aiohttp import web

from meetings.preparation import MeetingService
from registry.errors import NotFound
from server.api import parse_id
from server.auth import unit
from server.pages import render

__all__ = ["install"]


async def room(request: web.Request) -> web.StreamResponse:
    meeting_id = parse_id(request.match_info["meeting_id"])
    if meeting_id is None:
        raise NotFound("no such meeting")
    async with unit(request) as (db, actor):
        service = MeetingService(db, actor)
        meeting, roles = await service.get(meeting_id)
        return render(
            request,
            "room.html",
            actor=actor,
            meeting=await service.out(meeting),
            roles=sorted(roles.names),
        )


def install(app: web.Application) -> None:
    app.router.add_get(r"/meetings/{meeting_id:\d+}/room", room)
