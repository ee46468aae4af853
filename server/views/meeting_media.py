"""The video room's signalling, carried by the meeting's WebSocket.

Client → server actions (the channel's ``{"id", "action", ...}`` envelope, answered
with ``ack`` or ``error``):

* ``media_join`` — ask to enter the video room. Only the meeting's roster may (its
  chair, its secretary, the members of its body that day; invited guests through their
  link): anyone else gets ``forbidden``. The answer is a ``config`` message (the ICE
  servers to use), then either an ``offer`` or ``lobby``.
* ``media_answer`` ``{"sdp"}`` — the browser's answer to the server's last offer.
* ``media_state`` ``{"audio", "camera", "screen"}`` — what the browser now sends
  (refused with ``forbidden`` for what the chair has turned off).
* ``media_weak`` ``{"audio_only"}`` — the link is weak: receive audio only, or video
  again.
* ``media_leave``.
* The chair's: ``media_admit`` / ``media_remove`` ``{"participant": key}``,
  ``media_mute`` / ``media_release`` ``{"participant": key, "what": "audio" |
  "video"}``, ``media_mute_all``.

Server → client: ``{"type": "media", "op": ...}`` as listed in :mod:`meetings.sfu`,
and ``config`` ``{"ice_servers": [RTCIceServer...]}``. A participant's key is
``m<member id>`` or ``g<guest id>``.

A meeting's media lives in one process (:class:`MediaRooms`), so a room's participants
must reach the same server process (the reverse proxy pins ``/meetings/{id}/ws`` by
meeting); see ``docs/deployment.md``. What a room must not forget is in the database: who
has the floor (the meeting's requests for it), and the chair's removals and admissions
(``video.removed`` / ``video.admitted`` in the meeting's record); a room made again,
after it emptied or in a restarted process, starts from them.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, Literal, get_args

from aiohttp import web
from pydantic import ConfigDict, Field

from meetings.sfu import Identity, MediaRoom, Moderated
from meetings.video import Moderation, RoomMemory
from registry.errors import PermissionDenied
from registry.schemas import StrictIn
from server.keys import SETTINGS
from server.settings import Settings

__all__ = [
    "MEDIA",
    "MEDIA_ACTIONS",
    "MediaMessage",
    "MediaRooms",
    "MediaSession",
    "ice_servers",
    "install",
]

MAX_SDP = 200 * 1024
Key = Annotated[str, Field(pattern=r"^[mg][1-9][0-9]{0,11}$")]


class _Media(StrictIn):
    model_config = ConfigDict(strict=True, str_max_length=MAX_SDP)

    id: Annotated[int, Field(ge=0, le=2**53 - 1)]


class MediaJoin(_Media):
    action: Literal["media_join"]


class MediaAnswer(_Media):
    action: Literal["media_answer"]
    sdp: Annotated[str, Field(min_length=10, max_length=MAX_SDP)]


class MediaState(_Media):
    action: Literal["media_state"]
    audio: bool
    camera: bool
    screen: bool


class MediaWeak(_Media):
    action: Literal["media_weak"]
    audio_only: bool


class MediaLeave(_Media):
    action: Literal["media_leave"]


class MediaAdmit(_Media):
    action: Literal["media_admit"]
    participant: Key


class MediaRemove(_Media):
    action: Literal["media_remove"]
    participant: Key


class MediaMute(_Media):
    action: Literal["media_mute"]
    participant: Key
    what: Moderated


class MediaRelease(_Media):
    action: Literal["media_release"]
    participant: Key
    what: Moderated


class MediaMuteAll(_Media):
    action: Literal["media_mute_all"]


MediaMessage = (
    MediaJoin
    | MediaAnswer
    | MediaState
    | MediaWeak
    | MediaLeave
    | MediaAdmit
    | MediaRemove
    | MediaMute
    | MediaRelease
    | MediaMuteAll
)
# the action names, read off the messages
MEDIA_ACTIONS = frozenset(
    action
    for message in get_args(MediaMessage)
    for action in get_args(message.model_fields["action"].annotation)
)


def ice_servers(settings: Settings, user: str, now: float | None = None) -> list[dict[str, Any]]:
    """The STUN and TURN servers for one participant's browser.

    TURN credentials follow coturn's ``use-auth-secret`` scheme (the TURN REST API):
    the user name is ``<expiry unix time>:<user>``, the password the base64 of its
    HMAC-SHA1 under the shared secret, so coturn checks them without asking Kvorum."""
    servers: list[dict[str, Any]] = []
    stun = [u.strip() for u in settings.stun_urls.split(",") if u.strip()]
    turn = [u.strip() for u in settings.turn_urls.split(",") if u.strip()]
    if stun:
        servers.append({"urls": stun})
    if turn:
        expiry = int((time.time() if now is None else now) + settings.turn_ttl_seconds)
        username = f"{expiry}:{user}"
        digest = hmac.new(settings.turn_secret.encode(), username.encode(), hashlib.sha1)
        servers.append(
            {
                "urls": turn,
                "username": username,
                "credential": base64.b64encode(digest.digest()).decode(),
            }
        )
    return servers


Send = Callable[[dict[str, Any]], Awaitable[None]]


class MediaRooms:
    """The video rooms of this process, one per meeting, made when the first person
    asks to join and dropped when the last leaves."""

    def __init__(self) -> None:
        self.rooms: dict[int, MediaRoom] = {}
        # (meeting, key) → how to reach that person's page, for the room's state
        self.pages: dict[tuple[int, str], Send] = {}
        self._pending: set[int] = set()
        self._recalled: set[int] = set()  # rooms that have read what they must remember

    def room(self, meeting_id: int) -> MediaRoom:
        room = self.rooms.get(meeting_id)
        if room is None:
            room = MediaRoom(meeting_id, on_change=self._changed)
            self.rooms[meeting_id] = room
        return room

    async def recalled(
        self, meeting_id: int, recall: Callable[[], Awaitable[RoomMemory]]
    ) -> MediaRoom:
        """The meeting's room, which a room made anew has first read from the database."""
        if meeting_id not in self._recalled:
            memory = await recall()
            if meeting_id not in self._recalled:
                room = self.room(meeting_id)
                room.floor = memory.floor
                room.removed |= memory.removed
                self._recalled.add(meeting_id)
        return self.room(meeting_id)

    def _changed(self, room: MediaRoom) -> None:
        """Send everyone in the room and its lobby the new picture, once per turn of the
        loop however many changes it made."""
        if room.meeting_id in self._pending:
            return
        self._pending.add(room.meeting_id)
        asyncio.get_running_loop().call_soon(
            lambda: room.keep(asyncio.ensure_future(self._broadcast(room)))
        )

    async def _broadcast(self, room: MediaRoom) -> None:
        self._pending.discard(room.meeting_id)
        keys = set(room.participants) | set(room.lobby)
        for key in keys:
            send = self.pages.get((room.meeting_id, key))
            if send is None:
                continue
            with contextlib.suppress(ConnectionError, RuntimeError):
                await send(room.state(key))

    async def forget(self, meeting_id: int) -> None:
        room = self.rooms.get(meeting_id)
        if room is not None and not room.participants and not room.lobby:
            del self.rooms[meeting_id]
            self._recalled.discard(meeting_id)
            await room.close()

    async def close(self) -> None:
        for room in list(self.rooms.values()):
            await room.close()
        self.rooms.clear()


MEDIA = web.AppKey("media", MediaRooms)


class MediaSession:
    """One page's part in a meeting's video room."""

    def __init__(
        self,
        app: web.Application,
        meeting_id: int,
        send: Send,
        identify: Callable[[], Awaitable[Identity | None]],
        recall: Callable[[], Awaitable[RoomMemory]],
        record: Callable[[Moderation, Identity], Awaitable[None]],
    ) -> None:
        self.app = app
        self.rooms = app[MEDIA]
        self.meeting_id = meeting_id
        self.send = send
        self.identify = identify  # reads the roster: None for someone not on it
        self.recall = recall  # reads what the room remembers (meetings.video.room_memory)
        self.record = record  # puts the chair's removal or admission in the record
        self.identity: Identity | None = None

    async def _media_send(self, message: dict[str, Any]) -> None:
        await self.send({"type": "media", **message})

    async def act(self, message: MediaMessage) -> None:
        if isinstance(message, MediaJoin):
            identity = await self.identify()
            if identity is None:
                raise PermissionDenied("only the meeting's participants may join its video room")
            room = await self.rooms.recalled(self.meeting_id, self.recall)
            if self.identity is not None and self.identity.key != identity.key:
                await room.leave(self.identity.key)
            self.identity = identity
            self.rooms.pages[(self.meeting_id, identity.key)] = self._media_send
            settings = self.app[SETTINGS]
            await self._media_send(
                {"op": "config", "ice_servers": ice_servers(settings, identity.key)}
            )
            await room.join(identity, self._media_send)
            return
        me = self._me()
        room = self.rooms.room(self.meeting_id)
        match message:
            case MediaAnswer(sdp=sdp):
                await room.answer(me.key, sdp)
            case MediaState(audio=audio, camera=camera, screen=screen):
                room.report(me.key, audio=audio, camera=camera, screen=screen)
            case MediaWeak(audio_only=audio_only):
                room.weak_link(me.key, audio_only)
            case MediaLeave():
                await self.leave()
            case MediaAdmit(participant=key):
                waiting = room.lobby.get(key)
                await room.admit(me, key)
                if waiting is not None:
                    await self.record("video.admitted", waiting.identity)
            case MediaRemove(participant=key):
                present = room.participants.get(key) or room.lobby.get(key)
                await room.remove(me, key)
                if present is not None:
                    await self.record("video.removed", present.identity)
            case MediaMute(participant=key, what=what):
                room.mute(me, key, what)
            case MediaRelease(participant=key, what=what):
                room.release(me, key, what)
            case MediaMuteAll():
                room.mute_all(me)

    def _me(self) -> Identity:
        if self.identity is None:
            raise PermissionDenied("join the video room first")
        return self.identity

    async def leave(self) -> None:
        """The page left the room, or closed: its media goes, now."""
        if self.identity is None:
            return
        key = self.identity.key
        if self.rooms.pages.get((self.meeting_id, key)) == self._media_send:
            del self.rooms.pages[(self.meeting_id, key)]
            room = self.rooms.rooms.get(self.meeting_id)
            if room is not None:
                participant = room.participants.get(key)
                waiting = room.lobby.get(key)
                if (participant is not None and participant.send == self._media_send) or (
                    waiting is not None and waiting.send == self._media_send
                ):
                    await room.leave(key)
            await self.rooms.forget(self.meeting_id)
        self.identity = None

    def floor(self, key: str | None) -> None:
        """The chair gave (or took) the floor: tell the room, which lets them speak."""
        room = self.rooms.rooms.get(self.meeting_id)
        if room is not None:
            room.give_floor(key)


async def _media_context(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[MEDIA].close()


def install(app: web.Application) -> None:
    if MEDIA in app:
        return
    app[MEDIA] = MediaRooms()
    app.cleanup_ctx.append(_media_context)
