"""The live meeting channel end to end: real app, real database, real WebSockets.

A meeting of a body with a chair, a secretary and two members, in session. The grace
period before a departure is a gate the test opens, so no test waits on a clock.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import CookieJar, WSCloseCode, WSMsgType, WSServerHandshakeError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from meetings.events import append_event, event_json
from meetings.models import Meeting, MeetingEvent, MeetingState, Presence
from meetings.preparation import MeetingService
from meetings.schemas import AgendaItemIn, MeetingIn
from registry.actor import Actor
from registry.models import Account, Role, SeatRole
from registry.models import Session as SessionRow
from registry.orm import utcnow
from server.app import create_app
from server.hub import LocalHub
from server.keys import HUB
from server.settings import Settings
from server.views import meeting_ws
from server.views.meeting_ws import MAX_MESSAGE, REALTIME
from tests import factories as f

WAIT = 10.0  # generous bound for anything to arrive; no test asserts a duration


class Gate:
    """Stands in for asyncio.sleep in the grace period: it ends when the test says."""

    def __init__(self) -> None:
        self.started: asyncio.Queue[float] = asyncio.Queue()
        self.opened = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.started.put_nowait(seconds)
        await self.opened.wait()

    async def wait_started(self) -> None:
        await asyncio.wait_for(self.started.get(), WAIT)


@dataclasses.dataclass
class Room:
    server: Any
    make_client: Callable[[], Awaitable[Any]]
    db: AsyncSession
    gate: Gate
    meeting: int
    items: list[int]
    member_ids: dict[str, int]
    account_ids: dict[str, int]

    @property
    def origin(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    @property
    def path(self) -> str:
        return f"/meetings/{self.meeting}/ws"

    async def client(self, who: str | None) -> Any:
        client = await self.make_client()
        if who is not None:
            account = await self.db.get(Account, self.account_ids[who])
            assert account is not None
            await f.login(client, self.db, account)
        return client

    async def ws(self, who: str, *, after: int | str | None = None) -> Any:
        """A new tab of ``who``; returns the socket with its first frame read."""
        client = await self.client(who)
        params = {} if after is None else {"after": str(after)}
        ws = await client.ws_connect(self.path, params=params, headers={"Origin": self.origin})
        return ws

    async def rows(self, stmt: Any) -> list[Any]:
        # Read and let go at once: on SQLite every transaction holds the write lock.
        try:
            return list((await self.db.execute(stmt)).all())
        finally:
            await self.db.rollback()

    async def presence(self, who: str) -> tuple[int, bool]:
        rows = await self.rows(
            select(Presence.connections, Presence.online).where(
                Presence.meeting_id == self.meeting,
                Presence.member_id == self.member_ids[who],
            )
        )
        return (rows[0][0], rows[0][1]) if rows else (0, False)

    async def kinds(self, kind: str, member: str | None = None) -> int:
        rows = await self.rows(
            select(MeetingEvent.data).where(
                MeetingEvent.meeting_id == self.meeting, MeetingEvent.kind == kind
            )
        )
        if member is None:
            return len(rows)
        return sum(
            1 for (data,) in rows if json.loads(data).get("member") == self.member_ids[member]
        )

    async def last_seq(self) -> int:
        return int(
            (await self.rows(select(Meeting.last_seq).where(Meeting.id == self.meeting)))[0][0]
        )


async def recv(ws: Any) -> dict[str, Any]:
    msg = await ws.receive(timeout=WAIT)
    assert msg.type is WSMsgType.TEXT, msg
    frame: dict[str, Any] = json.loads(msg.data)
    return frame


async def until(ws: Any, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Frames up to and including the first that matches."""
    seen = []
    while True:
        frame = await recv(ws)
        seen.append(frame)
        if match(frame):
            return seen


async def event(ws: Any, kind: str, **data: Any) -> dict[str, Any]:
    frames = await until(
        ws,
        lambda fr: (
            fr["type"] == "event"
            and fr["kind"] == kind
            and all(fr["data"].get(k) == v for k, v in data.items())
        ),
    )
    return frames[-1]


async def ask(ws: Any, message: dict[str, Any] | str) -> dict[str, Any]:
    """Send one message; the ack or error answering it (events before it are skipped)."""
    text = message if isinstance(message, str) else json.dumps(message)
    await ws.send_str(text)
    frames = await until(ws, lambda fr: fr["type"] in ("ack", "error"))
    return frames[-1]


async def marker(chair: Any, room: Room) -> list[dict[str, Any]]:
    """The chair moves the agenda: every frame up to that event (all that came before)."""
    await chair.send_str(json.dumps({"id": 99, "action": "set_item", "item": room.items[1]}))
    return await until(chair, lambda fr: fr.get("kind") == "agenda.current")


async def eventually(check: Callable[[], Awaitable[bool]]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not await check():
        assert loop.time() < deadline, "the condition never became true"
        await asyncio.sleep(0.02)


@pytest.fixture
async def room(aiohttp_server: Any, aiohttp_client: Any, settings: Settings, db: Any) -> Room:
    app = create_app(settings)
    meeting_ws.install(app)  # idempotent: a no-op once create_app installs it
    gate = Gate()
    app[REALTIME].sleep = gate.sleep
    server = await aiohttp_server(app)

    async def make_client() -> Any:
        jar = CookieJar(unsafe=True, treat_as_secure_origin=[str(server.make_url("/"))])
        return await aiohttp_client(server, cookie_jar=jar)

    o = await f.org(db)
    body = await f.body(db, o)
    people = {
        "chair": await f.member(db, o, "Председателев"),
        "secretary": await f.member(db, o, "Секретарёв"),
        "m1": await f.member(db, o, "Первов"),
        "m2": await f.member(db, o, "Вторых"),
        "outsider": await f.member(db, o, "Посторонний"),
    }
    roles = {"chair": SeatRole.CHAIR, "secretary": SeatRole.SECRETARY}
    for who in ("chair", "secretary", "m1", "m2"):
        await f.seat(db, body, people[who], roles.get(who, SeatRole.MEMBER))
    accounts = {
        who: await f.account(db, Role.MEMBER, member_obj=person) for who, person in people.items()
    }
    chair = Actor(
        account_id=accounts["chair"].id,
        display_name=people["chair"].full_name,
        roles=frozenset({Role.MEMBER}),
        member_id=people["chair"].id,
    )
    service = MeetingService(db, chair)
    meeting = await service.create(
        MeetingIn(body_id=body.id, title="Заседание президиума", starts_at=utcnow())
    )
    items = [
        (await service.add_item(meeting.id, AgendaItemIn(title=title))).id
        for title in ("О повестке", "О разном")
    ]
    for target in (MeetingState.ANNOUNCED, MeetingState.REGISTRATION, MeetingState.IN_SESSION):
        await service.transition(meeting.id, target)
    member_ids = {who: person.id for who, person in people.items()}
    account_ids = {who: account.id for who, account in accounts.items()}
    meeting_id = meeting.id
    await db.commit()
    return Room(server, make_client, db, gate, meeting_id, items, member_ids, account_ids)


def _upgrade_headers(origin: str | None) -> dict[str, str]:
    headers = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }
    if origin is not None:
        headers["Origin"] = origin
    return headers


# --- opening ----------------------------------------------------------------------------------


async def test_hello_carries_the_snapshot(room: Room) -> None:
    ws = await room.ws("m1")
    hello = await recv(ws)
    assert hello["type"] == "hello"
    assert hello["v"] == 1
    snapshot = hello["snapshot"]
    assert snapshot["meeting"] == room.meeting
    assert snapshot["state"] == "in_session"
    assert snapshot["seq"] == await room.last_seq()
    me = next(p for p in snapshot["people"] if p["member"] == room.member_ids["m1"])
    assert me["online"] is True


@pytest.mark.parametrize(
    ("who", "origin", "status", "code"),
    [
        (None, "same", 401, "not_authenticated"),
        ("outsider", "same", 404, "not_found"),
        ("m1", "https://evil.example", 403, "bad_origin"),
        ("m1", None, 403, "bad_origin"),
    ],
)
async def test_upgrade_refused_in_error_shape(
    room: Room, who: str | None, origin: str | None, status: int, code: str
) -> None:
    client = await room.client(who)
    sent_origin = room.origin if origin == "same" else origin
    resp = await client.get(room.path, headers=_upgrade_headers(sent_origin))
    assert resp.status == status
    body = await resp.json()
    assert body["error"] == code
    assert set(body) == {"error", "detail", "fields", "message"}
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(room.path, headers={"Origin": sent_origin or ""})
    assert refused.value.status == status
    # An outsider's attempt leaves no trace in the meeting.
    assert await room.kinds("presence.arrived") == 0


async def test_unknown_meeting_and_plain_get(room: Room) -> None:
    client = await room.client("m1")
    resp = await client.get("/meetings/999999/ws", headers=_upgrade_headers(room.origin))
    assert resp.status == 404
    assert (await resp.json())["error"] == "not_found"
    resp = await client.get(room.path)
    assert resp.status == 400
    assert (await resp.json())["error"] == "bad_request"


# --- presence ---------------------------------------------------------------------------------


async def test_presence_counts_once_across_tabs(room: Room) -> None:
    chair = await room.ws("chair")
    await recv(chair)
    tab1 = await room.ws("m1")
    await recv(tab1)
    tab2 = await room.ws("m1")
    await recv(tab2)
    assert await room.presence("m1") == (2, True)
    assert await room.kinds("presence.arrived", "m1") == 1

    # The chair's feed up to a later marker holds exactly one arrival of m1.
    frames = await marker(chair, room)
    arrivals = [
        fr
        for fr in frames
        if fr.get("kind") == "presence.arrived" and fr["data"]["member"] == room.member_ids["m1"]
    ]
    assert len(arrivals) == 1


async def test_closing_one_tab_keeps_the_member_present(room: Room) -> None:
    tab1 = await room.ws("m1")
    await recv(tab1)
    tab2 = await room.ws("m1")
    await recv(tab2)
    await tab1.close()

    async def one_left() -> bool:
        return (await room.presence("m1"))[0] == 1

    await eventually(one_left)
    assert await room.presence("m1") == (1, True)
    assert room.gate.started.empty()  # no grace period began
    assert await room.kinds("presence.left") == 0


async def test_departure_is_recorded_only_after_the_grace_period(room: Room) -> None:
    chair = await room.ws("chair")
    await recv(chair)
    tab1 = await room.ws("m1")
    await recv(tab1)
    tab2 = await room.ws("m1")
    await recv(tab2)
    await tab1.close()
    await tab2.close()

    await room.gate.wait_started()  # the last tab closed: the grace period runs
    assert await room.presence("m1") == (0, True)
    assert await room.kinds("presence.left") == 0

    room.gate.opened.set()
    left = await event(chair, "presence.left", member=room.member_ids["m1"])
    assert left["data"]["mode"] == "online"
    assert await room.presence("m1") == (0, False)
    assert await room.kinds("presence.left", "m1") == 1


async def test_reconnecting_within_the_grace_records_no_departure(room: Room) -> None:
    chair = await room.ws("chair")
    await recv(chair)
    tab = await room.ws("m1")
    await recv(tab)
    await tab.close()
    await room.gate.wait_started()

    again = await room.ws("m1")
    assert (await recv(again))["type"] == "hello"
    room.gate.opened.set()  # the grace "ends" after the reconnection
    frames = await marker(chair, room)
    assert not [fr for fr in frames if fr.get("kind") == "presence.left"]
    assert await room.kinds("presence.left") == 0
    assert await room.kinds("presence.arrived", "m1") == 1
    assert await room.presence("m1") == (1, True)


# --- resuming ---------------------------------------------------------------------------------


async def test_resume_after_n_gets_exactly_the_missed_events(room: Room) -> None:
    chair = await room.ws("chair")
    seen = (await recv(chair))["snapshot"]["seq"]
    m1 = await room.ws("m1")
    await recv(m1)
    await ask(chair, {"id": 1, "action": "set_item", "item": room.items[1]})
    await ask(chair, {"id": 2, "action": "set_item", "item": room.items[0]})

    back = await room.ws("m2", after=seen)
    last = await room.last_seq()  # m2's own arrival included: it committed before the upgrade
    assert last > seen + 4
    frames = [await recv(back) for _ in range(last - seen)]
    assert [fr["type"] for fr in frames] == ["event"] * (last - seen)
    assert [fr["seq"] for fr in frames] == list(range(seen + 1, last + 1))
    assert frames[-2]["kind"] == "presence.arrived"

    # ... and then live events, without a repeat or a gap.
    await ask(chair, {"id": 3, "action": "set_item", "item": room.items[1]})
    live = await recv(back)
    assert (live["type"], live["seq"], live["kind"]) == ("event", last + 1, "agenda.current")


@pytest.mark.parametrize("after", ["abc", "-1", "99999", ""])
async def test_unusable_after_gets_a_hello(room: Room, after: str) -> None:
    ws = await room.ws("m1", after=after)
    assert (await recv(ws))["type"] == "hello"


async def test_too_far_back_gets_a_hello(room: Room, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(meeting_ws, "BACKLOG_LIMIT", 2)
    ws = await room.ws("m1", after=0)
    hello = await recv(ws)
    assert hello["type"] == "hello"
    assert hello["snapshot"]["seq"] == await room.last_seq()


async def _append_unpublished(room: Room, count: int) -> list[dict[str, object]]:
    """Events committed to the log but never published (as if a hub lost them)."""
    await room.db.rollback()  # forget the meeting row as this session last saw it
    events = [
        await append_event(room.db, room.meeting, "test.marker", {"n": n}) for n in range(count)
    ]
    wire = [event_json(e) for e in events]
    await room.db.commit()
    return wire


def _local_hub(room: Room) -> LocalHub:
    hub = room.server.app[HUB]
    local = getattr(hub, "local", hub)
    assert isinstance(local, LocalHub)
    return local


async def test_a_stale_subscription_resyncs_from_the_log(room: Room) -> None:
    ws = await room.ws("m1")
    seq = (await recv(ws))["snapshot"]["seq"]
    lost = await _append_unpublished(room, 3)
    _local_hub(room).invalidate(room.meeting)
    frames = [await recv(ws) for _ in lost]
    assert [fr["seq"] for fr in frames] == [seq + 1, seq + 2, seq + 3]
    assert [fr["data"]["n"] for fr in frames] == [0, 1, 2]


async def test_events_published_out_of_order_arrive_in_order(room: Room) -> None:
    ws = await room.ws("m1")
    seq = (await recv(ws))["snapshot"]["seq"]
    first, second, third = await _append_unpublished(room, 3)
    hub = room.server.app[HUB]
    await hub.publish([second])  # overtook the first: held
    await hub.publish([first])
    await hub.publish([first])  # a repeat: dropped
    frames = [await recv(ws), await recv(ws)]
    assert [fr["seq"] for fr in frames] == [seq + 1, seq + 2]
    # The third's predecessor never comes through the hub: it is read from the log.
    extra = await _append_unpublished(room, 1)
    await hub.publish(extra)
    frames = [await recv(ws), await recv(ws)]
    assert [fr["seq"] for fr in frames] == [seq + 3, seq + 4]
    assert frames[0]["data"] == third["data"]


# --- actions ----------------------------------------------------------------------------------


async def test_chair_actions_reach_every_member(room: Room) -> None:
    chair = await room.ws("chair")
    await recv(chair)
    m1 = await room.ws("m1")
    await recv(m1)
    m2 = await room.ws("m2")
    await recv(m2)

    assert await ask(m1, {"id": 7, "action": "raise_hand"}) == {"type": "ack", "id": 7}
    raised = await event(m2, "floor.raised", member=room.member_ids["m1"])
    request = raised["data"]["request"]
    assert (await event(chair, "floor.raised"))["data"]["request"] == request

    answer = await ask(chair, {"id": 1, "action": "give_floor", "request": request, "seconds": 60})
    assert answer == {"type": "ack", "id": 1}
    for ws in (m1, m2):
        granted = await event(ws, "floor.granted", request=request)
        assert granted["data"]["member"] == room.member_ids["m1"]

    assert (await ask(chair, {"id": 2, "action": "set_item", "item": room.items[1]}))["type"] == (
        "ack"
    )
    for ws in (m1, m2):
        current = await event(ws, "agenda.current")
        assert current["data"]["item"] == room.items[1]

    assert (await ask(chair, {"id": 3, "action": "take_floor"}))["type"] == "ack"
    await event(m2, "floor.ended", request=request)


async def test_a_member_cannot_give_the_floor(room: Room) -> None:
    m1 = await room.ws("m1")
    await recv(m1)
    m2 = await room.ws("m2")
    await recv(m2)
    await ask(m1, {"id": 1, "action": "raise_hand"})
    request = (await event(m2, "floor.raised"))["data"]["request"]
    answer = await ask(m2, {"id": 5, "action": "give_floor", "request": request})
    assert answer["type"] == "error"
    assert answer["id"] == 5
    assert answer["code"] == "forbidden"
    assert answer["detail"] == "only the chair of the meeting may"
    assert await room.kinds("floor.granted") == 0
    # Still connected and answering.
    assert await ask(m2, {"id": 6, "action": "ping"}) == {"type": "ack", "id": 6}


async def test_secretary_registers_and_keeps_notes(room: Room) -> None:
    secretary = await room.ws("secretary")
    await recv(secretary)
    m1 = await room.ws("m1")
    await recv(m1)
    m2 = room.member_ids["m2"]
    answer = await ask(secretary, {"id": 1, "action": "register", "member": m2, "present": True})
    assert answer["type"] == "ack"
    arrived = await event(m1, "presence.arrived", member=m2)
    assert arrived["data"]["mode"] == "in_person"

    notes = {"id": 2, "action": "notes", "item": room.items[0], "decision": "Принять к сведению."}
    assert (await ask(secretary, notes))["type"] == "ack"
    await event(m1, "item.notes", item=room.items[0])
    refused = await ask(m1, notes | {"id": 3})
    assert (refused["id"], refused["code"]) == (3, "forbidden")


async def test_transitions_over_the_socket(room: Room) -> None:
    chair = await room.ws("chair")
    await recv(chair)
    m1 = await room.ws("m1")
    await recv(m1)
    refused = await ask(m1, {"id": 1, "action": "transition", "target": "closed"})
    assert (refused["id"], refused["code"]) == (1, "forbidden")
    refused = await ask(chair, {"id": 2, "action": "transition", "target": "announced"})
    assert (refused["id"], refused["code"]) == (2, "bad_transition")
    assert (await ask(chair, {"id": 3, "action": "transition", "target": "closed"}))["type"] == (
        "ack"
    )
    state = await event(m1, "meeting.state")
    assert state["data"] == {"from": "in_session", "to": "closed", "current_item": room.items[0]}


@pytest.mark.parametrize(
    ("message", "answer_id", "reason"),
    [
        ("not json", None, "Invalid JSON"),
        # Parsed within the API's limits first: no RecursionError, no OverflowError.
        ("[" * 100_000, None, "nested deeper than 32"),
        ('{"id": 4, "action": "ping", "n": ' + "9" * 400 + "}", None, "more than 32 digits"),
        ('{"id": 4, "action": "ping", "n": 1e999}', None, "beyond the range of a double"),
        ("[1, 2]", None, "Input should be an object"),
        ('{"id": 4, "action": "dance"}', 4, "does not match any of the expected tags"),
        ('{"action": "ping"}', None, "id: Field required"),
        ('{"id": "4", "action": "ping"}', None, "id: Input should be a valid integer"),
        ('{"id": 4, "action": "give_floor", "request": "1"}', 4, "request: Input should be"),
        ('{"id": 4, "action": "give_floor", "request": 1, "seconds": 5}', 4, "seconds:"),
        ('{"id": 4, "action": "register", "member": 1, "present": 1}', 4, "present:"),
        ('{"id": 4, "action": "ping", "extra": true}', 4, "extra: Extra inputs"),
        ('{"id": 4, "action": "set_item", "item": 1.0}', 4, "item: Input should be"),
        ('{"id": 4, "action": "notes", "item": 1, "decision": "a\\u0000b"}', 4, "control"),
        ('{"id": 4, "action": "transition", "target": "paused"}', 4, "target: Input should"),
    ],
)
async def test_bad_messages_are_refused(
    room: Room, message: str, answer_id: int | None, reason: str
) -> None:
    ws = await room.ws("m1")
    await recv(ws)
    answer = await ask(ws, message)
    assert answer["type"] == "error"
    assert answer["code"] == "bad_message"
    assert answer["id"] == answer_id
    assert reason in answer["detail"]
    assert await ask(ws, {"id": 9, "action": "ping"}) == {"type": "ack", "id": 9}


async def test_bad_frames_do_not_harm_anyone(room: Room) -> None:
    m1 = await room.ws("m1")
    await recv(m1)
    m2 = await room.ws("m2")
    await recv(m2)
    chair = await room.ws("chair")
    await recv(chair)

    await m1.send_bytes(b'{"id": 1, "action": "ping"}')
    frames = await until(m1, lambda fr: fr["type"] == "error")
    assert (frames[-1]["code"], frames[-1]["id"]) == ("bad_message", None)
    huge = json.dumps({"id": 2, "action": "notes", "item": 1, "speeches": "я" * MAX_MESSAGE})
    answer = await ask(m1, huge)
    assert (answer["code"], answer["id"]) == ("bad_message", None)
    answer = await ask(m1, {"id": 3, "action": "set_item", "item": room.items[1]})
    assert (answer["code"], answer["id"]) == ("forbidden", 3)

    # The others still get events, and m1 too.
    assert (await ask(chair, {"id": 1, "action": "set_item", "item": room.items[1]}))["type"] == (
        "ack"
    )
    for ws in (m2, m1):
        assert (await event(ws, "agenda.current"))["data"]["item"] == room.items[1]
    assert await ask(m1, {"id": 4, "action": "ping"}) == {"type": "ack", "id": 4}


async def test_messages_over_the_rate_are_refused(room: Room) -> None:
    realtime = room.server.app[REALTIME]
    realtime.burst, realtime.rate = 3, 0.0  # three messages, never refilled
    ws = await room.ws("m1")
    await recv(ws)
    answers = [await ask(ws, {"id": n, "action": "ping"}) for n in range(5)]
    assert [a["type"] for a in answers] == ["ack", "ack", "ack", "error", "error"]
    assert answers[3]["code"] == "too_many_requests"
    assert answers[3]["id"] == 3
    # Another connection has its own allowance.
    other = await room.ws("m2")
    await recv(other)
    assert (await ask(other, {"id": 1, "action": "ping"}))["type"] == "ack"


async def test_a_socket_closes_when_its_login_ends(
    room: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Logging out, or the registrar disabling the account, also ends open sockets."""
    monkeypatch.setattr(meeting_ws, "SESSION_CHECK_SECONDS", 0.05)
    m1 = await room.ws("m1")
    await recv(m1)
    await room.db.execute(
        update(SessionRow)
        .where(SessionRow.account_id == room.account_ids["m1"])
        .values(ended_at=utcnow())
    )
    await room.db.commit()
    closing = await m1.receive(timeout=WAIT)
    assert closing.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED)
    assert m1.close_code == WSCloseCode.POLICY_VIOLATION
