"""The video room's signalling over the meeting's WebSocket: who may join, the lobby,
the chair's powers, and refusals that change nothing. (Media itself flows in
tests/meetings/test_sfu.py and in Chromium in tests/web/test_video_browser.py.)"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from sqlalchemy import select

from meetings.models import FloorRequest, MeetingEvent
from meetings.video import floor_key
from registry.models import Organisation, Role
from server.settings import Settings
from server.views.meeting_media import MEDIA, ice_servers
from tests import factories as f
from tests.server.test_meeting_ws import Room, ask, eventually, recv, room, until

__all__ = ["room"]  # the fixture, shared with the channel's own tests


async def media(ws: Any, op: str) -> dict[str, Any]:
    frames = await until(ws, lambda fr: fr.get("type") == "media" and fr.get("op") == op)
    return frames[-1]


async def joined(room: Room, who: str) -> Any:
    ws = await room.ws(who)
    await recv(ws)  # hello
    assert (await ask(ws, {"id": 1, "action": "media_join"}))["type"] == "ack"
    return ws


def rooms(room: Room) -> Any:
    return room.server.app[MEDIA]


async def test_members_wait_until_the_chair_opens_the_room(room: Room) -> None:
    early = await room.ws("m1")
    await recv(early)
    await early.send_str(json.dumps({"id": 1, "action": "media_join"}))
    config = await media(early, "config")
    assert config["ice_servers"] == []
    assert (await media(early, "lobby"))["open"] is False
    await until(early, lambda fr: fr["type"] == "ack")
    # in the lobby, signalling is refused and changes nothing
    answer = await ask(early, {"id": 2, "action": "media_answer", "sdp": "v=0\r\n" * 3})
    assert answer["code"] == "forbidden"
    chair = await joined(room, "chair")
    offer = await media(chair, "offer")
    assert offer["sdp"].startswith("v=0")
    # the chair opened the room: the member waiting comes in with an offer of their own
    mine = await media(early, "offer")
    publish = {v["source"] for v in mine["mids"].values() if v["role"] == "publish"}
    assert publish == {"audio", "camera", "screen"}
    live = rooms(room).rooms[room.meeting]
    assert set(live.participants) == {f"m{room.member_ids['chair']}", f"m{room.member_ids['m1']}"}
    # closing the page takes its media away at once
    await early.close()

    async def gone() -> bool:
        return f"m{room.member_ids['m1']}" not in live.participants

    await eventually(gone)
    await chair.close()


async def test_only_the_roster_may_join(room: Room, db: Any) -> None:
    # the registrar may follow the meeting, but is not on its roster
    outsider = await room.db.get(f.Member, room.member_ids["outsider"])
    registrar = await f.account(db, Role.REGISTRAR, member_obj=None)
    await db.commit()
    client = await room.make_client()
    await f.login(client, db, registrar)
    ws = await client.ws_connect(room.path, headers={"Origin": room.origin})
    await recv(ws)
    refused = await ask(ws, {"id": 1, "action": "media_join"})
    assert refused["code"] == "forbidden"
    assert "participants" in refused["detail"]
    assert room.meeting not in rooms(room).rooms or not rooms(room).rooms[room.meeting].lobby
    await ws.close()
    # a member of another body cannot even open the meeting's channel
    union = await db.get(Organisation, outsider.organisation_id)
    other_body = await f.body(db, union, "Ревизионная комиссия")
    assert outsider is not None
    await f.seat(db, other_body, outsider)
    await db.commit()
    client = await room.client("outsider")
    with pytest.raises(Exception, match="404"):
        await client.ws_connect(room.path, headers={"Origin": room.origin})


async def test_the_chair_alone_moderates(room: Room) -> None:
    chair = await joined(room, "chair")
    member = await joined(room, "m1")
    key = f"m{room.member_ids['m1']}"
    for action in (
        {"action": "media_mute", "participant": f"m{room.member_ids['chair']}", "what": "audio"},
        {"action": "media_remove", "participant": f"m{room.member_ids['chair']}"},
        {"action": "media_mute_all"},
    ):
        refused = await ask(member, {"id": 3, **action})
        assert refused["code"] == "forbidden", action
    live = rooms(room).rooms[room.meeting]
    assert not live.participants[f"m{room.member_ids['chair']}"].blocked
    # the chair turns the member's microphone off: the member is told, and may not
    # turn it back on
    assert (
        await ask(chair, {"id": 4, "action": "media_mute", "participant": key, "what": "audio"})
    )["type"] == "ack"
    state = await until(
        member,
        lambda fr: fr.get("op") == "room" and "audio" in fr.get("mine", {}).get("blocked", []),
    )
    assert state[-1]["you"] == "in"
    again = await ask(
        member, {"id": 5, "action": "media_state", "audio": True, "camera": True, "screen": False}
    )
    assert again["code"] == "forbidden"
    assert live.participants[key].sending["audio"] is False
    # removal closes the member's connection now
    pc = live.participants[key].pc
    assert (await ask(chair, {"id": 6, "action": "media_remove", "participant": key}))[
        "type"
    ] == "ack"
    await media(member, "removed")
    assert pc.connectionState == "closed"
    assert key not in live.participants
    # coming back means waiting for the chair
    await member.send_str(json.dumps({"id": 7, "action": "media_join"}))
    await media(member, "lobby")
    await until(member, lambda fr: fr["type"] == "ack")
    waiting = await until(chair, lambda fr: fr.get("op") == "room" and fr.get("waiting"))
    assert waiting[-1]["waiting"][0]["key"] == key
    assert (await ask(chair, {"id": 8, "action": "media_admit", "participant": key}))[
        "type"
    ] == "ack"
    await media(member, "offer")
    await member.close()
    await chair.close()


@pytest.mark.parametrize(
    "message",
    [
        {"id": 1, "action": "media_mute", "participant": "x1", "what": "audio"},
        {"id": 1, "action": "media_mute", "participant": "m1", "what": "voice"},
        {"id": 1, "action": "media_answer", "sdp": "short"},
        {"id": 1, "action": "media_state", "audio": 1, "camera": True, "screen": False},
        {"id": 1, "action": "media_weak"},
    ],
)
async def test_bad_media_messages_are_refused(room: Room, message: dict[str, Any]) -> None:
    ws = await room.ws("m1")
    await recv(ws)
    refused = await ask(ws, message)
    assert refused["code"] == "bad_message"
    assert room.meeting not in rooms(room).rooms or not rooms(room).rooms[room.meeting].participants
    await ws.close()


async def test_an_answer_without_an_offer_is_refused(room: Room) -> None:
    chair = await joined(room, "chair")
    await media(chair, "offer")
    refused = await ask(chair, {"id": 2, "action": "media_answer", "sdp": "not an SDP answer"})
    assert refused["code"] == "invalid_input"
    assert "answer could not be applied" in refused["detail"]
    await chair.close()


def test_turn_credentials_follow_coturns_shared_secret() -> None:
    settings = Settings(
        stun_urls="stun:turn.example.org:3478",
        turn_urls="turn:turn.example.org:3478?transport=udp, turns:turn.example.org:5349",
        turn_secret="s3cret",
        turn_ttl_seconds=3600,
    )
    stun, turn = ice_servers(settings, "m12", now=1_700_000_000)
    assert stun == {"urls": ["stun:turn.example.org:3478"]}
    assert turn["urls"] == [
        "turn:turn.example.org:3478?transport=udp",
        "turns:turn.example.org:5349",
    ]
    assert turn["username"] == "1700003600:m12"
    expected = hmac.new(b"s3cret", b"1700003600:m12", hashlib.sha1).digest()
    assert base64.b64decode(turn["credential"]) == expected
    assert ice_servers(Settings(), "m12") == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"turn_urls": "turn:t.example.org"}, "turn_secret"),
        ({"stun_urls": "http://t.example.org"}, "not a STUN or TURN URL"),
        ({"turn_urls": "turn:t", "turn_secret": "x", "turn_ttl_seconds": 5}, "turn_ttl_seconds"),
    ],
)
def test_bad_ice_settings_are_refused(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**values)


async def video_record(room: Room) -> list[tuple[str, str | None]]:
    """The chair's decisions about the video room in the meeting's record."""
    rows = await room.db.execute(
        select(MeetingEvent.kind, MeetingEvent.data)
        .where(MeetingEvent.meeting_id == room.meeting, MeetingEvent.kind.like("video.%"))
        .order_by(MeetingEvent.seq)
    )
    return [(kind, json.loads(data).get("key")) for kind, data in rows]


async def empty(room: Room, *sockets: Any) -> None:
    """Everyone's page goes: the process forgets the room (as a restart would)."""
    for ws in sockets:
        await ws.close()

    async def emptied() -> bool:
        return room.meeting not in rooms(room).rooms

    await eventually(emptied)


async def test_the_room_remembers_the_floor_and_removals_from_the_record(room: Room) -> None:
    chair = await joined(room, "chair")
    member = await joined(room, "m1")
    key = f"m{room.member_ids['m1']}"
    speaker = await joined(room, "m2")
    # the chair gives m2 the floor, and removes m1
    assert (await ask(speaker, {"id": 2, "action": "raise_hand"}))["type"] == "ack"
    raised = await until(chair, lambda fr: fr.get("kind") == "floor.raised")
    request = raised[-1]["data"]["request"]
    assert (await ask(chair, {"id": 3, "action": "give_floor", "request": request}))[
        "type"
    ] == "ack"
    assert (await ask(chair, {"id": 4, "action": "media_remove", "participant": key}))[
        "type"
    ] == "ack"
    assert await video_record(room) == [("video.removed", key)]
    await empty(room, chair, member, speaker)

    # everyone comes back: the room is made anew from the record: the removed member
    # waits, and the speaker still has the floor
    chair = await joined(room, "chair")
    live = rooms(room).rooms[room.meeting]
    assert live.floor == f"m{room.member_ids['m2']}"
    member = await room.ws("m1")
    await recv(member)
    await member.send_str(json.dumps({"id": 1, "action": "media_join"}))
    await media(member, "lobby")
    assert key in live.lobby
    # admitted, the member comes straight in next time
    assert (await ask(chair, {"id": 5, "action": "media_admit", "participant": key}))[
        "type"
    ] == "ack"
    assert await video_record(room) == [("video.removed", key), ("video.admitted", key)]
    await empty(room, chair, member)
    chair = await joined(room, "chair")
    member = await joined(room, "m1")
    await media(member, "offer")
    assert key in rooms(room).rooms[room.meeting].participants
    await member.close()
    await chair.close()


def test_whoever_has_the_floor_is_known_by_their_room_key() -> None:
    assert floor_key(FloorRequest(meeting_id=1, member_id=12)) == "m12"
    assert floor_key(FloorRequest(meeting_id=1, guest_id=7)) == "g7"
    assert floor_key(FloorRequest(meeting_id=1)) is None
