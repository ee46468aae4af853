"""The live meeting channel: one WebSocket per participant tab.

``GET /meetings/{meeting_id}/ws[?after=N]`` — protocol version 1, JSON text frames.

Server → client:

``{"type": "hello", "v": 1, "snapshot": {...}}``
    The whole live state (:meth:`meetings.room.RoomService.snapshot`; its ``seq`` is
    the last event it includes). Sent first when ``after`` is absent, not a number,
    ahead of the meeting or more than :data:`BACKLOG_LIMIT` events back — and again
    whenever the server cannot bring the client up to date event by event (it fell
    too far behind): the client then replaces its state.
``{"type": "event", "v": 1, "meeting", "seq", "at", "kind", "actor", "data"}``
    A meeting event (:func:`meetings.events.event_json`). On one connection each seq
    comes once, in order, without gaps: with ``after=N`` the first is N + 1.
``{"type": "ack", "id": n}``
    The action with that id was done and committed; its events follow (or preceded).
``{"type": "error", "id": n | null, "code": "...", "detail": "..."}``
    The action was refused and changed nothing: the domain's codes (``forbidden``,
    ``not_found``, ``conflict``, ``bad_transition``…), ``bad_message`` (not JSON,
    unknown action, wrong or missing fields, over :data:`MAX_MESSAGE` bytes, binary
    frame), ``too_many_requests`` (over :data:`BURST` messages at once, refilled at
    :data:`RATE` a second), ``internal_error``. The connection stays open.

Client → server: ``{"id": n, "action": "...", ...}`` with ``id`` a number the client
picks (0 … 2**53 − 1) and one of the actions:

* ``ping``
* ``raise_hand``, ``lower_hand``
* ``give_floor`` ``{"request": id, "seconds"?: 30…3600}`` — the chair
* ``take_floor`` — the chair
* ``set_item`` ``{"item": id}`` — the chair
* ``register`` ``{"member": id, "present": bool}`` — the secretary or the chair
* ``notes`` ``{"item": id, "speeches"?: text, "decision"?: text}`` — the secretary or
  the chair (longer notes than a frame holds go through the HTTP API)
* ``transition`` ``{"target": "registration" | "in_session" | "closed"}`` — announcing
  and going back to draft mail the members and are done on the meeting's page.
* the video room's ``media_*`` actions (:mod:`server.views.meeting_media`), whose
  messages to the client are ``{"type": "media", ...}``.

Presence: opening a connection calls :meth:`RoomService.connect` (a member is
counted once whatever the number of tabs); closing one calls ``disconnect``; when a
member has no connection left, ``expire`` runs after a grace period
(``presence_grace_seconds``, 10 s by default), so a reload or a brief network loss
records no departure.

Refusals before the upgrade use the API's error shape: 401 not logged in, 404 not a
participant (outsiders cannot learn the meeting exists), 403 a foreign ``Origin``,
400 not a WebSocket request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.jsonlimits import API_LIMITS, JSONLimitError, loads
from meetings.events import MAX_BACKLOG, event_json, events_after, take_pending
from meetings.models import Guest, Meeting, MeetingEvent, MeetingState
from meetings.preparation import MeetingService
from meetings.room import RoomService
from meetings.schemas import NotesIn
from meetings.sfu import Identity
from meetings.video import (
    Moderation,
    RoomMemory,
    floor_key,
    member_identity,
    record_moderation,
    room_memory,
)
from meetings.votes import room_snapshot
from registry.actor import Actor
from registry.errors import Conflict, DomainError, NotFound
from registry.models import Session
from registry.orm import utcnow
from registry.schemas import Id, StrictIn
from server.api import ErrorOut, parse_id
from server.auth import current_session, unit
from server.hub import WAKE, Event, Subscription
from server.keys import HUB, SESSIONMAKER, SETTINGS
from server.middlewares import STATUS_OF
from server.origins import is_own_origin
from server.pages import refusal_message
from server.views import meeting_media
from server.views.meeting_media import MEDIA_ACTIONS, MediaMessage, MediaSession

__all__ = [
    "BACKLOG_LIMIT",
    "MAX_MESSAGE",
    "PROTOCOL_VERSION",
    "REALTIME",
    "Realtime",
    "TokenBucket",
    "install",
    "run_unit",
]

# How often an open socket re-checks that its login still holds.
SESSION_CHECK_SECONDS = 30.0

log = logging.getLogger("kvorum.ws")

PROTOCOL_VERSION = 1
PATH = "/meetings/{meeting_id}/ws"
MAX_MESSAGE = 256 * 1024  # a video room's SDP answer is the largest message
# Past this aiohttp itself closes the connection (1009); up to it an over-long
# message is answered with bad_message and the connection stays.
HARD_LIMIT = 8 * MAX_MESSAGE
# Seconds between pings: a peer that does not answer within half of it is dropped.
HEARTBEAT = 20.0
BURST = 20
RATE = 20.0
# How long an event after a gap is held for the missing one (publishers can finish
# out of order) before the gap is filled from the log.
GAP_WAIT = 0.5
BACKLOG_LIMIT = MAX_BACKLOG
DEFAULT_GRACE = 10.0
LIVE_TARGETS = frozenset({MeetingState.REGISTRATION, MeetingState.IN_SESSION, MeetingState.CLOSED})
FRAME_CACHE = 512

T = TypeVar("T")


# --- messages from the client ---------------------------------------------------------------


class _Message(StrictIn):
    # strict: 1.0, "1" and true are not 1 — a client sending them has a bug to see.
    model_config = ConfigDict(strict=True, str_max_length=MAX_MESSAGE)

    id: Annotated[int, Field(ge=0, le=2**53 - 1)]


class Ping(_Message):
    action: Literal["ping"]


class RaiseHand(_Message):
    action: Literal["raise_hand"]


class LowerHand(_Message):
    action: Literal["lower_hand"]


class GiveFloor(_Message):
    action: Literal["give_floor"]
    request: Id
    seconds: Annotated[int, Field(ge=30, le=3600)] | None = None


class TakeFloor(_Message):
    action: Literal["take_floor"]


class SetItem(_Message):
    action: Literal["set_item"]
    item: Id


class Register(_Message):
    action: Literal["register"]
    member: Id
    present: bool


class Notes(_Message):
    action: Literal["notes"]
    item: Id
    speeches: str | None = None
    decision: str | None = None


class Transition(_Message):
    action: Literal["transition"]
    target: MeetingState


Message = Annotated[
    Ping
    | RaiseHand
    | LowerHand
    | GiveFloor
    | TakeFloor
    | SetItem
    | Register
    | Notes
    | Transition
    | MediaMessage,
    Field(discriminator="action"),
]
MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)
ACTIONS = (
    frozenset(
        {
            "ping",
            "raise_hand",
            "lower_hand",
            "give_floor",
            "take_floor",
            "set_item",
            "register",
            "notes",
            "transition",
        }
    )
    | MEDIA_ACTIONS
)


def _reason(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = list(err["loc"])
    if loc and loc[0] in ACTIONS:
        del loc[0]  # the union's branch, not a field the client sent
    where = ".".join(str(p) for p in loc)
    message = err["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _id_of(data: object) -> int | None:
    """The parsed message's id, if it has a usable one, to put on the error."""
    value = data.get("id") if isinstance(data, dict) else None
    if type(value) is int and 0 <= value < 2**53:
        return value
    return None


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def _error(message_id: int | None, code: str, detail: str, message: str = "") -> dict[str, Any]:
    frame = {"type": "error", "id": message_id, "code": code, "detail": detail}
    if message:
        frame["message"] = message  # the refusal in the page's language, for the person
    return frame


class TokenBucket:
    """``burst`` messages at once, refilled at ``rate`` a second."""

    def __init__(
        self, burst: int, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.rate = rate
        self.clock = clock
        self.tokens = float(burst)
        self.at = clock()

    def allow(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# --- shared state ---------------------------------------------------------------------------


async def run_unit(app: web.Application, call: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """One transaction outside an HTTP request; the meeting events it appended are
    published once it has committed (as :func:`server.auth.unit` does for requests)."""
    async with app[SESSIONMAKER]() as db:
        async with db.begin():
            result = await call(db)
        events = take_pending(db)
    if events:
        await app[HUB].publish([event_json(e) for e in events])
    return result


class Realtime:
    """The live channel's state in one process: open sockets, members' grace periods,
    and event frames serialised once for all the connections that send them."""

    def __init__(self, app: web.Application, *, grace: float) -> None:
        self.app = app
        self.grace = grace
        self.burst = BURST
        self.rate = RATE
        # Replaced in tests to decide when a grace period is over.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self.sockets: set[web.WebSocketResponse] = set()
        # (meeting, member) → the task that records the departure when the grace ends.
        self.grace_tasks: dict[tuple[int, int], asyncio.Task[None]] = {}
        self._leaving: set[asyncio.Task[None]] = set()
        self._frames: OrderedDict[tuple[int, int], str] = OrderedDict()

    def frame(self, event: Event) -> str:
        """The event's text frame. A (meeting, seq) names one immutable event, so a
        thousand connections share one serialisation."""
        key = (int(event["meeting"]), int(event["seq"]))
        text = self._frames.get(key)
        if text is None:
            text = _dumps({"type": "event", **event})
            self._frames[key] = text
            if len(self._frames) > FRAME_CACHE:
                self._frames.popitem(last=False)
        return text

    def arrived(self, meeting_id: int, member_id: int) -> None:
        """A connection of the member opened: a pending departure is called off."""
        task = self.grace_tasks.pop((meeting_id, member_id), None)
        if task is not None:
            task.cancel()

    async def left(self, meeting_id: int, member_id: int, actor: Actor) -> None:
        """A connection of the member closed: give its count back, and if it was the
        last, record the departure after the grace period."""
        task = asyncio.create_task(self._disconnect(meeting_id, member_id, actor))
        self._leaving.add(task)
        task.add_done_callback(self._leaving.discard)
        # Shielded: a handler cancelled at shutdown still gives the count back.
        await asyncio.shield(task)

    async def _disconnect(self, meeting_id: int, member_id: int, actor: Actor) -> None:
        try:
            remaining = await run_unit(
                self.app, lambda db: RoomService(db, actor).disconnect(meeting_id, member_id)
            )
        except Exception:
            log.exception("presence disconnect failed", extra={"meeting": meeting_id})
            return
        if remaining == 0:
            key = (meeting_id, member_id)
            previous = self.grace_tasks.pop(key, None)
            if previous is not None:
                previous.cancel()
            task = asyncio.create_task(self._expire_later(meeting_id, member_id, actor))
            self.grace_tasks[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))

    def _forget(self, key: tuple[int, int], task: asyncio.Task[None]) -> None:
        if self.grace_tasks.get(key) is task:
            del self.grace_tasks[key]

    async def _expire_later(self, meeting_id: int, member_id: int, actor: Actor) -> None:
        await self.sleep(self.grace)
        try:
            # expire() itself checks that no connection came back meanwhile, in any
            # process: the connection count is in the database.
            await run_unit(
                self.app, lambda db: RoomService(db, actor).expire(meeting_id, member_id)
            )
        except Exception:
            log.exception("presence expiry failed", extra={"meeting": meeting_id})

    async def close_sockets(self) -> None:
        await asyncio.gather(
            *(
                ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                for ws in self.sockets
            ),
            return_exceptions=True,
        )

    async def close(self) -> None:
        """At shutdown: let counts be given back, then drop the pending expiries (a
        member still counted as present is right again when they reconnect)."""
        if self._leaving:
            await asyncio.wait(tuple(self._leaving), timeout=10)
        tasks = tuple(self.grace_tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.grace_tasks.clear()


REALTIME = web.AppKey("realtime", Realtime)


# --- one connection -------------------------------------------------------------------------


class _Channel:
    """One open WebSocket: the events it is sent, and the actions it asks for."""

    def __init__(
        self,
        app: web.Application,
        ws: web.WebSocketResponse,
        subscription: Subscription,
        actor: Actor,
        meeting_id: int,
        last: int,
        session_id: int | None = None,
        translate: Callable[[str, Mapping[str, str | int]], str] | None = None,
    ) -> None:
        self.app = app
        self.session_id = session_id
        self.translate = translate
        self.realtime = app[REALTIME]
        self.ws = ws
        self.subscription = subscription
        self.actor = actor
        self.meeting_id = meeting_id
        self.last = last  # the seq of the last event this client has (sent or in its hello)
        self.limit = TokenBucket(self.realtime.burst, self.realtime.rate)
        self.media = MediaSession(
            app, meeting_id, self._send_json, self._identify, self._recall, self._record
        )

    async def _send_json(self, frame: dict[str, Any]) -> None:
        await self.ws.send_str(_dumps(frame))

    async def _identify(self) -> Identity | None:
        return await run_unit(self.app, lambda db: member_identity(db, self.meeting_id, self.actor))

    async def _recall(self) -> RoomMemory:
        return await run_unit(self.app, lambda db: room_memory(db, self.meeting_id))

    async def _record(self, kind: Moderation, who: Identity) -> None:
        actor = self.actor.display_name
        await run_unit(
            self.app, lambda db: record_moderation(db, self.meeting_id, kind, who, actor)
        )

    async def run(self, opening: list[str]) -> None:
        for text in opening:
            await self.ws.send_str(text)
        pump = asyncio.create_task(self._pump_safely(), name="kvorum-ws-pump")
        watch = asyncio.create_task(self._watch_session(), name="kvorum-ws-session")
        try:
            await self._receive()
        finally:
            await asyncio.shield(self.media.leave())
            for task in (pump, watch):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _watch_session(self) -> None:
        """The socket lives only as long as its login: a logout, a disabled account, a
        retired member or the absolute session limit closes it. While it is open the
        session counts as in use (sitting in a meeting is not being idle)."""
        if self.session_id is None:
            return
        absolute = dt.timedelta(hours=self.app[SETTINGS].session_absolute_hours)
        while True:
            await asyncio.sleep(SESSION_CHECK_SECONDS)
            async with self.app[SESSIONMAKER]() as db, db.begin():
                row = await db.get(Session, self.session_id)
                now = utcnow()
                alive = (
                    row is not None
                    and row.ended_at is None
                    and row.account.disabled_at is None
                    and now - row.created_at <= absolute
                )
                if alive and row is not None:
                    row.last_seen_at = now
            if not alive:
                await self._close(WSCloseCode.POLICY_VIOLATION, "session_ended")
                return

    # --- events out -----------------------------------------------------------------------

    async def _pump_safely(self) -> None:
        try:
            await self._pump()
        except ConnectionError:
            pass  # the client went away; the receiving side notices too
        except DomainError as exc:  # lost access to the meeting while catching up
            await self._close(WSCloseCode.POLICY_VIOLATION, exc.code)
        except Exception:
            log.exception("meeting event feed failed", extra={"meeting": self.meeting_id})
            # Without its feed the client would silently fall behind: make it reconnect.
            await self._close(WSCloseCode.INTERNAL_ERROR, "internal_error")

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionError):
            await self.ws.close(code=code, message=reason.encode())

    async def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        held: dict[int, Event] = {}  # events past a gap, by seq
        gap_since = 0.0
        while True:
            timeout = max(0.0, gap_since + GAP_WAIT - loop.time()) if held else None
            try:
                event = await asyncio.wait_for(self.subscription.get(), timeout)
            except TimeoutError:
                # The missing event did not come: it is in the log.
                await self._catch_up()
                await self._release(held)
                if held:
                    gap_since = loop.time()
                continue
            if self.subscription.overflowed:
                # Events were dropped (slow client, lost listener): read them back.
                self.subscription.reset()
                held.clear()
                await self._catch_up()
                continue
            if event is WAKE:
                continue
            seq = int(event["seq"])
            if seq <= self.last:
                continue  # already sent (in the opening, a catch-up, or twice published)
            if not held:
                gap_since = loop.time()
            held[seq] = event
            await self._release(held)
            if not self.subscription.queue.empty():
                # Let the other connections have this event before this one sends the
                # next: the first event of a change reaches everyone first.
                await asyncio.sleep(0)

    async def _release(self, held: dict[int, Event]) -> None:
        """Send the held events that now follow on without a gap; drop stale ones."""
        while (event := held.pop(self.last + 1, None)) is not None:
            await self.ws.send_str(self.realtime.frame(event))
            self.last = int(event["seq"])
        for seq in [s for s in held if s <= self.last]:
            del held[seq]

    async def _catch_up(self) -> None:
        after = self.last

        async def read(db: AsyncSession) -> tuple[dict[str, Any] | None, list[MeetingEvent]]:
            meeting = await db.get(Meeting, self.meeting_id)
            if meeting is None:
                raise NotFound("no such meeting")
            if meeting.last_seq - after > BACKLOG_LIMIT:
                return await room_snapshot(db, self.actor, self.meeting_id), []
            return None, list(await events_after(db, self.meeting_id, after, BACKLOG_LIMIT))

        snapshot, events = await run_unit(self.app, read)
        if snapshot is not None:
            await self.ws.send_str(_dumps(_hello(snapshot)))
            self.last = int(snapshot["seq"])
        for event in events:
            if event.seq > self.last:
                await self.ws.send_str(self.realtime.frame(event_json(event)))
                self.last = event.seq

    # --- actions in -----------------------------------------------------------------------

    async def _receive(self) -> None:
        async for msg in self.ws:
            if msg.type is WSMsgType.TEXT:
                reply = await self._answer(msg.data)
            elif msg.type is WSMsgType.BINARY:
                reply = _error(None, "bad_message", "send JSON in text frames")
            else:  # ERROR: aiohttp closes the connection
                break
            try:
                await self.ws.send_str(_dumps(reply))
            except ConnectionError:
                break  # gone while we were answering

    async def _answer(self, text: str) -> dict[str, Any]:
        if len(text) > MAX_MESSAGE // 4 and len(text.encode()) > MAX_MESSAGE:
            return _error(None, "bad_message", f"a message may be at most {MAX_MESSAGE} bytes")
        # The API's limits (depth, numbers, strings, arrays) before anything reads it:
        # a hundred thousand "[" is a bad message, and the socket stays open.
        try:
            data = loads(text, API_LIMITS)
        except JSONLimitError as exc:
            data = exc
        if not self.limit.allow():
            return _error(
                _id_of(data),
                "too_many_requests",
                f"at most {self.limit.burst} messages at once and {self.limit.rate:g} a second",
            )
        if isinstance(data, JSONLimitError):
            what = "Invalid JSON" if data.reason == "invalid_json" else "Beyond a limit"
            return _error(None, "bad_message", f"{what}: {data}")
        try:
            message = MESSAGE.validate_json(text)
        except ValidationError as exc:
            return _error(_id_of(data), "bad_message", _reason(exc))
        try:
            await self._act(message)
        except DomainError as exc:
            said = self.translate(exc.key, exc.params) if self.translate else ""
            return _error(message.id, exc.code, exc.detail, said)
        except ValidationError as exc:
            return _error(message.id, "bad_message", _reason(exc))
        except Exception:
            log.exception("meeting action failed", extra={"meeting": self.meeting_id})
            return _error(message.id, "internal_error", "something went wrong on the server")
        return {"type": "ack", "id": message.id}

    async def _act(self, message: Message) -> None:
        meeting_id = self.meeting_id
        match message:
            case Ping():
                return
            case RaiseHand():
                await self._room(lambda room: room.raise_hand(meeting_id))
            case LowerHand():
                await self._room(lambda room: room.lower_hand(meeting_id))
            case GiveFloor(request=request, seconds=seconds):
                granted = await self._room(
                    lambda room: room.give_floor(meeting_id, request, seconds)
                )
                self.media.floor(floor_key(granted))
            case TakeFloor():
                await self._room(lambda room: room.take_floor(meeting_id))
                self.media.floor(None)
            case SetItem(item=item):
                await self._room(lambda room: room.set_current_item(meeting_id, item))
            case Register(member=member, present=present):
                await self._room(lambda room: room.register_in_person(meeting_id, member, present))
            case Notes(item=item, speeches=speeches, decision=decision):
                notes = NotesIn(speeches=speeches, decision=decision)
                await self._room(lambda room: room.update_notes(meeting_id, item, notes))
            case Transition(target=target):
                if target not in LIVE_TARGETS:
                    raise Conflict(
                        "announcing a meeting or returning it to draft is done on its page",
                        code="bad_transition",
                    )
                await run_unit(
                    self.app,
                    lambda db: MeetingService(db, self.actor).transition(meeting_id, target),
                )
            case _ if message.action in MEDIA_ACTIONS:
                await self.media.act(message)

    async def _room(self, call: Callable[[RoomService], Awaitable[T]]) -> T:
        return await run_unit(self.app, lambda db: call(RoomService(db, self.actor)))


# --- the handler ----------------------------------------------------------------------------


def _hello(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {"type": "hello", "v": PROTOCOL_VERSION, "snapshot": snapshot}


def _refusal(status: int, code: str, detail: str) -> web.Response:
    return web.Response(
        status=status,
        text=ErrorOut(error=code, detail=detail).model_dump_json(exclude_none=True),
        content_type="application/json",
    )


def _after(value: str | None) -> int | None:
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    return int(value)


def _same_origin(request: web.Request) -> bool:
    # Cross-site WebSocket hijacking: a browser sends the session cookie with a
    # WebSocket that any site opens, and the same-origin policy does not cover
    # WebSockets. The Origin header — always sent by browsers on the upgrade, and not
    # settable by a page — is the defence; a request without it is refused too.
    return is_own_origin(request, request.headers.get("Origin"))


async def _opening(
    db: AsyncSession, actor: Actor, meeting_id: int, after: int | None
) -> tuple[list[str], int]:
    """Count the connection and read what the client is sent first: the frames, and the
    seq they bring it to."""
    room = RoomService(db, actor)
    await room.connect(meeting_id)  # NotFound for anyone not taking part
    meeting = await db.get(Meeting, meeting_id)
    assert meeting is not None
    if after is None or after > meeting.last_seq or meeting.last_seq - after > BACKLOG_LIMIT:
        snapshot = await room_snapshot(db, actor, meeting_id)
        return [_dumps(_hello(snapshot))], int(snapshot["seq"])
    events = await events_after(db, meeting_id, after, BACKLOG_LIMIT)
    frames = [_dumps({"type": "event", **event_json(e)}) for e in events]
    return frames, events[-1].seq if events else after


async def _watch_guest(
    app: web.Application, ws: web.WebSocketResponse, guest_id: int, access_hash: str | None
) -> None:
    """A guest's socket lives only as long as their link: a new link (which replaces it)
    or the invitation withdrawn closes it, as a logout closes a member's."""
    while True:
        await asyncio.sleep(SESSION_CHECK_SECONDS)
        try:
            async with app[SESSIONMAKER]() as db, db.begin():
                guest = await db.get(Guest, guest_id)
                alive = guest is not None and guest.access_hash == access_hash
        except Exception:  # a database hiccup: look again next time
            log.exception("guest link check failed", extra={"guest": guest_id})
            continue
        if not alive:
            with contextlib.suppress(ConnectionError):
                await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"guest_link_revoked")
            return


async def meeting_socket(request: web.Request) -> web.StreamResponse:
    """Open one participant's channel. Besides a session, an invited guest's link
    cookie lets its guest in (:func:`server.auth.unit`): they follow the meeting and
    may ask to join the video room (where they wait for the chair), and are not counted
    as present."""
    realtime = request.app[REALTIME]
    meeting_id = parse_id(request.match_info["meeting_id"])
    if meeting_id is None:
        return _refusal(404, "not_found", "no such meeting")
    ws = web.WebSocketResponse(
        heartbeat=HEARTBEAT,
        max_msg_size=HARD_LIMIT,
        # Frames are small JSON; deflating each for a thousand connections would cost
        # more CPU than the bytes it saves.
        compress=False,
    )
    if not ws.can_prepare(request).ok:
        return _refusal(400, "bad_request", "this address takes WebSocket connections only")
    if not _same_origin(request):
        return _refusal(403, "bad_origin", "connections from other sites are not accepted")
    after = _after(request.query.get("after"))

    # Subscribe before reading the log: an event committed in between is then both
    # read and queued (and sent once), never neither.
    async with request.app[HUB].subscribe(meeting_id) as subscription:
        guest_hash: str | None = None
        try:
            async with unit(request, guest_meeting=meeting_id) as (db, actor):
                opening, last = await _opening(db, actor, meeting_id, after)
                session = current_session(request)
                session_id = session.id if session is not None else None
                if actor.guest_id is not None:
                    guest = await db.get(Guest, actor.guest_id)
                    guest_hash = guest.access_hash if guest is not None else None
        except DomainError as exc:
            status = next(s for cls, s in STATUS_OF.items() if isinstance(exc, cls))
            return _refusal(status, exc.code, exc.detail)
        member_id = actor.member_id  # RoomService.connect counted it if it is not None
        if member_id is not None:
            realtime.arrived(meeting_id, member_id)
        guard: asyncio.Task[None] | None = None
        try:
            await ws.prepare(request)
            realtime.sockets.add(ws)
            if actor.guest_id is not None:
                guard = asyncio.create_task(
                    _watch_guest(request.app, ws, actor.guest_id, guest_hash)
                )
            channel = _Channel(
                request.app,
                ws,
                subscription,
                actor,
                meeting_id,
                last,
                session_id,
                lambda code, params: refusal_message(request, code, params),
            )
            await channel.run(opening)
        finally:
            if guard is not None:
                guard.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await guard
            realtime.sockets.discard(ws)
            if member_id is not None:
                await realtime.left(meeting_id, member_id, actor)
    return ws


async def _realtime_context(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[REALTIME].close()


async def _close_sockets(app: web.Application) -> None:
    await app[REALTIME].close_sockets()


def install(app: web.Application) -> None:
    """Add the endpoint and its state to ``app`` (once; a second call does nothing)."""
    if REALTIME in app:
        return
    settings = app[SETTINGS]
    grace = float(getattr(settings, "presence_grace_seconds", DEFAULT_GRACE))
    app[REALTIME] = Realtime(app, grace=grace)
    meeting_media.install(app)
    app.router.add_get(PATH, meeting_socket, name="meeting_ws")
    app.on_shutdown.append(_close_sockets)
    app.cleanup_ctx.append(_realtime_context)
