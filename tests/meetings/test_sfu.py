"""The forwarding SFU with real peer connections: participants are aiortc peers in their
own processes (so the codecs they open are theirs), the room runs in the test's."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiortc import rtcrtpreceiver, rtcrtpsender
from aiortc.codecs import opus, vpx

from meetings import forwarding
from meetings.sfu import AUDIO_SLOTS, Identity, MediaRoom
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied

PEER = Path(__file__).with_name("sfu_peer.py")
CHAIR = Identity("m1", "Председатель", member_id=1, chair=True)


def member(n: int) -> Identity:
    return Identity(f"m{n}", f"Член {n}", member_id=n)


class Peer:
    """One participant's process and what it says."""

    def __init__(self, room: MediaRoom, identity: Identity, *flags: str) -> None:
        self.room = room
        self.identity = identity
        self.flags = flags
        self.messages: list[dict[str, Any]] = []
        self.stats: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.process: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task[None] | None = None
        self.answer_errors: list[str] = []
        self.reported = False

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(PEER),
            *self.flags,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self.reader = asyncio.ensure_future(self._read())

    async def send(self, message: dict[str, Any]) -> None:
        """What the room sends this participant's client."""
        self.messages.append(message)
        if message["op"] in ("offer", "streams"):
            self._write(message)

    def _write(self, message: dict[str, Any]) -> None:
        assert self.process is not None
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(message) + "\n").encode())

    async def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            if message["op"] == "answer":
                try:
                    await self.room.answer(self.identity.key, message["sdp"])
                except Exception as exc:
                    self.answer_errors.append(repr(exc))
                else:
                    self._report()
            elif message["op"] == "stats":
                await self.stats.put(message)

    def _report(self) -> None:
        # As a browser does once its media flows: what it sends (the room forwards a
        # camera only once it is reported on).
        if self.reported:
            return
        self.reported = True
        self.room.report(
            self.identity.key,
            audio="--silent" not in self.flags,
            camera="--no-camera" not in self.flags,
            screen=False,
        )

    async def join(self) -> str:
        return await self.room.join(self.identity, self.send)

    async def ask(self) -> dict[str, Any]:
        self._write({"op": "stats"})
        return await asyncio.wait_for(self.stats.get(), 30)

    async def until(self, check: Callable[[dict[str, Any]], bool], seconds: float = 60) -> dict:
        """Poll the peer's counts until ``check`` holds (the bound is generous: it only
        stops a broken run, it measures nothing)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            stats = await self.ask()
            if check(stats):
                return stats
            if loop.time() > deadline:
                raise AssertionError(f"{self.identity.key} never saw it: {stats}")
            await asyncio.sleep(0.3)

    async def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            self._write({"op": "quit"})
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            self.reader.cancel()


class Codecs:
    """Counts every decoder and encoder aiortc makes or runs in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[str] = []
        self.runs: list[str] = []

        def counting(module: Any, name: str) -> None:
            real = getattr(module, name)

            def made(codec: Any) -> Any:
                self.made.append(f"{name}({codec.mimeType})")
                return real(codec)

            monkeypatch.setattr(module, name, made)

        counting(rtcrtpreceiver, "get_decoder")
        counting(rtcrtpsender, "get_encoder")
        for cls in (vpx.Vp8Encoder, vpx.Vp8Decoder, opus.OpusEncoder, opus.OpusDecoder):
            for method in ("encode", "decode"):
                if hasattr(cls, method):
                    real = getattr(cls, method)

                    def run(self_: Any, *args: Any, _real: Any = real, _n: str = cls.__name__):
                        self.runs.append(_n)
                        return _real(self_, *args)

                    monkeypatch.setattr(cls, method, run)


@pytest.fixture
def codecs(monkeypatch: pytest.MonkeyPatch) -> Codecs:
    return Codecs(monkeypatch)


@pytest.fixture
async def room() -> AsyncIterator[MediaRoom]:
    room = MediaRoom(1)
    yield room
    await room.close()


@pytest.fixture
async def peers(room: MediaRoom) -> AsyncIterator[Callable[..., Peer]]:
    started: list[Peer] = []

    def make(identity: Identity, *flags: str) -> Peer:
        peer = Peer(room, identity, *flags)
        started.append(peer)
        return peer

    yield make
    await room.close()
    await asyncio.gather(*(p.stop() for p in started))


async def start_all(*peers: Peer) -> None:
    await asyncio.gather(*(p.start() for p in peers))


def frames_from(stats: dict[str, Any], key: str) -> int:
    return int(stats["video"].get(key, 0))


async def test_video_reaches_the_others_and_the_server_runs_no_codec(
    room: MediaRoom, peers: Callable[..., Peer], codecs: Codecs
) -> None:
    chair, a, b = peers(CHAIR), peers(member(2)), peers(member(3))
    await start_all(chair, a, b)
    for peer in (chair, a, b):
        assert await peer.join() == "in"
    for peer in (chair, a, b):
        others = {p.identity.key for p in (chair, a, b)} - {peer.identity.key}
        stats = await peer.until(lambda s, o=others: all(frames_from(s, k) >= 20 for k in o))
        # a participant never receives their own media
        assert frames_from(stats, peer.identity.key) == 0
        assert stats["audio"].get(peer.identity.key, 0) == 0
        assert stats["sizes"] == [[320, 180]]
    counts = room.counts()
    assert counts["frames_out"] > 0
    assert counts["streams_out"] >= 6
    # every frame went through without a codec on the server
    assert codecs.made == []
    assert codecs.runs == []
    for participant in room.participants.values():
        for publication in participant.publications.values():
            assert publication.tap.queue.frames == publication.frames


async def test_a_new_subscriber_gets_a_keyframe_from_the_publisher(
    room: MediaRoom, peers: Callable[..., Peer]
) -> None:
    chair, late = peers(CHAIR), peers(member(2))
    await start_all(chair, late)
    await chair.join()
    # The chair publishes alone until the server has had a good many of its camera's
    # packets, so its first keyframe is past (on a busy machine a fixed pause is not
    # enough: the late subscriber would then get that first keyframe without asking).
    for _ in range(6000):
        publication = room.participants.get("m1")
        camera = publication.publications.get("camera") if publication else None
        if camera is not None and camera.tap.packets >= 60:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the chair's camera never reached the server")
    before = room.keyframe_requests
    await late.join()
    # aiortc's encoder makes one keyframe at the start and then only on request:
    # frames reaching the late subscriber prove the request reached the publisher
    await late.until(lambda s: frames_from(s, "m1") >= 10)
    assert room.keyframe_requests > before


async def test_a_packet_lost_for_good_freezes_the_camera_only_briefly(
    room: MediaRoom, peers: Callable[..., Peer]
) -> None:
    chair, viewer = peers(CHAIR, "--silent"), peers(member(2), "--silent", "--no-camera")
    await start_all(chair, viewer)
    await chair.join()
    await viewer.join()
    await viewer.until(lambda s: frames_from(s, "m1") >= 10)
    publication = room.participants["m1"].publications["camera"]
    receiver = publication.transceiver.receiver
    handle = receiver._handle_rtp_packet
    lost: list[int] = []

    async def lossy(packet: Any, arrival_time_ms: int) -> None:
        # The network loses one packet of the chair's camera, and every retransmission
        # of it: the stream must not wait for it for long.
        if packet.ssrc != publication.tap.ssrc:
            return  # a retransmission (RTX)
        if not lost:
            lost.append(packet.sequence_number)
            return
        await handle(packet, arrival_time_ms)

    receiver._handle_rtp_packet = lossy  # type: ignore[method-assign]
    before = await viewer.until(lambda s: bool(lost))
    requests = room.keyframe_requests
    # aiortc's own buffer would hand out nothing more until 512 packets later (at this
    # stream's one or two packets a frame, half a minute): the room gives up on the
    # packet, waits for a keyframe, and the picture moves on
    await viewer.until(lambda s: frames_from(s, "m1") >= frames_from(before, "m1") + 30)
    assert publication.losses == 1
    assert publication.tap.buffer is not None
    assert publication.tap.buffer.skips == 1
    assert room.keyframe_requests > requests
    assert room.counts()["losses"] == 1


async def settled(room: MediaRoom) -> None:
    """Wait until the room's changes have been placed and every offer answered."""
    for _ in range(200):
        await asyncio.sleep(0.1)
        if not any(p.negotiating for p in room.participants.values()):
            return
    raise AssertionError("the room's negotiations never ended")


def carried(room: MediaRoom, key: str) -> list[str]:
    """Whose video the participant's slots carry."""
    slots = room.participants[key].video_slots
    return sorted(f"{s.source.owner.key}:{s.source.source}" for s in slots if s.source)


async def test_only_cameras_that_are_on_take_a_slot(
    room: MediaRoom, peers: Callable[..., Peer]
) -> None:
    chair = peers(CHAIR, "--silent")
    quiet = [peers(member(n), "--silent", "--no-camera") for n in (2, 3)]
    await start_all(chair, *quiet)
    for peer in (chair, *quiet):
        await peer.join()
    await quiet[1].until(lambda s: frames_from(s, "m1") >= 5)
    await chair.until(lambda s: s["state"] == "connected")
    await settled(room)
    # the chair's camera is the only one on: the others' slots are all it costs
    assert carried(room, "m1") == []
    assert carried(room, "m2") == carried(room, "m3") == ["m1:camera"]
    assert room.counts()["streams_out"] == 2

    # a camera turned on: a slot (and a negotiation) for each of the others …
    offers = room.participants["m1"].negotiations
    room.report("m2", audio=False, camera=True, screen=False)
    await settled(room)
    assert carried(room, "m1") == ["m2:camera"]
    assert carried(room, "m3") == ["m1:camera", "m2:camera"]
    assert room.participants["m1"].negotiations == offers + 1
    # … off again: the slots are free, and on again: reused, with no negotiation
    room.report("m2", audio=False, camera=False, screen=False)
    await settled(room)
    assert carried(room, "m1") == []
    assert len(room.participants["m1"].video_slots) == 1
    room.report("m2", audio=False, camera=True, screen=False)
    await settled(room)
    assert carried(room, "m1") == ["m2:camera"]
    assert room.participants["m1"].negotiations == offers + 1
    # the chair stops m2's video: nobody is sent it, whatever the browser says
    room.mute(CHAIR, "m2", "video")
    await settled(room)
    assert carried(room, "m1") == []
    assert carried(room, "m3") == ["m1:camera"]


async def test_audio_forwards_only_the_loudest_speakers(
    room: MediaRoom, peers: Callable[..., Peer]
) -> None:
    speakers = [peers(member(n), "--no-camera") for n in range(2, 2 + AUDIO_SLOTS + 1)]
    quiet = ("--silent", "--no-camera")
    listeners = [peers(CHAIR, *quiet), peers(member(9), *quiet)]
    everyone = speakers + listeners
    await start_all(*everyone)
    for peer in everyone:
        await peer.join()
    listener = listeners[1]
    stats = await listener.until(lambda s: sum(v > 50 for v in s["audio"].values()) >= 2)
    assert "m9" not in stats["audio"]
    await asyncio.sleep(1.0)
    for participant in room.participants.values():
        sources = {s.source.owner.key for s in participant.audio_slots if s.source}
        assert len(sources) <= AUDIO_SLOTS
        assert participant.key not in sources
        # silent participants are not forwarded to anyone
        assert not sources & {"m1", "m9"}
    # the listener gets three speakers out of four
    heard = {s.source.owner.key for s in room.participants["m9"].audio_slots if s.source}
    assert len(heard) == AUDIO_SLOTS


async def test_the_chair_mutes_at_the_server(room: MediaRoom, peers: Callable[..., Peer]) -> None:
    chair, speaker = peers(CHAIR, "--silent"), peers(member(2))
    await start_all(chair, speaker)
    await chair.join()
    await speaker.join()
    await chair.until(lambda s: s["audio"].get("m2", 0) > 20 and frames_from(s, "m2") > 10)
    room.mute(CHAIR, "m2", "audio")
    room.mute(CHAIR, "m2", "video")
    await asyncio.sleep(0.5)
    frozen = await chair.ask()
    await asyncio.sleep(1.5)
    later = await chair.ask()
    # the browser still sends; the server forwards nothing
    assert later["audio"].get("m2", 0) == frozen["audio"].get("m2", 0)
    assert frames_from(later, "m2") == frames_from(frozen, "m2")
    publication = room.participants["m2"].publications["camera"]
    sent = publication.frames
    await asyncio.sleep(0.5)
    assert publication.frames > sent
    with pytest.raises(PermissionDenied):
        room.report("m2", audio=True, camera=False, screen=False)
    with pytest.raises(PermissionDenied):
        room.mute(member(2), "m1", "audio")
    # given the floor, the speaker may talk again
    room.give_floor("m2")
    await chair.until(lambda s: s["audio"].get("m2", 0) > later["audio"].get("m2", 0) + 10)


async def test_lobby_admission_and_removal(room: MediaRoom, peers: Callable[..., Peer]) -> None:
    early, guest = peers(member(2)), peers(Identity("g7", "Гость", guest_id=7))
    chair = peers(CHAIR)
    await start_all(early, guest, chair)
    # before the chair opens the room, a member waits; a guest always does
    assert await early.join() == "lobby"
    assert await guest.join() == "lobby"
    with pytest.raises(PermissionDenied):
        await room.answer("m2", "v=0")
    assert await chair.join() == "in"
    assert set(room.participants) == {"m1", "m2"}
    assert set(room.lobby) == {"g7"}
    assert room.state("m1")["waiting"] == [{"key": "g7", "name": "Гость", "guest": True}]
    assert "waiting" not in room.state("m2")
    with pytest.raises(PermissionDenied):
        await room.admit(member(2), "g7")
    await room.admit(CHAIR, "g7")
    await guest.until(lambda s: frames_from(s, "m1") > 5 and frames_from(s, "m2") > 5)
    with pytest.raises(NotFound):
        await room.admit(CHAIR, "g7")
    # removed: the connection closes at once, and coming back means the lobby
    pc = room.participants["g7"].pc
    await room.remove(CHAIR, "g7")
    assert pc.connectionState == "closed"
    assert {"op": "removed"} in guest.messages
    assert await guest.join() == "lobby"
    assert "g7" not in room.participants


async def test_bad_answers_change_nothing(room: MediaRoom, peers: Callable[..., Peer]) -> None:
    chair = peers(CHAIR)
    await start_all(chair)
    with pytest.raises(Conflict):
        await room.answer("m1", "v=0")
    await chair.join()
    await chair.until(lambda s: s["state"] == "connected")
    with pytest.raises(Conflict):  # no offer is waiting now
        await room.answer("m1", "v=0\r\n")
    participant = room.participants["m1"]
    participant._answer = asyncio.get_running_loop().create_future()
    with pytest.raises(InvalidInput):
        await room.answer("m1", "this is not SDP")
    assert not participant._answer.done()
    participant._answer.cancel()


def test_the_hook_is_tested_with_the_pinned_aiortc() -> None:
    import aiortc

    assert aiortc.__version__ == forwarding.AIORTC_VERSION
    assert forwarding.is_vp8_keyframe(b"\x10\x02\x00\x9d\x01\x2a")
    assert not forwarding.is_vp8_keyframe(b"\x31\x02\x00")
    assert not forwarding.is_vp8_keyframe(b"")
